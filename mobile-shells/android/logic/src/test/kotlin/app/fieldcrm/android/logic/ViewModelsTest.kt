package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.GeoLocation
import app.fieldcrm.core.Grade
import app.fieldcrm.core.LocationSource
import app.fieldcrm.core.SyncTransport
import app.fieldcrm.core.ValidationRule
import app.fieldcrm.core.Verification
import app.fieldcrm.core.VisitStatus
import app.fieldcrm.core.distanceM
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** The view models over the real store, with a fake location provider. */
@Timeout(60)
class ViewModelsTest : StoreTest() {
    private fun at(lat: Double, lon: Double) = GeoLocation(lat, lon, LocationSource.Gps, 1_790_000_000_000)

    @Test
    fun `customer list searches as the rep types, debounced, and shows new customers live`() = runBlocking<Unit> {
        val repo = repository()
        for (name in listOf("Fischhalle", "Bäckerei Schulz", "Kiosk am Hafen")) repo.createCustomer(CustomerDraft(name))
        val vm = CustomerListViewModel(repo, scope, FakeLocation(), debounceMs = 100)
        val all = vm.state.await { !it.searching && it.customers.size == 3 }
        assertEquals(listOf("Bäckerei Schulz", "Fischhalle", "Kiosk am Hafen"), all.customers.map { it.name })

        for (typed in listOf("F", "Fi", "Fis", "Fisch")) {
            vm.onQueryChange(typed)
            delay(10)
        }
        val found = vm.state.await { it.query == "Fisch" && !it.searching }
        assertEquals(listOf("Fischhalle"), found.customers.map { it.name })

        assertNotNull(vm.createCustomer(CustomerDraft("Fischmarkt Altona", city = "Hamburg")))
        vm.state.await { it.customers.map { c -> c.name }.toSet() == setOf("Fischhalle", "Fischmarkt Altona") }

        vm.onQueryChange("zzz")
        assertEquals(emptyList<Any>(), vm.state.await { it.query == "zzz" && !it.searching }.customers)
    }

    @Test
    fun `a customer is created at the current position, or not without a fix`() = runBlocking<Unit> {
        val repo = repository()
        val location = FakeLocation()
        val vm = CustomerListViewModel(repo, scope, location, debounceMs = 0)
        assertNull(vm.createCustomer(CustomerDraft("Nowhere"), atCurrentLocation = true))
        assertEquals(NO_FIX_MESSAGE, vm.state.await { it.message != null }.message)
        vm.dismissMessage()
        location.fix = fix(53.55, 9.99)
        val placed = checkNotNull(vm.createCustomer(CustomerDraft("Here"), atCurrentLocation = true))
        assertEquals(53.55, placed.location!!.lat)
        assertEquals(LocationSource.Gps, placed.location!!.source)
        assertNull(vm.state.await { it.customers.size == 1 }.message)
    }

    @Test
    fun `nearby lists the closest customers first within the distance`() = runBlocking<Unit> {
        val repo = repository()
        repo.createCustomer(CustomerDraft("Two km", location = at(53.568, 9.99)))
        repo.createCustomer(CustomerDraft("Next door", location = at(53.5505, 9.99)))
        repo.createCustomer(CustomerDraft("Berlin", location = at(52.52, 13.40)))
        repo.createCustomer(CustomerDraft("Unplaced"))
        val location = FakeLocation()
        val vm = NearbyViewModel(repo, scope, location, maxDistanceM = 10_000.0)
        vm.refresh().join()
        vm.state.await { it.message == NO_FIX_MESSAGE }

        location.fix = fix(53.55, 9.99)
        vm.refresh().join()
        val state = vm.state.await { it.customers.size == 2 }
        assertEquals(listOf("Next door", "Two km"), state.customers.map { it.name })
        assertEquals(56.0, state.customers[0].distanceM!!, 5.0)
        assertNull(state.message)
        // A customer created nearby shows up without another refresh (live query).
        repo.createCustomer(CustomerDraft("New neighbour", location = at(53.551, 9.99)))
        vm.state.await { it.customers.map { c -> c.name } == listOf("Next door", "New neighbour", "Two km") }
    }

    @Test
    fun `customer detail edits and starts a visit`() = runBlocking<Unit> {
        val repo = repository()
        val customer = repo.createCustomer(CustomerDraft("Fischhalle", phones = listOf("+49 40 1")))
        val vm = CustomerDetailViewModel(repo, scope, customer.meta.id, clock)
        assertEquals("Fischhalle", vm.state.await { it.customer != null }.customer!!.name)
        vm.save { it.copy(notes = "Closed on Mondays") }.join()
        val saved = vm.state.await { it.customer?.notes == "Closed on Mondays" }.customer!!
        assertEquals(listOf("+49 40 1"), saved.phones)

        val visitId = checkNotNull(vm.startVisit())
        val state = vm.state.await { it.todaysVisits.isNotEmpty() }
        assertEquals(listOf(visitId), state.todaysVisits.map { it.id })
        assertEquals(VisitStatus.Planned, state.todaysVisits[0].status)

        val gone = CustomerDetailViewModel(repo, scope, "missing", clock)
        assertEquals("This customer is not on this phone.", gone.state.await { !it.loading }.message)
    }

    @Test
    fun `customer detail lists contacts and visit history, newest first, and follows writes`() = runBlocking<Unit> {
        val repo = repository()
        val shop = repo.createCustomer(CustomerDraft("Fischhalle", location = at(53.55, 9.99), visitRadiusM = 150))
        val other = repo.createCustomer(CustomerDraft("Kiosk"))
        repo.createContact(shop.meta.id, "Max Weber", title = "Owner", phones = listOf("+49 40 2", " "), emails = listOf("max@fischhalle.de"))
        repo.createContact(shop.meta.id, "anna Berg", phones = listOf("+49 40 3", "+49 170 4"))
        repo.createContact(other.meta.id, "Someone Else")
        val day = 86_400_000L
        // Today for certain (the clock's zone), and before any check-in below.
        val todayStart = maxOf(clock.today().start, clock.now - 60_000)
        val oldest = repo.planVisit(shop.meta.id, plannedStart = clock.now - 3 * day)
        val newest = repo.planVisit(shop.meta.id, plannedStart = todayStart)
        val middle = repo.planVisit(shop.meta.id, plannedStart = clock.now - day)
        repo.planVisit(other.meta.id, plannedStart = clock.now)

        val vm = CustomerDetailViewModel(repo, scope, shop.meta.id, clock)
        val state = vm.state.await {
            it.customer != null && it.contacts.size == 2 && it.visitHistory.size == 3 && it.todaysVisits.isNotEmpty()
        }
        assertNull(state.message)
        assertEquals(listOf("anna Berg", "Max Weber"), state.contacts.map { it.name }, "by name, ignoring case")
        val (anna, max) = state.contacts
        assertEquals(shop.meta.id, anna.customerId)
        assertNull(anna.title)
        assertEquals(listOf("+49 170 4", "+49 40 3"), anna.phones, "phones are a set: sorted")
        assertEquals(emptyList<String>(), anna.emails)
        assertEquals("Owner", max.title)
        assertEquals(listOf("+49 40 2"), max.phones, "blank phones are left out")
        assertEquals(listOf("max@fischhalle.de"), max.emails)
        assertEquals(listOf(newest, middle, oldest).map { it.meta.id }, state.visitHistory.map { it.id })
        assertEquals(listOf(todayStart, clock.now - day, clock.now - 3 * day), state.visitHistory.map { it.plannedStart })
        assertTrue(state.visitHistory.all { it.status == VisitStatus.Planned && it.verification == null })
        assertEquals(listOf(newest.meta.id), state.todaysVisits.map { it.id }, "today's visits stay for the check-in")

        // A contact created afterwards appears through the live query, in name order.
        repo.createContact(shop.meta.id, "Carla Diaz", emails = listOf("carla@fischhalle.de"))
        val withCarla = vm.state.await { it.contacts.size == 3 }
        assertEquals(listOf("anna Berg", "Carla Diaz", "Max Weber"), withCarla.contacts.map { it.name })

        // Checking in to the oldest visit moves it to the top, with its verification.
        repo.checkIn(oldest.meta.id, fix(53.5501, 9.9901).copy(fixAt = System.currentTimeMillis()))
        val checkedIn = vm.state.await { it.visitHistory.firstOrNull()?.id == oldest.meta.id }
        assertEquals(listOf(oldest, newest, middle).map { it.meta.id }, checkedIn.visitHistory.map { it.id })
        assertEquals(VisitStatus.InProgress, checkedIn.visitHistory[0].status)
        assertEquals(Verification.Verified, checkedIn.visitHistory[0].verification)
        assertNotNull(checkedIn.visitHistory[0].checkInAt)

        // The history keeps the latest visits only.
        val short = CustomerDetailViewModel(repo, scope, shop.meta.id, clock, historyLimit = 2)
        val two = short.state.await { it.visitHistory.size == 2 && it.contacts.size == 3 }
        assertEquals(listOf(oldest, newest).map { it.meta.id }, two.visitHistory.map { it.id })
    }

    @Test
    fun `check in and out with the current fix shows the verification`() = runBlocking<Unit> {
        val repo = repository()
        val shop = repo.createCustomer(CustomerDraft("Fischhalle", location = at(53.55, 9.99), visitRadiusM = 150))
        val location = FakeLocation()
        val visit = repo.planVisit(shop.meta.id, plannedStart = clock.now)
        val vm = VisitViewModel(repo, scope, location, visit.meta.id)
        val planned = vm.state.await { it.visit != null && !it.busy }
        assertEquals("Fischhalle", planned.customerName)
        assertTrue(planned.canCheckIn)
        assertFalse(planned.canCheckOut)

        vm.checkIn().join()
        vm.state.await { it.message == NO_FIX_MESSAGE }
        location.fix = fix(53.5501, 9.9901, accuracyM = 8.0) // about 13 m away
        vm.checkOut("too early").join()
        vm.state.await { it.message == "Check in before checking out." }

        vm.checkIn().join()
        val inside = vm.state.await { it.visit?.checkIn != null && !it.busy }
        assertNull(inside.message)
        assertEquals(Verification.Verified, inside.verification)
        assertEquals("Verified: at the customer", inside.verificationText)
        assertFalse(inside.mockLocation)
        assertTrue(inside.canCheckOut)
        assertFalse(inside.canCheckIn)

        vm.checkIn().join()
        vm.state.await { it.message == "You already checked in to this visit." }
        vm.checkOut("Order for next week").join()
        val done = vm.state.await { it.visit?.status == VisitStatus.Done && !it.busy }
        assertEquals("Order for next week", done.visit!!.outcome)
        assertNull(done.message)
        assertFalse(done.canCheckOut)

        // A mock fix 2 km away: out of range, and flagged.
        val second = repo.planVisit(shop.meta.id, plannedStart = clock.now)
        location.fix = fix(53.568, 9.99, mock = true)
        val away = VisitViewModel(repo, scope, location, second.meta.id)
        away.state.await { it.canCheckIn }
        away.checkIn().join()
        val flagged = away.state.await { it.visit?.checkIn != null && !it.busy }
        assertEquals(Verification.OutOfRange, flagged.verification)
        assertTrue(flagged.mockLocation)
    }

    @Test
    fun `today's plan orders the visits from the current position and re-plans`() = runBlocking<Unit> {
        val repo = repository()
        val points = listOf(53.57 to 9.99, 53.55 to 9.99, 53.56 to 9.99)
        // Within the clock's today whatever the hour it runs at (hours after now may be tomorrow).
        val today = clock.today().start
        val visits = points.mapIndexed { i, (lat, lon) ->
            val customer = repo.createCustomer(CustomerDraft("Stop $i", location = at(lat, lon)))
            repo.planVisit(customer.meta.id, plannedStart = today + (i + 1) * 60_000L)
        }
        repo.planVisit(repo.createCustomer(CustomerDraft("No address")).meta.id, plannedStart = today)
        val location = FakeLocation()
        val vm = TodayPlanViewModel(repo, scope, location)
        assertEquals(4, vm.state.await { it.visits.size == 4 }.visits.size)
        vm.plan().join()
        vm.state.await { it.message == NO_FIX_MESSAGE }

        location.fix = fix(53.54, 9.99)
        vm.plan().join()
        val planned = vm.state.await { it.route != null && !it.planning }
        assertEquals(listOf("Stop 1", "Stop 2", "Stop 0"), planned.route!!.stops.map { it.customerName })
        assertEquals(distanceM(53.54, 9.99, 53.57, 9.99) / 1000.0, planned.totalKm, 0.01)
        assertEquals(1, planned.unplacedCount)
        assertNull(planned.message)

        // Checking in at the first stop takes it out of the plan: the view model re-plans.
        repo.checkIn(visits[1].meta.id, fix(53.55, 9.99))
        val replanned = vm.state.await { it.route!!.stops.size == 2 }
        assertEquals(listOf("Stop 2", "Stop 0"), replanned.route!!.stops.map { it.customerName })
    }

    /** A transport that holds the first request until released, then refuses the token. */
    private class GatedTransport : SyncTransport {
        val entered = CountDownLatch(1)
        val release = CountDownLatch(1)

        private fun refuse(): ByteArray {
            entered.countDown()
            release.await(30, TimeUnit.SECONDS)
            throw FieldCrmException.ServerRefused(401u, "token_expired", null)
        }

        override fun push(body: ByteArray) = refuse()
        override fun pull(body: ByteArray) = refuse()
        override fun uploadPings(body: ByteArray) = refuse()
        override fun refetch(body: ByteArray) = refuse()
        override fun analytics(query: String) = refuse()
    }

    @Test
    fun `the sync runner never runs two syncs at once and reports a refused token`() = runBlocking<Unit> {
        val repo = repository()
        repo.createCustomer(CustomerDraft("Kiosk"))
        val transport = GatedTransport()
        val runner = SyncRunner(repo) { transport }
        val vm = SyncViewModel(repo, runner, scope)
        assertEquals(1L, vm.state.await { it.pendingChanges == 1L }.pendingChanges)

        vm.syncNow()
        assertTrue(transport.entered.await(10, TimeUnit.SECONDS))
        assertEquals(SyncPhase.SYNCING, vm.state.await { it.phase == SyncPhase.SYNCING }.phase)
        assertEquals(SyncOutcome.AlreadyRunning, runner.run(), "the worker's run while the button's runs")
        vm.syncNow() // a second tap does nothing either
        transport.release.countDown()

        val failed = vm.state.await { it.phase == SyncPhase.ERROR }
        assertEquals("Your session has expired. Sign in again.", failed.message)
        assertTrue(failed.needsSignIn)
        assertEquals(1L, failed.pendingChanges, "nothing lost")
        val outcome = runner.lastOutcome as SyncOutcome.Failed
        assertTrue(outcome.needsSignIn)

        val signedOut = SyncRunner(repo) { null }
        assertEquals(SyncOutcome.NotSignedIn, signedOut.run())
        // A fresh view model (app restart) reads the stored error.
        val restarted = SyncViewModel(repo, SyncRunner(repo) { null }, scope)
        val remembered = restarted.state.await { it.phase == SyncPhase.ERROR }
        assertTrue(remembered.message!!.startsWith("The last sync failed"), remembered.message)
    }

    @Test
    fun `user messages for every error the rep can meet`() {
        assertEquals(
            "You're offline. Your changes are kept on this phone and sync later.",
            FieldCrmException.Offline("connect refused").userMessage(),
        )
        assertEquals("The server has a problem (503). Try again later.", FieldCrmException.ServerRefused(503u, "unavailable", null).userMessage())
        assertEquals("The server does not allow this (forbidden).", FieldCrmException.ServerRefused(403u, "forbidden", null).userMessage())
        assertEquals("Enter a URL", IllegalArgumentException("Enter a URL").userMessage())
        assertEquals("Out of range: too far from the customer", Verification.OutOfRange.label())
        // Values a newer version of the app wrote are shown as they are, never as a known one.
        assertEquals("Unknown (reviewed)", VisitStatus.Unknown("reviewed").label())
        assertEquals("Unknown (verified_by_photo)", Verification.Unknown("verified_by_photo").label())
        assertEquals("Unknown (D)", Grade.Unknown("D").label())
        assertEquals(
            "A newer version of the app set this status. Update the app to change it.",
            FieldCrmException.InvalidValue("status", ValidationRule.UNKNOWN_VALUE, "unknown").userMessage(),
        )
        // The runner turns a thrown transport factory (bad stored URL) into a failure, not a crash.
        val bad = runCatching { OkHttpSyncTransport("not a url") { "t" } }.exceptionOrNull()
        assertTrue(bad is IllegalArgumentException)
    }

    @Test
    fun `a check-in fix from the future is refused with a clock hint`() = runBlocking<Unit> {
        val repo = repository()
        val shop = repo.createCustomer(CustomerDraft("Kiosk", location = at(53.55, 9.99)))
        val visit = repo.planVisit(shop.meta.id, plannedStart = clock.now)
        val location = FakeLocation(fix(53.55, 9.99).copy(fixAt = System.currentTimeMillis() + 3_600_000))
        val vm = VisitViewModel(repo, scope, location, visit.meta.id)
        vm.state.await { it.canCheckIn }
        vm.checkIn().join()
        vm.state.await { it.message == "The location fix has a wrong time. Check the phone's clock." }
        assertNull(repo.visit(visit.meta.id)!!.checkIn, "nothing written")
        vm.dismissMessage()
        vm.state.await { it.message == null }
    }
}

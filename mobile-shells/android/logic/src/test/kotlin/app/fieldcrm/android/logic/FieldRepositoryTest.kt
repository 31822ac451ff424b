package app.fieldcrm.android.logic

import app.fieldcrm.core.CustomerSummary
import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.GeoLocation
import app.fieldcrm.core.Grade
import app.fieldcrm.core.LocationSource
import app.fieldcrm.core.SyncTransport
import java.util.Collections
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

@Timeout(60)
class FieldRepositoryTest : StoreTest() {
    private fun at(lat: Double, lon: Double) = GeoLocation(lat, lon, LocationSource.Gps, 1_790_000_000_000)

    @Test
    fun `calls run on the injected dispatcher, never on the caller's thread`() = runBlocking<Unit> {
        val repo = repository()
        repo.createCustomer(CustomerDraft("Kiosk"))
        val threads = Collections.synchronizedList(mutableListOf<String>())
        val refusing = object : SyncTransport {
            private fun refuse(): ByteArray {
                threads += Thread.currentThread().name
                throw FieldCrmException.ServerRefused(401u, "invalid_token", null)
            }
            override fun push(body: ByteArray) = refuse()
            override fun pull(body: ByteArray) = refuse()
            override fun uploadPings(body: ByteArray) = refuse()
            override fun refetch(body: ByteArray) = refuse()
            override fun analytics(query: String) = refuse()
        }
        val error = assertFailsWith<FieldCrmException.ServerRefused> { repo.sync(refusing) }
        assertEquals(401, error.status.toInt())
        assertTrue(threads.isNotEmpty(), "the library called the transport")
        val caller = Thread.currentThread().name
        assertTrue(threads.all { it.startsWith(IO_THREAD_PREFIX) && it != caller }, "$threads (caller $caller)")
        val status = repo.syncStatusNow()
        assertEquals(1L, status.pendingChanges.toLong(), "nothing lost")
        assertTrue(status.lastError != null)
        assertEquals("invalid_token", status.lastErrorCode)
    }

    @Test
    fun `cancelling the coroutine stops a sync between requests and loses nothing`() = runBlocking<Unit> {
        val repo = repository()
        repo.createCustomer(CustomerDraft("Kiosk"))
        val requests = java.util.concurrent.atomic.AtomicInteger()
        val firstRequest = kotlinx.coroutines.CompletableDeferred<Unit>()
        val down = object : SyncTransport {
            private fun fail(): ByteArray {
                requests.incrementAndGet()
                firstRequest.complete(Unit)
                throw FieldCrmException.Offline("no route to host")
            }
            override fun push(body: ByteArray) = fail()
            override fun pull(body: ByteArray) = fail()
            override fun uploadPings(body: ByteArray) = fail()
            override fun refetch(body: ByteArray) = fail()
            override fun analytics(query: String) = fail()
        }
        val sync = async { runCatching { repo.sync(down) } }
        firstRequest.await()
        // The library is now in its backoff wait before the second try.
        sync.cancel()
        sync.join()
        assertEquals(1, requests.get(), "no request after the cancel")
        val status = repo.syncStatusNow()
        assertEquals(1L, status.pendingChanges.toLong(), "nothing lost")
        assertEquals("offline", status.lastErrorCode)
    }

    @Test
    fun `a live search follows writes until its collector is cancelled`() = runBlocking<Unit> {
        val repo = repository()
        val seen = Channel<List<String>>(Channel.UNLIMITED)
        val job = launch { repo.searchCustomers("bäck").collect { rows -> seen.send(rows.map(CustomerSummary::name)) } }
        withTimeout(10_000) {
            assertEquals(emptyList<String>(), seen.receive(), "the current result first")
            repo.createCustomer(CustomerDraft("Bäckerei Schulz", city = "Hamburg"))
            assertEquals(listOf("Bäckerei Schulz"), seen.receive())
            repo.createCustomer(CustomerDraft("Fischhalle"))
            repo.createCustomer(CustomerDraft("Bäckerei Lange"))
            var names = seen.receive()
            while (names.size < 2) names = seen.receive()
            assertEquals(setOf("Bäckerei Schulz", "Bäckerei Lange"), names.toSet())
        }
        job.cancel()
        job.join()
        // Blank text lists every customer by name (the search itself needs a word).
        assertEquals(
            listOf("Bäckerei Lange", "Bäckerei Schulz", "Fischhalle"),
            repo.searchCustomers("  ").first().map { it.name },
        )
    }

    @Test
    fun `typed create and update write only what changed`() = runBlocking<Unit> {
        val repo = repository()
        val created = repo.createCustomer(
            CustomerDraft(
                "Fischhalle",
                city = "Hamburg",
                phones = listOf("+49 40 555 123"),
                grade = Grade.B,
                territory = "harbour",
                location = at(53.5448, 9.9390),
                visitRadiusM = 80,
                visitCadenceDays = 14,
            ),
        )
        assertTrue(created.meta.id.isNotEmpty())
        assertEquals("user-ana", created.meta.createdBy)
        assertEquals(80, created.visitRadiusM.toInt())
        assertEquals(150, repo.createCustomer(CustomerDraft("Default radius")).visitRadiusM.toInt(), "core's default")

        val edited = repo.updateCustomer(created.meta.id) { it.copy(notes = "Ask for the buyer", grade = Grade.A) }
        assertEquals("Ask for the buyer", edited.notes)
        assertEquals(Grade.A, edited.grade)
        assertEquals(listOf("+49 40 555 123"), edited.phones)
        assertEquals(edited, repo.customer(created.meta.id))
        assertNull(repo.customer("missing"))
        val missing = assertFailsWith<FieldCrmException.NotFound> { repo.updateCustomer("missing") { it } }
        assertEquals("That record no longer exists on this device.", missing.userMessage())
        val invalid = assertFailsWith<FieldCrmException.InvalidValue> { repo.createCustomer(CustomerDraft("  ")) }
        assertEquals("Name is required.", invalid.userMessage())
    }

    @Test
    fun `a customer's contacts and visits are live queries`() = runBlocking<Unit> {
        val repo = repository()
        val shop = repo.createCustomer(CustomerDraft("Fischhalle", location = at(53.55, 9.99)))
        val contacts = Channel<List<String>>(Channel.UNLIMITED)
        val visits = Channel<List<String>>(Channel.UNLIMITED)
        val job = launch {
            launch { repo.contactsOfCustomer(shop.meta.id).collect { rows -> contacts.send(rows.map { it.name }) } }
            launch { repo.visitsForCustomer(shop.meta.id, limit = 2).collect { rows -> visits.send(rows.map { it.id }) } }
        }
        withTimeout(10_000) {
            assertEquals(emptyList<String>(), contacts.receive(), "the current result first")
            assertEquals(emptyList<String>(), visits.receive())
            val contact = repo.createContact(shop.meta.id, "  Max Weber ", title = " ", phones = listOf("+49 40 2"))
            assertEquals("Max Weber", contact.name)
            assertNull(contact.title, "a blank title is left out")
            assertEquals(listOf("Max Weber"), contacts.receive())
            val first = repo.planVisit(shop.meta.id, plannedStart = clock.now - 7_200_000)
            assertEquals(listOf(first.meta.id), visits.receive())
            val second = repo.planVisit(shop.meta.id, plannedStart = clock.now - 3_600_000)
            val third = repo.planVisit(shop.meta.id, plannedStart = clock.now - 1_800_000)
            var ids = visits.receive()
            while (ids.firstOrNull() != third.meta.id) ids = visits.receive()
            assertEquals(listOf(third.meta.id, second.meta.id), ids, "newest first, at most the limit")
        }
        job.cancel()
        job.join()
        assertEquals(listOf("Max Weber"), repo.contactsOfCustomer(shop.meta.id).first().map { it.name })
        assertEquals(emptyList<Any>(), repo.contactsOfCustomer("missing").first())
        assertFailsWith<IllegalArgumentException> { repo.visitsForCustomer(shop.meta.id, limit = 0) }
    }

    @Test
    fun `today's visits, pings and the day plan`() = runBlocking<Unit> {
        val repo = repository()
        val near = repo.createCustomer(CustomerDraft("Near", location = at(53.551, 9.993)))
        val far = repo.createCustomer(CustomerDraft("Far", location = at(53.600, 10.050)))
        val nowhere = repo.createCustomer(CustomerDraft("No location"))
        val visits = listOf(far, near, nowhere).map { repo.planVisit(it.meta.id, plannedStart = clock.now + 60_000) }

        val today = repo.todaysVisits().first { it.size == 3 }
        assertEquals(visits.map { it.meta.id }.toSet(), today.map { it.id }.toSet())
        assertEquals(setOf("Near", "Far", "No location"), today.map { it.customerName }.toSet())

        val route = repo.planDay(53.550, 9.990)
        assertEquals(listOf("Near", "Far"), route.stops.map { it.customerName }, "closest first")
        assertEquals(listOf(visits[2].meta.id), route.unplacedVisitIds)
        assertEquals(route.stops.sumOf { it.legM }, route.totalM, 1.0)

        val pings = listOf(fix(53.55, 9.99), fix(53.56, 10.0).copy(fixAt = System.currentTimeMillis() - 500))
        assertEquals(2, repo.recordPings(pings))
        assertEquals(0, repo.recordPings(pings), "a repeated fix time is kept once")
        assertEquals(2, repo.pingsBetween(0, Long.MAX_VALUE).size)
        assertEquals(2L, repo.syncStatusNow().pendingPings.toLong())
    }

    @Test
    fun `sync status and rejected list are flows that follow writes`() = runBlocking<Unit> {
        val repo = repository()
        val statuses = async { repo.syncStatus().first { it.pendingChanges.toLong() == 2L } }
        repo.createCustomer(CustomerDraft("One"))
        repo.createCustomer(CustomerDraft("Two"))
        assertEquals(2L, withTimeout(10_000) { statuses.await() }.pendingChanges.toLong())
        assertEquals(emptyList<Any>(), repo.rejectedChanges().first())
    }

    @Test
    fun `a closed repository answers with StoreClosed`() = runBlocking<Unit> {
        val repo = repository()
        repo.createCustomer(CustomerDraft("Kiosk"))
        repo.close()
        assertTrue(repo.isClosed())
        val error = assertFailsWith<FieldCrmException.StoreClosed> { repo.customer("x") }
        assertEquals("The app's data is closed. Restart the app.", error.userMessage())
        repo.close() // twice is harmless
        // Reopening the file finds the data.
        val again = repository()
        assertEquals(listOf("Kiosk"), again.searchCustomers("kiosk").first().map { it.name })
    }

    @Test
    fun `every fix the app takes is kept as a ping`() = runBlocking<Unit> {
        val repo = repository()
        val gps = FakeLocation()
        val recording = RecordingLocationProvider(gps, repo)
        assertNull(recording.currentFix())
        gps.fix = fix(53.55, 9.99)
        assertEquals(gps.fix, recording.currentFix())
        gps.fix = fix(91.0, 9.99) // not a position: no ping, but the caller still gets the fix
        assertEquals(gps.fix, recording.currentFix())
        assertEquals(listOf(53.55), repo.pingsBetween(0, Long.MAX_VALUE).map { it.lat })
        assertEquals(1L, repo.syncStatusNow().pendingPings.toLong())
    }
}

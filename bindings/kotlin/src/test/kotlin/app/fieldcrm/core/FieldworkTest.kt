package app.fieldcrm.core

import app.fieldcrm.core.Support.BERLIN_LAT
import app.fieldcrm.core.Support.BERLIN_LON
import app.fieldcrm.core.Support.fix
import app.fieldcrm.core.Support.located
import app.fieldcrm.core.Support.north
import app.fieldcrm.core.Support.nowMs
import app.fieldcrm.core.Support.open
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/** A rep's day: check-in verified offline, written once; check-out; day plan; pings. */
class FieldworkTest {
    private val rep = "rep-kotlin"

    @Test
    fun `check-in is verified against the customer's location and written once`(@TempDir dir: Path) {
        open(dir).use { store ->
            store.setUser(rep)
            val shop = store.createCustomer(located("Blumen Krüger", BERLIN_LAT, BERLIN_LON).apply { visitRadiusM = 100u })
            val first = store.createVisit(newVisit(shop.meta.id, rep).apply { plannedStart = nowMs() - 3_600_000 })
            val second = store.createVisit(newVisit(shop.meta.id, rep).apply { plannedStart = nowMs() - 1_800_000 })

            // 20 m away, 10 m accuracy: the whole circle lies within the 100 m radius.
            val nearLat = north(BERLIN_LAT, 20.0)
            assertEquals(20.0, distanceM(BERLIN_LAT, BERLIN_LON, nearLat, BERLIN_LON), 0.5)
            val checkedIn = store.checkIn(first.meta.id, fix(nearLat, BERLIN_LON, 10.0))
            assertEquals(Verification.Verified, checkedIn.verification)
            assertEquals(VisitStatus.InProgress, checkedIn.status)
            val stamp = checkedIn.checkIn
            assertNotNull(stamp)
            assertEquals(nearLat, stamp!!.lat)
            assertEquals(10.0, stamp.accuracyM)

            // 2 km away: out of range.
            val farLat = north(BERLIN_LAT, 2_000.0)
            assertEquals(Verification.OutOfRange, store.checkIn(second.meta.id, fix(farLat, BERLIN_LON, 10.0)).verification)

            // Written once: a second check-in is refused and changes nothing.
            val again = assertThrows<FieldCrmException.InvalidValue> {
                store.checkIn(first.meta.id, fix(farLat, BERLIN_LON, 5.0, agoMs = 1_000))
            }
            assertEquals("check_in" to ValidationRule.IMMUTABLE, again.field to again.rule)
            assertEquals(stamp, store.getVisit(first.meta.id)!!.checkIn)

            // Check-out closes the visit, also written once.
            val done = store.checkOut(first.meta.id, fix(nearLat, BERLIN_LON, 8.0, agoMs = 1_000), "Ordered tulips")
            assertEquals(VisitStatus.Done, done.status)
            assertEquals("Ordered tulips", done.outcome)
            assertNotNull(done.checkOut)
            val twice = assertThrows<FieldCrmException.InvalidValue> {
                store.checkOut(first.meta.id, fix(nearLat, BERLIN_LON, 8.0, agoMs = 500), null)
            }
            assertEquals(ValidationRule.IMMUTABLE, twice.rule)
            // Check-out needs a check-in first.
            val third = store.createVisit(newVisit(shop.meta.id, rep))
            assertThrows<FieldCrmException.InvalidValue> { store.checkOut(third.meta.id, fix(nearLat, BERLIN_LON), null) }
            assertThrows<FieldCrmException.NotFound> { store.checkIn("no-such-visit", fix(nearLat, BERLIN_LON)) }
            // The done visit is the customer's last visit.
            assertNotNull(store.searchCustomers("blumen", 1u).single().lastVisitAt)
        }
    }

    @Test
    fun `planDay orders the planned visits from where the rep is`(@TempDir dir: Path) {
        open(dir).use { store ->
            store.setUser(rep)
            val dayStart = nowMs() - 6 * 3_600_000
            val dayEnd = nowMs() + 6 * 3_600_000
            // Stops 1, 2 and 3 km north of the start, planned in a scrambled order.
            val byDistance = mutableMapOf<Int, String>()
            for ((i, km) in listOf(3, 1, 2).withIndex()) {
                val customer = store.createCustomer(located("Stop $km km", north(BERLIN_LAT, km * 1_000.0), BERLIN_LON))
                val visit = store.createVisit(
                    newVisit(customer.meta.id, rep).apply { plannedStart = dayStart + (i + 1) * 3_600_000L },
                )
                byDistance[km] = visit.meta.id
            }
            val unplaced = store.createCustomer(newCustomer("Somewhere unknown"))
            val unplacedVisit = store.createVisit(newVisit(unplaced.meta.id, rep).apply { plannedStart = dayStart + 60_000 })
            // Another rep's visit and one outside the day are not on the plan.
            val other = store.createCustomer(located("Not mine", north(BERLIN_LAT, 500.0), BERLIN_LON))
            store.createVisit(newVisit(other.meta.id, "someone-else").apply { plannedStart = dayStart + 60_000 })
            store.createVisit(newVisit(other.meta.id, rep).apply { plannedStart = dayEnd + 60_000 })

            val route = store.planDay(BERLIN_LAT, BERLIN_LON, dayStart, dayEnd)
            assertEquals(listOf(1, 2, 3).map { byDistance[it] }, route.stops.map { it.visitId })
            assertEquals(listOf("Stop 1 km", "Stop 2 km", "Stop 3 km"), route.stops.map { it.customerName })
            route.stops.forEach { assertEquals(1_000.0, it.legM, 5.0) }
            assertEquals(3_000.0, route.totalM, 10.0)
            assertEquals(listOf(unplacedVisit.meta.id), route.unplacedVisitIds)

            // A checked-in visit is no longer planned: it leaves the plan.
            store.checkIn(byDistance.getValue(1), fix(north(BERLIN_LAT, 1_000.0), BERLIN_LON))
            assertEquals(listOf(2, 3).map { byDistance[it] }, store.planDay(BERLIN_LAT, BERLIN_LON, dayStart, dayEnd).stops.map { it.visitId })
            assertThrows<FieldCrmException.InvalidValue> { store.planDay(91.0, BERLIN_LON, dayStart, dayEnd) }
        }
    }

    @Test
    fun `pings are recorded once and wait for sync`(@TempDir dir: Path) {
        open(dir).use { store ->
            val start = nowMs() - 20 * 60_000
            val drive = (0 until 10).map { i ->
                GpsFix(north(BERLIN_LAT, i * 100.0), BERLIN_LON, 8.0, start + i * 60_000L)
            }
            assertEquals(10u, store.recordPings(drive))
            assertEquals(0u, store.recordPings(drive.take(3)), "a repeated fix time is kept once")
            assertEquals(10uL, store.syncStatus().pendingPings)
            assertEquals(drive, store.pingsBetween(start, start + 10 * 60_000L))
            assertEquals(drive.subList(2, 5), store.pingsBetween(start + 2 * 60_000L, start + 5 * 60_000L))
            assertTrue(store.refusedPings().isEmpty())
            // A fix from the future is refused.
            val future = assertThrows<FieldCrmException.InvalidValue> {
                store.recordPings(listOf(GpsFix(BERLIN_LAT, BERLIN_LON, 5.0, nowMs() + 3_600_000)))
            }
            assertEquals("ping.fix_at" to ValidationRule.OUT_OF_RANGE, future.field to future.rule)
            assertEquals(10uL, store.syncStatus().pendingPings)
            assertNull(store.syncStatus().lastSyncAt)
        }
    }
}

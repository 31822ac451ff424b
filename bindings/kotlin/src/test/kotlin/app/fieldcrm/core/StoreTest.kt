package app.fieldcrm.core

import app.fieldcrm.core.Support.BERLIN_LAT
import app.fieldcrm.core.Support.BERLIN_LON
import app.fieldcrm.core.Support.fix
import app.fieldcrm.core.Support.located
import app.fieldcrm.core.Support.names
import app.fieldcrm.core.Support.north
import app.fieldcrm.core.Support.open
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path

/** Records through the generated API: create, search, nearby, get, update, delete; bad input. */
class StoreTest {
    @Test
    fun `create, search, nearby, get, update and delete customers`(@TempDir dir: Path) {
        open(dir).use { store ->
            val bakery = store.createCustomer(
                located("Bäckerei Schulz", north(BERLIN_LAT, 300.0), BERLIN_LON).apply {
                    phones = listOf("+49 30 555 123")
                    segments = listOf("food", "bakery")
                },
            )
            assertTrue(bakery.meta.id.isNotEmpty(), "the store chose an id")
            assertTrue(bakery.meta.createdAt > 0)
            assertEquals(listOf("bakery", "food"), bakery.segments, "segments come back sorted")
            val butcher = store.createCustomer(
                located("Fleischerei Wagner", north(BERLIN_LAT, 1_500.0), BERLIN_LON, "Potsdam"),
            )
            val nowhere = store.createCustomer(newCustomer("Getränke Nowak"))

            // Prefix search over name, city and phone numbers; every word must match.
            assertEquals(listOf(bakery.meta.id), store.searchCustomers("bäck", 10u).map { it.id })
            assertEquals(listOf("Bäckerei Schulz"), names(store.searchCustomers("schul BÄCK", 10u)))
            assertTrue(store.searchCustomers("schul wag", 10u).isEmpty())
            assertEquals(listOf("Fleischerei Wagner"), names(store.searchCustomers("potsd", 10u)))
            assertEquals(listOf("Bäckerei Schulz"), names(store.searchCustomers("555", 10u)))
            assertEquals("Berlin", store.searchCustomers("bäck", 10u).single().city)
            assertTrue(store.searchCustomers("zzz", 10u).isEmpty())

            // Nearby: closest first, with distances; customers without a location are left out.
            val near = store.nearbyCustomers(BERLIN_LAT, BERLIN_LON, null, 10u)
            assertEquals(listOf("Bäckerei Schulz", "Fleischerei Wagner"), names(near))
            val first = near[0].distanceM!!
            assertEquals(300.0, first, 5.0)
            assertEquals(distanceM(BERLIN_LAT, BERLIN_LON, near[0].lat!!, near[0].lon!!), first, 1e-6)
            assertEquals(listOf("Bäckerei Schulz"), names(store.nearbyCustomers(BERLIN_LAT, BERLIN_LON, 1_000.0, 10u)))

            // Typed get and update.
            val loaded = store.getCustomer(bakery.meta.id)
            assertEquals(bakery, loaded)
            val saved = store.updateCustomer(loaded!!.copy(grade = Grade.A, notes = "Ovens from 2019"))
            assertEquals(Grade.A, saved.grade)
            assertEquals("Ovens from 2019", store.getCustomer(bakery.meta.id)!!.notes)
            assertEquals(
                listOf(bakery.meta.id),
                store.customers(CustomerFilter(grade = Grade.A)).map { it.id },
            )
            assertNull(store.getCustomer("no-such-id"))

            // Delete keeps a tombstone, hidden from queries; restore undoes it.
            store.deleteCustomer(butcher.meta.id)
            assertTrue(store.getCustomer(butcher.meta.id)!!.meta.deleted)
            assertTrue(store.searchCustomers("fleisch", 10u).isEmpty())
            store.restoreCustomer(butcher.meta.id)
            assertFalse(store.getCustomer(butcher.meta.id)!!.meta.deleted)
            val wrongKind = assertThrows<FieldCrmException.WrongKind> { store.deleteTask(nowhere.meta.id) }
            assertEquals("customer", wrongKind.actual)
            assertThrows<FieldCrmException.NotFound> { store.deleteCustomer("no-such-id") }
            assertEquals(6uL, store.syncStatus().pendingChanges, "3 creates, an update, a delete and a restore wait for sync")
        }
        // The data is in the file: it opens again.
        open(dir).use { again -> assertEquals(3, again.customers(CustomerFilter()).size) }
    }

    @Test
    fun `a file that is not a store is refused untouched`(@TempDir dir: Path) {
        val path = dir.resolve("notes.txt")
        Files.writeString(path, "not a database, just text that is long enough")
        assertThrows<FieldCrmException.NotAStore> { FieldStore.open(path.toString()) }
        assertEquals("not a database, just text that is long enough", Files.readString(path))
    }

    @Test
    fun `invalid values are typed exceptions with field and rule, and write nothing`(@TempDir dir: Path) {
        open(dir).use { store ->
            val latitude = assertThrows<FieldCrmException.InvalidValue> {
                store.createCustomer(located("Secret Name GmbH", 91.0, BERLIN_LON))
            }
            assertEquals("location.lat", latitude.field)
            assertEquals(ValidationRule.OUT_OF_RANGE, latitude.rule)
            assertTrue(latitude.detail.isNotEmpty())
            assertFalse("Secret" in latitude.message!!, "no record contents in errors: ${latitude.message}")

            val empty = assertThrows<FieldCrmException.InvalidValue> { store.createCustomer(newCustomer("")) }
            assertEquals("name" to ValidationRule.REQUIRED, empty.field to empty.rule)

            // Unknown { value } is how a value a newer app wrote reads; the app cannot make one up.
            val madeUp = assertThrows<FieldCrmException.InvalidValue> {
                store.createCustomer(newCustomer("Kiosk").copy(grade = Grade.Unknown("D")))
            }
            assertEquals("grade" to ValidationRule.UNKNOWN_VALUE, madeUp.field to madeUp.rule)

            val nan = assertThrows<FieldCrmException.InvalidValue> {
                store.recordPings(listOf(fix(BERLIN_LAT, BERLIN_LON), fix(BERLIN_LAT, BERLIN_LON, Double.NaN, 30_000)))
            }
            assertEquals("ping.accuracy_m" to ValidationRule.NOT_FINITE, nan.field to nan.rule)

            val nearby = assertThrows<FieldCrmException.InvalidValue> {
                store.nearbyCustomers(Double.NaN, BERLIN_LON, null, 10u)
            }
            assertEquals(ValidationRule.NOT_FINITE, nearby.rule)

            val status = store.syncStatus()
            assertEquals(0uL, status.pendingChanges, "nothing written")
            assertEquals(0uL, status.pendingPings, "one bad ping refuses the whole call")
            assertTrue(store.customers(CustomerFilter()).isEmpty())

            // A NaN check-in accuracy leaves the visit as it was.
            val shop = store.createCustomer(located("Kiosk", BERLIN_LAT, BERLIN_LON))
            val visit = store.createVisit(newVisit(shop.meta.id, store.user()))
            val checkIn = assertThrows<FieldCrmException.InvalidValue> {
                store.checkIn(visit.meta.id, fix(BERLIN_LAT, BERLIN_LON, Double.NaN))
            }
            assertEquals("check_in.accuracy_m" to ValidationRule.NOT_FINITE, checkIn.field to checkIn.rule)
            val unchanged = store.getVisit(visit.meta.id)
            assertNotNull(unchanged)
            assertEquals(visit, unchanged)
            assertEquals(2uL, store.syncStatus().pendingChanges)
            assertThrows<FieldCrmException.NotFound> { store.updateCustomer(newCustomer("Never created")) }
        }
    }
}

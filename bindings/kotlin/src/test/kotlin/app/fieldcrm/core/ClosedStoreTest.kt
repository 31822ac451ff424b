package app.fieldcrm.core

import app.fieldcrm.core.Support.BERLIN_LAT
import app.fieldcrm.core.Support.BERLIN_LON
import app.fieldcrm.core.Support.fix
import app.fieldcrm.core.Support.open
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

class ClosedStoreTest {
    @Test
    fun `after closeStore every call throws StoreClosed, listeners stop, closing twice is harmless`(@TempDir dir: Path) {
        val store = open(dir)
        val customer = store.createCustomer(newCustomer("Kiosk"))
        val listener = QueueListener()
        val subscription = store.subscribe(Query.Customers(CustomerFilter()), listener)
        assertEquals(1, (listener.next() as QueryResult.Customers).rows.size)

        assertFalse(store.isClosed())
        store.closeStore()
        assertTrue(store.isClosed())
        val calls: List<Pair<String, () -> Any?>> = listOf(
            "createCustomer" to { store.createCustomer(newCustomer("Late")) },
            "getCustomer" to { store.getCustomer(customer.meta.id) },
            "updateCustomer" to { store.updateCustomer(customer) },
            "deleteCustomer" to { store.deleteCustomer(customer.meta.id) },
            "searchCustomers" to { store.searchCustomers("k", 0u) },
            "nearbyCustomers" to { store.nearbyCustomers(BERLIN_LAT, BERLIN_LON, null, 5u) },
            "checkIn" to { store.checkIn("v", fix(BERLIN_LAT, BERLIN_LON)) },
            "recordPings" to { store.recordPings(listOf(fix(BERLIN_LAT, BERLIN_LON))) },
            "syncStatus" to { store.syncStatus() },
            "rejectedChanges" to { store.rejectedChanges() },
            "actorId" to { store.actorId() },
            "setUser" to { store.setUser("someone") },
            "subscribe" to { store.subscribe(Query.Pipeline(null), listener) },
            "syncWithBuiltinHttp" to { store.syncWithBuiltinHttp("http://127.0.0.1:9", "t") },
        )
        for ((name, call) in calls) {
            assertThrows<FieldCrmException.StoreClosed>(name) { call() }
        }
        assertNull(listener.next(1), "no listener calls after close")

        store.closeStore() // twice is harmless
        subscription.unsubscribe() // and so is unsubscribing from a closed store
        subscription.close()
        store.close() // frees the native handle

        // The file was released with its data: it opens again.
        open(dir).use { again -> assertNotNull(again.getCustomer(customer.meta.id)) }
    }
}

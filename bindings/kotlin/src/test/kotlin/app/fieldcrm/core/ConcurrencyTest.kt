package app.fieldcrm.core

import app.fieldcrm.core.Support.open
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

class ConcurrencyTest {
    @Test
    fun `one store serves 8 threads creating and searching at once`(@TempDir dir: Path) {
        val threads = 8
        val perThread = 50
        open(dir).use { store ->
            val live = QueueListener()
            store.subscribe(Query.Customers(CustomerFilter(limit = 10_000u)), live).use {
                val pool = Executors.newFixedThreadPool(threads)
                val start = CountDownLatch(1)
                val ids = Collections.synchronizedList(mutableListOf<String>())
                try {
                    val jobs = (0 until threads).map { t ->
                        pool.submit<Unit> {
                            start.await()
                            repeat(perThread) { i ->
                                val created = store.createCustomer(newCustomer("Shop $t-$i"))
                                ids.add(created.meta.id)
                                check(store.getCustomer(created.meta.id) != null) { "created record missing" }
                                check(store.searchCustomers("shop $t-$i", 5u).any { it.id == created.meta.id })
                                store.searchCustomers("shop", 20u)
                            }
                        }
                    }
                    start.countDown()
                    jobs.forEach { it.get(5, TimeUnit.MINUTES) } // rethrows a thread's failure
                } finally {
                    pool.shutdownNow()
                }
                val total = threads * perThread
                assertEquals(total, ids.toSet().size, "every create returned its own id")
                val all = store.customers(CustomerFilter(limit = 10_000u))
                assertEquals(ids.toSet(), all.map { it.id }.toSet())
                assertEquals(total.toULong(), store.syncStatus().pendingChanges)
                // The live query's last call saw the final state.
                var last: QueryResult? = null
                while (true) last = live.results.poll() ?: break
                assertTrue(last is QueryResult.Customers)
                assertEquals(total, (last as QueryResult.Customers).rows.size)
            }
        }
    }
}

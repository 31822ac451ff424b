package app.fieldcrm.core

import app.fieldcrm.core.Support.customerNames
import app.fieldcrm.core.Support.open
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

/** A listener implemented in Kotlin that Rust calls; results go into a queue. */
class QueueListener : QueryListener {
    val results = LinkedBlockingQueue<QueryResult>()

    override fun onResult(result: QueryResult) {
        results.add(result)
    }

    fun next(seconds: Long = 5): QueryResult? = results.poll(seconds, TimeUnit.SECONDS)
}

class LiveQueryTest {
    @Test
    fun `a Kotlin listener gets the result now, after each relevant write, and not after unsubscribe`(@TempDir dir: Path) {
        open(dir).use { store ->
            val listener = QueueListener()
            val subscription = store.subscribe(Query.SearchCustomers("kiosk", 10u), listener)
            assertTrue(subscription.isActive())
            assertEquals(emptyList<String>(), customerNames(listener.next()!!), "the current result at once")

            store.createCustomer(newCustomer("Kiosk Nord"))
            assertEquals(listOf("Kiosk Nord"), customerNames(listener.next() ?: error("no update after the write")))
            store.createCustomer(newCustomer("Unrelated Laden"))
            assertNull(listener.next(1), "no call when the result did not change")

            subscription.unsubscribe()
            assertFalse(subscription.isActive())
            store.createCustomer(newCustomer("Kiosk Süd"))
            assertNull(listener.next(1), "no calls after unsubscribe")
            subscription.unsubscribe() // twice is harmless
            subscription.close()
        }
    }

    @Test
    fun `a listener may complete a deferred awaited with a timeout, from a write on another thread`(@TempDir dir: Path) {
        open(dir).use { store ->
            val gotTask = CompletableDeferred<List<TaskSummary>>()
            val listener = object : QueryListener {
                override fun onResult(result: QueryResult) {
                    if (result is QueryResult.Tasks && result.rows.isNotEmpty()) gotTask.complete(result.rows)
                }
            }
            store.subscribe(Query.OpenTasks(null), listener).use { subscription ->
                val writer = Thread { store.createTask(newTask("Send price list")) }
                writer.start()
                val rows = runBlocking { withTimeout(5_000) { gotTask.await() } }
                writer.join()
                assertEquals(listOf("Send price list"), rows.map { it.title })
                assertTrue(subscription.isActive())
            }
        }
    }

    @Test
    fun `a throwing listener does not fail the write or stop other listeners`(@TempDir dir: Path) {
        open(dir).use { store ->
            val throwing = object : QueryListener {
                override fun onResult(result: QueryResult) {
                    // Without a stack trace: uniffi puts the exception, trace included, into a
                    // panic message that Rust's panic hook prints to stderr.
                    throw object : IllegalStateException("listener bug") {
                        override fun fillInStackTrace(): Throwable = this
                    }
                }
            }
            val healthy = QueueListener()
            val query = Query.SearchCustomers("kiosk", 10u)
            store.subscribe(query, throwing).use {
                store.subscribe(query, healthy).use {
                    healthy.next()
                    store.createCustomer(newCustomer("Kiosk"))
                    assertEquals(listOf("Kiosk"), customerNames(healthy.next()!!))
                    assertEquals(1, store.searchCustomers("kiosk", 0u).size)
                }
            }
        }
    }
}

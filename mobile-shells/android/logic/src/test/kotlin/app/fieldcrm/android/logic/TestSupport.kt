package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldStore
import app.fieldcrm.core.GpsFix
import java.nio.file.Files
import java.nio.file.Path
import java.time.ZoneId
import java.time.ZoneOffset
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExecutorCoroutineDispatcher
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.io.TempDir

const val IO_THREAD_PREFIX = "fieldcrm-io-"

/** A named pool standing in for Dispatchers.IO, so tests can tell its threads apart. */
fun ioDispatcher(): ExecutorCoroutineDispatcher {
    val count = AtomicInteger()
    return Executors.newFixedThreadPool(4) { task ->
        Thread(task, IO_THREAD_PREFIX + count.incrementAndGet()).apply { isDaemon = true }
    }.asCoroutineDispatcher()
}

class FixedClock(var now: Long = System.currentTimeMillis(), override val zone: ZoneId = ZoneOffset.UTC) : Clock {
    override fun nowMs(): Long = now
}

/** The fused location provider's stand-in: answers whatever fix the test sets. */
class FakeLocation(@Volatile var fix: GpsFix? = null) : LocationProvider {
    val calls = AtomicInteger()

    override suspend fun currentFix(): GpsFix? {
        calls.incrementAndGet()
        return fix
    }
}

fun fix(lat: Double, lon: Double, accuracyM: Double = 5.0, mock: Boolean = false) =
    GpsFix(lat, lon, accuracyM, System.currentTimeMillis() - 1_000, mock)

/** Waits until the state matches; on timeout fails with the last state seen. */
suspend fun <T> StateFlow<T>.await(timeoutMs: Long = 20_000, predicate: (T) -> Boolean): T = try {
    withTimeout(timeoutMs) { first(predicate) }
} catch (e: TimeoutCancellationException) {
    fail("timed out after $timeoutMs ms; last state: $value")
}

/** A temp folder, an IO dispatcher, a view-model scope, and the repositories to close. */
abstract class StoreTest {
    @TempDir
    lateinit var dir: Path

    protected val io = ioDispatcher()
    protected val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    protected val clock = FixedClock()
    private val opened = mutableListOf<FieldRepository>()

    protected suspend fun repository(name: String = "crm.sqlite", user: String? = "user-ana"): FieldRepository =
        FieldRepository.open(dir.resolve(name).toString(), io, clock).also { repo ->
            opened += repo
            if (user != null) repo.setUser(user)
        }

    /**
     * A repository and the store under it, for what the app itself never does: writing the
     * catalog (an admin's) or a line with a product this phone does not know.
     */
    protected suspend fun storeAndRepository(name: String = "crm.sqlite", user: String? = "user-ana"): Pair<FieldStore, FieldRepository> {
        val store = withContext(io) { FieldStore.open(dir.resolve(name).toString()) }
        val repo = FieldRepository(store, io, clock).also { opened += it }
        if (user != null) repo.setUser(user)
        return store to repo
    }

    @AfterEach
    fun closeAll() {
        scope.cancel()
        runBlocking { opened.forEach { it.close() } }
        io.close()
    }
}

/** A real fieldcrm-server process on 127.0.0.1:0 with its own database. */
class ServerProcess private constructor(val base: String, private val process: Process) : AutoCloseable {
    companion object {
        const val PASSWORD = "secret pass"
        private val bin: Path = Path.of(
            System.getProperty("fieldcrm.server.bin") ?: "../../../target/debug/fieldcrm-server",
        )

        fun admin(db: Path, vararg args: String) {
            val process = ProcessBuilder(listOf(bin.toString(), "--db", db.toString()) + args)
                .redirectErrorStream(true)
                .start()
            val output = process.inputStream.bufferedReader().readText()
            check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) {
                "${args.toList()}: $output"
            }
        }

        /** Team north, territories harbour and hills; reps ana and ben work in harbour. */
        fun seed(db: Path) {
            check(Files.isExecutable(bin)) { "$bin is missing: cargo build -p fieldcrm-server" }
            admin(db, "team", "add", "--name", "north")
            for (territory in listOf("harbour", "hills")) {
                admin(db, "territory", "add", "--name", territory, "--team", "north")
            }
            for (user in listOf("ana", "ben")) {
                admin(db, "user", "add", "--username", user, "--password", PASSWORD, "--role", "rep", "--team", "north")
                admin(db, "territory", "assign-user", "--username", user, "--territory", "harbour")
            }
        }

        fun start(db: Path): ServerProcess {
            val process = ProcessBuilder(bin.toString(), "--db", db.toString(), "serve", "--listen", "127.0.0.1:0")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .apply { environment()["RUST_LOG"] = "warn" }
                .start()
            val stdout = process.inputStream.bufferedReader()
            val line = stdout.readLine()
            val prefix = "fieldcrm-server listening on "
            if (line == null || !line.startsWith(prefix)) {
                process.destroyForcibly()
                error("unexpected first line from fieldcrm-server: $line")
            }
            // Keep draining stdout so the server never blocks on a full pipe.
            Thread { stdout.useLines { lines -> lines.forEach { _ -> } } }.apply { isDaemon = true }.start()
            return ServerProcess(line.removePrefix(prefix).trim(), process)
        }
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
    }
}

/** assertThrows for suspending code. */
suspend inline fun <reified T : Throwable> assertFailsWith(noinline block: suspend () -> Unit): T {
    try {
        block()
    } catch (e: Throwable) {
        if (e is T) return e
        throw AssertionError("expected ${T::class.simpleName}, got $e", e)
    }
    throw AssertionError("expected ${T::class.simpleName}, nothing was thrown")
}

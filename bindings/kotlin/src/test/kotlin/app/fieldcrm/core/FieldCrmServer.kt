package app.fieldcrm.core

import java.io.IOException
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/**
 * The real `fieldcrm-server` binary on a loopback port with a temporary database, seeded with
 * its admin subcommands as `server/tests/support/mod.rs` `seed_org` does: team north with
 * territories harbour and hills, and the given reps in harbour.
 */
class FieldCrmServer(dir: Path, reps: List<String>, val password: String) : AutoCloseable {
    companion object {
        /** Set by the pom (surefire) to the Cargo-built binary; the test script builds it first. */
        val binary: Path = Paths.get(
            System.getProperty("fieldcrm.server.bin") ?: "../../target/debug/fieldcrm-server",
        ).toAbsolutePath().normalize()

        /** Every process started, so that `@AfterAll` can make sure none outlives the tests. */
        private val started = ConcurrentHashMap.newKeySet<Process>()

        fun killAll() {
            started.forEach { stop(it) }
            started.clear()
        }

        private fun stop(process: Process) {
            process.destroy()
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS)
        }
    }

    private val db: Path = dir.resolve("server.sqlite")
    private val log: Path = dir.resolve("server.log")
    private val process: Process
    val base: String

    init {
        check(Files.isExecutable(binary)) {
            "$binary is missing: build it with `cargo build -p fieldcrm-server` (scripts/test-kotlin does)"
        }
        admin("team", "add", "--name", "north")
        for (territory in listOf("harbour", "hills")) {
            admin("territory", "add", "--name", territory, "--team", "north")
        }
        for (rep in reps) {
            admin("user", "add", "--username", rep, "--password", password, "--role", "rep", "--team", "north")
            admin("territory", "assign-user", "--username", rep, "--territory", "harbour")
        }
        val builder = ProcessBuilder(binary.toString(), "--db", db.toString(), "serve", "--listen", "127.0.0.1:0")
            .redirectError(log.toFile())
        builder.environment()["RUST_LOG"] = "warn"
        process = builder.start()
        started.add(process)
        val stdout = process.inputStream.bufferedReader()
        val first = try {
            CompletableFuture.supplyAsync { stdout.readLine() }.get(60, TimeUnit.SECONDS)
        } catch (e: Exception) {
            close()
            throw IllegalStateException("the server did not start: ${Files.readString(log)}", e)
        }
        val prefix = "fieldcrm-server listening on "
        if (first == null || !first.startsWith(prefix)) {
            close()
            error("unexpected first line ${first?.let { "\"$it\"" }}; log: ${Files.readString(log)}")
        }
        base = first.removePrefix(prefix).trim()
        // Keep draining stdout so that the server never blocks on a full pipe.
        Thread { stdout.useLines { lines -> lines.forEach { } } }.apply { isDaemon = true }.start()
    }

    private fun admin(vararg args: String) {
        val output = dir().resolve("admin.out").toFile()
        val process = ProcessBuilder(listOf(binary.toString(), "--db", db.toString()) + args)
            .redirectErrorStream(true)
            .redirectOutput(output)
            .start()
        check(process.waitFor(60, TimeUnit.SECONDS)) { "admin ${args.toList()} timed out" }
        check(process.exitValue() == 0) { "admin ${args.toList()} failed: ${output.readText()}" }
    }

    /** An admin revokes a device (a lost phone) by its actor id, with the admin command. */
    fun revokeDevice(actorId: String) = admin("device", "revoke", "--device", actorId)

    private fun dir(): Path = db.parent

    override fun close() {
        stop(process)
        started.remove(process)
    }

    // -- HTTP as a host app does it ----------------------------------------------------------

    val http: HttpClient = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build()

    fun postJson(path: String, json: String, token: String? = null): Pair<Int, Any?> {
        val request = HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(30))
            .header("content-type", "application/json")
            .apply { if (token != null) header("authorization", "Bearer $token") }
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        val body = response.body().takeIf { it.isNotBlank() }?.let { Json.parse(it) }
        return response.statusCode() to body
    }

    /** Logs in over HTTP: the token and the user id. */
    fun login(username: String): Pair<String, String> {
        val (status, body) = postJson("/v1/auth/login", Json.obj("username" to username, "password" to password))
        check(status == 200) { "login $username: $status $body" }
        return Json.string(body, "token")!! to Json.string(body, "user", "id")!!
    }

    /** Registers a store's actor id as a device of the token's user; the status code. */
    fun registerDevice(token: String, actorId: String): Int =
        postJson("/v1/devices", Json.obj("actor_id" to actorId), token).first
}

/**
 * What a host app writes: [SyncTransport] over its own HTTP client (here java.net.http),
 * following the contract documented on the trait.
 */
class HttpSyncTransport(
    private val base: String,
    private val token: String,
    private val http: HttpClient = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10))
        .build(),
) : SyncTransport {
    companion object {
        const val CONTENT_TYPE = "application/vnd.fieldcrm.sync"
    }

    /** Requests per path, to check that sync went through this transport. */
    val requests = ConcurrentHashMap<String, AtomicInteger>()

    override fun push(body: ByteArray): ByteArray = post("/v1/sync/push", body)

    override fun pull(body: ByteArray): ByteArray = post("/v1/sync/pull", body)

    override fun uploadPings(body: ByteArray): ByteArray = post("/v1/sync/pings", body)

    override fun refetch(body: ByteArray): ByteArray = post("/v1/sync/refetch", body)

    override fun analytics(query: String): ByteArray {
        val path = "/v1/analytics/device"
        requests.computeIfAbsent(path) { AtomicInteger() }.incrementAndGet()
        return send(
            HttpRequest.newBuilder(URI.create("$base$path?$query"))
                .timeout(Duration.ofSeconds(60))
                .header("authorization", "Bearer $token")
                .GET()
                .build(),
        )
    }

    private fun post(path: String, body: ByteArray): ByteArray {
        requests.computeIfAbsent(path) { AtomicInteger() }.incrementAndGet()
        val request = HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(60))
            .header("content-type", CONTENT_TYPE)
            .header("authorization", "Bearer $token")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build()
        return send(request)
    }

    private fun send(request: HttpRequest): ByteArray {
        val response = try {
            http.send(request, HttpResponse.BodyHandlers.ofByteArray())
        } catch (e: IOException) {
            throw FieldCrmException.Offline(e.toString())
        } catch (e: InterruptedException) {
            Thread.currentThread().interrupt()
            throw FieldCrmException.Offline("interrupted")
        }
        if (response.statusCode() == 200) return response.body()
        val code = runCatching { Json.string(Json.parse(String(response.body(), Charsets.UTF_8)), "error", "code") }
            .getOrNull() ?: "unknown"
        val retryAfter = response.headers().firstValue("retry-after").orElse(null)?.trim()?.toUIntOrNull()
        throw FieldCrmException.ServerRefused(response.statusCode().toUShort(), code, retryAfter)
    }

    fun count(path: String): Int = requests[path]?.get() ?: 0
}

package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldCrmException
import java.io.IOException
import java.util.concurrent.TimeUnit
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import okhttp3.HttpUrl.Companion.toHttpUrlOrNull
import okhttp3.MediaType.Companion.toMediaType
import okhttp3.OkHttpClient
import okhttp3.Request

/** The sync protocol's media type (core's `protocol::CONTENT_TYPE`). */
const val SYNC_CONTENT_TYPE = "application/vnd.fieldcrm.sync"

internal val SYNC_MEDIA_TYPE = SYNC_CONTENT_TYPE.toMediaType()
internal val JSON_MEDIA_TYPE = "application/json; charset=utf-8".toMediaType()

/** One client for the app: shares its connection pool between sync and auth. */
fun defaultHttpClient(): OkHttpClient = OkHttpClient.Builder()
    .connectTimeout(15, TimeUnit.SECONDS)
    .readTimeout(60, TimeUnit.SECONDS)
    .writeTimeout(60, TimeUnit.SECONDS)
    .build()

/** `https://host:port` without a trailing slash; refuses what is not an http(s) URL. */
internal fun normaliseBaseUrl(baseUrl: String): String {
    val trimmed = baseUrl.trim().trimEnd('/')
    requireNotNull(trimmed.toHttpUrlOrNull()) { "not an http(s) URL: $baseUrl" }
    return trimmed
}

/** An HTTP answer: status, body, and the `Retry-After` seconds when the server sent them. */
internal class Answer(val status: Int, val body: ByteArray, val retryAfterSecs: UInt?)

/** `Retry-After` in seconds (the form the FieldCRM server sends); null for anything else. */
internal fun retryAfterSeconds(header: String?): UInt? = header?.trim()?.toUIntOrNull()

/**
 * Runs [request] and returns the status, body and `Retry-After`. A request that did not reach
 * the server (no network, refused connection, timeout) is [FieldCrmException.Offline].
 */
internal fun OkHttpClient.send(request: Request): Answer = try {
    newCall(request).execute().use { response ->
        Answer(response.code, response.body?.bytes() ?: ByteArray(0), retryAfterSeconds(response.header("Retry-After")))
    }
} catch (e: IOException) {
    throw FieldCrmException.Offline(e.message ?: e.javaClass.simpleName)
}

/** The server's stable error code from `{"error":{"code":...}}`, or `unknown`. */
internal fun errorCode(body: ByteArray): String = try {
    Json.parseToJsonElement(body.decodeToString())
        .jsonObject["error"]?.jsonObject?.get("code")?.jsonPrimitive?.content ?: "unknown"
} catch (e: IllegalArgumentException) { // SerializationException and wrong JSON shapes
    "unknown"
}

/**
 * A non-2xx answer as [FieldCrmException.ServerRefused] with its status, error code and
 * `Retry-After` seconds (the library's sync waits at least that long before retrying).
 */
internal fun refused(status: Int, body: ByteArray, retryAfterSecs: UInt? = null) =
    FieldCrmException.ServerRefused(status.coerceIn(0, 65535).toUShort(), errorCode(body), retryAfterSecs)

internal fun parseJsonObject(body: ByteArray): JsonObject = try {
    Json.parseToJsonElement(body.decodeToString()).jsonObject
} catch (e: IllegalArgumentException) {
    throw FieldCrmException.Protocol("malformed_json")
}

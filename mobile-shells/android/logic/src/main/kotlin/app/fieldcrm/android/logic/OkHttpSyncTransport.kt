package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.SyncTransport
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody

/**
 * The library's [SyncTransport] over OkHttp. The library calls it on the thread running
 * `FieldStore.sync` (the repository's dispatcher), so the calls are blocking. [token] is asked
 * for every request, so a refreshed token is used at once.
 */
class OkHttpSyncTransport(
    baseUrl: String,
    private val client: OkHttpClient = defaultHttpClient(),
    private val token: () -> String,
) : SyncTransport {
    private val base = normaliseBaseUrl(baseUrl)

    override fun push(body: ByteArray): ByteArray = post("/v1/sync/push", body)

    override fun pull(body: ByteArray): ByteArray = post("/v1/sync/pull", body)

    override fun uploadPings(body: ByteArray): ByteArray = post("/v1/sync/pings", body)

    override fun refetch(body: ByteArray): ByteArray = post("/v1/sync/refetch", body)

    /** `GET /v1/analytics/device?query` (the library encodes [query]). */
    override fun analytics(query: String): ByteArray {
        val request = Request.Builder()
            .url("$base/v1/analytics/device?$query")
            .header("Authorization", "Bearer ${token()}")
            .get()
            .build()
        val answer = client.send(request)
        if (answer.status == 200) return answer.body
        throw refused(answer.status, answer.body, answer.retryAfterSecs)
    }

    /** 200 → the body; no answer → [FieldCrmException.Offline]; else → ServerRefused. */
    private fun post(path: String, body: ByteArray): ByteArray {
        val request = Request.Builder()
            .url(base + path)
            .header("Authorization", "Bearer ${token()}")
            .post(body.toRequestBody(SYNC_MEDIA_TYPE))
            .build()
        val answer = client.send(request)
        if (answer.status == 200) return answer.body
        throw refused(answer.status, answer.body, answer.retryAfterSecs)
    }
}

package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldCrmException
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.longOrNull
import kotlinx.serialization.json.put
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.RequestBody.Companion.toRequestBody

/** A successful login: the bearer token and who it is for. */
data class LoginResult(
    val token: String,
    val userId: String,
    val username: String,
    /** Unix seconds. */
    val expiresAt: Long,
)

/**
 * The server's account endpoints. Failures are the same typed errors as sync:
 * [FieldCrmException.Offline] when the server was not reached, [FieldCrmException.ServerRefused]
 * with the status and error code otherwise (401 `unauthorized` for a wrong password).
 */
class AuthApi(
    baseUrl: String,
    private val client: OkHttpClient = defaultHttpClient(),
    private val dispatcher: CoroutineDispatcher = Dispatchers.IO,
) {
    val baseUrl: String = normaliseBaseUrl(baseUrl)

    /** `POST /v1/auth/login`. */
    suspend fun login(username: String, password: String): LoginResult = withContext(dispatcher) {
        val body = buildJsonObject {
            put("username", username)
            put("password", password)
        }
        val json = postJson("/v1/auth/login", body.toString(), token = null)
        try {
            val user = json["user"]!!.jsonObject
            LoginResult(
                token = json["token"]!!.jsonPrimitive.content,
                userId = user["id"]!!.jsonPrimitive.content,
                username = user["username"]?.jsonPrimitive?.content ?: username,
                expiresAt = json["expires_at"]?.jsonPrimitive?.longOrNull ?: 0L,
            )
        } catch (e: RuntimeException) { // a missing field or a wrong shape
            throw FieldCrmException.Protocol("unexpected_login_response")
        }
    }

    /**
     * `POST /v1/devices`: binds this device's actor id to the signed-in user, as the server
     * requires before it accepts the device's changes. True when newly registered (201), false
     * when it already was (200).
     */
    suspend fun registerDevice(token: String, actorId: String): Boolean = withContext(dispatcher) {
        val body = buildJsonObject { put("actor_id", actorId) }
        postStatus("/v1/devices", body.toString(), token) == 201
    }

    private fun request(path: String, json: String, token: String?): Request =
        Request.Builder()
            .url(baseUrl + path)
            .apply { if (token != null) header("Authorization", "Bearer $token") }
            .post(json.toRequestBody(JSON_MEDIA_TYPE))
            .build()

    private fun postStatus(path: String, json: String, token: String?): Int {
        val answer = client.send(request(path, json, token))
        if (answer.status !in 200..299) throw refused(answer.status, answer.body, answer.retryAfterSecs)
        return answer.status
    }

    private fun postJson(path: String, json: String, token: String?) =
        client.send(request(path, json, token)).let { answer ->
            if (answer.status !in 200..299) throw refused(answer.status, answer.body, answer.retryAfterSecs)
            parseJsonObject(answer.body)
        }
}

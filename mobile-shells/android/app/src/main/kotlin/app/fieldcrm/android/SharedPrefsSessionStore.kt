package app.fieldcrm.android

import android.content.Context
import androidx.core.content.edit
import app.fieldcrm.android.logic.Session
import app.fieldcrm.android.logic.SessionStore

/** The session in the app's private preferences (excluded from backups: allowBackup=false). */
class SharedPrefsSessionStore(context: Context) : SessionStore {
    private val prefs = context.getSharedPreferences("session", Context.MODE_PRIVATE)

    override fun load(): Session? {
        val token = prefs.getString("token", null) ?: return null
        return Session(
            serverUrl = prefs.getString("server_url", null) ?: return null,
            userId = prefs.getString("user_id", null) ?: return null,
            username = prefs.getString("username", "").orEmpty(),
            token = token,
            expiresAt = prefs.getLong("expires_at", 0L),
        )
    }

    override fun save(session: Session?) = prefs.edit {
        if (session == null) {
            remove("token")
        } else {
            putString("server_url", session.serverUrl)
            putString("user_id", session.userId)
            putString("username", session.username)
            putString("token", session.token)
            putLong("expires_at", session.expiresAt)
        }
    }
}

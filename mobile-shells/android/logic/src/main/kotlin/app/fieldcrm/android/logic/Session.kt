package app.fieldcrm.android.logic

/** Who is signed in, where. The token is the sync transport's bearer token. */
data class Session(
    val serverUrl: String,
    val userId: String,
    val username: String,
    val token: String,
    /** Unix seconds. */
    val expiresAt: Long,
)

/** Keeps the session across app starts (the app: private SharedPreferences). */
interface SessionStore {
    fun load(): Session?
    fun save(session: Session?)
}

class InMemorySessionStore(private var session: Session? = null) : SessionStore {
    @Synchronized override fun load(): Session? = session

    @Synchronized override fun save(session: Session?) {
        this.session = session
    }
}

/** The store file of a user: one per user, so the device's actor id is never another user's. */
fun storeFileName(userId: String): String = "fieldcrm-" + userId.filter { it.isLetterOrDigit() || it == '-' } + ".sqlite"

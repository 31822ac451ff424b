package app.fieldcrm.android

import android.app.Application
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.LocationProvider
import app.fieldcrm.android.logic.OkHttpSyncTransport
import app.fieldcrm.android.logic.RecordingLocationProvider
import app.fieldcrm.android.logic.Session
import app.fieldcrm.android.logic.SessionStore
import app.fieldcrm.android.logic.SyncRunner
import app.fieldcrm.android.logic.defaultHttpClient
import app.fieldcrm.android.logic.storeFileName
import app.fieldcrm.core.SyncTransport
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/** The app's singletons: session, the signed-in user's store and its one [SyncRunner]. */
class AppContainer(private val app: Application) {
    val http = defaultHttpClient()
    val sessions: SessionStore = SharedPrefsSessionStore(app)
    private val fused = FusedLocationProvider(app)

    private val mutableSession = MutableStateFlow(sessions.load())
    val session: StateFlow<Session?> = mutableSession.asStateFlow()

    /** One open store per process: the button and the background worker share its runner. */
    private class Opened(val userId: String, val repository: FieldRepository, val runner: SyncRunner)

    private val lock = Mutex()
    private var opened: Opened? = null

    private suspend fun open(userId: String): Opened = lock.withLock {
        opened?.takeIf { it.userId == userId } ?: run {
            opened?.repository?.close()
            val path = File(app.filesDir, storeFileName(userId)).path
            val repository = FieldRepository.open(path, Dispatchers.IO)
            // A revoked phone has been wiped by the library; it only has to sign out.
            val runner = SyncRunner(repository, transport = { transport() }, onDeviceRevoked = { signOut() })
            Opened(userId, repository, runner).also { opened = it }
        }
    }

    /** The user's store in `filesDir` (one file per user), opened once. */
    suspend fun repositoryFor(userId: String): FieldRepository = open(userId).repository

    suspend fun runnerFor(userId: String): SyncRunner = open(userId).runner

    /** For the periodic worker: the saved session's runner, or null when signed out. */
    suspend fun currentRunner(): SyncRunner? = sessions.load()?.let { runnerFor(it.userId) }

    /** Every fix the screens take is also kept as a location ping. */
    fun locationFor(repository: FieldRepository): LocationProvider = RecordingLocationProvider(fused, repository)

    private fun transport(): SyncTransport? {
        val session = sessions.load() ?: return null
        return OkHttpSyncTransport(session.serverUrl, http) { sessions.load()?.token ?: session.token }
    }

    fun onSignedIn(session: Session) {
        mutableSession.value = session
        SyncWorker.schedule(app)
    }

    /** Forgets the token; the user's store stays on the phone for the next sign-in. */
    fun signOut() {
        sessions.save(null)
        mutableSession.value = null
        SyncWorker.cancel(app)
    }
}

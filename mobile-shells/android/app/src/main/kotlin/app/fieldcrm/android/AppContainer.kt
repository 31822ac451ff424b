package app.fieldcrm.android

import android.app.Application
import android.util.Log
import app.fieldcrm.android.logic.EncryptedStores
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.LocationProvider
import app.fieldcrm.android.logic.OkHttpSyncTransport
import app.fieldcrm.android.logic.RecordingLocationProvider
import app.fieldcrm.android.logic.Session
import app.fieldcrm.android.logic.SessionStore
import app.fieldcrm.android.logic.StoreKeys
import app.fieldcrm.android.logic.SyncRunner
import app.fieldcrm.android.logic.defaultHttpClient
import app.fieldcrm.android.logic.storeFileName
import app.fieldcrm.core.SyncTransport
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext

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

    /** Each user's store in `filesDir`, encrypted with its own key from the Android Keystore. */
    private val stores = EncryptedStores(app.filesDir, StoreKeys(app.filesDir, AndroidKeystoreWrappingKeys()))

    private suspend fun open(userId: String): Opened = lock.withLock {
        opened?.takeIf { it.userId == userId } ?: run {
            opened?.repository?.close()
            val repository = FieldRepository.openEncrypted(stores, storeFileName(userId), Dispatchers.IO)
            if (repository.startedAfresh) {
                Log.w("FieldCRM", "the store's key was gone: started an empty store; the next sync refills it")
            }
            val runner = SyncRunner(repository, transport = { transport() }, onDeviceRevoked = { forget(userId) })
            Opened(userId, repository, runner).also { opened = it }
        }
    }

    /**
     * A revoked phone (the library has already wiped the store): sign out, close the store and
     * delete it with its key, so that nothing that may linger in flash can be read.
     */
    private suspend fun forget(userId: String) {
        signOut()
        lock.withLock {
            opened?.takeIf { it.userId == userId }?.let {
                it.repository.close()
                opened = null
            }
            withContext(Dispatchers.IO) { stores.forget(storeFileName(userId)) }
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

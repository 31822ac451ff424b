package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.SyncReport
import app.fieldcrm.core.SyncTransport
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.sync.Mutex

sealed interface SyncOutcome {
    data class Synced(val report: SyncReport) : SyncOutcome

    /** The server was not reached (after the library's retries); nothing was lost. */
    data class Offline(val reason: String) : SyncOutcome

    data class Failed(val error: Exception, val message: String) : SyncOutcome {
        /**
         * An admin revoked this phone or disabled its user (`device_revoked`): the library has
         * already wiped the store, and the runner has called its `onDeviceRevoked` (sign out).
         */
        val deviceRevoked: Boolean
            get() = error is FieldCrmException.DeviceRevoked

        /** The token was refused (or the device revoked): the app should show the login screen. */
        val needsSignIn: Boolean
            get() = deviceRevoked || (error is FieldCrmException.ServerRefused && error.status.toInt() == 401)
    }

    /** Another sync (the button or the periodic worker) was running; this one did nothing. */
    data object AlreadyRunning : SyncOutcome

    data object NotSignedIn : SyncOutcome
}

/**
 * Runs sync rounds for both the sync button and the periodic background worker, never two at
 * once: a run that finds one under way returns [SyncOutcome.AlreadyRunning] at once. One per
 * process (per store), whatever schedules it.
 */
class SyncRunner(
    private val repository: FieldRepository,
    /**
     * Called once the server answered `device_revoked` and the store was wiped: the app signs
     * out (forgets the token), closes the store and deletes it with its key
     * ([EncryptedStores.forget]).
     */
    private val onDeviceRevoked: suspend () -> Unit = {},
    /** A transport for the signed-in session, or null when nobody is signed in. */
    private val transport: () -> SyncTransport?,
) {
    /** Whether a run is under way, and the outcome of the last one in this process. */
    data class State(val running: Boolean = false, val lastOutcome: SyncOutcome? = null)

    private val mutex = Mutex()
    private val mutableState = MutableStateFlow(State())

    /** One flow for both, so that observers never see "finished" without its outcome. */
    val state: StateFlow<State> = mutableState.asStateFlow()

    /** The outcome of the last run in this process (never [SyncOutcome.AlreadyRunning]). */
    val lastOutcome: SyncOutcome? get() = mutableState.value.lastOutcome

    suspend fun run(): SyncOutcome {
        if (!mutex.tryLock()) return SyncOutcome.AlreadyRunning
        var outcome: SyncOutcome? = null
        try {
            mutableState.update { it.copy(running = true) }
            outcome = syncOnce()
            return outcome
        } finally {
            mutableState.update { State(running = false, lastOutcome = outcome ?: it.lastOutcome) }
            mutex.unlock()
        }
    }

    private suspend fun syncOnce(): SyncOutcome {
        val transport = try {
            transport() ?: return SyncOutcome.NotSignedIn
        } catch (e: IllegalArgumentException) { // a stored server address that is not a URL
            return SyncOutcome.Failed(e, e.userMessage())
        }
        return try {
            val report = repository.sync(transport)
            verifyBootstrap()
            SyncOutcome.Synced(report)
        } catch (e: FieldCrmException.Offline) {
            SyncOutcome.Offline(e.reason)
        } catch (e: FieldCrmException.DeviceRevoked) {
            onDeviceRevoked()
            SyncOutcome.Failed(e, e.userMessage())
        } catch (e: FieldCrmException) {
            SyncOutcome.Failed(e, e.userMessage())
        }
    }

    /** Documents that arrived in a bootstrap are checked in slices after the sync. */
    private suspend fun verifyBootstrap() {
        try {
            repeat(50) { if (repository.verifyDocuments() == 0L) return }
        } catch (e: FieldCrmException) {
            // Verification is best-effort; the next sync tries again.
        }
    }
}

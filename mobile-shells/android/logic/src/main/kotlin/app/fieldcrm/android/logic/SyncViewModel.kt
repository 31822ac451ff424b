package app.fieldcrm.android.logic

import app.fieldcrm.core.RejectedChange
import app.fieldcrm.core.SyncStatus
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.launch

enum class SyncPhase { IDLE, SYNCING, OFFLINE, ERROR }

data class SyncUiState(
    val phase: SyncPhase = SyncPhase.IDLE,
    val pendingChanges: Long = 0,
    val pendingPings: Long = 0,
    /** Milliseconds since 1970 of the last successful sync. */
    val lastSyncedAt: Long? = null,
    /** Why the last sync failed, for people. */
    val message: String? = null,
    /** The token was refused: show the login screen. */
    val needsSignIn: Boolean = false,
    /** Changes the server refused, newest first, with its reasons. */
    val rejected: List<RejectedChange> = emptyList(),
)

/** The sync status line, the sync button and the rejected-change list. */
class SyncViewModel(
    private val repository: FieldRepository,
    private val runner: SyncRunner,
    private val scope: CoroutineScope,
) {
    private val message = MutableStateFlow<String?>(null)
    private val statusError = MutableStateFlow<String?>(null)

    val state: StateFlow<SyncUiState> = combine(
        repository.syncStatus().catch { statusError.value = it.userMessage() },
        repository.rejectedChanges().catch { statusError.value = it.userMessage() },
        runner.state,
        message,
        statusError,
    ) { status, rejected, run, note, readError ->
        val described = describe(status, run.running, run.lastOutcome)
        described.copy(rejected = rejected, message = note ?: described.message ?: readError)
    }.stateIn(scope, SharingStarted.Eagerly, SyncUiState())

    private fun describe(status: SyncStatus, running: Boolean, last: SyncOutcome?): SyncUiState {
        val base = SyncUiState(
            pendingChanges = status.pendingChanges.toLong(),
            pendingPings = status.pendingPings.toLong(),
            lastSyncedAt = status.lastSyncAt,
        )
        if (running || status.syncing) return base.copy(phase = SyncPhase.SYNCING)
        return when (last) {
            is SyncOutcome.Synced, SyncOutcome.AlreadyRunning -> withRefused(base, status)
            is SyncOutcome.Offline -> base.copy(phase = SyncPhase.OFFLINE, message = offlineMessage(base.pendingChanges))
            is SyncOutcome.Failed -> base.copy(phase = SyncPhase.ERROR, message = last.message, needsSignIn = last.needsSignIn)
            SyncOutcome.NotSignedIn -> base.copy(phase = SyncPhase.ERROR, message = "Sign in to sync.", needsSignIn = true)
            // Nothing ran in this process yet: the store remembers the last attempt's error.
            null -> when {
                status.lastError == null -> base
                status.lastErrorCode == "offline" ->
                    base.copy(phase = SyncPhase.OFFLINE, message = offlineMessage(base.pendingChanges))
                else -> base.copy(phase = SyncPhase.ERROR, message = "The last sync failed: ${status.lastError}")
            }
        }
    }

    /**
     * A round that left records from the server unloaded is not a clean success: the store
     * counts them and fetches them again at the next sync.
     */
    private fun withRefused(base: SyncUiState, status: SyncStatus): SyncUiState {
        val refused = status.refusedDocuments.toLong()
        if (refused == 0L) return base
        val records = if (refused == 1L) "1 record" else "$refused records"
        return base.copy(
            phase = SyncPhase.ERROR,
            message = "$records from the server could not be loaded. The next sync fetches them again.",
        )
    }

    private fun offlineMessage(pending: Long) =
        "Offline. $pending change${if (pending == 1L) "" else "s"} wait${if (pending == 1L) "s" else ""} on this phone and sync later."

    /** Starts a sync unless one is running (then it does nothing). */
    fun syncNow(): Job = scope.launch { runner.run() }

    /** Hides the refused changes of a record once the rep has read them. */
    fun dismiss(docId: String): Job = scope.launch {
        message.value = attempt { repository.dismissRejections(docId) }
    }

    /** Queues a refused record again, as the rep fixed it; the next sync sends it. */
    fun retry(docId: String): Job = scope.launch {
        message.value = attempt { repository.retryRejected(docId) }
    }

    /** Drops the refused changes of a record: it goes back to what the server has. */
    fun discard(docId: String): Job = scope.launch {
        message.value = attempt { repository.discardRejected(docId) }
    }
}

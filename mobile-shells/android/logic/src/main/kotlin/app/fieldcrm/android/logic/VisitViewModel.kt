package app.fieldcrm.android.logic

import app.fieldcrm.core.GpsFix
import app.fieldcrm.core.Verification
import app.fieldcrm.core.Visit
import app.fieldcrm.core.VisitStatus
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.mapLatest
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class VisitUiState(
    val visit: Visit? = null,
    val customerName: String? = null,
    /** Why this customer matters and what to offer; null before analytics reached this phone. */
    val insight: InsightCard? = null,
    val busy: Boolean = false,
    val message: String? = null,
) {
    /** Computed offline at check-in against the customer's location and visit radius. */
    val verification: Verification? get() = visit?.verification
    val verificationText: String? get() = verification?.label()

    /** A fix came from a mock-location app: the check-in is flagged for the manager. */
    val mockLocation: Boolean get() = visit?.checkIn?.mock == true || visit?.checkOut?.mock == true
    val canCheckIn: Boolean get() = !busy && visit?.status == VisitStatus.Planned && visit.checkIn == null
    val canCheckOut: Boolean get() = !busy && visit?.checkIn != null && visit.checkOut == null
}

/** Check in and out of one visit with the current GPS fix. */
class VisitViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val location: LocationProvider,
    private val visitId: String,
) {
    private class Loaded(val visit: Visit?, val customerName: String?, val insight: InsightCard?, val error: String?)

    /** Set together, so the state never shows "done" with the previous attempt's message. */
    private data class Local(val busy: Boolean = false, val message: String? = null)

    private val local = MutableStateFlow(Local())

    private val loaded = repository.changes.mapLatest {
        try {
            val visit = repository.visit(visitId)
            // Re-read after every write and sync: an order taken here changes the offers.
            val insight = visit?.let { repository.customerInsightNow(it.customerId)?.toCard() }
            Loaded(visit, visit?.let { repository.customer(it.customerId)?.name }, insight, null)
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            Loaded(null, null, null, e.userMessage())
        }
    }

    val state: StateFlow<VisitUiState> =
        combine(loaded, local) { data, ui ->
            VisitUiState(data.visit, data.customerName, data.insight, ui.busy, ui.message ?: data.error)
        }.stateIn(scope, SharingStarted.Eagerly, VisitUiState(busy = true))

    fun checkIn(): Job = withFix { fix -> repository.checkIn(visitId, fix) }

    fun checkOut(outcome: String? = null): Job = withFix { fix -> repository.checkOut(visitId, fix, outcome) }

    private fun withFix(action: suspend (GpsFix) -> Visit): Job = scope.launch {
        val idle = local.value
        if (idle.busy || !local.compareAndSet(idle, Local(busy = true))) return@launch
        var failure: String? = null
        try {
            failure = attempt {
                val fix = location.currentFix() ?: throw IllegalArgumentException(NO_FIX_MESSAGE)
                action(fix)
            }
        } finally {
            local.value = Local(busy = false, message = failure)
        }
    }

    fun dismissMessage() = local.update { it.copy(message = null) }
}

package app.fieldcrm.android.logic

import app.fieldcrm.core.CaseDetail
import app.fieldcrm.core.CaseStatus
import app.fieldcrm.core.SurveyEntrant
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

data class CaseUiState(
    val detail: CaseDetail? = null,
    val customerName: String? = null,
    val loading: Boolean = true,
    val busy: Boolean = false,
    val message: String? = null,
) {
    /** The statuses the case can move to: every known one but its own. */
    val nextStatuses: List<CaseStatus> get() = PICKABLE_CASE_STATUSES.filter { it != detail?.record?.status }

    /** A survey is taken once the case was resolved (the library's rule). */
    val surveyAllowed: Boolean get() = detail?.surveyAllowed == true
}

/**
 * One service case: its history (escalations included), its service times, and what the rep
 * does to it: move it on with a note, take it over, record the customer's satisfaction.
 */
class CaseViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val caseId: String,
) {
    private class Loaded(val detail: CaseDetail?, val customerName: String?, val error: String?)

    private data class Local(val busy: Boolean = false, val message: String? = null)

    private val local = MutableStateFlow(Local())

    // A synced change (an escalation by the server) bumps `changes` too.
    private val loaded = repository.changes.mapLatest {
        try {
            val detail = repository.caseDetail(caseId)
            val name = detail?.let { repository.customer(it.record.customerId)?.name }
            Loaded(detail, name, if (detail == null) NOT_HERE else null)
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            Loaded(null, null, e.userMessage())
        }
    }

    val state: StateFlow<CaseUiState> =
        combine(loaded, local) { data, ui ->
            CaseUiState(data.detail, data.customerName, false, ui.busy, ui.message ?: data.error)
        }.stateIn(scope, SharingStarted.Eagerly, CaseUiState())

    /** Moves the case to [status]; the note goes into its history. */
    fun moveTo(status: CaseStatus, note: String? = null): Job = busy { repository.setCaseStatus(caseId, status, note) }

    /** Hands the case to the signed-in rep. */
    fun takeOver(): Job = busy { repository.assignCase(caseId, repository.userId()) }

    /** The customer's satisfaction, 1 to 5, entered by the rep or by the customer on this phone. */
    fun recordSurvey(score: Int, comment: String?, enteredBy: SurveyEntrant): Job =
        busy { repository.recordCaseSurvey(caseId, score, comment, enteredBy) }

    private fun busy(action: suspend () -> Unit): Job = scope.launch {
        val idle = local.value
        if (idle.busy || !local.compareAndSet(idle, idle.copy(busy = true))) return@launch
        local.value = Local(message = attempt { action() })
    }

    fun dismissMessage() = local.update { it.copy(message = null) }

    private companion object {
        const val NOT_HERE = "This case is not on this phone."
    }
}

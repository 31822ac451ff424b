package app.fieldcrm.android.logic

import app.fieldcrm.core.CaseSummary
import app.fieldcrm.core.Severity
import app.fieldcrm.core.caseIsOverdue
import kotlin.math.abs
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.onStart
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** A case in a list, with what the clock said about it when the row was drawn. */
data class CaseRow(
    val summary: CaseSummary,
    /** The library's overdue rule at that time. */
    val overdue: Boolean,
    /** `Overdue by 3 h`, `Due in 2 d`; null without a due time. */
    val dueText: String?,
) {
    val escalated: Boolean get() = summary.escalatedAt != null
}

data class CasesUiState(
    /** Soonest due first: overdue ones lead. */
    val rows: List<CaseRow> = emptyList(),
    val loading: Boolean = true,
    val busy: Boolean = false,
    val message: String? = null,
) {
    val overdueCount: Int get() = rows.count { it.overdue }
}

/** How far [dueAt] is from [now] in words, rounded down: minutes, then hours, then days. */
fun dueText(dueAt: Long, now: Long): String {
    val minutes = abs(dueAt - now) / 60_000
    val span = when {
        minutes < 60 -> "$minutes min"
        minutes < 48 * 60 -> "${minutes / 60} h"
        else -> "${minutes / (24 * 60)} d"
    }
    return if (dueAt < now) "Overdue by $span" else "Due in $span"
}

/**
 * Service cases not yet resolved, live: the signed-in rep's own when [customerId] is null, else
 * the customer's. Whether a case is overdue depends on the clock as well as on the data: the
 * rows are drawn again every [redrawEveryMs] and when the app says the clock moved
 * ([clockMoved], on resume).
 */
class CasesViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val clock: Clock,
    private val customerId: String? = null,
    redrawEveryMs: Long = 60_000,
) {
    private class Loaded(val cases: List<CaseSummary>, val error: String?, val loading: Boolean = false)

    private data class Local(val busy: Boolean = false, val message: String? = null)

    private val local = MutableStateFlow(Local())
    private val now = MutableStateFlow(clock.nowMs())

    private val loaded: Flow<Loaded> = repository.openCases(customerId)
        .map { Loaded(it, null) }
        .catch { emit(Loaded(emptyList(), it.userMessage())) }
        .onStart { emit(Loaded(emptyList(), null, loading = true)) }

    val state: StateFlow<CasesUiState> =
        combine(loaded, local, now) { data, ui, at ->
            CasesUiState(data.cases.map { row(it, at) }, data.loading, ui.busy, ui.message ?: data.error)
        }.stateIn(scope, SharingStarted.Eagerly, CasesUiState())

    init {
        scope.launch {
            while (true) {
                delay(redrawEveryMs)
                clockMoved()
            }
        }
    }

    fun clockMoved() {
        now.value = clock.nowMs()
    }

    /**
     * Opens a case for [forCustomer] (the list's customer by default), handled by the rep; the
     * library sets its due time from the severity. Returns its id, or null with the reason in
     * [CasesUiState.message].
     */
    suspend fun openCase(subject: String, severity: Severity = Severity.Medium, forCustomer: String? = customerId): String? {
        val idle = local.value
        if (idle.busy || !local.compareAndSet(idle, Local(busy = true))) return null
        var id: String? = null
        val failure = attempt {
            val customer = forCustomer ?: throw IllegalArgumentException("Pick the customer the case is about.")
            id = repository.openCase(customer, subject, severity).meta.id
        }
        local.value = Local(message = failure)
        return id
    }

    fun dismissMessage() = local.update { it.copy(message = null) }

    private fun row(case: CaseSummary, at: Long) =
        CaseRow(case, caseIsOverdue(case, at), case.dueAt?.let { dueText(it, at) })
}

package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.Opportunity
import app.fieldcrm.core.Stage
import app.fieldcrm.core.ValidationRule
import app.fieldcrm.core.formatAmount
import app.fieldcrm.core.parseAmount
import app.fieldcrm.core.weightedMinor
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

data class DealUiState(
    val deal: Opportunity? = null,
    val customerName: String? = null,
    val loading: Boolean = true,
    val busy: Boolean = false,
    /**
     * The last stage change was a loss without a reason (the library's typed error,
     * `InvalidValue` for `lost_reason`): the screen asks for the reason.
     */
    val lostReasonRequired: Boolean = false,
    val message: String? = null,
) {
    val amountText: String? get() = deal?.let { formatAmount(it.amount.minor, it.amount.currency) }

    /** The amount weighted by the probability (the library's rule: none counts nothing). */
    val weightedText: String?
        get() = deal?.let { formatAmount(weightedMinor(it.amount.minor, it.stage, it.probability), it.amount.currency) }

    /** The reason shows only on a lost deal. */
    val lostReason: String? get() = deal?.takeIf { it.stage == Stage.Lost }?.lostReason

    /** The stages the deal can move to: every known one but its own. */
    val nextStages: List<Stage> get() = PICKABLE_STAGES.filter { it != deal?.stage }
}

/** One deal: its terms (amount, probability, expected close date) and its stage, with a loss's reason. */
class DealViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val dealId: String,
) {
    private class Loaded(val deal: Opportunity?, val customerName: String?, val error: String?)

    /** Set together, so the state never shows a finished change with the previous attempt's message. */
    private data class Local(val busy: Boolean = false, val lostReasonRequired: Boolean = false, val message: String? = null)

    private val local = MutableStateFlow(Local())

    private val loaded = repository.changes.mapLatest {
        try {
            val deal = repository.opportunity(dealId)
            Loaded(deal, deal?.let { repository.customer(it.customerId)?.name }, if (deal == null) NOT_HERE else null)
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            Loaded(null, null, e.userMessage())
        }
    }

    val state: StateFlow<DealUiState> =
        combine(loaded, local) { data, ui ->
            DealUiState(data.deal, data.customerName, false, ui.busy, ui.lostReasonRequired, ui.message ?: data.error)
        }.stateIn(scope, SharingStarted.Eagerly, DealUiState())

    /** Moves the deal to [stage]; a loss needs [lostReason] (else [DealUiState.lostReasonRequired]). */
    fun changeStage(stage: Stage, lostReason: String? = null): Job = busy {
        try {
            repository.changeStage(dealId, stage, lostReason?.takeIf { it.isNotBlank() })
            Local()
        } catch (e: FieldCrmException.InvalidValue) {
            val needsReason = e.field == "lost_reason" && e.rule == ValidationRule.REQUIRED
            Local(lostReasonRequired = needsReason, message = e.userMessage())
        }
    }

    /**
     * Saves the terms the rep typed: the amount as text in the deal's currency (`12500,50`),
     * a probability of 0 to 100, the expected close date; null leaves a term as it is.
     */
    fun saveTerms(amountText: String? = null, probability: Int? = null, expectedCloseAt: Long? = null): Job = busy {
        val current = repository.opportunity(dealId) ?: throw FieldCrmException.NotFound(dealId)
        if (probability != null) require(probability in 0..100) { "The probability is a percent from 0 to 100." }
        val amount = amountText?.let { parseAmount(it.trim(), current.amount.currency) }
        repository.updateOpportunity(dealId) { deal ->
            deal.copy(
                amount = amount ?: deal.amount,
                probability = probability?.toUByte() ?: deal.probability,
                expectedCloseAt = expectedCloseAt ?: deal.expectedCloseAt,
            )
        }
        Local()
    }

    private fun busy(action: suspend () -> Local): Job = scope.launch {
        val idle = local.value
        if (idle.busy || !local.compareAndSet(idle, idle.copy(busy = true))) return@launch
        var outcome = Local()
        val failure = attempt { outcome = action() }
        local.value = if (failure != null) Local(message = failure) else outcome
    }

    fun dismissMessage() = local.update { it.copy(message = null, lostReasonRequired = false) }

    private companion object {
        const val NOT_HERE = "This deal is not on this phone."
    }
}

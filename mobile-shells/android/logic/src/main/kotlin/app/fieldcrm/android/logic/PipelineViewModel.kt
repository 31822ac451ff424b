package app.fieldcrm.android.logic

import app.fieldcrm.core.CurrencyTotal
import app.fieldcrm.core.Stage
import app.fieldcrm.core.StageDeals
import app.fieldcrm.core.formatAmount
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.flatMapLatest
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.onStart
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update

data class PipelineUiState(
    /** Every stage in pipeline order (or only [stageFilter]), each with its totals and deals. */
    val stages: List<StageDeals> = emptyList(),
    /** Only this stage is shown; null shows them all. */
    val stageFilter: Stage? = null,
    val loading: Boolean = true,
    val message: String? = null,
) {
    /** The open stages' totals per currency (lead to negotiation): what is still to win. */
    val openTotals: List<CurrencyTotal>
        get() = stages.filter { it.stage !in CLOSED_STAGES && it.stage !is Stage.Unknown }
            .flatMap { it.totals }
            .groupBy { it.currency }
            .map { (currency, totals) ->
                CurrencyTotal(
                    currency,
                    totals.sumOf { it.count.toLong() }.toUInt(),
                    totals.sumOf { it.amountMinor },
                    totals.sumOf { it.weightedMinor },
                )
            }
            .sortedBy { it.currency }

    val isEmpty: Boolean get() = !loading && stages.all { it.deals.isEmpty() }

    private companion object {
        val CLOSED_STAGES = setOf(Stage.Won, Stage.Lost)
    }
}

/** A stage's or a deal's amount in words: `12500.50 EUR`. */
fun CurrencyTotal.amountText(): String = formatAmount(amountMinor, currency)

/** The probability-weighted amount in words. */
fun CurrencyTotal.weightedText(): String = formatAmount(weightedMinor, currency)

/**
 * The signed-in rep's deals by stage, live: a deal created, edited, moved or synced shows up
 * without a refresh. [filter] narrows it to one stage.
 */
class PipelineViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    /** At most this many deals listed per stage; the totals count them all. */
    private val limit: Int = 100,
) {
    private val filter = MutableStateFlow<Stage?>(null)
    private val message = MutableStateFlow<String?>(null)

    private val stages = filter.flatMapLatest { stage ->
        repository.pipeline(stage, limit)
            .map { Loaded(it, null) }
            .catch { e -> emit(Loaded(emptyList(), e.userMessage())) }
            .onStart { emit(Loaded(emptyList(), null, loading = true)) }
    }

    private class Loaded(val stages: List<StageDeals>, val error: String?, val loading: Boolean = false)

    val state: StateFlow<PipelineUiState> =
        combine(stages, filter, message) { loaded, stage, note ->
            PipelineUiState(loaded.stages, stage, loaded.loading, note ?: loaded.error)
        }.stateIn(scope, SharingStarted.Eagerly, PipelineUiState())

    /** Shows only [stage]; null shows every stage. */
    fun filter(stage: Stage?) {
        filter.value = stage
    }

    fun dismissMessage() = message.update { null }
}

package app.fieldcrm.android.logic

import app.fieldcrm.core.DayRoute
import app.fieldcrm.core.GpsFix
import app.fieldcrm.core.VisitSummary
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class TodayPlanUiState(
    /** Today's visits, live. */
    val visits: List<VisitSummary> = emptyList(),
    /** The planned visits in visiting order from [from]. */
    val route: DayRoute? = null,
    val from: GpsFix? = null,
    val planning: Boolean = false,
    val message: String? = null,
) {
    val totalKm: Double get() = (route?.totalM ?: 0.0) / 1000.0
    val unplacedCount: Int get() = route?.unplacedVisitIds?.size ?: 0
}

/** Today's visits and the order to drive them in from the current position. */
class TodayPlanViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val location: LocationProvider,
) {
    private val visits = MutableStateFlow<List<VisitSummary>>(emptyList())

    /** The plan's fields change together, so the state is never half-updated. */
    private data class Local(
        val route: DayRoute? = null,
        val from: GpsFix? = null,
        val planning: Boolean = false,
        val message: String? = null,
    )

    private val local = MutableStateFlow(Local())

    val state: StateFlow<TodayPlanUiState> =
        combine(visits, local) { today, ui ->
            TodayPlanUiState(today, ui.route, ui.from, ui.planning, ui.message)
        }.stateIn(scope, SharingStarted.Eagerly, TodayPlanUiState())

    init {
        scope.launch {
            repository.todaysVisits()
                .catch { e -> local.update { it.copy(message = e.userMessage()) } }
                .collect { today ->
                    visits.value = today
                    // A visit done, added or synced changes the plan: re-plan from the same start.
                    local.value.from?.let { replan(it) }
                }
        }
    }

    /** Takes a fix and plans today's remaining visits from it. */
    fun plan(): Job = scope.launch {
        val idle = local.value
        if (idle.planning || !local.compareAndSet(idle, idle.copy(planning = true))) return@launch
        try {
            val fix = location.currentFix()
            if (fix == null) {
                local.update { it.copy(message = NO_FIX_MESSAGE) }
            } else {
                replan(fix)
            }
        } finally {
            local.update { it.copy(planning = false) }
        }
    }

    private suspend fun replan(fix: GpsFix) {
        var route: DayRoute? = null
        val failure = attempt { route = repository.planDay(fix.lat, fix.lon) }
        local.update { it.copy(route = route ?: it.route, from = fix, message = failure) }
    }
}

package app.fieldcrm.android.logic

import app.fieldcrm.core.CustomerSummary
import app.fieldcrm.core.GpsFix
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.flatMapLatest
import kotlinx.coroutines.flow.flowOf
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class NearbyUiState(
    val position: GpsFix? = null,
    /** Closest first, with `distanceM`. */
    val customers: List<CustomerSummary> = emptyList(),
    val locating: Boolean = false,
    val message: String? = null,
)

/** Customers around the rep's current position, live (a synced or new customer shows up). */
class NearbyViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val location: LocationProvider,
    private val maxDistanceM: Double? = 25_000.0,
    private val limit: Int = 30,
) {
    private data class Local(val position: GpsFix? = null, val locating: Boolean = false, val message: String? = null)

    private val local = MutableStateFlow(Local())

    val state: StateFlow<NearbyUiState> = local
        .flatMapLatest { ui ->
            val fix = ui.position ?: return@flatMapLatest flowOf(NearbyUiState(null, emptyList(), ui.locating, ui.message))
            repository.nearbyCustomers(fix.lat, fix.lon, maxDistanceM, limit)
                .map { NearbyUiState(fix, it, ui.locating, ui.message) }
                .catch { emit(NearbyUiState(fix, emptyList(), ui.locating, it.userMessage())) }
        }
        .stateIn(scope, SharingStarted.Eagerly, NearbyUiState())

    /** Takes a new fix and lists the customers around it. */
    fun refresh(): Job = scope.launch {
        val idle = local.value
        if (idle.locating || !local.compareAndSet(idle, idle.copy(locating = true))) return@launch
        var fix: GpsFix? = null
        try {
            fix = location.currentFix()
        } finally {
            local.update {
                if (fix == null) it.copy(locating = false, message = NO_FIX_MESSAGE) else Local(fix, false, null)
            }
        }
    }
}

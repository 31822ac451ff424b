package app.fieldcrm.android.logic

import app.fieldcrm.core.Customer
import app.fieldcrm.core.CustomerSummary
import app.fieldcrm.core.GeoLocation
import app.fieldcrm.core.LocationSource
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.debounce
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.flatMapLatest
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.stateIn

data class CustomerListUiState(
    val query: String = "",
    val customers: List<CustomerSummary> = emptyList(),
    /** The results shown are not yet those of [query] (typing, debounce). */
    val searching: Boolean = true,
    val message: String? = null,
)

/** Customer search: the text box's value, debounced, runs a live search (blank lists all by name). */
class CustomerListViewModel(
    private val repository: FieldRepository,
    scope: CoroutineScope,
    /** For "create at my position"; null when the app has no location access. */
    private val location: LocationProvider? = null,
    debounceMs: Long = 300,
) {
    private class Results(val text: String, val rows: List<CustomerSummary>, val error: String?)

    private val query = MutableStateFlow("")
    private val message = MutableStateFlow<String?>(null)

    private val results = query
        .debounce(debounceMs)
        .map { it.trim() }
        .distinctUntilChanged()
        .flatMapLatest { text ->
            repository.searchCustomers(text)
                .map { Results(text, it, null) }
                .catch { emit(Results(text, emptyList(), it.userMessage())) }
        }

    val state: StateFlow<CustomerListUiState> =
        combine(query, results, message) { text, found, note ->
            CustomerListUiState(text, found.rows, searching = found.text != text.trim(), message = note ?: found.error)
        }.stateIn(scope, SharingStarted.Eagerly, CustomerListUiState())

    fun onQueryChange(text: String) {
        query.value = text
    }

    /**
     * Creates a customer; with [atCurrentLocation] it is placed at the current fix. Returns the
     * customer, or null with the reason in [CustomerListUiState.message].
     */
    suspend fun createCustomer(draft: CustomerDraft, atCurrentLocation: Boolean = false): Customer? {
        var created: Customer? = null
        message.value = attempt {
            var placed = draft
            if (atCurrentLocation) {
                val fix = location?.currentFix() ?: throw IllegalArgumentException(NO_FIX_MESSAGE)
                placed = draft.copy(location = GeoLocation(fix.lat, fix.lon, LocationSource.Gps, fix.fixAt))
            }
            created = repository.createCustomer(placed)
        }
        return created
    }

    fun dismissMessage() {
        message.value = null
    }
}

internal const val NO_FIX_MESSAGE = "No location fix. Turn location on (and allow it for FieldCRM), then try again."

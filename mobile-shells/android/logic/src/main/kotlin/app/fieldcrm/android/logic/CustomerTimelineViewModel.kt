package app.fieldcrm.android.logic

import app.fieldcrm.core.TimelineEntry
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.stateIn

data class CustomerTimelineUiState(
    val entries: List<TimelineEntry> = emptyList(),
    val loading: Boolean = true,
    val message: String? = null,
)

/**
 * A customer's timeline (visits, activities, orders, cases; newest first) as a live query: it
 * follows new activities, visits, orders and cases, logged here or arriving by sync.
 */
class CustomerTimelineViewModel(
    repository: FieldRepository,
    scope: CoroutineScope,
    customerId: String,
    limit: Int = 50,
) {
    val state: StateFlow<CustomerTimelineUiState> = repository.customerTimeline(customerId, limit)
        .map { CustomerTimelineUiState(it, loading = false) }
        .catch { emit(CustomerTimelineUiState(loading = false, message = it.userMessage())) }
        .stateIn(scope, SharingStarted.Eagerly, CustomerTimelineUiState())
}

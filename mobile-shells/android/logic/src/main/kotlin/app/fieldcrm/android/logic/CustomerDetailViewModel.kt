package app.fieldcrm.android.logic

import app.fieldcrm.core.Customer
import app.fieldcrm.core.VisitSummary
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.mapLatest
import kotlinx.coroutines.flow.onStart
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.launch

data class CustomerDetailUiState(
    val customer: Customer? = null,
    val loading: Boolean = true,
    /** Today's visits of the signed-in rep at this customer. */
    val todaysVisits: List<VisitSummary> = emptyList(),
    val message: String? = null,
)

/** One customer, re-read after every change (an edit here, a sync); edit it or start a visit. */
class CustomerDetailViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val customerId: String,
    private val clock: Clock = Clock.System,
) {
    private class Loaded(val customer: Customer?, val error: String?)

    private val message = MutableStateFlow<String?>(null)

    private val loaded = repository.changes.mapLatest {
        try {
            Loaded(repository.customer(customerId), null)
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            Loaded(null, e.userMessage())
        }
    }

    private val visits = repository.todaysVisits()
        .map { rows -> rows.filter { it.customerId == customerId } }
        .catch { emit(emptyList()) }
        .onStart { emit(emptyList()) }

    val state: StateFlow<CustomerDetailUiState> =
        combine(loaded, visits, message) { data, today, note ->
            CustomerDetailUiState(
                data.customer,
                loading = false,
                todaysVisits = today,
                message = note ?: data.error ?: if (data.customer == null) "This customer is not on this phone." else null,
            )
        }.stateIn(scope, SharingStarted.Eagerly, CustomerDetailUiState())

    /** Saves an edit (only changed fields are written); e.g. `save { it.copy(notes = text) }`. */
    fun save(edit: (Customer) -> Customer): Job = scope.launch {
        message.value = attempt { repository.updateCustomer(customerId, edit) }
    }

    /** Plans a visit starting now and returns its id (for the visit screen), or null. */
    suspend fun startVisit(): String? {
        var id: String? = null
        message.value = attempt { id = repository.planVisit(customerId, plannedStart = clock.nowMs()).meta.id }
        return id
    }

    fun dismissMessage() {
        message.value = null
    }
}

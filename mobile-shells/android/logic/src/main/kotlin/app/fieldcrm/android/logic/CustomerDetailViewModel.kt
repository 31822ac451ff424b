package app.fieldcrm.android.logic

import app.fieldcrm.core.ContactSummary
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
    /** Today's visits of the signed-in rep at this customer (to check in to). */
    val todaysVisits: List<VisitSummary> = emptyList(),
    /** The customer's contacts, by name. */
    val contacts: List<ContactSummary> = emptyList(),
    /** The customer's latest visits (every rep's), newest first; at most the view model's limit. */
    val visitHistory: List<VisitSummary> = emptyList(),
    val message: String? = null,
)

/**
 * One customer, re-read after every change (an edit here, a sync), with its contacts and visit
 * history as live queries (they follow syncs and check-ins); edit it or start a visit.
 */
class CustomerDetailViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val customerId: String,
    private val clock: Clock = Clock.System,
    /** How many of the latest visits [CustomerDetailUiState.visitHistory] lists. */
    historyLimit: Int = 20,
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

    private val contacts = repository.contactsOfCustomer(customerId)
        .catch { emit(emptyList()) }
        .onStart { emit(emptyList()) }

    private val history = repository.visitsForCustomer(customerId, historyLimit)
        .catch { emit(emptyList()) }
        .onStart { emit(emptyList()) }

    val state: StateFlow<CustomerDetailUiState> =
        combine(loaded, visits, contacts, history, message) { data, today, people, past, note ->
            CustomerDetailUiState(
                data.customer,
                loading = false,
                todaysVisits = today,
                contacts = people,
                visitHistory = past,
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

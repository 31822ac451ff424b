package app.fieldcrm.android.logic

import app.fieldcrm.core.parseAmount
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

data class NewDealUiState(val busy: Boolean = false, val message: String? = null)

/** Opens a deal of the signed-in rep for one customer, from what the rep typed. */
class NewDealViewModel(
    private val repository: FieldRepository,
    private val customerId: String,
) {
    private val local = MutableStateFlow(NewDealUiState())
    val state: StateFlow<NewDealUiState> = local.asStateFlow()

    /**
     * Creates the deal at the lead stage and returns its id (for the deal screen), or null with
     * the reason in [NewDealUiState.message]: a blank title, an amount that does not read in
     * [currency] (`12500,50`), a probability outside 0 to 100.
     */
    suspend fun create(
        title: String,
        amountText: String,
        currency: String,
        probability: Int? = null,
        expectedCloseAt: Long? = null,
    ): String? {
        val idle = local.value
        if (idle.busy || !local.compareAndSet(idle, NewDealUiState(busy = true))) return null
        var id: String? = null
        val failure = attempt {
            if (probability != null) require(probability in 0..100) { "The probability is a percent from 0 to 100." }
            val amount = parseAmount(amountText.trim(), currency.trim().uppercase())
            id = repository.createOpportunity(DealDraft(customerId, title, amount, probability, expectedCloseAt)).meta.id
        }
        local.value = NewDealUiState(busy = false, message = failure)
        return id
    }

    fun dismissMessage() = local.update { it.copy(message = null) }
}

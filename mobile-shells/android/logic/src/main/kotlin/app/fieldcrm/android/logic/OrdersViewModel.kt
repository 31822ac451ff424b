package app.fieldcrm.android.logic

import app.fieldcrm.core.OrderStatus
import app.fieldcrm.core.OrderSummary
import kotlinx.coroutines.CoroutineScope
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

/** Whose orders a list shows. */
sealed interface OrdersOf {
    data class Customer(val customerId: String) : OrdersOf

    /** The orders taken at a visit; new ones are for the visit's customer. */
    data class Visit(val visitId: String) : OrdersOf
}

data class OrdersUiState(
    /** Newest first, each with its totals (the library's) and its count of unknown products. */
    val orders: List<OrderSummary> = emptyList(),
    val loading: Boolean = true,
    val busy: Boolean = false,
    val message: String? = null,
)

/** An order's status in words. */
fun OrderStatus.label(): String = when (this) {
    OrderStatus.Draft -> "Draft"
    OrderStatus.Submitted -> "Submitted"
    OrderStatus.Confirmed -> "Confirmed"
    OrderStatus.Delivered -> "Delivered"
    OrderStatus.Cancelled -> "Cancelled"
    is OrderStatus.Unknown -> "Unknown ($value)"
}

/** An order in one line of a list: `Submitted · 3 lines · 26.88 EUR`. */
fun OrderSummary.summaryText(): String = listOfNotNull(
    status.label(),
    "$lineCount line" + if (lineCount == 1u) "" else "s",
    formatTotal(),
    unknownProducts.takeIf { it > 0u }?.let { "$it unknown product" + if (it == 1u) "" else "s" },
).joinToString(" · ")

private fun OrderSummary.formatTotal(): String = totals.text(currency).gross

/**
 * The orders of a customer or of a visit, live (an order taken here or synced in shows at
 * once), and starting a new one: for the visit's customer, at that visit.
 */
class OrdersViewModel(
    private val repository: FieldRepository,
    scope: CoroutineScope,
    private val of: OrdersOf,
    limit: Int = 50,
) {
    private class Loaded(val orders: List<OrderSummary>, val error: String?, val loading: Boolean = false)

    private data class Local(val busy: Boolean = false, val message: String? = null)

    private val local = MutableStateFlow(Local())

    private val rows: Flow<List<OrderSummary>> = when (of) {
        is OrdersOf.Customer -> repository.ordersOfCustomer(of.customerId, limit)
        is OrdersOf.Visit -> repository.ordersOfVisit(of.visitId)
    }

    private val loaded = rows.map { Loaded(it, null) }
        .catch { emit(Loaded(emptyList(), it.userMessage())) }
        .onStart { emit(Loaded(emptyList(), null, loading = true)) }

    val state: StateFlow<OrdersUiState> =
        combine(loaded, local) { data, ui ->
            OrdersUiState(data.orders, data.loading, ui.busy, ui.message ?: data.error)
        }.stateIn(scope, SharingStarted.Eagerly, OrdersUiState())

    /**
     * Starts a draft order in [currency] (ISO 4217, `eur` is read as `EUR`) for the customer (of
     * the visit, at that visit) and returns its id for the order screen, or null with the reason
     * in [OrdersUiState.message].
     */
    suspend fun startOrder(currency: String): String? {
        val idle = local.value
        if (idle.busy || !local.compareAndSet(idle, Local(busy = true))) return null
        var id: String? = null
        val failure = attempt {
            val code = currency.trim().uppercase()
            id = when (of) {
                is OrdersOf.Customer -> repository.createOrder(of.customerId, null, code)
                is OrdersOf.Visit -> {
                    val visit = repository.visit(of.visitId) ?: throw IllegalArgumentException(VISIT_NOT_HERE)
                    repository.createOrder(visit.customerId, visit.meta.id, code)
                }
            }.meta.id
        }
        local.value = Local(message = failure)
        return id
    }

    fun dismissMessage() = local.update { it.copy(message = null) }

    private companion object {
        const val VISIT_NOT_HERE = "This visit is not on this phone."
    }
}

package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.OrderDetail
import app.fieldcrm.core.OrderLineSummary
import app.fieldcrm.core.OrderStatus
import app.fieldcrm.core.OrderSummary
import app.fieldcrm.core.OrderTotals
import app.fieldcrm.core.ValidationRule
import app.fieldcrm.core.formatAmount
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.onStart
import kotlinx.coroutines.flow.stateIn
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** An order's totals in words, in its currency: every figure as the library computed it. */
data class TotalsText(val subtotal: String, val discount: String, val net: String, val tax: String, val gross: String)

fun OrderTotals.text(currency: String): TotalsText = TotalsText(
    formatAmount(subtotalMinor, currency),
    formatAmount(discountMinor, currency),
    formatAmount(netMinor, currency),
    formatAmount(taxMinor, currency),
    formatAmount(grossMinor, currency),
)

/**
 * The line's product as shown: its name and SKU as they were when the line was added, or, when
 * this phone does not know the product (a catalog entry it has not received, or one a newer app
 * wrote), "Unknown product" with the SKU the line carries. Never a crash, never hidden.
 */
fun OrderLineSummary.productLabel(): String =
    if (productKnown) "${line.name} (${line.sku})" else "Unknown product (${line.sku.ifBlank { line.productId }})"

/** A line's discount as a percent: `12.5 %`. */
fun OrderLineSummary.discountText(): String = percentText(line.discountBp.toInt())

data class OrderUiState(
    val order: OrderSummary? = null,
    val lines: List<OrderLineSummary> = emptyList(),
    val loading: Boolean = true,
    val busy: Boolean = false,
    val message: String? = null,
) {
    /** Only a draft's lines can change; every other state froze them (the library's rule). */
    val editable: Boolean get() = order?.status == OrderStatus.Draft

    /** The order left draft: its lines are frozen, and the screen says so. */
    val frozen: Boolean get() = order != null && !editable

    val canSubmit: Boolean get() = !busy && editable && lines.isNotEmpty()

    /** A draft, a submitted or a confirmed order can still be cancelled. */
    val canCancel: Boolean get() = !busy && order?.status in CANCELLABLE

    /** The order's totals in words, as the library computed them from the lines. */
    val totals: TotalsText? get() = order?.let { it.totals.text(it.currency) }

    /** Lines whose product this phone does not know. */
    val unknownProducts: Int get() = order?.unknownProducts?.toInt() ?: 0

    private companion object {
        val CANCELLABLE = setOf<OrderStatus?>(OrderStatus.Draft, OrderStatus.Submitted, OrderStatus.Confirmed)
    }
}

/**
 * Order entry for one order: lines added from the catalog with a quantity and a discount,
 * changed and removed, the order submitted (its lines then frozen) or cancelled. The order, its
 * lines and its totals are a live query: every figure is the library's, recomputed after each
 * change here or from a sync. A refusal (a quantity below 1, a discount over 100 %, a product
 * without a price in the order's currency, a change to a submitted order) is a message.
 */
class OrderViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val orderId: String,
) {
    private class Loaded(val detail: OrderDetail?, val error: String?, val loading: Boolean = false)

    /** Set together, so the state never shows a finished change with the previous attempt's message. */
    private data class Local(val busy: Boolean = false, val message: String? = null)

    private val local = MutableStateFlow(Local())

    private val loaded = repository.orderWithLines(orderId)
        .map { Loaded(it, if (it == null) NOT_HERE else null) }
        .catch { emit(Loaded(null, it.userMessage())) }
        .onStart { emit(Loaded(null, null, loading = true)) }

    val state: StateFlow<OrderUiState> =
        combine(loaded, local) { data, ui ->
            OrderUiState(
                data.detail?.order,
                data.detail?.lines ?: emptyList(),
                data.loading,
                ui.busy,
                ui.message ?: data.error,
            )
        }.stateIn(scope, SharingStarted.Eagerly, OrderUiState())

    /**
     * Adds [quantityText] (a whole number) of the product with a discount of [discountText]
     * percent (`10`, `12,5`; blank for none), priced as the catalog has it now in the order's
     * currency: one write of the line with its discount, so a discount the library refuses
     * (over 100 %) leaves the order as it was.
     */
    fun addLine(productId: String, quantityText: String, discountText: String = ""): Job = busy {
        val quantity = parseQuantity(quantityText)
        val discountBp = parseDiscount(discountText) ?: 0
        repository.addOrderLine(orderId, productId, quantity, discountBp)
    }

    /** Changes a line's quantity and/or discount; blank leaves it as it is. */
    fun changeLine(lineId: String, quantityText: String = "", discountText: String = ""): Job = busy {
        val quantity = quantityText.takeIf { it.isNotBlank() }?.let(::parseQuantity)
        val discountBp = parseDiscount(discountText)
        if (quantity != null || discountBp != null) {
            repository.editOrderLine(orderId, lineId, quantity, discountBp)
        }
    }

    fun removeLine(lineId: String): Job = busy { repository.removeOrderLine(orderId, lineId) }

    /** Submits the order: from now on its lines are frozen; it can still be cancelled. */
    fun submit(): Job = busy { repository.setOrderStatus(orderId, OrderStatus.Submitted) }

    fun cancel(): Job = busy { repository.setOrderStatus(orderId, OrderStatus.Cancelled) }

    private fun busy(action: suspend () -> Unit): Job = scope.launch {
        val idle = local.value
        if (idle.busy || !local.compareAndSet(idle, idle.copy(busy = true))) return@launch
        val failure = try {
            action()
            null
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            e.orderMessage()
        }
        local.value = Local(message = failure)
    }

    fun dismissMessage() = local.update { it.copy(message = null) }

    private companion object {
        const val NOT_HERE = "This order is not on this phone."
    }
}

/** A refused order change in words: the order's own wording where the visit's would mislead. */
internal fun Throwable.orderMessage(): String =
    if (this is FieldCrmException.InvalidValue && rule == ValidationRule.STATUS_REGRESSION) {
        "This order has already moved on ($detail)."
    } else {
        userMessage()
    }

/** A typed quantity: a whole number (the library refuses one below 1). */
internal fun parseQuantity(text: String): Long =
    text.trim().toLongOrNull() ?: throw IllegalArgumentException(QUANTITY_MESSAGE)

/**
 * A typed discount in percent (`10`, `12.5`, `12,5`; at most two decimals) as basis points
 * (1250); blank is none. Whether it is at most 100 % is the library's rule, not checked here.
 */
internal fun parseDiscount(text: String): Int? {
    val trimmed = text.trim().removeSuffix("%").trim().replace(',', '.')
    if (trimmed.isEmpty()) return null
    val match = DISCOUNT.matchEntire(trimmed) ?: throw IllegalArgumentException(DISCOUNT_MESSAGE)
    val whole = match.groupValues[1].toIntOrNull() ?: throw IllegalArgumentException(DISCOUNT_MESSAGE)
    val fraction = match.groupValues[2].padEnd(2, '0').toInt()
    return whole * 100 + fraction
}

/** Basis points as a percent: 1250 → `12.5 %`, 1000 → `10 %`. */
fun percentText(bp: Int): String {
    val whole = bp / 100
    val fraction = bp % 100
    return when {
        fraction == 0 -> "$whole %"
        fraction % 10 == 0 -> "$whole.${fraction / 10} %"
        else -> "$whole.${fraction.toString().padStart(2, '0')} %"
    }
}

/** At most seven whole digits keep `whole * 100` inside an Int (anything that large is over 100 %). */
private val DISCOUNT = Regex("""(\d{1,7})(?:\.(\d{1,2}))?""")

const val QUANTITY_MESSAGE = "A quantity is a whole number, like 3."
const val DISCOUNT_MESSAGE = "A discount is a percent, like 10 or 12.5."

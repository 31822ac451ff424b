package app.fieldcrm.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.Delete
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.fieldcrm.android.logic.CatalogViewModel
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.ORDER_FROZEN_MESSAGE
import app.fieldcrm.android.logic.OrderUiState
import app.fieldcrm.android.logic.OrderViewModel
import app.fieldcrm.android.logic.TotalsText
import app.fieldcrm.android.logic.discountText
import app.fieldcrm.android.logic.label
import app.fieldcrm.android.logic.priceIn
import app.fieldcrm.android.logic.productLabel
import app.fieldcrm.core.OrderLineSummary
import app.fieldcrm.core.ProductSummary
import app.fieldcrm.core.formatAmount

/**
 * Order entry: the order's lines with their totals and the order's, all computed by the library
 * and live; lines added from the catalog with a quantity and a discount, changed, removed; the
 * order submitted (then frozen) or cancelled.
 */
@Composable
fun OrderScreen(repository: FieldRepository, orderId: String, onBack: () -> Unit) {
    val vm = rememberLogic(orderId) { scope -> OrderViewModel(repository, scope, orderId) }
    val state by vm.state.collectAsStateWithLifecycle()
    val order = state.order

    Column(
        Modifier.fillMaxSize().padding(16.dp).verticalScroll(rememberScrollState()),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Row(verticalAlignment = Alignment.CenterVertically) {
            IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = "Back") }
            Text("Order", style = MaterialTheme.typography.headlineSmall)
        }
        if (state.busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorText(state.message)
        if (state.loading) Loading()
        if (order != null) {
            Text(order.customerName ?: "Customer not on this phone", style = MaterialTheme.typography.titleLarge)
            Text("${order.status.label()} · ${order.currency} · ${formatDateTime(order.orderedAt)}")
            if (state.frozen) {
                Card(
                    colors = CardDefaults.cardColors(containerColor = MaterialTheme.colorScheme.secondaryContainer),
                    modifier = Modifier.fillMaxWidth(),
                ) { Text(ORDER_FROZEN_MESSAGE, Modifier.padding(12.dp)) }
            }
            if (state.unknownProducts > 0) {
                Text(
                    "${state.unknownProducts} line(s) name a product this phone does not know. Sync to fetch the catalog.",
                    color = MaterialTheme.colorScheme.error,
                )
            }
            Text("Lines", style = MaterialTheme.typography.titleMedium)
            if (state.lines.isEmpty()) Text("No lines yet: add products from the catalog below.")
            for (line in state.lines) {
                OrderLineRow(vm, state, line, order.currency)
                HorizontalDivider()
            }
            state.totals?.let { Totals(it) }
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Button(onClick = { vm.submit() }, enabled = state.canSubmit) { Text("Submit") }
                OutlinedButton(onClick = { vm.cancel() }, enabled = state.canCancel) { Text("Cancel order") }
            }
            if (state.editable) AddFromCatalog(repository, vm, orderId, order.currency)
        }
    }
}

@Composable
private fun OrderLineRow(vm: OrderViewModel, state: OrderUiState, summary: OrderLineSummary, currency: String) {
    var quantity by rememberSaveable(summary.line.id) { mutableStateOf("") }
    var discount by rememberSaveable(summary.line.id) { mutableStateOf("") }
    val line = summary.line
    Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
        Text(
            summary.productLabel(),
            style = MaterialTheme.typography.bodyLarge,
            color = if (summary.productKnown) MaterialTheme.colorScheme.onSurface else MaterialTheme.colorScheme.error,
        )
        Text(
            "${line.quantity} × ${formatAmount(line.unitPriceMinor, currency)} · discount ${summary.discountText()} · " +
                "net ${formatAmount(summary.totals.netMinor, currency)} · total ${formatAmount(summary.totals.grossMinor, currency)}",
            style = MaterialTheme.typography.bodySmall,
        )
        if (state.editable) {
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp), verticalAlignment = Alignment.CenterVertically) {
                OutlinedTextField(quantity, { quantity = it }, label = { Text("Quantity") }, singleLine = true, modifier = Modifier.weight(1f))
                OutlinedTextField(discount, { discount = it }, label = { Text("Discount %") }, singleLine = true, modifier = Modifier.weight(1f))
                TextButton(
                    onClick = {
                        vm.changeLine(line.id, quantity, discount)
                        quantity = ""
                        discount = ""
                    },
                    enabled = !state.busy && (quantity.isNotBlank() || discount.isNotBlank()),
                ) { Text("Change") }
                IconButton(onClick = { vm.removeLine(line.id) }, enabled = !state.busy) {
                    Icon(Icons.Filled.Delete, contentDescription = "Remove line")
                }
            }
        }
    }
}

@Composable
private fun Totals(totals: TotalsText) {
    Column {
        Text("Subtotal ${totals.subtotal}")
        Text("Discount −${totals.discount}")
        Text("Net ${totals.net}")
        Text("Tax ${totals.tax}")
        Text("Total ${totals.gross}", style = MaterialTheme.typography.titleMedium)
    }
}

/** The catalog search; a tapped product is added with the quantity and discount typed above it. */
@Composable
private fun AddFromCatalog(repository: FieldRepository, vm: OrderViewModel, orderId: String, currency: String) {
    val catalog = rememberLogic(orderId) { scope -> CatalogViewModel(repository, scope) }
    val found by catalog.state.collectAsStateWithLifecycle()
    var quantity by rememberSaveable(orderId) { mutableStateOf("1") }
    var discount by rememberSaveable(orderId) { mutableStateOf("") }
    Text("Add from the catalog", style = MaterialTheme.typography.titleMedium)
    Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        OutlinedTextField(quantity, { quantity = it }, label = { Text("Quantity") }, singleLine = true, modifier = Modifier.weight(1f))
        OutlinedTextField(discount, { discount = it }, label = { Text("Discount %") }, singleLine = true, modifier = Modifier.weight(1f))
    }
    // The search's list scrolls inside this scrolling screen: give it a bounded height.
    Column(Modifier.fillMaxWidth().height(420.dp)) {
        CatalogSearch(catalog, found) { product: ProductSummary ->
            // A product without a price in this currency is refused by the library, with a message.
            vm.addLine(product.id, quantity, discount)
        }
    }
    found.products.firstOrNull { it.priceIn(currency) == null }?.let {
        Text("Products without a price in $currency cannot go on this order.", style = MaterialTheme.typography.bodySmall)
    }
}

package app.fieldcrm.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.OrdersOf
import app.fieldcrm.android.logic.OrdersViewModel
import app.fieldcrm.android.logic.summaryText
import kotlinx.coroutines.launch

/**
 * The orders of a visit or a customer, live, and a new order (for a visit: for its customer, at
 * the visit) in the currency typed, opened on the order screen.
 */
@Composable
fun OrdersSection(repository: FieldRepository, of: OrdersOf, onOrder: (String) -> Unit) {
    val key = when (of) {
        is OrdersOf.Customer -> "customer/" + of.customerId
        is OrdersOf.Visit -> "visit/" + of.visitId
    }
    val vm = rememberLogic(key) { scope -> OrdersViewModel(repository, scope, of) }
    val state by vm.state.collectAsStateWithLifecycle()
    val scope = rememberCoroutineScope()
    var currency by rememberSaveable(key) { mutableStateOf("EUR") }
    Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text("Orders", style = MaterialTheme.typography.titleMedium)
        ErrorText(state.message)
        if (!state.loading && state.orders.isEmpty()) Text("No orders yet.")
        for (order in state.orders) {
            ListItem(
                headlineContent = { Text(order.customerName ?: "Customer not on this phone") },
                supportingContent = { Text("${formatDateTime(order.orderedAt)} · ${order.summaryText()}") },
                modifier = Modifier.clickable { onOrder(order.id) },
            )
        }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp), verticalAlignment = Alignment.CenterVertically) {
            OutlinedTextField(currency, { currency = it }, label = { Text("Currency") }, singleLine = true, modifier = Modifier.weight(1f))
            Button(
                onClick = { scope.launch { vm.startOrder(currency)?.let(onOrder) } },
                enabled = !state.busy && currency.isNotBlank(),
                modifier = Modifier.weight(1f),
            ) { Text("New order") }
        }
    }
}

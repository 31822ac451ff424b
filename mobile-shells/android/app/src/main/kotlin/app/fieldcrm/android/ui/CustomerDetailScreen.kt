package app.fieldcrm.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.FilterChip
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
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
import app.fieldcrm.android.logic.CustomerDetailUiState
import app.fieldcrm.android.logic.CustomerDetailViewModel
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.OrdersOf
import app.fieldcrm.android.logic.NewDealViewModel
import app.fieldcrm.android.logic.PICKABLE_GRADES
import app.fieldcrm.android.logic.label
import app.fieldcrm.core.ContactSummary
import app.fieldcrm.core.Customer
import app.fieldcrm.core.Grade
import app.fieldcrm.core.VisitSummary
import kotlinx.coroutines.launch

@Composable
fun CustomerDetailScreen(
    repository: FieldRepository,
    customerId: String,
    onVisit: (String) -> Unit,
    onDeal: (String) -> Unit,
    onOrder: (String) -> Unit,
    onBack: () -> Unit,
) {
    val vm = rememberLogic(customerId) { scope -> CustomerDetailViewModel(repository, scope, customerId) }
    val state by vm.state.collectAsStateWithLifecycle()
    val customer = state.customer

    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Row(verticalAlignment = Alignment.CenterVertically) {
            IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = "Back") }
            Text(customer?.name ?: "", style = MaterialTheme.typography.headlineSmall)
        }
        ErrorText(state.message)
        if (state.loading) CircularProgressIndicator()
        if (customer != null) {
            CustomerDetails(customer, state, vm, onVisit)
            NewDeal(repository, customerId, onDeal)
            OrdersSection(repository, OrdersOf.Customer(customerId), onOrder)
        }
    }
}

/** Opens a deal for this customer and shows it. */
@Composable
private fun NewDeal(repository: FieldRepository, customerId: String, onDeal: (String) -> Unit) {
    val vm = rememberLogic(customerId) { _ -> NewDealViewModel(repository, customerId) }
    val state by vm.state.collectAsStateWithLifecycle()
    val scope = rememberCoroutineScope()
    var title by rememberSaveable(customerId) { mutableStateOf("") }
    var amount by rememberSaveable(customerId) { mutableStateOf("") }
    var currency by rememberSaveable(customerId) { mutableStateOf("EUR") }
    var probability by rememberSaveable(customerId) { mutableStateOf("") }
    var close by rememberSaveable(customerId) { mutableStateOf("") }
    Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text("New deal", style = MaterialTheme.typography.titleMedium)
        OutlinedTextField(title, { title = it }, label = { Text("What is being sold") }, modifier = Modifier.fillMaxWidth())
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedTextField(amount, { amount = it }, label = { Text("Amount") }, modifier = Modifier.weight(2f))
            OutlinedTextField(currency, { currency = it }, label = { Text("Currency") }, modifier = Modifier.weight(1f))
        }
        OutlinedTextField(probability, { probability = it }, label = { Text("Probability, %") }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(close, { close = it }, label = { Text("Expected close, YYYY-MM-DD") }, modifier = Modifier.fillMaxWidth())
        ErrorText(state.message)
        Button(
            onClick = {
                scope.launch {
                    // A probability that is not a number is sent as out of range, so the rep is told.
                    val percent = probability.trim().takeIf { it.isNotEmpty() }?.let { it.toIntOrNull() ?: -1 }
                    vm.create(title, amount, currency, percent, parseDate(close))?.let { id ->
                        title = ""
                        amount = ""
                        probability = ""
                        close = ""
                        onDeal(id)
                    }
                }
            },
            enabled = !state.busy && title.isNotBlank() && amount.isNotBlank(),
        ) { Text("Open deal") }
    }
}

@Composable
private fun CustomerDetails(customer: Customer, state: CustomerDetailUiState, vm: CustomerDetailViewModel, onVisit: (String) -> Unit) {
    val scope = rememberCoroutineScope()
    Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
        val address = customer.address
        listOfNotNull(address.line, listOfNotNull(address.postalCode, address.city).joinToString(" ").ifBlank { null })
            .forEach { Text(it) }
        customer.phones.forEach { Text("☎ $it") }
        customer.emails.forEach { Text(it) }
        customer.territory?.let { Text("Territory: $it", style = MaterialTheme.typography.bodySmall) }

        Row(horizontalArrangement = Arrangement.spacedBy(8.dp), verticalAlignment = Alignment.CenterVertically) {
            Text("Grade")
            PICKABLE_GRADES.forEach { grade ->
                FilterChip(
                    selected = customer.grade == grade,
                    onClick = { vm.save { it.copy(grade = if (it.grade == grade) null else grade) } },
                    label = { Text(grade.label()) },
                )
            }
            // A grade a newer version of the app set: shown, not offered.
            (customer.grade as? Grade.Unknown)?.let { Text(it.label()) }
        }

        var notes by rememberSaveable(customer.meta.id) { mutableStateOf(customer.notes) }
        OutlinedTextField(notes, { notes = it }, label = { Text("Notes") }, modifier = Modifier.fillMaxWidth(), minLines = 3)
        OutlinedButton(onClick = { vm.save { it.copy(notes = notes) } }, enabled = notes != customer.notes) { Text("Save notes") }

        Text("Contacts", style = MaterialTheme.typography.titleMedium)
        if (state.contacts.isEmpty()) Text("No contacts.", style = MaterialTheme.typography.bodySmall)
        state.contacts.forEach { contact -> ContactItem(contact) }

        Text("Today's visits", style = MaterialTheme.typography.titleMedium)
        state.todaysVisits.forEach { visit ->
            ListItem(
                headlineContent = { Text(visit.statusText()) },
                supportingContent = { visit.plannedStart?.let { Text("Planned ${formatTime(it)}") } },
                modifier = Modifier.clickable { onVisit(visit.id) },
            )
        }
        Button(onClick = { scope.launch { vm.startVisit()?.let(onVisit) } }) { Text("Start a visit now") }

        Text("Visit history", style = MaterialTheme.typography.titleMedium)
        if (state.visitHistory.isEmpty()) Text("No visits yet.", style = MaterialTheme.typography.bodySmall)
        state.visitHistory.forEach { visit -> VisitHistoryItem(visit, onVisit) }
    }
}

@Composable
private fun ContactItem(contact: ContactSummary) {
    ListItem(
        headlineContent = { Text(contact.name) },
        overlineContent = contact.title?.let { title -> @Composable { Text(title) } },
        supportingContent = if (contact.phones.isEmpty() && contact.emails.isEmpty()) {
            null
        } else {
            @Composable {
                Column {
                    contact.phones.forEach { Text("☎ $it") }
                    contact.emails.forEach { Text(it) }
                }
            }
        },
    )
}

/** A visit of any rep: when (checked in, else planned), its status and its verification. */
@Composable
private fun VisitHistoryItem(visit: VisitSummary, onVisit: (String) -> Unit) {
    val at = visit.checkInAt ?: visit.plannedStart
    ListItem(
        headlineContent = { Text(at?.let(::formatDateTime) ?: "Not scheduled") },
        supportingContent = {
            Text(listOfNotNull(visit.statusText(), visit.verification?.label()).joinToString(" · "))
        },
        modifier = Modifier.clickable { onVisit(visit.id) },
    )
}

private fun VisitSummary.statusText(): String = status.label()

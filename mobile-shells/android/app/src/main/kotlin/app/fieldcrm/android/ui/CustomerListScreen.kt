package app.fieldcrm.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.WindowInsets
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material.icons.filled.Search
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Checkbox
import androidx.compose.material3.FloatingActionButton
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.fieldcrm.android.logic.CustomerDraft
import app.fieldcrm.android.logic.CustomerListViewModel
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.LocationProvider
import app.fieldcrm.android.logic.label
import app.fieldcrm.core.CustomerSummary
import kotlinx.coroutines.launch

@Composable
fun CustomerListScreen(repository: FieldRepository, location: LocationProvider, onOpen: (String) -> Unit) {
    val vm = rememberLogic { scope -> CustomerListViewModel(repository, scope, location) }
    val state by vm.state.collectAsStateWithLifecycle()
    var adding by rememberSaveable { mutableStateOf(false) }

    Scaffold(
        contentWindowInsets = WindowInsets(0, 0, 0, 0), // the main Scaffold handles the insets
        floatingActionButton = {
            FloatingActionButton(onClick = { adding = true }) { Icon(Icons.Filled.Add, contentDescription = "Add customer") }
        },
    ) { padding ->
        Column(Modifier.fillMaxSize().padding(padding).padding(horizontal = 16.dp)) {
            OutlinedTextField(
                value = state.query,
                onValueChange = vm::onQueryChange,
                placeholder = { Text("Search name, contact, city, phone") },
                leadingIcon = { Icon(Icons.Filled.Search, contentDescription = null) },
                singleLine = true,
                modifier = Modifier.fillMaxWidth().padding(vertical = 8.dp),
            )
            ErrorText(state.message)
            if (!state.searching && state.customers.isEmpty()) {
                Text(if (state.query.isBlank()) "No customers on this phone yet." else "No customer matches \"${state.query}\".")
            }
            LazyColumn {
                items(state.customers, key = { it.id }) { customer ->
                    CustomerRow(customer, onClick = { onOpen(customer.id) })
                    HorizontalDivider()
                }
            }
        }
    }

    if (adding) {
        NewCustomerDialog(vm, onDismiss = { adding = false }, onCreated = { id ->
            adding = false
            onOpen(id)
        })
    }
}

@Composable
fun CustomerRow(customer: CustomerSummary, onClick: () -> Unit) {
    val details = listOfNotNull(
        customer.city,
        customer.grade?.let { "Grade ${it.label()}" },
        customer.distanceM?.let(::formatKm),
        customer.lastVisitAt?.let { "Visited ${formatDateTime(it)}" },
    ).joinToString(" · ")
    ListItem(
        headlineContent = { Text(customer.name) },
        supportingContent = { if (details.isNotEmpty()) Text(details) },
        modifier = Modifier.clickable(onClick = onClick),
    )
}

@Composable
private fun NewCustomerDialog(vm: CustomerListViewModel, onDismiss: () -> Unit, onCreated: (String) -> Unit) {
    val scope = rememberCoroutineScope()
    val permission = rememberLocationPermission()
    var name by rememberSaveable { mutableStateOf("") }
    var city by rememberSaveable { mutableStateOf("") }
    var phone by rememberSaveable { mutableStateOf("") }
    var here by rememberSaveable { mutableStateOf(false) }
    var saving by remember { mutableStateOf(false) }
    val state by vm.state.collectAsStateWithLifecycle()

    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text("New customer") },
        text = {
            Column {
                OutlinedTextField(name, { name = it }, label = { Text("Name") }, singleLine = true)
                OutlinedTextField(city, { city = it }, label = { Text("City") }, singleLine = true)
                OutlinedTextField(phone, { phone = it }, label = { Text("Phone") }, singleLine = true)
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Checkbox(checked = here, onCheckedChange = { checked ->
                        here = checked
                        if (checked && !permission.granted) permission.request()
                    })
                    Text("Located where I am now")
                }
                ErrorText(state.message)
            }
        },
        confirmButton = {
            TextButton(
                enabled = name.isNotBlank() && !saving,
                onClick = {
                    saving = true
                    scope.launch {
                        val draft = CustomerDraft(
                            name = name,
                            city = city.trim().ifEmpty { null },
                            phones = listOfNotNull(phone.trim().ifEmpty { null }),
                        )
                        val created = vm.createCustomer(draft, atCurrentLocation = here)
                        saving = false
                        if (created != null) onCreated(created.meta.id)
                    }
                },
            ) { Text("Save") }
        },
        dismissButton = {
            TextButton(onClick = {
                vm.dismissMessage()
                onDismiss()
            }) { Text("Cancel") }
        },
    )
}

package app.fieldcrm.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.LocationProvider
import app.fieldcrm.android.logic.NearbyViewModel

@Composable
fun NearbyScreen(repository: FieldRepository, location: LocationProvider, onOpen: (String) -> Unit) {
    val permission = rememberLocationPermission()
    LocationGate(permission, why = "Nearby customers are found from where you are.") {
        val vm = rememberLogic { scope -> NearbyViewModel(repository, scope, location) }
        val state by vm.state.collectAsStateWithLifecycle()
        LaunchedEffect(Unit) { if (vm.state.value.position == null) vm.refresh() }

        Column(Modifier.fillMaxSize().padding(horizontal = 16.dp)) {
            Row(Modifier.fillMaxWidth().padding(vertical = 8.dp), verticalAlignment = Alignment.CenterVertically) {
                val position = state.position
                Text(
                    if (position == null) "Locating…" else "Within 25 km (±${position.accuracyM.toInt()} m)",
                    Modifier.weight(1f),
                )
                if (state.locating) {
                    CircularProgressIndicator(Modifier.size(20.dp), strokeWidth = 2.dp)
                } else {
                    OutlinedButton(onClick = { vm.refresh() }) { Text("Refresh") }
                }
            }
            ErrorText(state.message)
            if (state.position != null && state.customers.isEmpty()) Text("No customers with a location nearby.")
            LazyColumn {
                items(state.customers, key = { it.id }) { customer ->
                    CustomerRow(customer, onClick = { onOpen(customer.id) })
                    HorizontalDivider()
                }
            }
        }
    }
}

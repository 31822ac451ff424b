package app.fieldcrm.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.LocationProvider
import app.fieldcrm.android.logic.TodayPlanViewModel
import app.fieldcrm.android.logic.label

@Composable
fun TodayPlanScreen(repository: FieldRepository, location: LocationProvider, onVisit: (String) -> Unit) {
    val vm = rememberLogic { scope -> TodayPlanViewModel(repository, scope, location) }
    val state by vm.state.collectAsStateWithLifecycle()
    val permission = rememberLocationPermission()
    val route = state.route

    Column(Modifier.fillMaxSize().padding(horizontal = 16.dp)) {
        Text("Today", style = MaterialTheme.typography.headlineSmall, modifier = Modifier.padding(vertical = 8.dp))
        Button(
            onClick = { if (permission.granted) vm.plan() else permission.request() },
            enabled = !state.planning,
            modifier = Modifier.fillMaxWidth(),
        ) { Text(if (state.planning) "Planning…" else "Plan my route from here") }
        ErrorText(state.message)
        LazyColumn {
            if (route != null) {
                item {
                    Text(
                        "Route: ${route.stops.size} stops, %.1f km".format(state.totalKm) +
                            if (state.unplacedCount > 0) " · ${state.unplacedCount} without a location" else "",
                        style = MaterialTheme.typography.titleMedium,
                        modifier = Modifier.padding(vertical = 8.dp),
                    )
                }
                items(route.stops, key = { "stop-" + it.visitId }) { stop ->
                    ListItem(
                        headlineContent = { Text(stop.customerName) },
                        supportingContent = { Text("+" + formatKm(stop.legM)) },
                        modifier = Modifier.clickable { onVisit(stop.visitId) },
                    )
                }
                item { HorizontalDivider() }
            }
            item { Text("All visits today", style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(vertical = 8.dp)) }
            if (state.visits.isEmpty()) item { Text("No visits planned today.") }
            items(state.visits, key = { it.id }) { visit ->
                val detail = listOfNotNull(
                    visit.plannedStart?.let(::formatTime),
                    visit.status.label(),
                    visit.verification?.label(),
                ).joinToString(" · ")
                ListItem(
                    headlineContent = { Text(visit.customerName ?: "Unknown customer") },
                    supportingContent = { Text(detail) },
                    modifier = Modifier.clickable { onVisit(visit.id) },
                )
            }
        }
    }
}

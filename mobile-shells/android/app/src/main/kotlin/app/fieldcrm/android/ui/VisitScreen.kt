package app.fieldcrm.android.ui

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
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.InsightCard
import app.fieldcrm.android.logic.LocationProvider
import app.fieldcrm.android.logic.OrdersOf
import app.fieldcrm.android.logic.VisitUiState
import app.fieldcrm.android.logic.VisitViewModel
import app.fieldcrm.android.logic.label
import app.fieldcrm.core.Verification
import app.fieldcrm.core.Visit

@Composable
fun VisitScreen(
    repository: FieldRepository,
    location: LocationProvider,
    visitId: String,
    onOrder: (String) -> Unit,
    onBack: () -> Unit,
) {
    val permission = rememberLocationPermission()
    Column(
        Modifier.fillMaxSize().padding(16.dp).verticalScroll(rememberScrollState()),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Row(verticalAlignment = Alignment.CenterVertically) {
            IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = "Back") }
            Text("Visit", style = MaterialTheme.typography.headlineSmall)
        }
        LocationGate(permission, why = "Check-in and check-out record where you are, to verify the visit.") {
            VisitContent(repository, location, visitId)
        }
        // Orders taken during the visit; no position is needed for them.
        OrdersSection(repository, OrdersOf.Visit(visitId), onOrder)
    }
}

@Composable
private fun VisitContent(repository: FieldRepository, location: LocationProvider, visitId: String) {
    val vm = rememberLogic(visitId) { scope -> VisitViewModel(repository, scope, location, visitId) }
    val state by vm.state.collectAsStateWithLifecycle()
    val visit = state.visit

    Column(verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text(state.customerName ?: "", style = MaterialTheme.typography.titleLarge)
        if (state.busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorText(state.message)
        if (visit != null) VisitDetails(vm, state, visit)
    }
}

@Composable
private fun VisitDetails(vm: VisitViewModel, state: VisitUiState, visit: Visit) {
    var outcome by rememberSaveable { mutableStateOf("") }
    Column(verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Text("Status: " + visit.status.label())
        visit.plannedStart?.let { Text("Planned ${formatDateTime(it)}") }
        visit.checkIn?.let { Text("Checked in ${formatTime(it.at)} (±${it.accuracyM.toInt()} m)") }
        visit.checkOut?.let { Text("Checked out ${formatTime(it.at)}") }
        state.insight?.let { InsightCardView(it) }

        state.verificationText?.let { text ->
            val good = state.verification == Verification.Verified
            Card(
                colors = CardDefaults.cardColors(
                    containerColor = if (good) MaterialTheme.colorScheme.primaryContainer else MaterialTheme.colorScheme.errorContainer,
                ),
                modifier = Modifier.fillMaxWidth(),
            ) { Text(text, Modifier.padding(12.dp)) }
        }
        if (state.mockLocation) {
            Text(
                "A mock-location app provided this position. The visit is flagged for your manager.",
                color = MaterialTheme.colorScheme.error,
            )
        }

        Button(onClick = { vm.checkIn() }, enabled = state.canCheckIn, modifier = Modifier.fillMaxWidth()) { Text("Check in here") }
        if (visit.checkIn != null) {
            OutlinedTextField(
                outcome, { outcome = it },
                label = { Text("Outcome") },
                enabled = state.canCheckOut,
                modifier = Modifier.fillMaxWidth(),
            )
            Button(onClick = { vm.checkOut(outcome) }, enabled = state.canCheckOut, modifier = Modifier.fillMaxWidth()) {
                Text("Check out")
            }
        }
    }
}

/** Why this customer matters and what to offer (the library ranks the offers live). */
@Composable
private fun InsightCardView(card: InsightCard) {
    Card(modifier = Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Text("Why this customer matters", style = MaterialTheme.typography.titleMedium)
            Text(card.value)
            Text("${card.abcClass} · ${card.segment}")
            card.churnRisk?.let { risk ->
                Text(risk, color = if (card.highRisk) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface)
            }
            if (card.offers.isNotEmpty()) {
                Text("What to offer", style = MaterialTheme.typography.titleMedium)
                card.offers.forEach { Text(it.label) }
            }
        }
    }
}

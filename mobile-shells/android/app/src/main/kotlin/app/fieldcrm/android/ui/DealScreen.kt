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
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
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
import app.fieldcrm.android.logic.DealUiState
import app.fieldcrm.android.logic.DealViewModel
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.label
import app.fieldcrm.core.Opportunity
import app.fieldcrm.core.Stage

/** One deal: its terms, its stage history, and moving it on (a loss asks for the reason). */
@Composable
fun DealScreen(repository: FieldRepository, dealId: String, onBack: () -> Unit) {
    val vm = rememberLogic(dealId) { scope -> DealViewModel(repository, scope, dealId) }
    val state by vm.state.collectAsStateWithLifecycle()
    val deal = state.deal

    Column(
        Modifier.fillMaxSize().padding(16.dp).verticalScroll(rememberScrollState()),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Row(verticalAlignment = Alignment.CenterVertically) {
            IconButton(onClick = onBack) { Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = "Back") }
            Text(deal?.title ?: "Deal", style = MaterialTheme.typography.headlineSmall)
        }
        if (state.busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        ErrorText(state.message)
        if (deal != null) {
            DealTerms(vm, state, deal)
            StageChange(vm, state)
            Text("History", style = MaterialTheme.typography.titleMedium)
            for (change in deal.stageHistory.asReversed()) {
                Text("${formatDateTime(change.at)} · ${change.stage.label()} · ${change.by}")
            }
        }
    }
}

@Composable
private fun DealTerms(vm: DealViewModel, state: DealUiState, deal: Opportunity) {
    var amount by rememberSaveable(deal.meta.id) { mutableStateOf("") }
    var probability by rememberSaveable(deal.meta.id) { mutableStateOf("") }
    var close by rememberSaveable(deal.meta.id) { mutableStateOf("") }
    Text(state.customerName ?: "Customer not on this phone", style = MaterialTheme.typography.titleLarge)
    Text("Stage: " + deal.stage.label())
    state.lostReason?.let { Text("Lost because: $it") }
    Text("Amount: ${state.amountText} · ${deal.probability?.let { "$it%" } ?: "no probability"} · weighted ${state.weightedText}")
    Text("Expected close: " + (deal.expectedCloseAt?.let(::formatDate) ?: "not set"))
    OutlinedTextField(amount, { amount = it }, label = { Text("New amount (${deal.amount.currency})") }, modifier = Modifier.fillMaxWidth())
    OutlinedTextField(probability, { probability = it }, label = { Text("Probability, %") }, modifier = Modifier.fillMaxWidth())
    OutlinedTextField(close, { close = it }, label = { Text("Expected close, YYYY-MM-DD") }, modifier = Modifier.fillMaxWidth())
    Button(
        onClick = {
            vm.saveTerms(
                amountText = amount.ifBlank { null },
                // A probability that is not a number is sent as out of range, so the rep is told.
                probability = probability.trim().takeIf { it.isNotEmpty() }?.let { it.toIntOrNull() ?: -1 },
                expectedCloseAt = parseDate(close),
            )
        },
        enabled = !state.busy && (amount.isNotBlank() || probability.isNotBlank() || close.isNotBlank()),
        modifier = Modifier.fillMaxWidth(),
    ) { Text("Save terms") }
}

@Composable
private fun StageChange(vm: DealViewModel, state: DealUiState) {
    var reason by rememberSaveable { mutableStateOf("") }
    Text("Move to", style = MaterialTheme.typography.titleMedium)
    for (stage in state.nextStages) {
        if (stage == Stage.Lost) {
            OutlinedTextField(
                reason, { reason = it },
                label = { Text("Why was it lost?") },
                isError = state.lostReasonRequired,
                modifier = Modifier.fillMaxWidth(),
            )
        }
        OutlinedButton(
            onClick = { vm.changeStage(stage, if (stage == Stage.Lost) reason else null) },
            enabled = !state.busy,
            modifier = Modifier.fillMaxWidth(),
        ) { Text(stage.label()) }
    }
}

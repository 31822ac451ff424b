package app.fieldcrm.android.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.material3.FilterChip
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.PICKABLE_STAGES
import app.fieldcrm.android.logic.PipelineViewModel
import app.fieldcrm.android.logic.amountText
import app.fieldcrm.android.logic.label
import app.fieldcrm.android.logic.weightedText
import app.fieldcrm.core.formatAmount

/** The rep's deals by stage with each stage's totals per currency, live. */
@Composable
fun PipelineScreen(repository: FieldRepository, onDeal: (String) -> Unit) {
    val vm = rememberLogic { scope -> PipelineViewModel(repository, scope) }
    val state by vm.state.collectAsStateWithLifecycle()

    Column(Modifier.fillMaxSize().padding(horizontal = 16.dp)) {
        Text("Pipeline", style = MaterialTheme.typography.headlineSmall, modifier = Modifier.padding(vertical = 8.dp))
        Row(Modifier.horizontalScroll(rememberScrollState()), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            FilterChip(selected = state.stageFilter == null, onClick = { vm.filter(null) }, label = { Text("All") })
            for (stage in PICKABLE_STAGES) {
                FilterChip(selected = state.stageFilter == stage, onClick = { vm.filter(stage) }, label = { Text(stage.label()) })
            }
        }
        for (total in state.openTotals) {
            Text(
                "Open: ${total.amountText()} · weighted ${total.weightedText()}",
                style = MaterialTheme.typography.titleMedium,
                modifier = Modifier.padding(vertical = 4.dp),
            )
        }
        ErrorText(state.message)
        if (state.loading) Loading()
        if (state.isEmpty) Text("No deals yet.", Modifier.padding(vertical = 8.dp))
        LazyColumn {
            for (stage in state.stages.filter { it.totals.isNotEmpty() }) {
                item(key = "stage-" + stage.stage.label()) {
                    Text(
                        "${stage.stage.label()} (${stage.totals.sumOf { it.count.toInt() }})",
                        style = MaterialTheme.typography.titleMedium,
                        modifier = Modifier.padding(top = 12.dp),
                    )
                    for (total in stage.totals) {
                        Text("${total.amountText()} · weighted ${total.weightedText()}", style = MaterialTheme.typography.bodySmall)
                    }
                }
                items(stage.deals, key = { it.id }) { deal ->
                    val detail = listOfNotNull(
                        deal.customerName,
                        formatAmount(deal.amountMinor, deal.currency),
                        deal.probability?.let { "$it%" },
                        deal.expectedCloseAt?.let { "closes " + formatDate(it) },
                    ).joinToString(" · ")
                    ListItem(
                        headlineContent = { Text(deal.title) },
                        supportingContent = { Text(detail) },
                        modifier = Modifier.clickable { onDeal(deal.id) },
                    )
                }
            }
        }
    }
}

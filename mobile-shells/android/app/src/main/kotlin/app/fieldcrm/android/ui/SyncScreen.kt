package app.fieldcrm.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.fieldcrm.android.logic.FieldRepository
import app.fieldcrm.android.logic.SyncPhase
import app.fieldcrm.android.logic.SyncRunner
import app.fieldcrm.android.logic.SyncViewModel

@Composable
fun SyncScreen(repository: FieldRepository, runner: SyncRunner, onSignOut: () -> Unit) {
    val vm = rememberLogic { scope -> SyncViewModel(repository, runner, scope) }
    val state by vm.state.collectAsStateWithLifecycle()

    Column(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        Card(Modifier.fillMaxWidth()) {
            Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                Text(
                    when (state.phase) {
                        SyncPhase.IDLE -> "Up to date"
                        SyncPhase.SYNCING -> "Syncing…"
                        SyncPhase.OFFLINE -> "Offline"
                        SyncPhase.ERROR -> "Sync failed"
                    },
                    style = MaterialTheme.typography.titleLarge,
                )
                Text("${state.pendingChanges} changes and ${state.pendingPings} location pings waiting")
                Text("Last synced: " + (state.lastSyncedAt?.let(::formatDateTime) ?: "never"))
                ErrorText(state.message)
            }
        }
        Button(onClick = { vm.syncNow() }, enabled = state.phase != SyncPhase.SYNCING, modifier = Modifier.fillMaxWidth()) {
            Text("Sync now")
        }
        if (state.needsSignIn) {
            OutlinedButton(onClick = onSignOut, modifier = Modifier.fillMaxWidth()) { Text("Sign in again") }
        }

        if (state.rejected.isNotEmpty()) {
            Text("Refused by the server", style = MaterialTheme.typography.titleMedium)
            Text(
                "These edits stay on this phone but were not shared. Fix or undo them, then dismiss.",
                style = MaterialTheme.typography.bodySmall,
            )
        }
        LazyColumn {
            items(state.rejected, key = { it.docId + it.hash }) { change ->
                ListItem(
                    headlineContent = { Text(change.kind.name.lowercase().replaceFirstChar { it.uppercase() } + ": " + change.reason) },
                    supportingContent = { Text(change.code.name.lowercase().replace('_', ' ') + " · " + formatDateTime(change.at)) },
                    trailingContent = { TextButton(onClick = { vm.dismiss(change.docId) }) { Text("Dismiss") } },
                )
            }
        }
    }
}

import FieldCRMCore
import SwiftUI

/// The upload queue and the last sync, a sync button, and the changes the server refused.
struct SyncView: View {
    @EnvironmentObject private var model: AppModel

    var body: some View {
        NavigationStack {
            List {
                Section("Status") {
                    if let status = model.syncStatus {
                        LabeledContent("Changes to upload", value: "\(status.pendingChanges)")
                        LabeledContent("Location pings to upload", value: "\(status.pendingPings)")
                        LabeledContent("Last sync", value: status.lastSyncAt.map(formatTime) ?? "Never")
                        if let error = status.lastError {
                            Text("Last attempt failed: \(error)").font(.footnote).foregroundStyle(.red)
                        }
                    }
                    if let report = model.lastReport {
                        Text("Last round: \(report.pushed) sent, \(report.pulledDocs) received, \(report.rejected) refused")
                            .font(.footnote)
                            .foregroundStyle(.secondary)
                    }
                    Button {
                        _Concurrency.Task { await model.syncNow() }
                    } label: {
                        if model.isSyncing {
                            HStack { ProgressView(); Text("Syncing…") }
                        } else {
                            Label("Sync now", systemImage: "arrow.triangle.2.circlepath")
                        }
                    }
                    .disabled(model.isSyncing)
                }
                Section {
                    if model.rejected.isEmpty {
                        Text("None").foregroundStyle(.secondary)
                    }
                    ForEach(model.rejected, id: \.self) { change in
                        VStack(alignment: .leading, spacing: 2) {
                            Text("\(change.kind.label): \(change.code.label)").font(.headline)
                            Text(change.reason)
                            Text(formatTime(change.at)).font(.caption).foregroundStyle(.secondary)
                        }
                        .swipeActions {
                            Button("Dismiss") {
                                _Concurrency.Task { await model.dismiss(change) }
                            }
                            Button("Retry") {
                                _Concurrency.Task { await model.retry(change) }
                            }
                            Button("Discard", role: .destructive) {
                                _Concurrency.Task { await model.discard(change) }
                            }
                        }
                    }
                } header: {
                    Text("Refused by the server")
                } footer: {
                    Text("Your edits stay on this device. Swipe to retry once fixed, to discard them (back to the server's version), or to dismiss.")
                }
                Section {
                    LabeledContent("Signed in as", value: model.session?.username ?? "")
                    Button("Sign out", role: .destructive) { model.signOut() }
                }
            }
            .navigationTitle("Sync")
            .refreshable { await model.syncNow() }
            .task { await model.refreshSyncState() }
        }
    }
}

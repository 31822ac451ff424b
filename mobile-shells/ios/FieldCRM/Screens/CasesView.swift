import FieldCRMCore
import SwiftUI

/// The rep's service cases not yet resolved, soonest due first, as a live query: a case opened,
/// moved on, handed over or escalated by the server shows at once. Whether a row is overdue
/// depends on the clock too, so the rows are redrawn every minute.
struct CasesView: View {
    @EnvironmentObject private var model: AppModel
    @StateObject private var live = LiveQuery()

    var body: some View {
        NavigationStack {
            TimelineView(.periodic(from: .now, by: 60)) { context in
                let now = Int64(context.date.timeIntervalSince1970 * 1000)
                let rows = live.result?.caseRows ?? []
                List {
                    if rows.isEmpty {
                        Text(live.failure ?? "No open cases.").foregroundStyle(.secondary)
                    }
                    ForEach(rows, id: \.id) { summary in
                        NavigationLink {
                            CaseView(caseId: summary.id)
                        } label: {
                            CaseRow(summary: summary, now: now)
                        }
                    }
                }
            }
            .navigationTitle("Cases")
            .task { await watch() }
        }
    }

    @MainActor
    private func watch() async {
        guard let rep = model.session?.userId else { return }
        await live.watch(.openCases(customerId: nil, assignee: rep), in: model)
    }
}

struct CaseRow: View {
    let summary: CaseSummary
    let now: Int64

    var body: some View {
        let overdue = caseIsOverdue(summary: summary, nowMs: now)
        VStack(alignment: .leading) {
            Text(summary.subject)
            HStack {
                Text("\(summary.severity.label) · \(summary.status.label)")
                if let due = summary.dueAt {
                    Text(dueText(dueAt: due, now: now)).foregroundStyle(overdue ? .red : .secondary)
                }
                if summary.escalatedAt != nil {
                    Text("Escalated").foregroundStyle(.orange)
                }
            }
            .font(.footnote)
        }
    }
}

/// How far a due time is from now.
func dueText(dueAt: Int64, now: Int64) -> String {
    let span = spanText(abs(dueAt - now))
    return dueAt < now ? "Overdue by \(span)" : "Due in \(span)"
}

/// A duration rounded down to minutes, then hours (under two days), then days.
func spanText(_ ms: Int64) -> String {
    let minutes = ms / 60_000
    return minutes < 60 ? "\(minutes) min" : minutes < 48 * 60 ? "\(minutes / 60) h" : "\(minutes / (24 * 60)) d"
}

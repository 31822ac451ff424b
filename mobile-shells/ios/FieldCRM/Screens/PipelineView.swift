import FieldCRMCore
import SwiftUI

/// The rep's own deals by stage, with each stage's count, amount and probability-weighted
/// amount per currency, as a live query: a deal created, moved or synced shows at once.
struct PipelineView: View {
    @EnvironmentObject private var model: AppModel
    @StateObject private var live = LiveQuery()
    /// Only this stage; nil shows every stage.
    @State private var filter: Stage?

    var body: some View {
        NavigationStack {
            List {
                Section {
                    Picker("Stage", selection: $filter) {
                        Text("All").tag(Stage?.none)
                        ForEach(Stage.pickable, id: \.label) { stage in
                            Text(stage.label).tag(Stage?.some(stage))
                        }
                    }
                }
                let stages = (live.result?.stageRows ?? []).filter { !$0.totals.isEmpty }
                if stages.isEmpty {
                    Text(live.failure ?? "No deals yet.").foregroundStyle(.secondary)
                }
                ForEach(stages, id: \.stage.label) { stage in
                    Section {
                        ForEach(stage.totals, id: \.currency) { total in
                            LabeledContent(
                                "\(total.count) deal(s)",
                                value: "\(formatAmount(minor: total.amountMinor, currency: total.currency)) · weighted \(formatAmount(minor: total.weightedMinor, currency: total.currency))")
                                .font(.footnote)
                        }
                        ForEach(stage.deals, id: \.id) { deal in
                            NavigationLink {
                                DealView(dealId: deal.id)
                            } label: {
                                DealRow(deal: deal)
                            }
                        }
                    } header: {
                        Text(stage.stage.label)
                    }
                }
            }
            .navigationTitle("Pipeline")
            .task(id: filter?.label) { await watch() }
        }
    }

    @MainActor
    private func watch() async {
        guard let rep = model.session?.userId else { return }
        await live.watch(.dealsByStage(owner: rep, stage: filter, limit: 100), in: model)
    }
}

struct DealRow: View {
    let deal: DealSummary

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            Text(deal.title)
            Text(
                [
                    deal.customerName,
                    formatAmount(minor: deal.amountMinor, currency: deal.currency),
                    deal.probability.map { "\($0)%" },
                    deal.expectedCloseAt.map { "closes \(formatDate($0))" },
                ].compactMap { $0 }.joined(separator: " · ")
            )
            .font(.footnote)
            .foregroundStyle(.secondary)
        }
    }
}

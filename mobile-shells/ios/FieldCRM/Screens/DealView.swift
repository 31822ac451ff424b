import FieldCRMCore
import SwiftUI

/// One deal: its terms (amount, probability, expected close date), its stage history, and
/// moving it to another stage. A loss needs its reason: the store refuses one without
/// (`InvalidValue` for `lost_reason`), and the reason field is marked.
struct DealView: View {
    let dealId: String

    @EnvironmentObject private var model: AppModel
    @State private var deal: Opportunity?
    @State private var customer: Customer?
    @State private var amount = ""
    @State private var probability = ""
    @State private var close = Date()
    @State private var closeChanged = false
    @State private var lostReason = ""
    @State private var reasonRequired = false
    @State private var working = false

    var body: some View {
        Form {
            if let deal {
                Section {
                    LabeledContent("Customer", value: customer?.name ?? "Not on this device")
                    LabeledContent("Stage", value: deal.stage.label)
                    if deal.stage == .lost, let reason = deal.lostReason {
                        LabeledContent("Lost because", value: reason)
                    }
                    LabeledContent("Amount", value: formatAmount(minor: deal.amount.minor, currency: deal.amount.currency))
                    LabeledContent("Probability", value: deal.probability.map { "\($0)%" } ?? "–")
                    LabeledContent(
                        "Weighted",
                        value: formatAmount(
                            minor: weightedMinor(amountMinor: deal.amount.minor, stage: deal.stage, probability: deal.probability),
                            currency: deal.amount.currency))
                    LabeledContent("Expected close", value: deal.expectedCloseAt.map(formatDate) ?? "–")
                }
                Section("Terms") {
                    TextField("New amount (\(deal.amount.currency))", text: $amount)
                        .keyboardType(.decimalPad)
                    TextField("Probability, %", text: $probability)
                        .keyboardType(.numberPad)
                    DatePicker("Expected close", selection: $close, displayedComponents: .date)
                        .onChange(of: close) { _ in closeChanged = true }
                    Button("Save terms") { saveTerms(deal) }
                        .disabled(amount.isEmpty && probability.isEmpty && !closeChanged)
                }
                Section("Move to") {
                    ForEach(Stage.pickable.filter { $0 != deal.stage }, id: \.label) { stage in
                        if stage == .lost {
                            TextField("Why was it lost?", text: $lostReason, axis: .vertical)
                            if reasonRequired {
                                Text("Say why the deal was lost.").foregroundStyle(.red).font(.footnote)
                            }
                        }
                        Button(stage.label) { move(to: stage) }
                    }
                }
                Section("History") {
                    ForEach(Array(deal.stageHistory.reversed().enumerated()), id: \.offset) { _, change in
                        LabeledContent(change.stage.label, value: "\(formatTime(change.at)) · \(change.by)")
                    }
                }
            } else {
                ProgressView()
            }
        }
        .disabled(working)
        .navigationTitle(deal?.title ?? "Deal")
        .task { await load() }
    }

    @MainActor
    private func load() async {
        let id = dealId
        do {
            let loaded = try await model.perform { (store: FieldStore) throws -> (Opportunity?, Customer?) in
                guard let deal = try store.getOpportunity(id: id) else { return (nil, nil) }
                return try (deal, store.getCustomer(id: deal.customerId))
            }
            guard let loadedDeal = loaded.0 else { throw FieldCrmError.NotFound(id: id) }
            deal = loadedDeal
            customer = loaded.1
            if let at = loadedDeal.expectedCloseAt { close = Date(millis: at) }
            closeChanged = false
        } catch {
            model.show(error)
        }
    }

    @MainActor
    private func move(to stage: Stage) {
        let reason = stage == .lost ? lostReason : nil
        act {
            do {
                let moved = try await model.changeStage(dealId: dealId, stage: stage, lostReason: reason)
                reasonRequired = false
                lostReason = ""
                return moved
            } catch FieldCrmError.InvalidValue(let field, let rule, _) where field == "lost_reason" && rule == .required {
                reasonRequired = true
                return nil
            }
        }
    }

    @MainActor
    private func saveTerms(_ current: Opportunity) {
        let amountText = amount.trimmingCharacters(in: .whitespaces)
        let probabilityText = probability.trimmingCharacters(in: .whitespaces)
        let closeAt = closeChanged ? Day.utcStart(of: close) : nil
        act {
            var edited = current
            if !amountText.isEmpty {
                edited.amount = try parseAmount(text: amountText, currency: current.amount.currency)
            }
            if !probabilityText.isEmpty {
                guard let percent = UInt8(probabilityText), percent <= 100 else {
                    throw DealInputError.probability
                }
                edited.probability = percent
            }
            if let closeAt { edited.expectedCloseAt = closeAt }
            let saved = try await model.updateDeal(edited)
            amount = ""
            probability = ""
            return saved
        }
    }

    /// Runs a change and shows the deal as the store returned it.
    @MainActor
    private func act(_ operation: @escaping @MainActor () async throws -> Opportunity?) {
        working = true
        _Concurrency.Task { @MainActor in
            do {
                if let updated = try await operation() {
                    deal = updated
                    closeChanged = false
                }
            } catch {
                model.show(error)
            }
            working = false
        }
    }
}

enum DealInputError: LocalizedError {
    case probability

    var errorDescription: String? { "The probability is a percent from 0 to 100." }
}

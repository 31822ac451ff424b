import FieldCRMCore
import SwiftUI

/// One visit: check in and out with the current position. The store verifies the check-in
/// offline against the customer's location and visit radius, and the result is shown.
struct VisitView: View {
    let visitId: String

    @EnvironmentObject private var model: AppModel
    @State private var visit: Visit?
    @State private var customer: Customer?
    @State private var outcome = ""
    @State private var working = false

    var body: some View {
        Form {
            if let visit {
                Section {
                    LabeledContent("Customer", value: customer?.name ?? "…")
                    LabeledContent("Status", value: visit.status.label)
                    if let start = visit.plannedStart { LabeledContent("Planned", value: formatTime(start)) }
                }
                Section("Check-in") {
                    if let stamp = visit.checkIn {
                        StampRows(stamp: stamp)
                        if let verification = visit.verification {
                            Label(verification.label, systemImage: verification == .verified ? "checkmark.seal" : "exclamationmark.triangle")
                                .foregroundStyle(verification.color)
                        }
                    } else if visit.status == .planned {
                        Button {
                            act { try await model.checkIn(visitId: visitId) }
                        } label: {
                            Label("Check in here", systemImage: "location")
                        }
                    } else {
                        Text("No check-in").foregroundStyle(.secondary)
                    }
                }
                if visit.checkIn != nil {
                    Section("Check-out") {
                        if let stamp = visit.checkOut {
                            StampRows(stamp: stamp)
                            if let outcome = visit.outcome { LabeledContent("Outcome", value: outcome) }
                        } else if visit.status == .inProgress {
                            TextField("Outcome (optional)", text: $outcome, axis: .vertical)
                            Button {
                                let text = outcome.trimmingCharacters(in: .whitespacesAndNewlines)
                                act { try await model.checkOut(visitId: visitId, outcome: text.isEmpty ? nil : text) }
                            } label: {
                                Label("Check out", systemImage: "checkmark.circle")
                            }
                        }
                    }
                }
                // Why the customer matters and what to offer; follows the orders below.
                CustomerInsightSection(customerId: visit.customerId)
                // Orders taken during the visit, for its customer.
                OrdersSection(customerId: visit.customerId, visitId: visitId)
            } else {
                ProgressView()
            }
        }
        .disabled(working)
        .overlay {
            if working { ProgressView("Getting your position…") }
        }
        .navigationTitle("Visit")
        .task { await load() }
    }

    @MainActor
    private func load() async {
        let id = visitId
        do {
            let loaded = try await model.perform { (store: FieldStore) throws -> (Visit?, Customer?) in
                guard let visit = try store.getVisit(id: id) else { return (nil, nil) }
                return try (visit, store.getCustomer(id: visit.customerId))
            }
            guard let loadedVisit = loaded.0 else { throw FieldCrmError.NotFound(id: id) }
            visit = loadedVisit
            customer = loaded.1
        } catch {
            model.show(error)
        }
    }

    /// Runs a check-in or check-out and shows the visit as the store returned it.
    @MainActor
    private func act(_ operation: @escaping @MainActor () async throws -> Visit) {
        working = true
        _Concurrency.Task { @MainActor in
            do {
                visit = try await operation()
            } catch {
                model.show(error)
            }
            working = false
        }
    }
}

struct StampRows: View {
    let stamp: GpsStamp

    var body: some View {
        LabeledContent("Time", value: formatTime(stamp.at))
        LabeledContent("Position", value: String(format: "%.5f, %.5f ± %.0f m", stamp.lat, stamp.lon, stamp.accuracyM))
        if stamp.mock {
            Label("Reported by a location simulator", systemImage: "exclamationmark.triangle")
                .foregroundStyle(.red)
        }
    }
}

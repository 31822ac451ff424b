import FieldCRMCore
import SwiftUI

/// All customers by name, a search over names, contacts, cities and phones (both live queries),
/// or the customers nearest to the current position.
struct CustomersView: View {
    enum Mode: String, CaseIterable, Identifiable {
        case all = "All"
        case nearby = "Nearby"
        var id: Self { self }
    }

    @EnvironmentObject private var model: AppModel
    @StateObject private var live = LiveQuery()
    @State private var text = ""
    @State private var mode = Mode.all
    @State private var nearby: [CustomerSummary] = []
    @State private var locating = false

    var body: some View {
        NavigationStack {
            List(rows, id: \.id) { customer in
                NavigationLink {
                    CustomerDetailView(customerId: customer.id)
                } label: {
                    CustomerRow(customer: customer)
                }
            }
            .overlay {
                if locating {
                    ProgressView("Locating…")
                } else if rows.isEmpty {
                    Text(emptyText).foregroundStyle(.secondary).padding()
                }
            }
            .searchable(text: $text, prompt: "Name, contact, city or phone")
            .toolbar {
                ToolbarItem(placement: .principal) {
                    Picker("Show", selection: $mode) {
                        ForEach(Mode.allCases) { Text($0.rawValue).tag($0) }
                    }
                    .pickerStyle(.segmented)
                }
            }
            .navigationBarTitleDisplayMode(.inline)
            .task(id: text) { await watch() }
            .task(id: mode) {
                if mode == .nearby { await locate() }
            }
            .refreshable {
                if mode == .nearby { await locate() }
            }
        }
    }

    private var rows: [CustomerSummary] {
        mode == .nearby ? nearby : live.result?.customerRows ?? []
    }

    private var emptyText: String {
        if let failure = live.failure, mode == .all { return failure }
        if mode == .nearby { return "No customers with a location nearby." }
        return text.isEmpty ? "No customers yet. Sync to fetch yours." : "No customer matches “\(text)”."
    }

    @MainActor
    private func watch() async {
        let search = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !search.isEmpty {
            // Debounce typing: a newer text cancels this task.
            try? await _Concurrency.Task.sleep(nanoseconds: 250_000_000)
            if _Concurrency.Task.isCancelled { return }
        }
        let query: Query = search.isEmpty
            ? .customers(filter: CustomerFilter(limit: 500))
            : .searchCustomers(text: search, limit: 100)
        await live.watch(query, in: model)
    }

    @MainActor
    private func locate() async {
        locating = true
        defer { locating = false }
        do {
            let fix = try await model.location.currentFix()
            nearby = try await model.perform { store in
                try store.nearbyCustomers(lat: fix.lat, lon: fix.lon, maxDistanceM: 50_000, limit: 50)
            }
        } catch {
            model.show(error)
        }
    }
}

struct CustomerRow: View {
    let customer: CustomerSummary

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            HStack {
                Text(customer.name).font(.headline)
                if let grade = customer.grade {
                    Text(grade.label).font(.caption.bold()).padding(.horizontal, 4)
                        .overlay(RoundedRectangle(cornerRadius: 3).stroke(.secondary))
                }
                Spacer()
                if let distance = customer.distanceM {
                    Text(formatDistance(distance)).font(.subheadline).foregroundStyle(.secondary)
                }
            }
            HStack {
                if let city = customer.city { Text(city) }
                if let last = customer.lastVisitAt { Text("· visited \(formatTime(last))") }
            }
            .font(.caption)
            .foregroundStyle(.secondary)
        }
    }
}

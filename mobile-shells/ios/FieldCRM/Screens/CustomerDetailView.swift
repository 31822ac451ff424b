import FieldCRMCore
import SwiftUI

struct CustomerDetailView: View {
    let customerId: String

    @EnvironmentObject private var model: AppModel
    @State private var customer: Customer?
    @State private var cases: [CaseSummary] = []
    @State private var visits: [VisitSummary] = []
    @State private var openedVisitId: String?
    @State private var showVisit = false
    @State private var starting = false

    var body: some View {
        List {
            if let customer {
                Section {
                    if let grade = customer.grade { LabeledContent("Grade", value: grade.label) }
                    if let territory = customer.territory { LabeledContent("Territory", value: territory) }
                    if let days = customer.visitCadenceDays { LabeledContent("Visit every", value: "\(days) days") }
                    LabeledContent("Check-in radius", value: formatDistance(Double(customer.visitRadiusM)))
                    if customer.location == nil {
                        Text("No location: check-ins here cannot be verified.").font(.footnote).foregroundStyle(.orange)
                    }
                }
                Section("Contact") {
                    if let address = addressText(customer.address) { Text(address) }
                    ForEach(customer.phones, id: \.self) { phone in
                        if let url = URL(string: "tel:\(phone.filter { !$0.isWhitespace })") {
                            Link(phone, destination: url)
                        } else {
                            Text(phone)
                        }
                    }
                    ForEach(customer.emails, id: \.self) { email in
                        if let url = URL(string: "mailto:\(email)") { Link(email, destination: url) }
                    }
                }
                Section("My visits, last 30 days") {
                    Button {
                        startVisit()
                    } label: {
                        Label("Start a visit now", systemImage: "mappin.and.ellipse")
                    }
                    .disabled(starting)
                    ForEach(visits, id: \.id) { visit in
                        NavigationLink {
                            VisitView(visitId: visit.id)
                        } label: {
                            VisitRow(visit: visit)
                        }
                    }
                }
                if !cases.isEmpty {
                    Section("Open cases") {
                        ForEach(cases, id: \.id) { item in
                            LabeledContent(item.subject, value: "\(item.severity)")
                        }
                    }
                }
                if !customer.notes.isEmpty {
                    Section("Notes") { Text(customer.notes) }
                }
            } else {
                ProgressView()
            }
        }
        .navigationTitle(customer?.name ?? "Customer")
        .navigationDestination(isPresented: $showVisit) {
            if let openedVisitId { VisitView(visitId: openedVisitId) }
        }
        .task { await load() }
        .refreshable { await load() }
    }

    private func addressText(_ address: Address) -> String? {
        let parts = [address.line, [address.postalCode, address.city].compactMap { $0 }.joined(separator: " "), address.country]
            .compactMap { $0 }
            .filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: "\n")
    }

    @MainActor
    private func load() async {
        let id = customerId
        let rep = model.session?.userId ?? ""
        let now = Date().millis
        let from = now - 30 * 86_400_000
        do {
            let loaded = try await model.perform { (store: FieldStore) throws -> (Customer?, [CaseSummary], [VisitSummary]) in
                let visits = try store.visitsForRep(rep: rep, from: from, to: now + 86_400_000)
                return try (store.getCustomer(id: id), store.openCases(customerId: id), visits.filter { $0.customerId == id })
            }
            customer = loaded.0
            cases = loaded.1
            visits = loaded.2.reversed()
        } catch {
            model.show(error)
        }
    }

    @MainActor
    private func startVisit() {
        starting = true
        _Concurrency.Task { @MainActor in
            do {
                let visit = try await model.startVisit(customerId: customerId)
                openedVisitId = visit.meta.id
                showVisit = true
            } catch {
                model.show(error)
            }
            starting = false
        }
    }
}

struct VisitRow: View {
    let visit: VisitSummary

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            HStack {
                Text(visit.customerName ?? "Visit").font(.headline)
                Spacer()
                Text(visit.status.label).font(.subheadline).foregroundStyle(.secondary)
            }
            if let at = visit.checkInAt ?? visit.plannedStart {
                Text(formatTime(at)).font(.caption).foregroundStyle(.secondary)
            }
            if let verification = visit.verification {
                Text(verification.label).font(.caption).foregroundStyle(verification.color)
            }
        }
    }
}

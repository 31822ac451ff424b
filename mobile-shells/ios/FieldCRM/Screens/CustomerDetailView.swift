import FieldCRMCore
import SwiftUI

struct CustomerDetailView: View {
    let customerId: String

    /// How many of the latest visits the history lists.
    static let historyLimit: UInt32 = 20

    @EnvironmentObject private var model: AppModel
    @State private var customer: Customer?
    @State private var cases: [CaseSummary] = []
    /// The customer's contacts and its visits, newest first: live queries, so they follow a
    /// sync or a check-in without a reload.
    @StateObject private var contacts = LiveQuery()
    @StateObject private var history = LiveQuery()
    /// Visits, activities, orders and cases, newest first (live).
    @StateObject private var timeline = LiveQuery()
    @ObservedObject private var contactActions = ContactActions.shared
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
                    ForEach(customer.phones, id: \.self) { PhoneLink(phone: $0) }
                    ForEach(customer.emails, id: \.self) { EmailLink(email: $0) }
                }
                Section("People") {
                    let rows = contacts.result?.contactRows ?? []
                    if rows.isEmpty {
                        Text(contacts.failure ?? "No contacts.").foregroundStyle(.secondary)
                    }
                    ForEach(rows, id: \.id) { ContactRow(contact: $0, customerId: customerId) }
                }
                Section("Timeline") {
                    let entries = timeline.result?.timelineEntries ?? []
                    if entries.isEmpty {
                        Text(timeline.failure ?? "Nothing yet.").foregroundStyle(.secondary)
                    }
                    ForEach(entries, id: \.id) { TimelineRow(entry: $0) }
                }
                Section("Visits") {
                    Button {
                        startVisit()
                    } label: {
                        Label("Start a visit now", systemImage: "mappin.and.ellipse")
                    }
                    .disabled(starting)
                    let visits = history.result?.visitRows ?? []
                    if visits.isEmpty {
                        Text(history.failure ?? "No visits yet.").foregroundStyle(.secondary)
                    }
                    ForEach(visits, id: \.id) { visit in
                        NavigationLink {
                            VisitView(visitId: visit.id)
                        } label: {
                            VisitHistoryRow(visit: visit)
                        }
                    }
                }
                Section("Deals") {
                    NavigationLink {
                        NewDealView(customerId: customerId)
                    } label: {
                        Label("New deal", systemImage: "plus.circle")
                    }
                }
                OrdersSection(customerId: customerId, visitId: nil)
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
        .task {
            await watch()
            await load()
        }
        .refreshable { await load() }
        .alert(
            "Log this \(contactActions.offer.map { "\($0.channel)" } ?? "activity")?",
            isPresented: Binding(
                get: { contactActions.offer?.customerId == customerId },
                set: { shown in if !shown { contactActions.dismiss() } }
            )
        ) {
            Button("Log") { _Concurrency.Task { await contactActions.confirm(in: model) } }
            Button("Not now", role: .cancel) { contactActions.dismiss() }
        } message: {
            Text(contactActions.offer?.subject ?? "")
        }
    }

    private func addressText(_ address: Address) -> String? {
        let parts = [address.line, [address.postalCode, address.city].compactMap { $0 }.joined(separator: " "), address.country]
            .compactMap { $0 }
            .filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: "\n")
    }

    /// Subscribes to the contacts and the visit history (on the store queue; see `LiveQuery`).
    @MainActor
    private func watch() async {
        await contacts.watch(.contactsOfCustomer(customerId: customerId), in: model)
        await history.watch(.visitsForCustomer(customerId: customerId, limit: Self.historyLimit), in: model)
        await timeline.watch(.customerTimeline(customerId: customerId, limit: Self.historyLimit), in: model)
    }

    /// The customer and its open cases; no live query covers single records, so these are
    /// re-read on appearance and on pull to refresh.
    @MainActor
    private func load() async {
        let id = customerId
        do {
            let loaded = try await model.perform { (store: FieldStore) throws -> (Customer?, [CaseSummary]) in
                try (store.getCustomer(id: id), store.openCases(customerId: id))
            }
            customer = loaded.0
            cases = loaded.1
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

/// A visit in a customer's history: when (checked in, else planned), status and verification.
struct VisitHistoryRow: View {
    let visit: VisitSummary

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            HStack {
                if let at = visit.checkInAt ?? visit.plannedStart {
                    Text(formatTime(at)).font(.headline)
                } else {
                    Text("Not scheduled").font(.headline)
                }
                Spacer()
                Text(visit.status.label).font(.subheadline).foregroundStyle(.secondary)
            }
            if let verification = visit.verification {
                Text(verification.label).font(.caption).foregroundStyle(verification.color)
            }
        }
    }
}

/// One entry of a customer's timeline: when, what kind, its subject and status (or channel).
struct TimelineRow: View {
    let entry: TimelineEntry

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            HStack {
                Text(entry.kind.label).font(.headline)
                Spacer()
                Text(formatTime(entry.at)).font(.caption).foregroundStyle(.secondary)
            }
            if let title = entry.title { Text(title).font(.subheadline) }
            Text(entry.status).font(.caption).foregroundStyle(.secondary)
        }
    }
}

struct ContactRow: View {
    let contact: ContactSummary
    let customerId: String

    @Environment(\.openURL) private var openURL

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            Text(contact.name).font(.headline)
            if let title = contact.title {
                Text(title).font(.subheadline).foregroundStyle(.secondary)
            }
            // Opening the dialer or the mail app is remembered: back in the app, it offers to log it.
            ForEach(contact.phones, id: \.self) { phone in
                if let url = ContactActions.telURL(phone) {
                    Button(phone) {
                        ContactActions.shared.opened(.call, customerId: customerId, contact: contact)
                        openURL(url)
                    }
                    .font(.callout)
                } else {
                    Text(phone).font(.callout)
                }
            }
            ForEach(contact.emails, id: \.self) { email in
                if let url = ContactActions.mailtoURL(email) {
                    Button(email) {
                        ContactActions.shared.opened(.email, customerId: customerId, contact: contact)
                        openURL(url)
                    }
                    .font(.callout)
                } else {
                    Text(email).font(.callout)
                }
            }
        }
        // Each link answers its own tap: in a List row, buttons would otherwise all fire at once.
        .buttonStyle(.borderless)
    }
}

/// A phone number that dials when tapped (plain text if it makes no `tel:` URL).
struct PhoneLink: View {
    let phone: String

    var body: some View {
        if let url = URL(string: "tel:\(phone.filter { !$0.isWhitespace })") {
            Link(phone, destination: url)
        } else {
            Text(phone)
        }
    }
}

/// An email address that opens a new mail when tapped.
struct EmailLink: View {
    let email: String

    var body: some View {
        if let url = URL(string: "mailto:\(email)") {
            Link(email, destination: url)
        } else {
            Text(email)
        }
    }
}

import FieldCRMCore
import SwiftUI

/// Order entry: the order's lines and totals as a live query (every figure is the library's,
/// recomputed after each change and each sync); lines added from the catalog with a quantity and
/// a discount, changed, removed; the order submitted (its lines then frozen) or cancelled.
struct OrderView: View {
    let orderId: String

    @EnvironmentObject private var model: AppModel
    @StateObject private var live = LiveQuery()
    @State private var quantity = "1"
    @State private var discount = ""
    @State private var picking = false
    @State private var working = false

    var body: some View {
        Form {
            if let detail = live.result?.orderDetail {
                let order = detail.order
                Section {
                    LabeledContent("Customer", value: order.customerName ?? "Not on this device")
                    LabeledContent("Status", value: order.status.label)
                    LabeledContent("Ordered", value: formatTime(order.orderedAt))
                    if !order.status.isEditable {
                        Label(OrderText.frozen, systemImage: "lock").font(.footnote)
                    }
                    if order.unknownProducts > 0 {
                        Label("\(order.unknownProducts) line(s) name a product this device does not know. Sync to fetch the catalog.",
                              systemImage: "questionmark.circle")
                            .foregroundStyle(.red).font(.footnote)
                    }
                }
                Section("Lines") {
                    if detail.lines.isEmpty { Text("No lines yet.").foregroundStyle(.secondary) }
                    ForEach(detail.lines, id: \.line.id) { line in
                        OrderLineRow(
                            orderId: orderId, summary: line, currency: order.currency,
                            editable: order.status.isEditable, working: $working)
                    }
                }
                Section("Totals") {
                    LabeledContent("Subtotal", value: formatAmount(minor: order.totals.subtotalMinor, currency: order.currency))
                    LabeledContent("Discount", value: "−" + formatAmount(minor: order.totals.discountMinor, currency: order.currency))
                    LabeledContent("Net", value: formatAmount(minor: order.totals.netMinor, currency: order.currency))
                    LabeledContent("Tax", value: formatAmount(minor: order.totals.taxMinor, currency: order.currency))
                    LabeledContent("Total", value: formatAmount(minor: order.totals.grossMinor, currency: order.currency))
                        .font(.headline)
                }
                if order.status.isEditable {
                    Section("Add from the catalog") {
                        TextField("Quantity", text: $quantity).keyboardType(.numberPad)
                        TextField("Discount %", text: $discount).keyboardType(.decimalPad)
                        Button("Choose a product…") { picking = true }
                    }
                }
                Section {
                    if order.status.isEditable {
                        Button("Submit") { setStatus(.submitted) }.disabled(detail.lines.isEmpty)
                    }
                    if order.status.isCancellable {
                        Button("Cancel order", role: .destructive) { setStatus(.cancelled) }
                    }
                }
            } else if let failure = live.failure {
                Text(failure).foregroundStyle(.red)
            } else if live.result != nil {
                Text("This order is not on this device.").foregroundStyle(.secondary)
            } else {
                ProgressView()
            }
        }
        .disabled(working)
        .navigationTitle("Order")
        .sheet(isPresented: $picking) {
            NavigationStack {
                CatalogList(currency: live.result?.orderDetail?.order.currency) { product in
                    picking = false
                    add(product)
                }
                .navigationTitle("Add \(quantity) ×")
                .toolbar { Button("Close") { picking = false } }
            }
            .environmentObject(model)
        }
        .task { await live.watch(.orderWithLines(orderId: orderId), in: model) }
    }

    @MainActor
    private func add(_ product: ProductSummary) {
        let quantityText = quantity, discountText = discount, productId = product.id
        act {
            let count = try parseQuantity(quantityText)
            let discountBp = try parseDiscount(discountText)
            try await model.addOrderLine(orderId: orderId, productId: productId, quantity: count, discountBp: discountBp)
        }
    }

    @MainActor
    private func setStatus(_ status: OrderStatus) {
        act { try await model.setOrderStatus(orderId: orderId, status: status) }
    }

    /// Runs a change; the live query shows its result, a refusal is shown as a message.
    @MainActor
    private func act(_ operation: @escaping @MainActor () async throws -> Void) {
        working = true
        _Concurrency.Task { @MainActor in
            do {
                try await operation()
            } catch {
                model.show(error)
            }
            working = false
        }
    }
}

/// One line with its own totals; on a draft, its quantity and discount can change and it can go.
struct OrderLineRow: View {
    let orderId: String
    let summary: OrderLineSummary
    let currency: String
    let editable: Bool
    @Binding var working: Bool

    @EnvironmentObject private var model: AppModel
    @State private var quantity = ""
    @State private var discount = ""

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text(summary.productLabel).foregroundStyle(summary.productKnown ? Color.primary : Color.red)
            Text("\(summary.line.quantity) × \(formatAmount(minor: summary.line.unitPriceMinor, currency: currency)) · discount \(percentText(summary.line.discountBp)) · total \(formatAmount(minor: summary.totals.grossMinor, currency: currency))")
                .font(.footnote).foregroundStyle(.secondary)
            if editable {
                HStack {
                    TextField("Quantity", text: $quantity).keyboardType(.numberPad)
                    TextField("Discount %", text: $discount).keyboardType(.decimalPad)
                    Button("Change") { change() }.disabled(quantity.isEmpty && discount.isEmpty)
                }
            }
        }
        .swipeActions {
            if editable {
                Button("Remove", role: .destructive) { remove() }
            }
        }
    }

    @MainActor
    private func change() {
        let quantityText = quantity, discountText = discount, lineId = summary.line.id
        run {
            var count: Int64?
            if !quantityText.trimmingCharacters(in: .whitespaces).isEmpty {
                count = try parseQuantity(quantityText)
            }
            let discountBp = try parseDiscount(discountText)
            try await model.editOrderLine(orderId: orderId, lineId: lineId, quantity: count, discountBp: discountBp)
            quantity = ""
            discount = ""
        }
    }

    @MainActor
    private func remove() {
        let lineId = summary.line.id
        run { try await model.removeOrderLine(orderId: orderId, lineId: lineId) }
    }

    @MainActor
    private func run(_ operation: @escaping @MainActor () async throws -> Void) {
        working = true
        _Concurrency.Task { @MainActor in
            do {
                try await operation()
            } catch {
                model.show(error)
            }
            working = false
        }
    }
}

/// The orders of a visit or a customer, live (newest first), and a new order in the currency typed.
struct OrdersSection: View {
    /// The customer the new orders are for.
    let customerId: String
    /// The visit: lists its orders, and new ones are taken at it. Nil lists the customer's.
    let visitId: String?

    @EnvironmentObject private var model: AppModel
    @StateObject private var live = LiveQuery()
    @State private var currency = "EUR"

    var body: some View {
        Section("Orders") {
            let orders = live.result?.orderRows ?? []
            if orders.isEmpty { Text(live.failure ?? "No orders yet.").foregroundStyle(.secondary) }
            ForEach(orders, id: \.id) { order in
                NavigationLink {
                    OrderView(orderId: order.id)
                } label: {
                    VStack(alignment: .leading, spacing: 2) {
                        Text(formatTime(order.orderedAt))
                        Text(order.summaryText).font(.footnote).foregroundStyle(.secondary)
                    }
                }
            }
            HStack {
                TextField("Currency", text: $currency).textInputAutocapitalization(.characters)
                Button("New order") { start() }
                    .disabled(currency.trimmingCharacters(in: .whitespaces).isEmpty)
            }
        }
        .task {
            let query: Query
            if let visitId {
                query = .ordersOfVisit(visitId: visitId)
            } else {
                query = .ordersOfCustomer(customerId: customerId, limit: 50)
            }
            await live.watch(query, in: model)
        }
    }

    @MainActor
    private func start() {
        let code = currency
        _Concurrency.Task { @MainActor in
            do {
                // The new draft heads the live list above (newest first); a tap opens it. (A
                // navigation destination inside a list's section would be ignored.)
                _ = try await model.startOrder(customerId: customerId, visitId: visitId, currency: code)
            } catch {
                model.show(error)
            }
        }
    }
}

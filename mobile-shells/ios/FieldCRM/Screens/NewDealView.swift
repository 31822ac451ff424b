import FieldCRMCore
import SwiftUI

/// Opens a deal of the signed-in rep for a customer, at the lead stage, then shows it.
struct NewDealView: View {
    let customerId: String

    @EnvironmentObject private var model: AppModel
    @State private var title = ""
    @State private var amount = ""
    @State private var currency = "EUR"
    @State private var probability = ""
    @State private var hasClose = false
    @State private var close = Date()
    @State private var working = false
    @State private var createdId: String?
    @State private var showDeal = false

    var body: some View {
        Form {
            Section {
                TextField("What is being sold", text: $title)
                TextField("Amount", text: $amount)
                    .keyboardType(.decimalPad)
                TextField("Currency", text: $currency)
                    .textInputAutocapitalization(.characters)
                TextField("Probability, %", text: $probability)
                    .keyboardType(.numberPad)
                Toggle("Expected close date", isOn: $hasClose)
                if hasClose {
                    DatePicker("Expected close", selection: $close, displayedComponents: .date)
                }
            }
            Button("Open deal") { create() }
                .disabled(working || title.trimmingCharacters(in: .whitespaces).isEmpty || amount.isEmpty)
        }
        .navigationTitle("New deal")
        .navigationDestination(isPresented: $showDeal) {
            if let createdId { DealView(dealId: createdId) }
        }
    }

    @MainActor
    private func create() {
        let probabilityText = probability.trimmingCharacters(in: .whitespaces)
        working = true
        _Concurrency.Task { @MainActor in
            do {
                var percent: UInt8?
                if !probabilityText.isEmpty {
                    guard let value = UInt8(probabilityText), value <= 100 else { throw DealInputError.probability }
                    percent = value
                }
                let money = try parseAmount(
                    text: amount.trimmingCharacters(in: .whitespaces),
                    currency: currency.trimmingCharacters(in: .whitespaces).uppercased())
                let deal = try await model.createDeal(
                    customerId: customerId, title: title, amount: money, probability: percent,
                    expectedCloseAt: hasClose ? Day.utcStart(of: close) : nil)
                createdId = deal.meta.id
                showDeal = true
            } catch {
                model.show(error)
            }
            working = false
        }
    }
}

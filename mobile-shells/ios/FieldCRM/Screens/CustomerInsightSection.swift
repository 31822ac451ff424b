import FieldCRMCore
import SwiftUI

/// Why this customer matters (value, class, churn risk) and what to offer, from the server's last
/// analytics run on this phone. The offers are ranked by the library now, live: an order taken
/// during the visit changes them at once. Nothing shows before a run reached the phone.
struct CustomerInsightSection: View {
    let customerId: String

    @EnvironmentObject private var model: AppModel
    @StateObject private var live = LiveQuery()

    var body: some View {
        Group {
            if let insight = live.result?.insight {
                Section("Why this customer matters") {
                    LabeledContent("Value", value: insight.valueText)
                    LabeledContent("Class", value: insight.abcText)
                    LabeledContent("Segment", value: insight.segmentText)
                    if let risk = insight.churnText {
                        Label(risk, systemImage: insight.churnLevel == "high" ? "exclamationmark.triangle" : "heart")
                            .foregroundStyle(insight.churnLevel == "high" ? .red : .primary)
                    }
                }
                Section("What to offer") {
                    if insight.offers.isEmpty {
                        Text("No suggestion for this customer.").foregroundStyle(.secondary)
                    }
                    ForEach(insight.offers, id: \.product.productId) { offer in
                        VStack(alignment: .leading, spacing: 2) {
                            Text(offer.product.label)
                            Text(offer.reasonText).font(.footnote).foregroundStyle(.secondary)
                        }
                    }
                }
            }
        }
        .task { await live.watch(.customerInsight(customerId: customerId, limit: 5), in: model) }
    }
}

extension CustomerInsight {
    /// The 12-month value when the run estimated one, else the revenue.
    var valueText: String {
        if let clv = clv12mMinor, clv.isFinite {
            return "\(formatAmount(minor: Int64(clv.rounded()), currency: currency)) in the next 12 months"
        }
        return "Revenue \(formatAmount(minor: revenueMinor, currency: currency))"
    }

    var abcText: String {
        switch abcClass {
        case "A": return "A: top revenue"
        case "B": return "B: middle revenue"
        case "C": return "C: low revenue"
        default: return abcClass
        }
    }

    var segmentText: String {
        let words = segment.replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    /// "Churn risk: high · 42% likely still buying"; nil when the run could not tell.
    var churnText: String? {
        guard let level = churnLevel else { return nil }
        guard let alive = pAlive, alive.isFinite else { return "Churn risk: \(level)" }
        return "Churn risk: \(level) · \(percent(alive))% likely still buying"
    }
}

extension InsightOffer {
    /// "Customers who buy Espresso beans also buy this (73%)".
    var reasonText: String {
        let because = self.because.map(\.label).joined(separator: " and ")
        return "Customers who buy \(because) also buy this (\(percent(confidence))%)"
    }
}

extension OfferProduct {
    /// The catalog name, or the id of a product this phone does not have.
    var label: String { name ?? productId }
}

private func percent(_ share: Double) -> Int {
    guard share.isFinite else { return 0 }
    return min(100, max(0, Int((share * 100).rounded())))
}

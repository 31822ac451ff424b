import FieldCRMCore
import Foundation

/// Order entry's words and input. Every figure an order shows is the library's (`OrderTotals`,
/// computed from the lines); the app only formats them.
enum OrderText {
    static let frozen = "This order was submitted: its lines can no longer change. You can still cancel it."
    static let quantity = "A quantity is a whole number, like 3."
    static let discount = "A discount is a percent, like 10 or 12.5."
}

enum OrderInputError: LocalizedError {
    case quantity
    case discount

    var errorDescription: String? {
        switch self {
        case .quantity: return OrderText.quantity
        case .discount: return OrderText.discount
        }
    }
}

extension OrderStatus {
    var label: String {
        switch self {
        case .draft: return "Draft"
        case .submitted: return "Submitted"
        case .confirmed: return "Confirmed"
        case .delivered: return "Delivered"
        case .cancelled: return "Cancelled"
        // A state a newer app version added: shown as it is, never as a state this app knows.
        case .unknown(let value): return "Unknown (\(value))"
        }
    }

    /// Only a draft's lines can change (the library's rule); every other state froze them.
    var isEditable: Bool { self == .draft }

    /// A draft, submitted or confirmed order can still be cancelled.
    var isCancellable: Bool { self == .draft || self == .submitted || self == .confirmed }
}

extension OrderLineSummary {
    /// The product as the line recorded it, or "Unknown product" when this device does not know
    /// it (a catalog entry it has not received): shown, never hidden.
    var productLabel: String {
        productKnown ? "\(line.name) (\(line.sku))" : "Unknown product (\(line.sku.isEmpty ? line.productId : line.sku))"
    }
}

extension OrderSummary {
    /// `Submitted · 3 lines · 26.88 EUR`.
    var summaryText: String {
        var parts = [status.label, "\(lineCount) line\(lineCount == 1 ? "" : "s")",
                     formatAmount(minor: totals.grossMinor, currency: currency)]
        if unknownProducts > 0 {
            parts.append("\(unknownProducts) unknown product\(unknownProducts == 1 ? "" : "s")")
        }
        return parts.joined(separator: " · ")
    }
}

extension ProductSummary {
    /// Every price in words: `4.20 CHF · 3.49 EUR`.
    var pricesText: String {
        let text = prices.map { formatAmount(minor: $0.minor, currency: $0.currency) }.joined(separator: " · ")
        return text.isEmpty ? "no price" : text
    }
}

/// Basis points as a percent: 1250 → `12.5 %`.
func percentText(_ bp: UInt32) -> String {
    let whole = bp / 100, fraction = bp % 100
    if fraction == 0 { return "\(whole) %" }
    if fraction % 10 == 0 { return "\(whole).\(fraction / 10) %" }
    return "\(whole).\(String(format: "%02d", fraction)) %"
}

/// A typed quantity: a whole number (the store refuses one below 1).
func parseQuantity(_ text: String) throws -> Int64 {
    guard let quantity = Int64(text.trimmingCharacters(in: .whitespaces)) else { throw OrderInputError.quantity }
    return quantity
}

/// A typed discount in percent (`10`, `12.5`, `12,5`) as basis points; blank is none. Whether it
/// is at most 100 % is the store's rule, not checked here.
func parseDiscount(_ text: String) throws -> UInt32? {
    var trimmed = text.trimmingCharacters(in: .whitespaces)
    if trimmed.hasSuffix("%") { trimmed = String(trimmed.dropLast()).trimmingCharacters(in: .whitespaces) }
    trimmed = trimmed.replacingOccurrences(of: ",", with: ".")
    if trimmed.isEmpty { return nil }
    let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count <= 2, let whole = parts.first, (1...7).contains(whole.count),
          whole.allSatisfy(\.isASCII), let wholeValue = UInt32(whole)
    else { throw OrderInputError.discount }
    var fractionValue: UInt32 = 0
    if parts.count == 2 {
        let fraction = parts[1]
        guard (1...2).contains(fraction.count), fraction.allSatisfy(\.isASCII),
              let value = UInt32(fraction.count == 1 ? fraction + "0" : String(fraction))
        else { throw OrderInputError.discount }
        fractionValue = value
    }
    return wholeValue * 100 + fractionValue
}

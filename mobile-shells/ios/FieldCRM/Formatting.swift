import FieldCRMCore
import Foundation
import SwiftUI

/// The store's timestamps are milliseconds since 1970 (UTC).
extension Date {
    init(millis: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(millis) / 1000)
    }

    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}

enum Day {
    /// Today from local midnight to the next, in milliseconds.
    static func today() -> (start: Int64, end: Int64) {
        let calendar = Calendar.current
        let start = calendar.startOfDay(for: Date())
        let end = calendar.date(byAdding: .day, value: 1, to: start) ?? start.addingTimeInterval(86_400)
        return (start.millis, end.millis)
    }
}

extension Day {
    /// The first millisecond, in UTC, of the calendar day `date` falls on where the rep is: a
    /// deal's expected close is kept as a UTC date.
    static func utcStart(of date: Date) -> Int64 {
        let local = Calendar.current.dateComponents([.year, .month, .day], from: date)
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC") ?? .current
        return (utc.date(from: local) ?? date).millis
    }
}

/// A calendar date kept as its first millisecond in UTC (a deal's expected close).
func formatDate(_ millis: Int64) -> String {
    var style = Date.FormatStyle(date: .abbreviated, time: .omitted)
    style.timeZone = TimeZone(identifier: "UTC") ?? .current
    return Date(millis: millis).formatted(style)
}

func formatDistance(_ metres: Double) -> String {
    Measurement(value: metres, unit: UnitLength.meters)
        .formatted(.measurement(width: .abbreviated, usage: .road))
}

func formatTime(_ millis: Int64) -> String {
    Date(millis: millis).formatted(date: .abbreviated, time: .shortened)
}

extension VisitStatus {
    var label: String {
        switch self {
        case .planned: return "Planned"
        case .inProgress: return "In progress"
        case .done: return "Done"
        case .cancelled: return "Cancelled"
        case .skipped: return "Skipped"
        // A state a newer app version added: shown as it is, never as a state this app knows.
        case .unknown(let value): return "Unknown (\(value))"
        }
    }
}

extension Verification {
    var label: String {
        switch self {
        case .verified: return "Verified at the customer"
        case .uncertain: return "Uncertain: the GPS accuracy overlaps the visit radius"
        case .outOfRange: return "Out of range: away from the customer"
        case .noCustomerLocation: return "Not verified: the customer has no location"
        case .unknown(let value): return "Unknown (\(value))"
        }
    }

    var color: Color {
        switch self {
        case .verified: return .green
        case .uncertain: return .orange
        case .outOfRange: return .red
        case .noCustomerLocation, .unknown: return .secondary
        }
    }
}

extension Stage {
    var label: String {
        switch self {
        case .lead: return "Lead"
        case .qualified: return "Qualified"
        case .proposal: return "Proposal"
        case .negotiation: return "Negotiation"
        case .won: return "Won"
        case .lost: return "Lost"
        // A stage a newer app version added: shown as it is, never offered.
        case .unknown(let value): return "Unknown (\(value))"
        }
    }

    /// The stages a rep can move a deal to, in pipeline order.
    static let pickable: [Stage] = [.lead, .qualified, .proposal, .negotiation, .won, .lost]
}

extension Grade {
    var label: String {
        switch self {
        case .a: return "A"
        case .b: return "B"
        case .c: return "C"
        case .unknown(let value): return "Unknown (\(value))"
        }
    }
}

extension RecordKind {
    var label: String {
        switch self {
        case .customer: return "Customer"
        case .contact: return "Contact"
        case .opportunity: return "Opportunity"
        case .visit: return "Visit"
        case .task: return "Task"
        case .`case`: return "Case"
        case .product: return "Product"
        case .order: return "Order"
        case .activity: return "Activity"
        }
    }
}

extension RejectCode {
    var label: String {
        switch self {
        case .forbidden: return "Not allowed"
        case .malformedChange: return "Malformed change"
        case .foreignActor: return "Made on another device"
        case .invalidRecord: return "Invalid record"
        case .immutableField: return "Field cannot change"
        }
    }
}

extension CaseStatus {
    var label: String {
        switch self {
        case .open: return "Open"
        case .inProgress: return "In progress"
        case .resolved: return "Resolved"
        case .closed: return "Closed"
        case .unknown(let value): return "Unknown (\(value))"
        }
    }

    /// The statuses a rep can move a case to (one a newer app wrote is shown, not offered).
    static let pickable: [CaseStatus] = [.open, .inProgress, .resolved, .closed]
}

extension Severity {
    var label: String {
        switch self {
        case .low: return "Low"
        case .medium: return "Medium"
        case .high: return "High"
        case .critical: return "Critical"
        case .unknown(let value): return "Unknown (\(value))"
        }
    }
}

extension SurveyEntrant {
    var label: String {
        switch self {
        case .rep: return "entered by the rep"
        case .customer: return "entered by the customer"
        case .unknown(let value): return "Unknown (\(value))"
        }
    }
}

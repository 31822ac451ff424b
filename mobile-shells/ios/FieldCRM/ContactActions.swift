import FieldCRMCore
import Foundation

/// "Call" and "Email" on a contact, as on Android (`ContactActions.kt`): the `tel:` or `mailto:`
/// URL to open, the action remembered, and once the app is active again an offer to log it,
/// prefilled (channel, customer, contact, when; for a call the time away as its length), which
/// the rep confirms or dismisses. Held in memory only.
@MainActor
final class ContactActions: ObservableObject {
    static let shared = ContactActions()

    /// The activity offered for logging; nil when none.
    @Published var offer: Activity?

    private struct Pending {
        let customerId: String
        let contact: ContactSummary
        let channel: ActivityChannel
        let startedAt: Int64
    }

    private var pending: Pending?

    /// The library's bound on an activity's length: a day.
    static let maxDurationS: Int64 = 86_400

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Digits and a leading `+` only (RFC 3966 global numbers); nil without digits.
    static func telURL(_ phone: String) -> URL? {
        let trimmed = phone.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.filter(\.isNumber)
        guard !digits.isEmpty else { return nil }
        return URL(string: "tel:" + (trimmed.hasPrefix("+") ? "+" : "") + digits)
    }

    static func mailtoURL(_ email: String) -> URL? {
        let address = email.trimmingCharacters(in: .whitespaces)
        guard address.contains("@"), !address.contains(where: \.isWhitespace) else { return nil }
        return URL(string: "mailto:" + address)
    }

    /// The rep opened the dialer or the mail app for `contact`.
    func opened(_ channel: ActivityChannel, customerId: String, contact: ContactSummary) {
        pending = Pending(customerId: customerId, contact: contact, channel: channel, startedAt: Self.nowMs())
    }

    /// The app is active again: a remembered action becomes an offer.
    func becameActive() {
        guard let action = pending else { return }
        pending = nil
        let isCall = action.channel == .call
        let subject = (isCall ? "Call with " : "Email to ") + action.contact.name
        var activity = newActivity(
            customerId: action.customerId, channel: action.channel, occurredAt: action.startedAt, subject: subject
        )
        activity.contactId = action.contact.id
        activity.direction = .outbound
        if isCall {
            let away = min(max((Self.nowMs() - action.startedAt) / 1000, 0), Self.maxDurationS)
            activity.durationS = UInt32(away)
        }
        offer = activity
    }

    /// Logs the offer; it stays (with the error shown) when the library refuses it.
    func confirm(in model: AppModel) async {
        guard let activity = offer else { return }
        do {
            _ = try await model.perform { (store: FieldStore) throws -> Activity in
                try store.logActivity(activity: activity)
            }
            offer = nil
        } catch {
            model.show(error)
        }
    }

    func dismiss() {
        offer = nil
    }
}

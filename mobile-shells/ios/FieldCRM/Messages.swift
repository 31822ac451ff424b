import FieldCRMCore
import Foundation

/// The text shown to the user for any error of the app.
func userMessage(for error: Error) -> String {
    if let error = error as? FieldCrmError {
        return error.userMessage
    }
    if let error = error as? LocalizedError, let text = error.errorDescription {
        return text
    }
    return error.localizedDescription
}

extension FieldCrmError {
    /// Server codes after which the user must sign in again.
    static let sessionCodes: Set<String> = ["unauthorized", "token_expired", "invalid_token"]

    /// One sentence per case. The cases carry field names, ids and codes, never record
    /// contents, so showing them is safe. The switch is exhaustive on purpose: a new case in the
    /// bindings must get its message here.
    var userMessage: String {
        switch self {
        case .StoreClosed:
            return "The local database is closed. Restart FieldCRM."
        case .InvalidValue("lost_reason", .required, _):
            return "Say why the deal was lost."
        case .InvalidValue("lines", .immutable, _):
            return OrderText.frozen
        case .InvalidValue("currency", .outOfRange, _):
            return "This product has no price in the order's currency."
        case .InvalidValue("currency", .malformed, _):
            return "A currency is a three-letter code, like EUR."
        case .InvalidValue("lines.discount_bp", .outOfRange, _):
            return "A discount is at most 100 %."
        case let .InvalidValue("lines.quantity", .outOfRange, detail):
            return "A quantity is at least 1 (\(detail))."
        case let .InvalidValue(field, _, detail):
            return "Check \(field): \(detail)."
        case .NotFound:
            return "This record is no longer on this device."
        case .WrongKind:
            return "This link points to another kind of record."
        case .NotAStore:
            return "The local database file is not a FieldCRM database."
        case .KeyRequired, .WrongKey:
            return "The data on this device could not be unlocked. Sign in again to fetch it from the server."
        case .NewerSchema:
            return "Your data was saved by a newer version of FieldCRM. Update the app."
        case .CorruptDocument:
            return "A record on this device is damaged. Sync to fetch it again."
        case let .Database(detail):
            return "The device could not save your data (\(detail)). Is its storage full?"
        case .Document:
            return "The record could not be updated."
        case .Offline:
            return "No connection to the server. Your changes are kept and sync later."
        case let .ServerRefused(status, code, _):
            if Self.sessionCodes.contains(code) {
                return "Your session has expired. Sign in again."
            }
            if code == "forbidden" {
                return "You may not do this."
            }
            return "The server refused the request (\(status) \(code))."
        case .DeviceRevoked:
            return "This device was removed from your organisation. Its FieldCRM data has been deleted."
        case .UpgradeRequired:
            return "The server needs a newer version of FieldCRM. Update the app: your changes are kept on this device."
        case .AlreadySyncing:
            return "A sync is already running. Try again when it has finished."
        case let .Protocol(code):
            return "The server's answer could not be read (\(code)). Update FieldCRM."
        case let .Internal(operation):
            return "Something went wrong in \(operation). Please report it."
        }
    }
}

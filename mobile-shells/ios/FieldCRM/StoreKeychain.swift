import Foundation
import Security

/// The store's encryption key: 32 random bytes in the Keychain, made on the first start and
/// read at every later one. `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`: readable while
/// the phone is locked once it has been unlocked after boot (background sync opens the store
/// then), never in a backup and never on another device. Deleting it makes the store file
/// unreadable for good, which is what a revoked device wants.
enum StoreKeychain {
    static let keyLength = 32
    private static let service = "app.fieldcrm.store"
    private static let account = "fieldcrm.sqlite"

    enum KeychainError: LocalizedError {
        case status(OSStatus)
        case randomFailed(OSStatus)
        case malformedItem

        var errorDescription: String? {
            switch self {
            case let .status(status):
                return "The Keychain refused the store key (\(status))."
            case let .randomFailed(status):
                return "No random bytes for the store key (\(status))."
            case .malformedItem:
                return "The store key in the Keychain is damaged."
            }
        }
    }

    private static var item: [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }

    /// The store key, created and saved when there is none yet.
    static func key() throws -> Data {
        if let existing = try read() {
            return existing
        }
        var bytes = Data(count: keyLength)
        let random = bytes.withUnsafeMutableBytes { buffer in
            SecRandomCopyBytes(kSecRandomDefault, keyLength, buffer.baseAddress!)
        }
        guard random == errSecSuccess else { throw KeychainError.randomFailed(random) }
        var add = item
        add[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        add[kSecValueData as String] = bytes
        let status = SecItemAdd(add as CFDictionary, nil)
        if status == errSecDuplicateItem, let existing = try read() {
            return existing // made meanwhile by another launch path (a background task)
        }
        guard status == errSecSuccess else { throw KeychainError.status(status) }
        return bytes
    }

    /// Deletes the store key (a revoked device, or a store that belonged to another user).
    static func delete() throws {
        let status = SecItemDelete(item as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw KeychainError.status(status)
        }
    }

    private static func read() throws -> Data? {
        var query = item
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var result: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &result)
        if status == errSecItemNotFound {
            return nil
        }
        guard status == errSecSuccess else { throw KeychainError.status(status) }
        guard let data = result as? Data, data.count == keyLength else { throw KeychainError.malformedItem }
        return data
    }
}

import Foundation
import Security

/// A signed-in user: kept in the keychain so that background syncs can use it.
struct Session: Codable, Equatable {
    var server: URL
    var token: String
    /// Unix seconds (the server's `expires_at`).
    var expiresAt: Int64
    var userId: String
    var username: String

    var isValid: Bool { Double(expiresAt) > Date().timeIntervalSince1970 }
}

enum APIError: LocalizedError {
    case unreachable(String)
    case refused(status: Int, code: String)

    var errorDescription: String? {
        switch self {
        case .unreachable:
            return "The server could not be reached. Check the address and your connection."
        case let .refused(status, code):
            switch code {
            case "unauthorized": return "Wrong username or password."
            case "token_expired", "invalid_token": return "Your session has expired. Sign in again."
            case "actor_taken": return "This device is registered to another user."
            default: return "The server refused the request (\(status) \(code))."
            }
        }
    }
}

/// The two JSON calls of signing in; everything else goes through the store's sync.
struct AuthClient {
    struct Login: Decodable {
        struct User: Decodable {
            let id: String
            let username: String
        }
        let token: String
        let expiresAt: Int64
        let user: User
    }

    let baseURL: URL
    var session: URLSession = .shared

    /// `POST /v1/auth/login`.
    func login(username: String, password: String) async throws -> Login {
        let data = try await post("v1/auth/login", ["username": username, "password": password], token: nil)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Login.self, from: data)
    }

    /// `POST /v1/devices`: binds the store's actor id to the user (repeating it is harmless).
    func registerDevice(token: String, actorId: String) async throws {
        _ = try await post("v1/devices", ["actor_id": actorId], token: token)
    }

    private func post(_ path: String, _ body: [String: String], token: String?) async throws -> Data {
        var request = URLRequest(url: baseURL.appendingPathComponent(path), timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        request.httpBody = try JSONEncoder().encode(body)
        let reply: (Data, URLResponse)
        do {
            reply = try await session.data(for: request)
        } catch {
            throw APIError.unreachable(error.localizedDescription)
        }
        guard let http = reply.1 as? HTTPURLResponse else {
            throw APIError.unreachable("no HTTP response")
        }
        guard (200..<300).contains(http.statusCode) else {
            throw APIError.refused(
                status: http.statusCode,
                code: URLSessionSyncTransport.errorCode(in: reply.0) ?? "http_\(http.statusCode)")
        }
        return reply.0
    }
}

/// The session in the keychain, readable after the first unlock (background tasks run then).
enum SessionStore {
    private static var item: [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: "app.fieldcrm.session",
            kSecAttrAccount as String: "current",
        ]
    }

    static func load() -> Session? {
        var query = item
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var found: CFTypeRef?
        guard SecItemCopyMatching(query as CFDictionary, &found) == errSecSuccess,
              let data = found as? Data
        else { return nil }
        return try? JSONDecoder().decode(Session.self, from: data)
    }

    static func save(_ session: Session) throws {
        clear()
        var attributes = item
        attributes[kSecValueData as String] = try JSONEncoder().encode(session)
        attributes[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(attributes as CFDictionary, nil)
        guard status == errSecSuccess else { throw KeychainError(status: status) }
    }

    static func clear() {
        SecItemDelete(item as CFDictionary)
    }
}

struct KeychainError: LocalizedError {
    let status: OSStatus
    var errorDescription: String? { "The sign-in could not be saved on this device (keychain error \(status))." }
}

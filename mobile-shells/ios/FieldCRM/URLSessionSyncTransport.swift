import FieldCRMCore
import Foundation

/// The `SyncTransport` the store syncs through: POSTs each sync message to the server with the
/// bearer token and returns the 200 body.
///
/// Rust calls these methods synchronously on the thread running `FieldStore.sync` (the app's
/// sync queue, never the main thread), so each request blocks that thread on a semaphore until
/// URLSession answers. Errors follow the protocol's contract: `Offline` when the request did
/// not reach the server (the store retries with backoff), `ServerRefused` with the status, the
/// JSON error's code and the `Retry-After` seconds (the store waits at least that long before
/// retrying) for any other status than 200.
final class URLSessionSyncTransport: SyncTransport {
    static let contentType = "application/vnd.fieldcrm.sync"

    private let baseURL: URL
    private let token: String
    private let timeout: TimeInterval
    private let session: URLSession

    init(baseURL: URL, token: String, timeout: TimeInterval = 60, session: URLSession = .shared) {
        self.baseURL = baseURL
        self.token = token
        self.timeout = timeout
        self.session = session
    }

    func push(body: Data) throws -> Data {
        try post("v1/sync/push", body)
    }

    func pull(body: Data) throws -> Data {
        try post("v1/sync/pull", body)
    }

    func uploadPings(body: Data) throws -> Data {
        try post("v1/sync/pings", body)
    }

    func refetch(body: Data) throws -> Data {
        try post("v1/sync/refetch", body)
    }

    /// The analytics snapshot: a GET of `v1/analytics/device?` and the query the library built
    /// (already encoded, appended as it is).
    func analytics(query: String) throws -> Data {
        let base = baseURL.appendingPathComponent("v1/analytics/device").absoluteString
        guard let url = URL(string: base + "?" + query) else {
            throw FieldCrmError.Offline(reason: "bad analytics URL")
        }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "GET"
        request.setValue(Self.contentType, forHTTPHeaderField: "Accept")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        return try send(request)
    }

    private func post(_ path: String, _ body: Data) throws -> Data {
        var request = URLRequest(
            url: baseURL.appendingPathComponent(path),
            cachePolicy: .reloadIgnoringLocalCacheData,
            timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue(Self.contentType, forHTTPHeaderField: "Content-Type")
        request.setValue(Self.contentType, forHTTPHeaderField: "Accept")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.httpBody = body
        return try send(request)
    }

    /// Blocks this (sync) thread until URLSession answers; the 200 body, or the error.
    private func send(_ request: URLRequest) throws -> Data {
        dispatchPrecondition(condition: .notOnQueue(.main))
        let reply = Reply()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { data, response, error in
            reply.data = data
            reply.response = response
            reply.error = error
            done.signal()
        }.resume()
        done.wait()

        if let error = reply.error {
            throw FieldCrmError.Offline(reason: error.localizedDescription)
        }
        guard let http = reply.response as? HTTPURLResponse else {
            throw FieldCrmError.Offline(reason: "no HTTP response")
        }
        let data = reply.data ?? Data()
        guard http.statusCode == 200 else {
            throw FieldCrmError.ServerRefused(
                status: UInt16(clamping: http.statusCode),
                code: Self.errorCode(in: data) ?? "http_\(http.statusCode)",
                retryAfterSecs: Self.retryAfterSeconds(http.value(forHTTPHeaderField: "Retry-After")))
        }
        return data
    }

    /// `Retry-After` in seconds (the form the FieldCRM server sends); nil for anything else.
    static func retryAfterSeconds(_ header: String?) -> UInt32? {
        header.flatMap { UInt32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The stable code of the server's JSON error body `{"error": {"code": ...}}`.
    static func errorCode(in body: Data) -> String? {
        struct Envelope: Decodable {
            struct Detail: Decodable { let code: String }
            let error: Detail
        }
        return try? JSONDecoder().decode(Envelope.self, from: body).error.code
    }
}

/// Filled in by URLSession's completion handler before the semaphore is signalled and read only
/// after the wait, so the semaphore orders every access.
private final class Reply: @unchecked Sendable {
    var data: Data?
    var response: URLResponse?
    var error: Error?
}

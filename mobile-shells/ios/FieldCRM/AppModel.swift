import Combine
import FieldCRMCore
import Foundation
import os

/// Queues for store calls. Every `FieldStore` method blocks (SQLite; the network for sync), so
/// none runs on the main thread.
enum Background {
    /// Reads and writes. Concurrent: a `FieldStore` may be used from many threads at once.
    static let store = DispatchQueue(label: "app.fieldcrm.store", qos: .userInitiated, attributes: .concurrent)
    /// Sync rounds: long (network, and retries that sleep on the calling thread), one at a time.
    static let sync = DispatchQueue(label: "app.fieldcrm.sync", qos: .utility)

    static func run<T>(on queue: DispatchQueue, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}

enum AppPhase: Equatable {
    case starting
    case failed(String)
    case signedOut
    case ready
}

enum AppError: LocalizedError {
    case badServerURL
    case anotherUsersChanges(UInt64)
    case syncRunning

    var errorDescription: String? {
        switch self {
        case .badServerURL:
            return "Enter the server address, starting with https://."
        case .anotherUsersChanges(let count):
            return "This device holds \(count) unsynced change(s) of another user. Sign in as that user and sync first."
        case .syncRunning:
            return "A sync is running. Try again when it has finished."
        }
    }
}

/// The app's state and its only owner of the `FieldStore`.
@MainActor
final class AppModel: ObservableObject {
    static let shared = AppModel()

    @Published private(set) var phase = AppPhase.starting
    @Published private(set) var session: Session?
    @Published private(set) var syncStatus: SyncStatus?
    @Published private(set) var rejected: [RejectedChange] = []
    @Published private(set) var lastReport: SyncReport?
    @Published private(set) var isSyncing = false
    @Published var isAlertShown = false
    @Published private(set) var alertMessage = ""

    let location = LocationService()

    /// `nil` before `start()` has opened it and after `close()`.
    private var store: FieldStore?
    private var starting: _Concurrency.Task<Void, Never>?
    private let log = Logger(subsystem: "app.fieldcrm", category: "store")

    private init() {}

    // MARK: Lifetime

    /// Opens the store and restores the saved session. Called once at launch (also for a launch
    /// in the background to run a background task).
    func start() {
        guard starting == nil else { return }
        starting = _Concurrency.Task {
            do {
                store = try await Self.openStore()
                let user = try await perform { store in try store.user() }
                if let saved = SessionStore.load(), saved.isValid, saved.userId == user {
                    session = saved
                    phase = .ready
                    await refreshSyncState()
                } else {
                    phase = .signedOut
                }
            } catch {
                phase = .failed(userMessage(for: error))
            }
        }
    }

    /// Closes the store when the app terminates. Called on the main thread because the process
    /// ends right after: `FieldStore.close()` only swaps a pointer under a lock and never waits
    /// for running calls (they finish on their own reference; the file is released after them).
    func close() {
        store?.close()
        store = nil
    }

    func becameActive() {
        guard phase == .ready else { return }
        _Concurrency.Task { await syncNow(userInitiated: false) }
    }

    /// Runs `work` with the open store on the store queue, never on the main thread.
    @discardableResult
    func perform<T>(_ work: @escaping @Sendable (FieldStore) throws -> T) async throws -> T {
        guard let store else { throw FieldCrmError.StoreClosed }
        return try await Background.run(on: Background.store) { try work(store) }
    }

    nonisolated static func storeURL() throws -> URL {
        let folder = try FileManager.default.url(
            for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        return folder.appendingPathComponent("fieldcrm.sqlite")
    }

    /// Opens the store encrypted with its key from the Keychain (both made on the first start; a
    /// plaintext store of an earlier version is encrypted in place, keeping unsynced changes).
    /// A store whose key is gone (`WrongKey`: the Keychain was reset, or the file came from
    /// another phone) can never be read again: it is deleted and started afresh, and the next
    /// sync brings back everything the server has.
    private static func openStore() async throws -> FieldStore {
        try await Background.run(on: Background.store) {
            let path = try Self.storeURL().path
            do {
                return try FieldStore.openEncrypted(path: path, key: try StoreKeychain.key())
            } catch FieldCrmError.WrongKey {
                Logger(subsystem: "app.fieldcrm", category: "store")
                    .error("the store's key is gone: starting an empty store")
                try Self.deleteStoreFiles()
                return try FieldStore.openEncrypted(path: path, key: try StoreKeychain.key())
            }
        }
    }

    /// The store file and SQLite's files beside it. Close the store first.
    nonisolated private static func deleteStoreFiles() throws {
        let url = try Self.storeURL()
        for suffix in ["", "-wal", "-shm", "-journal", ".encrypting", ".encrypting-journal"] {
            let path = url.path + suffix
            if FileManager.default.fileExists(atPath: path) {
                try FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// Replaces the store with an empty one under a new key: the old file and its key are
    /// deleted, so nothing that may linger in flash can be read.
    private func replaceStore() async throws {
        let old = store
        store = nil
        try await Background.run(on: Background.store) {
            old?.close()
            try Self.deleteStoreFiles()
            try StoreKeychain.delete()
        }
        store = try await Self.openStore()
    }

    // MARK: Session

    func signIn(server: String, username: String, password: String) async {
        do {
            guard let base = URL(string: server.trimmingCharacters(in: .whitespacesAndNewlines)),
                  let scheme = base.scheme?.lowercased(), scheme == "https" || scheme == "http",
                  base.host != nil
            else { throw AppError.badServerURL }
            let auth = AuthClient(baseURL: base)
            let login = try await auth.login(username: username, password: password)
            try await prepareStore(for: login.user.id)
            let actorId = try await perform { store in try store.actorId() }
            try await auth.registerDevice(token: login.token, actorId: actorId)
            let session = Session(
                server: base, token: login.token, expiresAt: login.expiresAt,
                userId: login.user.id, username: login.user.username)
            try SessionStore.save(session)
            self.session = session
            phase = .ready
            await syncNow()
        } catch {
            show(error)
        }
    }

    /// Signs out; the records stay on the device for the next sign-in of the same user.
    func signOut() {
        SessionStore.clear()
        session = nil
        syncStatus = nil
        rejected = []
        lastReport = nil
        phase = .signedOut
    }

    /// A store belongs to one user: the server binds its actor id to the first user who
    /// registers it. Another user gets a new store, unless the old one has unsynced changes.
    private func prepareStore(for userId: String) async throws {
        let current = try await perform { store in try store.user() }
        if !current.isEmpty && current != userId {
            guard !isSyncing else { throw AppError.syncRunning }
            let status = try await perform { store in try store.syncStatus() }
            guard status.pendingChanges == 0 else {
                throw AppError.anotherUsersChanges(status.pendingChanges)
            }
            try await replaceStore()
        }
        try await perform { store in try store.setUser(userId: userId) }
    }

    // MARK: Sync

    func syncNow(userInitiated: Bool = true) async {
        guard let session else { return }
        _ = await runSync(session, timeout: 60, userInitiated: userInitiated)
    }

    /// For a background task: waits for `start()`, then syncs with short request timeouts.
    func backgroundSync() async -> Bool {
        await starting?.value
        guard phase == .ready, let session else { return true }
        return await runSync(session, timeout: 20, userInitiated: false)
    }

    private func runSync(_ session: Session, timeout: TimeInterval, userInitiated: Bool) async -> Bool {
        guard let store, !isSyncing else { return false }
        isSyncing = true
        defer { isSyncing = false }
        let transport = URLSessionSyncTransport(baseURL: session.server, token: session.token, timeout: timeout)
        var succeeded = false
        // Cancelling this task (an expiring background task) stops the round between requests;
        // what was not acknowledged goes with the next one.
        let cancellation = SyncCancellation()
        do {
            lastReport = try await withTaskCancellationHandler {
                try await Background.run(on: Background.sync) {
                    try store.syncCancellable(transport: transport, cancellation: cancellation)
                }
            } onCancel: {
                cancellation.cancel()
            }
            succeeded = true
            await verifyReceivedDocuments()
        } catch let error as FieldCrmError {
            if case .DeviceRevoked = error {
                // The library has already wiped the store; the file, its key and the session
                // go with it.
                signOut()
                do {
                    try await replaceStore()
                } catch {
                    phase = .failed(userMessage(for: error))
                }
                show(error)
            } else if case let .ServerRefused(_, code, _) = error, FieldCrmError.sessionCodes.contains(code) {
                signOut()
                show("Your session has expired. Sign in again.")
            } else if userInitiated {
                show(error)
            }
        } catch {
            if userInitiated { show(error) }
        }
        await refreshSyncState()
        return succeeded
    }

    /// Documents received in a bootstrap are checked against their projections in the
    /// background, a batch at a time, until none remain.
    private func verifyReceivedDocuments() async {
        while true {
            guard let report = try? await perform({ store in try store.verifyDocuments(limit: 200) }) else {
                return
            }
            if !report.failedIds.isEmpty {
                log.error("\(report.failedIds.count) received document(s) did not match their records")
            }
            if report.remaining == 0 || report.verified == 0 { return }
        }
    }

    func refreshSyncState() async {
        do {
            let state = try await perform { store in try (store.syncStatus(), store.rejectedChanges()) }
            syncStatus = state.0
            rejected = state.1
        } catch {
            log.error("sync status unavailable: \(userMessage(for: error), privacy: .public)")
        }
    }

    func dismiss(_ change: RejectedChange) async {
        let docId = change.docId
        do {
            try await perform { store in try store.dismissRejections(docId: docId) }
        } catch {
            show(error)
        }
        await refreshSyncState()
    }

    /// Sends a refused record again as it reads now (after the rep fixed it); the next sync
    /// pushes it.
    func retry(_ change: RejectedChange) async {
        let docId = change.docId
        do {
            try await perform { store in try store.retryRejected(docId: docId) }
        } catch {
            show(error)
        }
        await refreshSyncState()
    }

    /// Drops the refused changes of a record: it goes back to what the server has.
    func discard(_ change: RejectedChange) async {
        let docId = change.docId
        do {
            try await perform { store in try store.discardRejected(docId: docId) }
        } catch {
            show(error)
        }
        await refreshSyncState()
    }

    // MARK: Visits

    /// An unplanned visit starting now, for a customer the rep is at.
    func startVisit(customerId: String) async throws -> Visit {
        let now = Date().millis
        return try await perform { (store: FieldStore) throws -> Visit in
            let rep = try store.user()
            var visit = newVisit(customerId: customerId, rep: rep)
            visit.plannedStart = now
            return try store.createVisit(record: visit)
        }
    }

    func checkIn(visitId: String) async throws -> Visit {
        let fix = try await location.currentFix()
        return try await perform { store in try store.checkIn(visitId: visitId, fix: fix) }
    }

    func checkOut(visitId: String, outcome: String?) async throws -> Visit {
        let fix = try await location.currentFix()
        return try await perform { store in try store.checkOut(visitId: visitId, fix: fix, outcome: outcome) }
    }

    // MARK: Deals

    /// A new deal of the signed-in rep, at the lead stage.
    func createDeal(
        customerId: String, title: String, amount: Money, probability: UInt8?, expectedCloseAt: Int64?
    ) async throws -> Opportunity {
        let title = title.trimmingCharacters(in: .whitespacesAndNewlines)
        return try await perform { (store: FieldStore) throws -> Opportunity in
            var deal = newOpportunity(customerId: customerId, title: title, amount: amount)
            deal.probability = probability
            deal.expectedCloseAt = expectedCloseAt
            deal.owner = try store.user()
            return try store.createOpportunity(record: deal)
        }
    }

    /// Moves a deal to `stage`; a loss needs `lostReason` (else `InvalidValue` for `lost_reason`).
    func changeStage(dealId: String, stage: Stage, lostReason: String?) async throws -> Opportunity {
        let reason = lostReason?.trimmingCharacters(in: .whitespacesAndNewlines)
        return try await perform { store in
            try store.changeStage(id: dealId, stage: stage, lostReason: reason?.isEmpty == false ? reason : nil)
        }
    }

    /// Saves an edited deal: only the fields that differ are written.
    func updateDeal(_ deal: Opportunity) async throws -> Opportunity {
        try await perform { store in try store.updateOpportunity(record: deal) }
    }

    // MARK: Orders

    /// A new draft order of the signed-in rep for the customer, at `visitId` when given, in
    /// `currency` (ISO 4217: `eur` is read as `EUR`; the store refuses anything else).
    func startOrder(customerId: String, visitId: String?, currency: String) async throws -> Order {
        let code = currency.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        return try await perform { store in
            try store.createOrder(customerId: customerId, visitId: visitId, currency: code)
        }
    }

    /// Adds `quantity` of the product, priced as the catalog has it now in the order's currency,
    /// with a discount in basis points, in one write: a discount the store refuses (over 100 %)
    /// is thrown and nothing is written.
    func addOrderLine(orderId: String, productId: String, quantity: Int64, discountBp: UInt32?) async throws {
        try await perform { store in
            _ = try store.addOrderLine(
                orderId: orderId, productId: productId, quantity: quantity, discountBp: discountBp ?? 0)
        }
    }

    /// Changes a line's quantity and/or discount (basis points); `nil` leaves it as it is.
    func editOrderLine(orderId: String, lineId: String, quantity: Int64?, discountBp: UInt32?) async throws {
        try await perform { store in
            _ = try store.editOrderLine(
                orderId: orderId, lineId: lineId, edit: LineEdit(quantity: quantity, discountBp: discountBp))
        }
    }

    func removeOrderLine(orderId: String, lineId: String) async throws {
        try await perform { store in _ = try store.removeOrderLine(orderId: orderId, lineId: lineId) }
    }

    /// Submits (the lines are then frozen) or cancels the order.
    func setOrderStatus(orderId: String, status: OrderStatus) async throws {
        try await perform { store in _ = try store.setOrderStatus(orderId: orderId, status: status) }
    }

    // MARK: Messages

    func show(_ error: Error) {
        show(userMessage(for: error))
    }

    func show(_ message: String) {
        alertMessage = message
        isAlertShown = true
    }
}

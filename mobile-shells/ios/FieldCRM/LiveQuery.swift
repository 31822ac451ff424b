import Combine
import FieldCRMCore
import Foundation

/// The `QueryListener` handed to `FieldStore.subscribe`. Rust calls `onResult` on the thread
/// whose write changed the result (for the first result: the thread calling `subscribe`), so it
/// only numbers the result and hops to the main actor. The numbers keep a late hop from
/// replacing a newer result.
final class MainActorQueryListener: QueryListener, @unchecked Sendable {
    private let deliver: @MainActor @Sendable (UInt64, QueryResult) -> Void
    private let lock = NSLock()
    private var sequence: UInt64 = 0

    init(_ deliver: @escaping @MainActor @Sendable (UInt64, QueryResult) -> Void) {
        self.deliver = deliver
    }

    func onResult(result: QueryResult) throws {
        lock.lock()
        sequence += 1
        let number = sequence
        lock.unlock()
        let deliver = self.deliver
        _Concurrency.Task { @MainActor in deliver(number, result) }
    }
}

/// One live query for a view: `watch` subscribes (replacing the previous query) and `result`
/// follows every change in the store until the object goes away, which ends the subscription.
@MainActor
final class LiveQuery: ObservableObject {
    @Published private(set) var result: QueryResult?
    @Published private(set) var failure: String?

    private var query: Query?
    private var subscription: FieldCRMCore.Subscription?
    private var generation = 0
    private var applied: UInt64 = 0

    /// Nonisolated so that a view's `@StateObject` initializer may create it.
    nonisolated init() {}

    func watch(_ query: Query, in model: AppModel) async {
        guard query != self.query else { return }
        self.query = query
        generation += 1
        let generation = self.generation
        applied = 0
        let previous = subscription
        subscription = nil
        let listener = MainActorQueryListener { [weak self] number, result in
            guard let self, self.generation == generation, number > self.applied else { return }
            self.applied = number
            self.result = result
        }
        do {
            let subscription = try await model.perform { store in
                previous?.close()
                return try store.subscribe(query: query, listener: listener)
            }
            if self.generation == generation {
                self.subscription = subscription
                failure = nil
            } else {
                // A newer query replaced this one while it was subscribing.
                _ = try? await model.perform { _ in subscription.close() }
            }
        } catch {
            if self.generation == generation {
                self.query = nil
                failure = userMessage(for: error)
            }
        }
    }
}

extension QueryResult {
    var customerRows: [CustomerSummary] {
        if case let .customers(rows) = self { return rows }
        return []
    }

    var visitRows: [VisitSummary] {
        if case let .visits(rows) = self { return rows }
        return []
    }

    var contactRows: [ContactSummary] {
        if case let .contacts(rows) = self { return rows }
        return []
    }

    var stageRows: [StageDeals] {
        if case let .dealsByStage(stages) = self { return stages }
        return []
    }

    var productRows: [ProductSummary] {
        if case let .products(rows) = self { return rows }
        return []
    }

    var categoryRows: [CategorySummary] {
        if case let .categories(rows) = self { return rows }
        return []
    }

    var caseRows: [CaseSummary] {
        if case let .cases(rows) = self { return rows }
        return []
    }

    var orderRows: [OrderSummary] {
        if case let .orders(rows) = self { return rows }
        return []
    }

    var orderDetail: OrderDetail? {
        if case let .order(order) = self { return order }
        return nil
    }

    var timelineEntries: [TimelineEntry] {
        if case let .timeline(entries) = self { return entries }
        return []
    }

    var insight: CustomerInsight? {
        if case let .customerInsight(insight) = self { return insight }
        return nil
    }
}

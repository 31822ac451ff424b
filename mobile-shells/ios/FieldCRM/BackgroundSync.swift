import BackgroundTasks
import Foundation
import os

/// Syncs while the app is in the background: an app refresh task (short, frequent) and a
/// processing task (longer, when the device has a network connection, e.g. a large first pull).
/// Both identifiers are listed in Info.plist's BGTaskSchedulerPermittedIdentifiers (project.yml).
enum BackgroundSync {
    static let refreshIdentifier = "app.fieldcrm.sync.refresh"
    static let processingIdentifier = "app.fieldcrm.sync.processing"
    private static let log = Logger(subsystem: "app.fieldcrm", category: "background")

    /// Registers the handlers. Must run before the app finishes launching.
    static func register(model: AppModel) {
        for identifier in [refreshIdentifier, processingIdentifier] {
            let registered = BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: .main) { task in
                run(task, model: model)
            }
            if !registered {
                log.error("\(identifier, privacy: .public) is missing from BGTaskSchedulerPermittedIdentifiers")
            }
        }
    }

    /// Asks iOS to run a sync later; called whenever the app goes to the background.
    static func schedule() {
        let refresh = BGAppRefreshTaskRequest(identifier: refreshIdentifier)
        refresh.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        let processing = BGProcessingTaskRequest(identifier: processingIdentifier)
        processing.requiresNetworkConnectivity = true
        processing.earliestBeginDate = Date(timeIntervalSinceNow: 60 * 60)
        for request in [refresh, processing] as [BGTaskRequest] {
            do {
                try BGTaskScheduler.shared.submit(request)
            } catch {
                // The simulator has no background tasks; a device may refuse too many requests.
                log.info("not scheduled: \(request.identifier, privacy: .public): \(error.localizedDescription, privacy: .public)")
            }
        }
    }

    private static func run(_ task: BGTask, model: AppModel) {
        schedule()
        let completion = Completion(task)
        let work = _Concurrency.Task { @MainActor in
            let succeeded = await model.backgroundSync()
            completion.finish(success: succeeded)
        }
        // Cancelling the work cancels the sync between requests (see AppModel.runSync); its
        // progress is committed as it goes, so nothing is lost.
        task.expirationHandler = {
            work.cancel()
            completion.finish(success: false)
        }
    }
}

/// Reports a background task's end exactly once (the work or the expiration handler, whichever
/// comes first).
private final class Completion: @unchecked Sendable {
    private let task: BGTask
    private let lock = NSLock()
    private var finished = false

    init(_ task: BGTask) {
        self.task = task
    }

    func finish(success: Bool) {
        lock.lock()
        let first = !finished
        finished = true
        lock.unlock()
        if first { task.setTaskCompleted(success: success) }
    }
}

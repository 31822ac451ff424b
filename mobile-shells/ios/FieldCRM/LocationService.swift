import CoreLocation
import FieldCRMCore
import Foundation

enum LocationError: LocalizedError {
    case denied
    case unavailable

    var errorDescription: String? {
        switch self {
        case .denied:
            return "FieldCRM may not use your location. Allow it in Settings to check in and plan routes."
        case .unavailable:
            return "Your position could not be determined. Try again in a moment, ideally outdoors."
        }
    }
}

/// One-shot positions for check-in, check-out, nearby customers and day plans, as `GpsFix`
/// values for the store. Asks for "when in use" authorization the first time.
@MainActor
final class LocationService: NSObject, CLLocationManagerDelegate {
    private let manager = CLLocationManager()
    private var authorizationWaiters: [CheckedContinuation<Void, Never>] = []
    private var fixWaiters: [CheckedContinuation<GpsFix, Error>] = []

    override init() {
        super.init()
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyBest
    }

    /// The current position (CoreLocation's `requestLocation`); concurrent callers share one.
    func currentFix() async throws -> GpsFix {
        try await authorize()
        return try await withCheckedThrowingContinuation { continuation in
            fixWaiters.append(continuation)
            if fixWaiters.count == 1 { manager.requestLocation() }
        }
    }

    private func authorize() async throws {
        if manager.authorizationStatus == .notDetermined {
            await withCheckedContinuation { continuation in
                authorizationWaiters.append(continuation)
                if authorizationWaiters.count == 1 { manager.requestWhenInUseAuthorization() }
            }
        }
        switch manager.authorizationStatus {
        case .authorizedWhenInUse, .authorizedAlways: break
        default: throw LocationError.denied
        }
        if manager.accuracyAuthorization == .reducedAccuracy {
            // An approximate position (kilometres) cannot verify a check-in: ask for a precise
            // one for this session (purpose "CheckIn" in Info.plist).
            _ = try? await manager.requestTemporaryFullAccuracyAuthorization(withPurposeKey: "CheckIn")
        }
    }

    private func authorizationChanged(to status: CLAuthorizationStatus) {
        guard status != .notDetermined else { return }
        let waiters = authorizationWaiters
        authorizationWaiters = []
        waiters.forEach { $0.resume() }
    }

    private func finish(_ result: Result<GpsFix, Error>) {
        let waiters = fixWaiters
        fixWaiters = []
        waiters.forEach { $0.resume(with: result) }
    }

    /// The store's fix: iOS reports accuracy as the 68% radius, like the store expects; a
    /// negative accuracy means no valid position.
    nonisolated static func gpsFix(from location: CLLocation) -> GpsFix? {
        guard location.horizontalAccuracy >= 0 else { return nil }
        return GpsFix(
            lat: location.coordinate.latitude,
            lon: location.coordinate.longitude,
            accuracyM: location.horizontalAccuracy,
            fixAt: Int64((location.timestamp.timeIntervalSince1970 * 1000).rounded()),
            // iOS 15+: set when the position comes from a simulator or an accessory that
            // simulates locations.
            mock: location.sourceInformation?.isSimulatedBySoftware ?? false)
    }

    // MARK: CLLocationManagerDelegate (called on the main thread, which created the manager)

    nonisolated func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        let status = manager.authorizationStatus
        _Concurrency.Task { @MainActor in self.authorizationChanged(to: status) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        let result: Result<GpsFix, Error>
        if let fix = locations.last.flatMap({ Self.gpsFix(from: $0) }) {
            result = .success(fix)
        } else {
            result = .failure(LocationError.unavailable)
        }
        _Concurrency.Task { @MainActor in self.finish(result) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        let denied = (error as? CLError)?.code == .denied
        _Concurrency.Task { @MainActor in
            self.finish(.failure(denied ? LocationError.denied : LocationError.unavailable))
        }
    }
}

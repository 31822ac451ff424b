import SwiftUI
import UIKit

@main
struct FieldCRMApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var appDelegate
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            RootView()
                .environmentObject(AppModel.shared)
        }
        .onChange(of: scenePhase) { phase in
            switch phase {
            case .active:
                AppModel.shared.becameActive()
                ContactActions.shared.becameActive()
            case .background: BackgroundSync.schedule()
            default: break
            }
        }
    }
}

/// UIKit entry points SwiftUI has no equivalent for: registering background tasks before launch
/// ends, and closing the store when the app terminates.
final class AppDelegate: NSObject, UIApplicationDelegate {
    func application(
        _ application: UIApplication,
        didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        BackgroundSync.register(model: AppModel.shared)
        AppModel.shared.start()
        return true
    }

    func applicationWillTerminate(_ application: UIApplication) {
        AppModel.shared.close()
    }
}

struct RootView: View {
    @EnvironmentObject private var model: AppModel

    var body: some View {
        Group {
            switch model.phase {
            case .starting:
                ProgressView("Opening…")
            case .failed(let message):
                VStack(spacing: 12) {
                    Image(systemName: "exclamationmark.triangle").font(.largeTitle)
                    Text(message).multilineTextAlignment(.center)
                }
                .padding()
            case .signedOut:
                LoginView()
            case .ready:
                MainTabs()
            }
        }
        .alert("FieldCRM", isPresented: $model.isAlertShown) {
            Button("OK", role: .cancel) {}
        } message: {
            Text(model.alertMessage)
        }
    }
}

struct MainTabs: View {
    var body: some View {
        TabView {
            CustomersView()
                .tabItem { Label("Customers", systemImage: "person.2") }
            TodayView()
                .tabItem { Label("Today", systemImage: "map") }
            PipelineView()
                .tabItem { Label("Deals", systemImage: "chart.bar") }
            CasesView()
                .tabItem { Label("Cases", systemImage: "exclamationmark.bubble") }
            CatalogView()
                .tabItem { Label("Catalog", systemImage: "shippingbox") }
            SyncView()
                .tabItem { Label("Sync", systemImage: "arrow.triangle.2.circlepath") }
        }
    }
}

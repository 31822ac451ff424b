import SwiftUI

struct LoginView: View {
    @EnvironmentObject private var model: AppModel
    @AppStorage("serverURL") private var server = "https://"
    @AppStorage("lastUsername") private var username = ""
    @State private var password = ""
    @State private var busy = false

    var body: some View {
        NavigationStack {
            Form {
                Section("Server") {
                    TextField("https://crm.example.com", text: $server)
                        .keyboardType(.URL)
                        .textContentType(.URL)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                }
                Section("Account") {
                    TextField("Username", text: $username)
                        .textContentType(.username)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                    SecureField("Password", text: $password)
                        .textContentType(.password)
                        .onSubmit { signIn() }
                }
                Section {
                    Button {
                        signIn()
                    } label: {
                        if busy {
                            ProgressView()
                        } else {
                            Text("Sign in")
                        }
                    }
                    .disabled(busy || username.isEmpty || password.isEmpty)
                }
            }
            .navigationTitle("FieldCRM")
        }
    }

    @MainActor
    private func signIn() {
        guard !busy, !username.isEmpty, !password.isEmpty else { return }
        busy = true
        _Concurrency.Task { @MainActor in
            await model.signIn(server: server, username: username, password: password)
            password = ""
            busy = false
        }
    }
}

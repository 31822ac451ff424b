package app.fieldcrm.android.logic

import app.fieldcrm.core.FieldCrmException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class LoginUiState(
    val serverUrl: String = "",
    val username: String = "",
    val busy: Boolean = false,
    val message: String? = null,
    /** Set once signed in: the app switches to its main screens. */
    val session: Session? = null,
)

/**
 * Login against a server: `POST /v1/auth/login`, then the user's store is opened and bound to the
 * user, and its actor id registered as the user's device (`POST /v1/devices`), as the server
 * requires before it accepts the device's changes.
 */
class LoginViewModel(
    private val scope: CoroutineScope,
    private val sessions: SessionStore,
    /** Opens (or creates) the store of a user: one file per user in `filesDir`. */
    private val repositoryFor: suspend (userId: String) -> FieldRepository,
    private val authApi: (serverUrl: String) -> AuthApi = { AuthApi(it) },
    /** Called once per successful sign-in (the app: remember the session, schedule sync). */
    private val onSignedIn: (Session) -> Unit = {},
) {
    private val mutableState = MutableStateFlow(
        sessions.load().let { LoginUiState(serverUrl = it?.serverUrl.orEmpty(), username = it?.username.orEmpty()) },
    )
    val state: StateFlow<LoginUiState> = mutableState.asStateFlow()

    fun signIn(serverUrl: String, username: String, password: String): Job = scope.launch {
        if (mutableState.value.busy) return@launch
        mutableState.update { it.copy(serverUrl = serverUrl, username = username, busy = true, message = null) }
        var session: Session? = null
        val failure = attempt {
            val api = try {
                authApi(serverUrl)
            } catch (e: IllegalArgumentException) {
                throw IllegalArgumentException("Enter the server address, like https://crm.example.com")
            }
            val login = try {
                api.login(username.trim(), password)
            } catch (e: FieldCrmException.ServerRefused) {
                if (e.status.toInt() == 401) throw IllegalArgumentException("Wrong username or password.")
                throw e
            }
            val repository = repositoryFor(login.userId)
            repository.setUser(login.userId)
            try {
                api.registerDevice(login.token, repository.actorId())
            } catch (e: FieldCrmException.ServerRefused) {
                if (e.code == "actor_taken") {
                    throw IllegalArgumentException("This phone's data belongs to another user. Contact your admin.")
                }
                throw e
            }
            session = Session(api.baseUrl, login.userId, login.username, login.token, login.expiresAt)
            sessions.save(session)
        }
        mutableState.update { it.copy(busy = false, message = failure, session = session) }
        session?.let(onSignedIn)
    }

    fun dismissMessage() = mutableState.update { it.copy(message = null) }
}

package app.fieldcrm.android.logic

import app.fieldcrm.core.ActivityChannel
import app.fieldcrm.core.ActivityDirection
import app.fieldcrm.core.ContactSummary
import java.net.URLEncoder
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** What a rep fills in (or confirms) to log a call, an email or a meeting. */
data class ActivityDraft(
    val customerId: String,
    val channel: ActivityChannel,
    val subject: String,
    val contactId: String? = null,
    val direction: ActivityDirection? = null,
    /** Null: now. */
    val occurredAt: Long? = null,
    val durationS: Int? = null,
    val notes: String = "",
    val outcome: String? = null,
    val nextStep: String? = null,
    val nextStepDueAt: Long? = null,
)

/** The `tel:` URI that dials [phone]: digits and a leading `+` only (RFC 3966, global numbers). */
fun telUri(phone: String): String? {
    val trimmed = phone.trim()
    val digits = trimmed.filter { it.isDigit() }
    if (digits.isEmpty()) return null
    return "tel:" + (if (trimmed.startsWith("+")) "+" else "") + digits
}

/** The `mailto:` URI that writes to [email] with [subject] (RFC 6068: percent-encoded). */
fun mailtoUri(email: String, subject: String? = null): String? {
    val address = email.trim()
    if (address.isEmpty() || '@' !in address || address.any { it.isWhitespace() }) return null
    val encode = { text: String -> URLEncoder.encode(text, Charsets.UTF_8).replace("+", "%20") }
    val query = subject?.takeIf { it.isNotBlank() }?.let { "?subject=" + encode(it) } ?: ""
    return "mailto:" + encode(address).replace("%40", "@") + query
}

/** A call or an email the app handed to the dialer or the mail app, not yet logged. */
data class PendingContactAction(
    val customerId: String,
    val contact: ContactSummary,
    val channel: ActivityChannel,
    val startedAt: Long,
)

data class ContactActionsUiState(
    /** The activity offered for logging once the rep is back in the app; null when none. */
    val offer: ActivityDraft? = null,
    val message: String? = null,
)

/**
 * "Call" and "Email" on a contact: builds the `tel:` or `mailto:` URI the screen opens, and
 * remembers the action. When the app returns to the foreground it offers the activity, prefilled
 * (channel, customer, contact, when; for a call the time away as its length), which the rep
 * confirms (written through the repository) or dismisses. The pending action lives as long as
 * the view model: after the process is killed there is nothing to offer.
 */
class ContactActionsViewModel(
    private val repository: FieldRepository,
    private val scope: CoroutineScope,
    private val clock: Clock = Clock.System,
) {
    private var pending: PendingContactAction? = null
    private val ui = MutableStateFlow(ContactActionsUiState())
    val state: StateFlow<ContactActionsUiState> = ui.asStateFlow()

    /** The `tel:` URI to open for [phone] of [contact], or null when it holds no digits. */
    fun call(customerId: String, contact: ContactSummary, phone: String): String? =
        telUri(phone)?.also { remember(customerId, contact, ActivityChannel.Call) }

    /** The `mailto:` URI to open for [email] of [contact], or null when it is no address. */
    fun email(customerId: String, contact: ContactSummary, email: String, subject: String? = null): String? =
        mailtoUri(email, subject)?.also { remember(customerId, contact, ActivityChannel.Email) }

    private fun remember(customerId: String, contact: ContactSummary, channel: ActivityChannel) {
        pending = PendingContactAction(customerId, contact, channel, clock.nowMs())
    }

    /** The app is in the foreground again: a pending call or email becomes an offer to log it. */
    fun onForeground() {
        val action = pending ?: return
        pending = null
        val now = clock.nowMs()
        val call = action.channel == ActivityChannel.Call
        val away = ((now - action.startedAt) / 1_000).coerceIn(0, MAX_DURATION_S)
        ui.update {
            it.copy(
                offer = ActivityDraft(
                    customerId = action.customerId,
                    channel = action.channel,
                    subject = (if (call) "Call with " else "Email to ") + action.contact.name,
                    contactId = action.contact.id,
                    direction = ActivityDirection.Outbound,
                    occurredAt = action.startedAt,
                    durationS = if (call) away.toInt() else null,
                ),
            )
        }
    }

    /** Logs the offered activity, as the rep edited it ([edit]); the offer stays on failure. */
    suspend fun confirm(edit: (ActivityDraft) -> ActivityDraft = { it }): String? {
        val offer = ui.value.offer ?: return null
        var id: String? = null
        val error = attempt { id = repository.logActivity(edit(offer)).meta.id }
        ui.update { if (error == null) ContactActionsUiState() else it.copy(message = error) }
        return id
    }

    /** Not logged: the offer goes away. */
    fun dismiss() {
        ui.value = ContactActionsUiState()
    }

    companion object {
        /** The library's bound on an activity's length: a day. */
        const val MAX_DURATION_S = 86_400L
    }
}

package app.fieldcrm.android.logic

import app.fieldcrm.core.CaseStatus
import app.fieldcrm.core.FieldCrmException
import app.fieldcrm.core.Severity
import app.fieldcrm.core.Grade
import app.fieldcrm.core.Stage
import app.fieldcrm.core.ValidationRule
import app.fieldcrm.core.Verification
import app.fieldcrm.core.VisitStatus
import kotlin.coroutines.cancellation.CancellationException

/** What to tell the rep about a failed call. The library's errors carry codes, not prose. */
fun FieldCrmException.userMessage(): String = when (this) {
    is FieldCrmException.StoreClosed -> "The app's data is closed. Restart the app."
    is FieldCrmException.InvalidValue -> invalidValueMessage(field, rule, detail)
    is FieldCrmException.NotFound -> "That record no longer exists on this device."
    is FieldCrmException.WrongKind -> "That record is not a $expected."
    is FieldCrmException.NotAStore -> "The data file is not FieldCRM's. Reinstall the app or contact support."
    is FieldCrmException.KeyRequired, is FieldCrmException.WrongKey ->
        "The data on this phone could not be unlocked. Sign in again to fetch it from the server."
    is FieldCrmException.NewerSchema -> "This data was written by a newer version of the app. Update the app."
    is FieldCrmException.CorruptDocument -> "A record on this device is unreadable. Contact support (record $id)."
    is FieldCrmException.Database -> "Could not read or write the phone's storage. Is it full? ($detail)"
    is FieldCrmException.Document -> "A record could not be updated ($detail)."
    is FieldCrmException.Offline -> "You're offline. Your changes are kept on this phone and sync later."
    is FieldCrmException.ServerRefused -> when (status.toInt()) {
        401 -> "Your session has expired. Sign in again."
        403 -> "The server does not allow this ($code)."
        in 500..599 -> "The server has a problem (${status.toInt()}). Try again later."
        else -> "The server refused the request (${status.toInt()} $code)."
    }
    is FieldCrmException.DeviceRevoked ->
        "Your administrator has signed this phone out. Its FieldCRM data has been removed."
    is FieldCrmException.UpgradeRequired ->
        "The server needs a newer version of FieldCRM. Update the app: your changes are kept on this phone."
    is FieldCrmException.AlreadySyncing -> "A sync is already running. Try again when it has finished."
    is FieldCrmException.Protocol -> "The server's answer could not be read ($code). Is the app up to date?"
    is FieldCrmException.Internal -> "Something went wrong ($operation). Please try again."
}

private fun invalidValueMessage(field: String, rule: ValidationRule, detail: String): String = when {
    field == "check_in" && rule == ValidationRule.IMMUTABLE -> "You already checked in to this visit."
    field == "check_out" && rule == ValidationRule.IMMUTABLE -> "You already checked out of this visit."
    field == "check_in" && rule == ValidationRule.REQUIRED -> "Check in before checking out."
    rule == ValidationRule.STATUS_REGRESSION -> "This visit is already past that step ($detail)."
    field == "lost_reason" && rule == ValidationRule.REQUIRED -> LOST_REASON_MESSAGE
    field == "lines" && rule == ValidationRule.IMMUTABLE -> ORDER_FROZEN_MESSAGE
    field == "currency" && rule == ValidationRule.OUT_OF_RANGE -> NO_PRICE_MESSAGE
    field == "lines.discount_bp" && rule == ValidationRule.OUT_OF_RANGE -> "A discount is at most 100 %."
    field == "lines.quantity" && rule == ValidationRule.OUT_OF_RANGE -> "A quantity is at least 1 ($detail)."
    field == "currency" && rule == ValidationRule.MALFORMED -> "A currency is a three-letter code, like EUR."
    field == "survey" && rule == ValidationRule.MALFORMED -> SURVEY_BEFORE_RESOLUTION_MESSAGE
    field == "survey.score" && rule == ValidationRule.OUT_OF_RANGE -> SURVEY_SCORE_MESSAGE
    field == "stage" && rule == ValidationRule.UNKNOWN_VALUE ->
        "A newer version of the app uses this stage. Update the app to pick it."
    field == "status" && rule == ValidationRule.UNKNOWN_VALUE ->
        "A newer version of the app set this status. Update the app to change it."
    field.endsWith("fix_at") -> "The location fix has a wrong time. Check the phone's clock."
    field.startsWith("check_in") || field.startsWith("check_out") ->
        "The location fix cannot be used ($detail)."
    rule == ValidationRule.REQUIRED -> "${label(field)} is required."
    else -> "${label(field)}: $detail."
}

private fun label(field: String): String =
    field.substringAfterLast('.').replace('_', ' ').replaceFirstChar { it.uppercase() }

/** Any failure as a message: the library's typed errors, a bad server address, or a bug. */
fun Throwable.userMessage(): String = when (this) {
    is FieldCrmException -> userMessage()
    is IllegalArgumentException -> message ?: "Invalid input."
    else -> "Something went wrong (${javaClass.simpleName}). Please try again."
}

/** Runs [block]; a failure becomes its user-facing message (cancellation still propagates). */
internal suspend fun attempt(block: suspend () -> Unit): String? = try {
    block()
    null
} catch (e: CancellationException) {
    throw e
} catch (e: Exception) {
    e.userMessage()
}

/** A value a newer version of the app wrote, which this one does not know: shown as it is. */
private fun unknown(value: String) = "Unknown ($value)"

/** A check-in's verification in words. */
fun Verification.label(): String = when (this) {
    Verification.Verified -> "Verified: at the customer"
    Verification.Uncertain -> "Uncertain: the fix is not accurate enough"
    Verification.OutOfRange -> "Out of range: too far from the customer"
    Verification.NoCustomerLocation -> "Not verifiable: the customer has no location"
    is Verification.Unknown -> unknown(value)
}

/** A visit's status in words. */
fun VisitStatus.label(): String = when (this) {
    VisitStatus.Planned -> "planned"
    VisitStatus.InProgress -> "in progress"
    VisitStatus.Done -> "done"
    VisitStatus.Cancelled -> "cancelled"
    VisitStatus.Skipped -> "skipped"
    is VisitStatus.Unknown -> unknown(value)
}

/** A customer's grade as shown. */
fun Grade.label(): String = when (this) {
    Grade.A -> "A"
    Grade.B -> "B"
    Grade.C -> "C"
    is Grade.Unknown -> unknown(value)
}

/** Shown when a submitted (or later) order's lines are changed: the library froze them. */
const val ORDER_FROZEN_MESSAGE = "This order was submitted: its lines can no longer change. You can still cancel it."

/** Shown when a product has no price in the order's currency. */
const val NO_PRICE_MESSAGE = "This product has no price in the order's currency."

/** Shown when a deal is moved to lost without saying why. */
const val LOST_REASON_MESSAGE = "Say why the deal was lost."

/** A deal's stage in words. */
fun Stage.label(): String = when (this) {
    Stage.Lead -> "Lead"
    Stage.Qualified -> "Qualified"
    Stage.Proposal -> "Proposal"
    Stage.Negotiation -> "Negotiation"
    Stage.Won -> "Won"
    Stage.Lost -> "Lost"
    is Stage.Unknown -> unknown(value)
}

/** The stages a rep can move a deal to, in pipeline order (a stage a newer app wrote is shown, not offered). */
val PICKABLE_STAGES: List<Stage> =
    listOf(Stage.Lead, Stage.Qualified, Stage.Proposal, Stage.Negotiation, Stage.Won, Stage.Lost)

/** The grades a rep can pick (a grade a newer app wrote is shown, not offered). */
val PICKABLE_GRADES: List<Grade> = listOf(Grade.A, Grade.B, Grade.C)

/** Shown when a satisfaction survey is entered for a case not resolved yet. */
const val SURVEY_BEFORE_RESOLUTION_MESSAGE = "Record the customer's satisfaction once the case is resolved."

/** Shown for a satisfaction score outside the scale. */
const val SURVEY_SCORE_MESSAGE = "A satisfaction score is 1 to 5."

/** A case's status in words. */
fun CaseStatus.label(): String = when (this) {
    CaseStatus.Open -> "Open"
    CaseStatus.InProgress -> "In progress"
    CaseStatus.Resolved -> "Resolved"
    CaseStatus.Closed -> "Closed"
    is CaseStatus.Unknown -> unknown(value)
}

/** A case's severity in words. */
fun Severity.label(): String = when (this) {
    Severity.Low -> "Low"
    Severity.Medium -> "Medium"
    Severity.High -> "High"
    Severity.Critical -> "Critical"
    is Severity.Unknown -> unknown(value)
}

/** The statuses a rep can move a case to, in order (one a newer app wrote is shown, not offered). */
val PICKABLE_CASE_STATUSES: List<CaseStatus> =
    listOf(CaseStatus.Open, CaseStatus.InProgress, CaseStatus.Resolved, CaseStatus.Closed)

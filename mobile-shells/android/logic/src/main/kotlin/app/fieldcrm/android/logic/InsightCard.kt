package app.fieldcrm.android.logic

import app.fieldcrm.core.CustomerInsight
import app.fieldcrm.core.InsightOffer
import app.fieldcrm.core.OfferProduct
import app.fieldcrm.core.formatAmount
import kotlin.math.roundToInt
import kotlin.math.roundToLong

/** One product to offer: "Customers who buy Coffee also buy Filters", and how often they do. */
data class OfferLine(val productId: String, val text: String, val confidencePercent: Int) {
    val label: String get() = "$text ($confidencePercent%)"
}

/**
 * Why this customer matters and what to offer, as the visit screen shows it: from the server's
 * last analytics run (read-only on the phone) and offers the library ranks now, so an order
 * taken a minute ago already changes them.
 */
data class InsightCard(
    /** "Worth 2500.00 EUR in the next 12 months", or the revenue when no value was estimated. */
    val value: String,
    /** "Class A: top revenue". */
    val abcClass: String,
    /** "At risk" (the RFM segment). */
    val segment: String,
    /** "Churn risk: high · 42% likely still buying"; null when the run could not tell. */
    val churnRisk: String?,
    /** The churn risk is high: the screen flags it. */
    val highRisk: Boolean,
    val offers: List<OfferLine>,
    /** When the run's figures were taken (ms since 1970). */
    val asOf: Long,
)

fun CustomerInsight.toCard(): InsightCard = InsightCard(
    value = clv12mMinor?.takeIf { it.isFinite() }
        ?.let { "Worth ${formatAmount(it.roundToLong(), currency)} in the next 12 months" }
        ?: "Revenue ${formatAmount(revenueMinor, currency)}",
    abcClass = when (abcClass) {
        "A" -> "Class A: top revenue"
        "B" -> "Class B: middle revenue"
        "C" -> "Class C: low revenue"
        else -> "Class $abcClass"
    },
    segment = segment.replace('_', ' ').replaceFirstChar { it.uppercase() },
    churnRisk = churnLevel?.let { level ->
        val alive = pAlive?.takeIf { it.isFinite() }?.let { " · ${percent(it)}% likely still buying" } ?: ""
        "Churn risk: $level$alive"
    },
    highRisk = churnLevel == "high",
    offers = offers.map { it.toLine() },
    asOf = asOf,
)

fun InsightOffer.toLine(): OfferLine = OfferLine(
    productId = product.productId,
    text = "Customers who buy ${because.joinToString(" and ") { it.label() }} also buy ${product.label()}",
    confidencePercent = percent(confidence),
)

/** The catalog name, or the id of a product this phone does not have. */
private fun OfferProduct.label(): String = name ?: productId

private fun percent(share: Double): Int =
    if (share.isFinite()) (share * 100).roundToInt().coerceIn(0, 100) else 0

package app.fieldcrm.android.logic

import java.time.Instant
import java.time.ZoneId

/** Wall-clock time and the user's time zone; tests pass a fixed one. */
interface Clock {
    /** Milliseconds since 1970 (UTC). */
    fun nowMs(): Long

    val zone: ZoneId

    companion object {
        val System: Clock = object : Clock {
            override fun nowMs(): Long = java.lang.System.currentTimeMillis()
            override val zone: ZoneId get() = ZoneId.systemDefault()
        }
    }
}

/** A half-open time range `[start, end)` in milliseconds since 1970. */
data class TimeRange(val start: Long, val end: Long)

/** The local calendar day (in [Clock.zone]) that contains now. */
fun Clock.today(): TimeRange {
    val date = Instant.ofEpochMilli(nowMs()).atZone(zone).toLocalDate()
    return TimeRange(
        date.atStartOfDay(zone).toInstant().toEpochMilli(),
        date.plusDays(1).atStartOfDay(zone).toInstant().toEpochMilli(),
    )
}

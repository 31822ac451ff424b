//! Calendar dates (`YYYY-MM-DD`: the server's review API, in the viewer's UTC offset, and the
//! CLI), ISO 8601 timestamps (the server's exports) and times as people read them (the CLI and
//! the core example), on the `time` crate. A date travels as
//! its day number since 1970-01-01; a day of the calendar is [`DAY_MS`] long in UTC, so a
//! viewer's day is that span shifted by their offset.

use crate::{DAY_MS, Millis};
use time::{Date, Month, OffsetDateTime};

/// UTC offsets in use on Earth lie within -12:00 and +14:00.
pub const MAX_OFFSET_MIN: i32 = 14 * 60;

/// 1970-01-01 as a Julian day number, the count `time` converts dates to and from.
const EPOCH_JULIAN_DAY: i32 = OffsetDateTime::UNIX_EPOCH.date().to_julian_day();

/// Days since 1970-01-01.
fn days_of(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - i64::from(EPOCH_JULIAN_DAY)
}

/// The date of a day number, held within the dates `time` represents (years -9999 to 9999).
fn date_of(days: i64) -> Date {
    let days = days.clamp(days_of(Date::MIN), days_of(Date::MAX));
    let julian = i32::try_from(days + i64::from(EPOCH_JULIAN_DAY)).unwrap_or(EPOCH_JULIAN_DAY);
    Date::from_julian_day(julian).unwrap_or(Date::MIN)
}

/// Parses `YYYY-MM-DD` (years 2000 to 2099) into days since 1970-01-01; `None` for anything
/// else, including dates that do not exist (2026-02-30).
pub fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(2000..=2099).contains(&year) {
        return None;
    }
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()?;
    Some(days_of(date))
}

pub fn format_date(days: i64) -> String {
    let date = date_of(days);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `[start, end)` in unix ms of a local calendar day, for a viewer `offset_min` east of UTC.
pub fn local_day(days: i64, offset_min: i32) -> (Millis, Millis) {
    let start = days * DAY_MS - i64::from(offset_min) * 60_000;
    (start, start + DAY_MS)
}

/// The instant of `ms`, held within the years `time` represents.
fn instant(ms: Millis) -> OffsetDateTime {
    let first = days_of(Date::MIN) * DAY_MS;
    let last = (days_of(Date::MAX) + 1) * DAY_MS - 1;
    let nanos = i128::from(ms.clamp(first, last)) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-23T09:41:07.250Z`. Times beyond the years `time` represents are shown at its
/// first or last instant (the server stores times between 2000 and 2100).
pub fn iso8601(ms: Millis) -> String {
    let at = instant(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// A time as people read it (the CLI's output, the core example): `2026-11-23 10:41` in their
/// local time, `offset_min` minutes east of UTC; `2026-11-23 09:41 UTC` when the local offset
/// is not known (`None`), so a time is never shown in an unnamed zone. Times beyond the years
/// `time` represents are shown at its first or last instant.
pub fn local_time(ms: Millis, offset_min: Option<i32>) -> String {
    let shift = i64::from(
        offset_min
            .unwrap_or(0)
            .clamp(-MAX_OFFSET_MIN, MAX_OFFSET_MIN),
    ) * 60_000;
    let at = instant(ms.saturating_add(shift));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}{}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        if offset_min.is_some() { "" } else { " UTC" }
    )
}

/// The day number of the local calendar day holding `ms`, for a viewer `offset_min` east of
/// UTC (the inverse of [`local_day`]).
pub fn local_day_of(ms: Millis, offset_min: i32) -> i64 {
    let offset = i64::from(offset_min.clamp(-MAX_OFFSET_MIN, MAX_OFFSET_MIN));
    ms.saturating_add(offset * 60_000).div_euclid(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_impossible_ones_are_refused() {
        assert_eq!(parse_date("1970-01-01"), None, "before 2000");
        assert_eq!(parse_date("2000-01-01"), Some(10_957));
        assert_eq!(parse_date("2026-11-23"), Some(20_780));
        assert_eq!(format_date(20_780), "2026-11-23");
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(
            parse_date("2024-02-29").map(format_date).as_deref(),
            Some("2024-02-29")
        );
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-11-00",
            "2100-01-01",
            "26-11-23",
            "2026/11/23",
            "2026-1a-23",
            "+026-11-23",
            "",
            "2026-11-23T00",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        for days in [-1, 0, 10_957, 20_780, 47_482] {
            assert_eq!(days_of(date_of(days)), days);
        }
    }

    #[test]
    fn local_days_and_timestamps() {
        let day = parse_date("2026-11-23").unwrap_or_default();
        let (start, end) = local_day(day, 60);
        assert_eq!(iso8601(start), "2026-11-22T23:00:00.000Z");
        assert_eq!(end - start, DAY_MS);
        assert_eq!(iso8601(start + 3_723_004), "2026-11-23T00:02:03.004Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso8601(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert!(iso8601(i64::MIN).starts_with("-9999-01-01T00:00:00.000"));
    }

    #[test]
    fn local_times_name_utc_when_the_offset_is_unknown() {
        let at = 1_790_000_000_000; // 2026-09-21 14:13:20 UTC
        assert_eq!(local_time(at, None), "2026-09-21 14:13 UTC");
        assert_eq!(local_time(at, Some(0)), "2026-09-21 14:13");
        assert_eq!(local_time(at, Some(120)), "2026-09-21 16:13");
        assert_eq!(local_time(at, Some(-12 * 60)), "2026-09-21 02:13");
        assert_eq!(
            local_time(at, Some(-15 * 60)),
            "2026-09-21 00:13",
            "held within -14:00"
        );
        assert_eq!(local_time(i64::MAX, Some(60)), "9999-12-31 23:59");
        // Just after midnight in Berlin is still the day before in UTC.
        let day = parse_date("2026-11-23").unwrap_or_default();
        let (start, end) = local_day(day, 60);
        assert_eq!(local_day_of(start, 60), day);
        assert_eq!(local_day_of(end - 1, 60), day);
        assert_eq!(local_day_of(end, 60), day + 1);
        assert_eq!(local_day_of(start, 0), day - 1);
    }
}

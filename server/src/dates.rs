//! Calendar dates for the review API (`YYYY-MM-DD` in the viewer's UTC offset) and ISO 8601
//! timestamps for exports. Proleptic Gregorian arithmetic on days since 1970-01-01.

use fieldcrm_core::Millis;

pub const DAY_MS: Millis = 86_400_000;
/// UTC offsets in use on Earth lie within -12:00 and +14:00.
pub const MAX_OFFSET_MIN: i32 = 14 * 60;

/// Days since 1970-01-01 of a civil date (valid or not; see [`parse_date`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day number.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses `YYYY-MM-DD` (years 2000 to 2099) into days since 1970-01-01; `None` for anything
/// else, including dates that do not exist (2026-02-30).
pub fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(2000..=2099).contains(&year) || !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    (civil_from_days(days) == (year, month, day)).then_some(days)
}

pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `[start, end)` in unix ms of a local calendar day, for a viewer `offset_min` east of UTC.
pub fn local_day(days: i64, offset_min: i32) -> (Millis, Millis) {
    let start = days * DAY_MS - i64::from(offset_min) * 60_000;
    (start, start + DAY_MS)
}

/// `2026-11-23T09:41:07.250Z`.
pub fn iso8601(ms: Millis) -> String {
    let days = ms.div_euclid(DAY_MS);
    let in_day = ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
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
        assert_eq!(
            parse_date("2024-02-29").map(format_date).as_deref(),
            Some("2024-02-29")
        );
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "26-11-23",
            "2026/11/23",
            "2026-1a-23",
            "",
            "2026-11-23T00",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        for days in [0, 10_957, 20_780, 47_482] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn local_days_and_timestamps() {
        let day = parse_date("2026-11-23").unwrap_or_default();
        let (start, end) = local_day(day, 60);
        assert_eq!(iso8601(start), "2026-11-22T23:00:00.000Z");
        assert_eq!(end - start, DAY_MS);
        assert_eq!(iso8601(start + 3_723_004), "2026-11-23T00:02:03.004Z");
    }
}

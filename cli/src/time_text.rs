//! Times and dates as the terminal shows and takes them. Times are shown in the local time of
//! the terminal through core's `dates::local_time` (the one rule, shared with the core
//! example); calendar dates (`YYYY-MM-DD`, a day in UTC) go through core's `dates` module, the
//! one parser and formatter of dates in the workspace.

use std::sync::OnceLock;

use fieldcrm_core::dates::{format_date, local_day, local_day_of, local_time, parse_date};
use fieldcrm_core::{DAY_MS, Millis};

/// The terminal's UTC offset in minutes, read once. `time` reads it only while the process has
/// one thread (on Unix the C library's answer is unsound otherwise): `main` calls this first.
/// `None` (unknown) shows times in UTC, named as such.
pub fn local_offset() -> Option<i32> {
    static OFFSET: OnceLock<Option<i32>> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        time::UtcOffset::current_local_offset()
            .ok()
            .map(|offset| i32::from(offset.whole_minutes()))
    })
}

/// `2026-05-03 14:02` in local time (`2026-05-03 12:02 UTC` when the offset is unknown).
pub fn at(ms: Millis) -> String {
    local_time(ms, local_offset())
}

/// `[start, end)` of a local calendar day: `YYYY-MM-DD`, or today for `None`.
pub fn local_day_span(date: Option<&str>, now: Millis) -> Result<(Millis, Millis), String> {
    let offset = local_offset().unwrap_or(0);
    let day = match date {
        Some(text) => parse_day(text)?,
        None => local_day_of(now, offset),
    };
    Ok(local_day(day, offset))
}

fn parse_day(text: &str) -> Result<i64, String> {
    parse_date(text)
        .ok_or_else(|| "expected a date such as 2026-12-31 (years 2000 to 2099)".to_owned())
}

/// A date typed as `YYYY-MM-DD` (years 2000 to 2099) as the first millisecond of that day in
/// UTC.
pub fn date_start(text: &str) -> Result<Millis, String> {
    parse_day(text).map(|days| days * DAY_MS)
}

/// A date typed as `YYYY-MM-DD`, checked (clap's value parser for local days).
pub fn checked_date(text: &str) -> Result<String, String> {
    parse_day(text).map(|_| text.to_owned())
}

/// The UTC calendar date of a time, `YYYY-MM-DD`.
pub fn date(ms: Millis) -> String {
    format_date(ms.div_euclid(DAY_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_and_out() {
        assert_eq!(date_start("2026-12-31"), Ok(1_798_675_200_000));
        assert_eq!(date(1_798_675_200_000), "2026-12-31");
        assert_eq!(date(1_798_675_200_000 + DAY_MS - 1), "2026-12-31");
        assert!(date_start("2026-02-30").is_err());
        assert!(date_start("31.12.2026").is_err());
        assert_eq!(checked_date("2026-12-31").as_deref(), Ok("2026-12-31"));
        assert!(checked_date("tomorrow").is_err());
    }

    #[test]
    fn a_local_day_is_one_day_long_and_holds_now() {
        let now = 1_790_000_000_000;
        let (start, end) = local_day_span(None, now).unwrap_or_default();
        assert_eq!(end - start, DAY_MS);
        assert!(start <= now && now < end);
        let (start, _) = local_day_span(Some("2026-12-31"), now).unwrap_or_default();
        assert_eq!(at(start).get(..16), Some("2026-12-31 00:00"));
        assert!(local_day_span(Some("2026-13-01"), now).is_err());
    }
}

//! Times and dates as the terminal shows and takes them. Calendar dates (`YYYY-MM-DD`, a day
//! in UTC) go through the server's `dates` module, the one parser and formatter of dates in the
//! workspace.

use fieldcrm_core::dates::{format_date, parse_date};
use fieldcrm_core::{DAY_MS, Millis};

/// `2026-05-03 14:02:11 UTC`; a time outside the calendar's years (-9999 to 9999) as its
/// milliseconds.
pub fn utc(ms: Millis) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("{ms} ms since 1970 (UTC)"),
    }
}

/// A date typed as `YYYY-MM-DD` (years 2000 to 2099) as the first millisecond of that day in
/// UTC.
pub fn date_start(text: &str) -> Result<Millis, String> {
    parse_date(text)
        .map(|days| days * DAY_MS)
        .ok_or_else(|| "expected a date such as 2026-12-31 (years 2000 to 2099)".to_owned())
}

/// The UTC calendar date of a time, `YYYY-MM-DD`.
pub fn date(ms: Millis) -> String {
    format_date(ms.div_euclid(DAY_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_790_000_000_000), "2026-09-21 14:13:20 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(utc(i64::MAX), format!("{} ms since 1970 (UTC)", i64::MAX));
    }

    #[test]
    fn dates_in_and_out() {
        assert_eq!(date_start("2026-12-31"), Ok(1_798_675_200_000));
        assert_eq!(date(1_798_675_200_000), "2026-12-31");
        assert_eq!(date(1_798_675_200_000 + DAY_MS - 1), "2026-12-31");
        assert!(date_start("2026-02-30").is_err());
        assert!(date_start("31.12.2026").is_err());
    }
}

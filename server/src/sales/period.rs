//! Calendar periods of the sales reports and targets: a month (`2026-11`), a quarter
//! (`2026-Q4`) or a year (`2026`), in UTC, years 2000 to 2099.

use fieldcrm_core::{DAY_MS, Millis};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Year { year: i32 },
}

impl Period {
    /// `YYYY-MM`, `YYYY-Qn` or `YYYY`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Period> {
        let (year, rest) = match text.split_once('-') {
            Some((year, rest)) => (year, Some(rest)),
            None => (text, None),
        };
        let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        if !(2000..=2099).contains(&year) {
            return None;
        }
        match rest {
            None => Some(Period::Year { year }),
            Some(rest) => {
                if let Some(q) = rest.strip_prefix('Q') {
                    let quarter: u32 = if digits(q, 1) {
                        q.parse().ok()?
                    } else {
                        return None;
                    };
                    (1..=4)
                        .contains(&quarter)
                        .then_some(Period::Quarter { year, quarter })
                } else if digits(rest, 2) {
                    let month: u32 = rest.parse().ok()?;
                    (1..=12)
                        .contains(&month)
                        .then_some(Period::Month { year, month })
                } else {
                    None
                }
            }
        }
    }

    /// The month that holds `at` (UTC).
    pub fn month_of(at: Millis) -> Period {
        let (year, month, _) = civil_from_days(at.div_euclid(DAY_MS));
        Period::Month { year, month }
    }

    /// The quarter that holds `at` (UTC).
    pub fn quarter_of(at: Millis) -> Period {
        let (year, month, _) = civil_from_days(at.div_euclid(DAY_MS));
        Period::Quarter {
            year,
            quarter: (month - 1) / 3 + 1,
        }
    }

    /// `[start, end)` in unix ms, UTC.
    pub fn bounds(&self) -> (Millis, Millis) {
        let (year, first, months) = match *self {
            Period::Month { year, month } => (year, month, 1),
            Period::Quarter { year, quarter } => (year, (quarter - 1) * 3 + 1, 3),
            Period::Year { year } => (year, 1, 12),
        };
        let start = month_start(year, first);
        let end_month = first + months;
        let end = if end_month > 12 {
            month_start(year + 1, end_month - 12)
        } else {
            month_start(year, end_month)
        };
        (start, end)
    }

    /// The months of the period, in order.
    pub fn months(&self) -> Vec<Period> {
        let (start, end) = self.bounds();
        let mut months = Vec::new();
        let mut at = start;
        while at < end {
            let month = Period::month_of(at);
            months.push(month);
            at = month.bounds().1;
        }
        months
    }

    /// The month `count` months after this month (or this period's first month).
    pub fn add_months(&self, count: u32) -> Period {
        let (year, month) = match *self {
            Period::Month { year, month } => (year, month),
            Period::Quarter { year, quarter } => (year, (quarter - 1) * 3 + 1),
            Period::Year { year } => (year, 1),
        };
        let index = year * 12 + (month as i32 - 1) + count as i32;
        Period::Month {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Period::Year { year } => write!(f, "{year:04}"),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// In JSON a period is its text, as [`Period::parse`] reads it.
impl utoipa::PartialSchema for Period {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^20[0-9]{2}(-(0[1-9]|1[0-2])|-Q[1-4])?$"))
            .description(Some(
                "A month (`2026-11`), a quarter (`2026-Q4`) or a year (`2026`), UTC, 2000 to 2099.",
            ))
            .examples(["2026-Q4"])
            .into()
    }
}

impl utoipa::ToSchema for Period {}

/// `YYYY-MM` of the month holding `at` (UTC): the forecast's buckets.
pub fn month_key(at: Millis) -> String {
    Period::month_of(at).to_string()
}

fn month_start(year: i32, month: u32) -> Millis {
    days_from_civil(year, month, 1) * DAY_MS
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_print_the_same() {
        for text in [
            "2026-11", "2026-01", "2026-Q4", "2026-Q1", "2026", "2099-12",
        ] {
            assert_eq!(Period::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "",
            "2026-13",
            "2026-00",
            "2026-Q5",
            "2026-Q0",
            "1999",
            "2100-01",
            "26-11",
            "2026-1",
            "2026-11-01",
            "2026-q4",
            "２０２６",
            "2026-Q",
            "+026",
            "2026-+1",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn bounds_are_utc_calendar_months() {
        // 2026-11-01T00:00:00Z and 2026-12-01T00:00:00Z.
        assert_eq!(
            Period::parse("2026-11").unwrap().bounds(),
            (1_793_491_200_000, 1_796_083_200_000)
        );
        let (start, end) = Period::parse("2026-Q4").unwrap().bounds();
        assert_eq!((start, end), (1_790_812_800_000, 1_798_761_600_000));
        assert_eq!(
            Period::parse("2024-02").unwrap().bounds().1
                - Period::parse("2024-02").unwrap().bounds().0,
            29 * DAY_MS
        );
        let year = Period::parse("2026").unwrap();
        assert_eq!(year.months().len(), 12);
        assert_eq!(
            year.bounds().0,
            Period::parse("2026-01").unwrap().bounds().0
        );
        assert_eq!(
            year.bounds().1,
            Period::parse("2027-01").unwrap().bounds().0
        );
    }

    #[test]
    fn months_and_quarters_hold_their_instants() {
        let (start, end) = Period::parse("2026-Q4").unwrap().bounds();
        assert_eq!(month_key(start), "2026-10");
        assert_eq!(month_key(end - 1), "2026-12");
        assert_eq!(month_key(end), "2027-01");
        assert_eq!(Period::quarter_of(end - 1).to_string(), "2026-Q4");
        assert_eq!(Period::quarter_of(end).to_string(), "2027-Q1");
        assert_eq!(month_key(0), "1970-01");
        assert_eq!(month_key(-1), "1969-12");
        assert_eq!(
            Period::parse("2026-11").unwrap().add_months(3).to_string(),
            "2027-02"
        );
    }
}

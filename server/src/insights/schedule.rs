//! Scheduled analytics runs in `serve` (`--analytics-every DURATION` or `--analytics-at
//! HH:MM`, UTC; off unless one is given). One task runs them one after another on the blocking
//! pool, so two never overlap; a failed run is logged and leaves the previous results current,
//! and nothing a run does can stop the server. When the next run is due is decided by
//! [`next_run`], a pure function of the clock and the latest recorded run.

use std::sync::Arc;
use std::time::Duration;

use fieldcrm_core::{DAY_MS, Millis};

use crate::config::{AnalyticsParams, GradeOption};
use crate::model::now_ms;
use crate::storage::Storage;

/// The longest the task sleeps before looking at the clock again (a clock set forward, or a
/// long period, is noticed within it).
const MAX_NAP_MS: Millis = 3_600_000;

/// Longest interval accepted: 30 days.
const MAX_EVERY_SECS: u64 = 30 * 24 * 3_600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every this many seconds, counted from the latest run's start.
    Every { secs: u64 },
    /// Daily at this minute of the day (0 to 1439), UTC.
    DailyAt { minute: u32 },
}

/// When the next run is due (at or before `now`: now), given `last`: the start of the latest
/// run recorded or attempted, or the server's start when there was none.
/// - `Every`: a period after `last`.
/// - `DailyAt`: the latest slot up to `now` when `last` is before it (so a slot missed while the
///   server was down runs at once when it starts again), otherwise the slot after.
pub fn next_run(schedule: Schedule, now: Millis, last: Millis) -> Millis {
    match schedule {
        Schedule::Every { secs } => {
            let period = Millis::try_from(secs.saturating_mul(1_000)).unwrap_or(Millis::MAX);
            last.saturating_add(period)
        }
        Schedule::DailyAt { minute } => {
            let today = now.div_euclid(DAY_MS) * DAY_MS + Millis::from(minute) * 60_000;
            let latest_slot = if today <= now { today } else { today - DAY_MS };
            if last < latest_slot {
                latest_slot
            } else {
                latest_slot + DAY_MS
            }
        }
    }
}

/// `--analytics-every`: `90s`, `30m`, `6h`, `1d` (1 second to 30 days), in seconds.
pub fn every_secs(text: &str) -> Result<u64, String> {
    let refused = || "expected a duration such as 90s, 30m, 6h or 1d (at most 30 days)".to_owned();
    let text = text.trim();
    let split = text.len().checked_sub(1).ok_or_else(refused)?;
    let (number, unit) = (text.get(..split).ok_or_else(refused)?, &text[split..]);
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(refused()),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refused());
    }
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|secs| (1..=MAX_EVERY_SECS).contains(secs))
        .ok_or_else(refused)
}

/// `--analytics-at`: `HH:MM` (00:00 to 23:59, UTC), as the minute of the day.
pub fn minute_of_day(text: &str) -> Result<u32, String> {
    let refused = || "expected a time of day HH:MM (UTC), such as 02:30".to_owned();
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(refused)?;
    let part = |p: &str, max: u32| {
        (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    match (part(hours, 23), part(minutes, 59)) {
        (Some(h), Some(m)) => Ok(h * 60 + m),
        _ => Err(refused()),
    }
}

/// Runs the analytics on `schedule` with `params` and `grade`, forever (the task ends with the runtime).
pub async fn run_on_schedule(
    storage: Arc<dyn Storage>,
    schedule: Schedule,
    params: AnalyticsParams,
    grade: GradeOption,
) {
    let started = now_ms();
    // The start of the latest attempt, should a failure leave no record of it.
    let mut attempted: Option<Millis> = None;
    loop {
        let reader = storage.clone();
        let recorded = match tokio::task::spawn_blocking(move || reader.analytics_runs(1)).await {
            Ok(Ok(runs)) => runs.first().map(|run| run.started_at),
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot read the analytics runs; the schedule goes on");
                None
            }
            Err(error) => {
                tracing::error!(%error, "reading the analytics runs panicked");
                None
            }
        };
        let now = now_ms();
        let last = recorded.max(attempted).unwrap_or(started);
        let next = next_run(schedule, now, last);
        if next > now {
            let nap = (next - now).min(MAX_NAP_MS);
            tokio::time::sleep(Duration::from_millis(u64::try_from(nap).unwrap_or(0))).await;
            continue;
        }
        attempted = Some(now);
        let (runner, params, grade) = (storage.clone(), params.clone(), grade.clone());
        let outcome = tokio::task::spawn_blocking(move || {
            crate::insights::run_configured(&*runner, &params, &grade, now_ms())
        })
        .await;
        match outcome {
            Ok(Ok((done, grades))) => tracing::info!(
                run_id = done.run_id,
                elapsed_ms = done.elapsed_ms,
                grades_set = grades.map(|g| g.changed),
                "scheduled analytics run done"
            ),
            Ok(Err(error)) => tracing::warn!(
                %error,
                "scheduled analytics run failed; the previous results stay current"
            ),
            Err(error) => tracing::error!(
                %error,
                "scheduled analytics run panicked; the previous results stay current"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Millis = 3_600_000;
    /// 2026-01-10 00:00 UTC.
    const DAY0: Millis = 20_463 * DAY_MS;

    #[test]
    fn every_counts_from_the_latest_run_or_the_start() {
        let every = Schedule::Every { secs: 6 * 3_600 };
        let started = DAY0 + 10 * HOUR;
        // No run yet: a period after the server's start, however often it is asked.
        assert_eq!(next_run(every, started, started), started + 6 * HOUR);
        assert_eq!(next_run(every, started + HOUR, started), started + 6 * HOUR);
        assert!(next_run(every, started + 6 * HOUR, started) <= started + 6 * HOUR);
        assert_eq!(next_run(every, started, started - HOUR), started + 5 * HOUR);
        // Overdue (the server was down): due now, not a period later.
        assert!(next_run(every, started, started - 7 * HOUR) <= started);
        assert_eq!(
            next_run(Schedule::Every { secs: u64::MAX }, started, started),
            Millis::MAX
        );
    }

    #[test]
    fn daily_runs_at_the_slot_and_catch_up_a_missed_one() {
        let nightly = Schedule::DailyAt {
            minute: 2 * 60 + 30,
        };
        let slot = DAY0 + 2 * HOUR + HOUR / 2;
        // Started before today's slot, nothing ran yet: today's slot, due when it comes.
        let started = DAY0 + HOUR;
        assert_eq!(next_run(nightly, started, started), slot);
        assert_eq!(next_run(nightly, slot, started), slot);
        // Started after today's slot without any run: tomorrow's (no run at first start).
        assert_eq!(next_run(nightly, slot + HOUR, slot + HOUR), slot + DAY_MS);
        // Today's ran: tomorrow's.
        assert_eq!(next_run(nightly, slot + HOUR, slot), slot + DAY_MS);
        // At the slot, after yesterday's run: due now.
        assert_eq!(next_run(nightly, slot, slot - DAY_MS), slot);
        // The server was down at today's slot (yesterday's ran): due at once.
        assert!(next_run(nightly, slot + 5 * HOUR, slot - DAY_MS) <= slot + 5 * HOUR);
        // A manual run after the slot counts as today's.
        assert_eq!(
            next_run(nightly, slot + 5 * HOUR, slot + HOUR),
            slot + DAY_MS
        );
    }

    #[test]
    fn durations_and_times_of_day_parse_strictly() {
        assert_eq!(every_secs("90s"), Ok(90));
        assert_eq!(every_secs("30m"), Ok(1_800));
        assert_eq!(every_secs("6h"), Ok(21_600));
        assert_eq!(every_secs("1d"), Ok(86_400));
        for bad in [
            "",
            "s",
            "0s",
            "6",
            "6 h",
            "-1h",
            "1.5h",
            "31d",
            "h6",
            "99999999999999999999d",
        ] {
            assert!(every_secs(bad).is_err(), "{bad}");
        }
        assert_eq!(minute_of_day("02:30"), Ok(150));
        assert_eq!(minute_of_day("00:00"), Ok(0));
        assert_eq!(minute_of_day("23:59"), Ok(1_439));
        for bad in [
            "24:00", "2:30", "02:60", "0230", "02:3", "+1:00", "ab:cd", "",
        ] {
            assert!(minute_of_day(bad).is_err(), "{bad}");
        }
    }
}

//! The holdout report: how well BG/NBD predicts, the way Fader, Hardie & Lee (2005) validate
//! it. The model is fitted on a calibration period (orders up to the as-of day), each
//! customer's expected purchases in the following `days` are predicted (the conditional
//! expectation for that length), and set against the purchases they actually made then.
//!
//! - **The cohort** is the customers with a purchase in the calibration period (the model
//!   describes customers from their first purchase on); a customer whose first purchase falls
//!   in the holdout period is not in it.
//! - **A purchase** is a day with orders, as everywhere in the analytics (`input.rs`: several
//!   orders on one day are one; other currencies, zero and negative amounts are left out). The
//!   holdout period is the `days` days after the as-of day.
//! - **Reported**: the totals predicted and actual, the mean absolute error per customer, and
//!   the paper's table: mean predicted and mean actual purchases in the holdout period grouped
//!   by the number of repeat purchases in the calibration period (0, 1, ..., 6, 7+).
//! - A fit that fails or does not converge fails the report (no prediction is made from an
//!   unfinished search); a customer whose prediction is not a finite number is counted in
//!   `prediction_failures` and left out of the comparison.

use thiserror::Error;

use super::bgnbd::{self, BgNbdError, BgNbdFit, DAYS_PER_WEEK, summarize};
use super::input::{History, OrderRow, day_of, prepare};
use super::mle::MleOptions;
use fieldcrm_core::{DAY_MS, Millis};

/// Calibration-period repeat purchases grouped from this many on ("7+").
pub const TOP_GROUP: u32 = 7;

/// The longest holdout period accepted, in days (ten years).
pub const MAX_HOLDOUT_DAYS: u32 = 3_660;

/// One row of the table: customers with `repeat_purchases` (the last row: at least that many)
/// in the calibration period, and their mean predicted and actual holdout purchases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrequencyGroup {
    pub repeat_purchases: u32,
    pub customers: u64,
    pub mean_predicted: f64,
    pub mean_actual: f64,
}

/// The comparison over the cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub customers: u64,
    pub predicted_total: f64,
    pub actual_total: u64,
    /// Mean over customers of |predicted - actual|.
    pub mean_absolute_error: f64,
    /// Groups 0 to [`TOP_GROUP`] (`TOP_GROUP` meaning "or more"); empty groups included.
    pub by_frequency: Vec<FrequencyGroup>,
}

/// The report.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutReport {
    /// The calibration period's last day (days since 1970-01-01).
    pub calibration_end_day: i64,
    pub holdout_days: u32,
    pub fit: BgNbdFit,
    pub comparison: Comparison,
    pub prediction_failures: u64,
}

#[derive(Debug, Error)]
pub enum HoldoutError {
    #[error("the holdout period must be 1 to {MAX_HOLDOUT_DAYS} days")]
    BadDays,
    #[error("the BG/NBD fit on the calibration period failed: {0}")]
    Fit(#[from] BgNbdError),
    #[error(
        "the BG/NBD fit on the calibration period did not converge in {iterations} iterations: no prediction is made from it"
    )]
    NotConverged { iterations: u64 },
}

/// The purchases of `history` in the `days` days after `calibration_end_day`.
pub fn holdout_purchases(history: &History, calibration_end_day: i64, days: u32) -> u64 {
    let end = calibration_end_day.saturating_add(i64::from(days));
    history
        .days
        .iter()
        .filter(|d| d.day > calibration_end_day && d.day <= end)
        .count() as u64
}

/// The comparison of `(calibration repeat purchases, predicted, actual)` per customer.
pub fn compare(rows: &[(u32, f64, u64)]) -> Comparison {
    let groups = TOP_GROUP as usize + 1;
    let mut sums = vec![(0u64, 0.0f64, 0u64); groups];
    let (mut predicted_total, mut actual_total, mut absolute_error) = (0.0, 0u64, 0.0);
    for &(x, predicted, actual) in rows {
        predicted_total += predicted;
        actual_total = actual_total.saturating_add(actual);
        absolute_error += (predicted - actual as f64).abs();
        let group = &mut sums[x.min(TOP_GROUP) as usize];
        group.0 += 1;
        group.1 += predicted;
        group.2 = group.2.saturating_add(actual);
    }
    let mean = |sum: f64, n: u64| if n == 0 { 0.0 } else { sum / n as f64 };
    let customers = rows.len() as u64;
    Comparison {
        customers,
        predicted_total,
        actual_total,
        mean_absolute_error: mean(absolute_error, customers),
        by_frequency: sums
            .into_iter()
            .zip(0u32..)
            .map(|((n, predicted, actual), x)| FrequencyGroup {
                repeat_purchases: x,
                customers: n,
                mean_predicted: mean(predicted, n),
                mean_actual: mean(actual as f64, n),
            })
            .collect(),
    }
}

/// Calibrates on the orders up to `as_of` (its day is the calibration's last) and compares the
/// predictions for the next `days` days with the purchases made in them, in `currency`.
pub fn holdout(
    customers: &[String],
    orders: &[OrderRow],
    currency: &str,
    as_of: Millis,
    days: u32,
    fit: MleOptions,
) -> Result<HoldoutReport, HoldoutError> {
    if !(1..=MAX_HOLDOUT_DAYS).contains(&days) {
        return Err(HoldoutError::BadDays);
    }
    let calibration_end_day = day_of(as_of);
    let calibration = prepare(customers, orders, currency, as_of);
    let holdout_end = (calibration_end_day + i64::from(days) + 1) * DAY_MS - 1;
    let whole = prepare(customers, orders, currency, holdout_end);
    let mut cohort = Vec::new();
    for (calibrated, history) in calibration.histories.iter().zip(&whole.histories) {
        if let Some(summary) = summarize(calibrated, calibration_end_day)? {
            let actual = holdout_purchases(history, calibration_end_day, days);
            cohort.push((summary, actual));
        }
    }
    let summaries: Vec<_> = cohort.iter().map(|(s, _)| *s).collect();
    let fitted = bgnbd::fit(&summaries, fit)?;
    if !fitted.converged {
        return Err(HoldoutError::NotConverged {
            iterations: fitted.iterations,
        });
    }
    let horizon = f64::from(days) / DAYS_PER_WEEK;
    let mut prediction_failures = 0u64;
    let mut rows = Vec::with_capacity(cohort.len());
    for (summary, actual) in &cohort {
        match bgnbd::expected_purchases(&fitted.params, summary, horizon) {
            Ok(predicted) if predicted.is_finite() => rows.push((summary.x, predicted, *actual)),
            _ => prediction_failures += 1,
        }
    }
    Ok(HoldoutReport {
        calibration_end_day,
        holdout_days: days,
        fit: fitted,
        comparison: compare(&rows),
        prediction_failures,
    })
}

#[cfg(test)]
mod tests;

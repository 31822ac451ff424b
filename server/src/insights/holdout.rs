//! The holdout report against the server's data (`analytics holdout`): the orders read like a
//! run's, BG/NBD calibrated and compared (`analytics::holdout`, pure), nothing stored, so the
//! current results stay as they are.

use std::panic::{AssertUnwindSafe, catch_unwind};

use fieldcrm_core::Millis;
use serde_json::{Value, json};

use super::InsightsError;
use crate::analytics::holdout::{HoldoutReport, TOP_GROUP, holdout};
use crate::analytics::mle::MleOptions;
use crate::storage::Storage;

/// The holdout report as of `as_of` (the calibration's end) for the next `days` days.
pub fn holdout_report(
    storage: &dyn Storage,
    currency: &str,
    as_of: Millis,
    days: u32,
) -> Result<HoldoutReport, InsightsError> {
    let input = storage.analytics_input()?;
    catch_unwind(AssertUnwindSafe(|| {
        holdout(
            &input.customers,
            &input.orders,
            currency,
            as_of,
            days,
            MleOptions::default(),
        )
    }))
    .map_err(|_| InsightsError::Run("the holdout computation panicked".into()))?
    .map_err(|e| InsightsError::Run(e.to_string()))
}

/// A group's label: `0` to `6`, `7+`.
pub fn group_label(repeat_purchases: u32) -> String {
    if repeat_purchases >= TOP_GROUP {
        format!("{TOP_GROUP}+")
    } else {
        repeat_purchases.to_string()
    }
}

/// The report as JSON (numbers finite by construction; a non-finite one would be `null`).
pub fn holdout_json(report: &HoldoutReport, currency: &str) -> Value {
    let finite = |v: f64| v.is_finite().then_some(v);
    let c = &report.comparison;
    let p = &report.fit.params;
    json!({
        "currency": currency,
        "calibration_end": crate::dates::format_date(report.calibration_end_day),
        "holdout_days": report.holdout_days,
        "bgnbd": {
            "params": {"r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b},
            "log_likelihood": finite(report.fit.log_likelihood),
            "iterations": report.fit.iterations,
            "converged": report.fit.converged,
            "at_bound": report.fit.at_bound,
        },
        "customers": c.customers,
        "predicted_total": finite(c.predicted_total),
        "actual_total": c.actual_total,
        "mean_absolute_error": finite(c.mean_absolute_error),
        "prediction_failures": report.prediction_failures,
        "by_frequency": c.by_frequency.iter().map(|g| json!({
            "repeat_purchases": group_label(g.repeat_purchases),
            "customers": g.customers,
            "mean_predicted": finite(g.mean_predicted),
            "mean_actual": finite(g.mean_actual),
        })).collect::<Vec<_>>(),
    })
}

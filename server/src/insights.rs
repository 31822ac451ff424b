//! Analytics runs against the server's data: read the input, compute (`analytics::run`, pure),
//! store the results as the current ones; a failure at any step is recorded with the run and
//! leaves the previous results current. A panic inside the computation (the clustering and
//! optimisation crates run on data devices wrote) is contained and fails the run like an error.
//! Started by the admin command `analytics run` and by the server's schedule.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use serde_json::{Value, json};

use crate::analytics::bgnbd::{BgNbdFit, BgNbdParams};
use crate::analytics::gamma_gamma::{GammaGammaFit, GammaGammaParams};
use crate::analytics::lifetime_value::PreviousParams;
use crate::analytics::run::{RunOutput, RunSettings, compute};
use crate::config::{AnalyticsParams, GradeOption};
use crate::model::now_ms;
use crate::storage::{Storage, StorageError};
use grades::{GradeError, GradesSet, grade_from_abc};

pub mod grades;
pub mod holdout;
pub mod schedule;

#[derive(Debug, thiserror::Error)]
pub enum InsightsError {
    #[error("the analytics run failed: {0}")]
    Run(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("analytics run {run_id} succeeded, but the grades were not set: {error}")]
    Grades { run_id: i64, error: Box<GradeError> },
}

/// A finished run: its id, how long it took, and its report.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDone {
    pub run_id: i64,
    pub elapsed_ms: u64,
    pub report: Value,
}

fn bgnbd_json(p: &BgNbdParams) -> Value {
    json!({"r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b})
}

fn gamma_gamma_json(p: &GammaGammaParams) -> Value {
    json!({"p": p.p, "q": p.q, "gamma": p.gamma})
}

fn fit_json<F, P>(
    fit: &Result<F, impl std::fmt::Display>,
    parts: impl Fn(&F) -> (P, f64, u64, bool, bool, u64),
    params: impl Fn(&P) -> Value,
) -> Value {
    match fit {
        Ok(fit) => {
            let (p, log_likelihood, iterations, converged, at_bound, customers) = parts(fit);
            json!({
                "params": params(&p),
                // A non-finite likelihood is never a fit's result (the fit would be an error);
                // checked again so the report stays valid JSON.
                "log_likelihood": log_likelihood.is_finite().then_some(log_likelihood),
                "iterations": iterations,
                "converged": converged,
                "at_bound": at_bound,
                "customers": customers,
            })
        }
        Err(error) => json!({"error": error.to_string()}),
    }
}

/// The lifetime-value parameters a report says its predictions used: the previous run's, for a
/// run whose fit does not converge.
pub fn previous_params(report: &Value) -> PreviousParams {
    let number = |v: &Value| v.as_f64().filter(|x| x.is_finite());
    let used = &report["models"];
    let bgnbd = &used["bgnbd_used"];
    let gamma = &used["gamma_gamma_used"];
    PreviousParams {
        bgnbd: (|| {
            Some(BgNbdParams {
                r: number(&bgnbd["r"])?,
                alpha: number(&bgnbd["alpha"])?,
                a: number(&bgnbd["a"])?,
                b: number(&bgnbd["b"])?,
            })
        })(),
        gamma_gamma: (|| {
            Some(GammaGammaParams {
                p: number(&gamma["p"])?,
                q: number(&gamma["q"])?,
                gamma: number(&gamma["gamma"])?,
            })
        })(),
    }
}

/// The run's JSON report: input counts, parameters, fitted models, criteria and timings.
fn report(output: &RunOutput, currency: &str, settings: &RunSettings, elapsed_ms: u64) -> Value {
    let c = &output.counts;
    json!({
        "currency": currency,
        "as_of": settings.as_of,
        "elapsed_ms": elapsed_ms,
        "input": {
            "customers": c.customers,
            "orders": c.orders,
            "orders_used": c.used,
            "other_currency": c.other_currency,
            "non_positive": c.non_positive,
            "after_as_of": c.after_as_of,
            "unknown_customer": c.unknown_customer,
            "baskets": output.baskets,
        },
        "parameters": {
            "abc": {
                "window_days": settings.abc.window_days,
                "a_share_bp": settings.abc.a_share_bp,
                "b_share_bp": settings.abc.b_share_bp,
            },
            "rules": {
                "min_support": settings.rules.min_support,
                "min_confidence": settings.rules.min_confidence,
                "min_lift": settings.rules.min_lift,
                "max_len": settings.rules.max_len,
                "max_rules": settings.rules.max_rules,
            },
            "clusters": {
                "max_k": settings.clusters.max_k,
                "fit_sample": settings.clusters.fit_sample,
                "silhouette_sample": settings.clusters.silhouette_sample,
            },
            "next_best": settings.next_best,
            "clv_monthly_discount": settings.lifetime.clv.monthly_discount,
        },
        "models": {
            "bgnbd": fit_json(&output.bgnbd, |f: &BgNbdFit| (f.params, f.log_likelihood, f.iterations, f.converged, f.at_bound, f.customers), bgnbd_json),
            "gamma_gamma": fit_json(&output.gamma_gamma, |f: &GammaGammaFit| (f.params, f.log_likelihood, f.iterations, f.converged, f.at_bound, f.customers), gamma_gamma_json),
            "bgnbd_used": output.bgnbd_used.as_ref().map(bgnbd_json),
            "gamma_gamma_used": output.gamma_gamma_used.as_ref().map(gamma_gamma_json),
            "prediction_failures": output.prediction_failures,
        },
        "results": {
            "rfm_grid": output.rfm_grid,
            "abc": output.abc_totals.iter().zip(["A", "B", "C"]).map(|(t, class)| json!({
                "class": class,
                "customers": t.customers,
                "revenue_minor": t.revenue_minor,
            })).collect::<Vec<_>>(),
            "pareto": output.pareto.iter().map(|p| [p.customer_share, p.revenue_share]).collect::<Vec<_>>(),
            "clusters": output.clusters.iter().map(|c| json!({
                "customers": c.customers,
                "description": c.description,
            })).collect::<Vec<_>>(),
            "silhouettes": output.silhouettes.iter().map(|(k, s)| json!({"k": k, "silhouette": s})).collect::<Vec<_>>(),
            "frequent_itemsets": output.frequent_itemsets,
            "rules_found": output.rules_found,
            "rules_kept": output.rules.len(),
        },
        "timings_ms": {
            "prepare": output.timings.prepare_ms,
            "rfm_abc": output.timings.rfm_abc_ms,
            "lifetime": output.timings.lifetime_ms,
            "clusters": output.timings.clusters_ms,
            "rules": output.timings.rules_ms,
        },
    })
}

/// Runs the analytics as of `settings.as_of` in `currency`, and makes the results current.
pub fn run(
    storage: &dyn Storage,
    currency: &str,
    mut settings: RunSettings,
) -> Result<RunDone, InsightsError> {
    let started = Instant::now();
    if let Some(report) = storage
        .current_analytics_run()?
        .and_then(|run| run.report)
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
    {
        settings.lifetime.previous = previous_params(&report);
    }
    let run_id = storage.start_analytics_run(settings.as_of, currency, now_ms())?;
    let outcome = storage
        .analytics_input()
        .map_err(|e| e.to_string())
        .and_then(|input| {
            catch_unwind(AssertUnwindSafe(|| compute(&input, currency, settings)))
                .map_err(|_| "the computation panicked".to_owned())?
                .map_err(|e| e.to_string())
        });
    let output = match outcome {
        Ok(output) => output,
        Err(error) => {
            tracing::warn!(run_id, %error, "analytics run failed");
            storage.fail_analytics_run(run_id, &error, now_ms())?;
            return Err(InsightsError::Run(error));
        }
    };
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let report = report(&output, currency, &settings, elapsed_ms);
    if let Err(error) = storage.store_analytics_run(run_id, &output, &report.to_string(), now_ms())
    {
        tracing::warn!(run_id, %error, "analytics results could not be stored");
        storage.fail_analytics_run(run_id, &error.to_string(), now_ms())?;
        return Err(error.into());
    }
    Ok(RunDone {
        run_id,
        elapsed_ms,
        report,
    })
}

/// A run as the organisation configured it (the admin command's and the schedule's): the
/// run with `params` as of `as_of`, then, with `--grade-from-abc`, the grades set from its
/// ABC classes.
pub fn run_configured(
    storage: &dyn Storage,
    params: &AnalyticsParams,
    grade: &GradeOption,
    as_of: fieldcrm_core::Millis,
) -> Result<(RunDone, Option<GradesSet>), InsightsError> {
    let done = run(storage, &params.currency, params.settings(as_of))?;
    let grades = match &grade.grade_from_abc {
        Some(admin) => Some(
            grade_from_abc(storage, done.run_id, admin).map_err(|error| InsightsError::Grades {
                run_id: done.run_id,
                error: Box::new(error),
            })?,
        ),
        None => None,
    };
    Ok((done, grades))
}

#[cfg(test)]
mod tests;

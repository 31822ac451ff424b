//! Lifetime value over every customer: BG/NBD and Gamma-Gamma fitted once, then each
//! customer's expected purchases in the next 90 days, P(alive), expected spend, 12-month CLV
//! and churn risk. The run's entry point and the one `bgnbd_gg_fit_s` times.
//!
//! - Summaries are computed once; the fits group identical ones (see `bgnbd::FitData`).
//! - **A fit that fails or does not converge** is reported as such (`bgnbd` /
//!   `gamma_gamma`), and the predictions use the previous run's parameters when the caller
//!   passes them ([`LifetimeOptions::previous`]), or are left out (`None`) when it has none:
//!   parameters from an unfinished search are never used. A converged fit with a parameter at
//!   the search's bound (`at_bound`, see `mle`) is used: it is the model's limit (e.g. spends
//!   that do not differ between customers beyond chance), and the report says so.
//! - **Per customer**, a value the formulas cannot give as a finite number (e.g. a
//!   hypergeometric series that cannot converge for a customer acquired today under extreme
//!   parameters) is `None` and counted in [`LifetimeValues::prediction_failures`]; it never
//!   fails the run. Customers without purchases get `None` everywhere (see each model's docs).

use thiserror::Error;

use super::bgnbd::{
    self, BgNbdError, BgNbdFit, BgNbdParams, NEXT_90_DAYS_WEEKS, Summary, summarize,
};
use super::churn::{ChurnRisk, ChurnRule, churn_risk, population_interval_days};
use super::gamma_gamma::{
    self, ClvOptions, GammaGammaError, GammaGammaFit, GammaGammaParams, SpendSummary,
    clv_12_months, expected_spend, repeat_spend,
};
use super::input::History;
use super::mle::MleOptions;

/// Parameters of an earlier run, used when this run's fit fails or does not converge.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PreviousParams {
    pub bgnbd: Option<BgNbdParams>,
    pub gamma_gamma: Option<GammaGammaParams>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LifetimeOptions {
    pub fit: MleOptions,
    pub clv: ClvOptions,
    pub churn: ChurnRule,
    pub previous: PreviousParams,
}

/// One customer's results (money in the reporting currency's minor units).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerLifetime {
    pub customer_id: String,
    pub expected_purchases_90d: Option<f64>,
    pub p_alive: Option<f64>,
    pub expected_spend_minor: Option<f64>,
    pub clv_12m_minor: Option<f64>,
    pub churn: Option<ChurnRisk>,
}

/// Every customer's results (in the order of the histories) and the fits.
#[derive(Debug)]
pub struct LifetimeValues {
    pub customers: Vec<CustomerLifetime>,
    pub bgnbd: Result<BgNbdFit, BgNbdError>,
    pub gamma_gamma: Result<GammaGammaFit, GammaGammaError>,
    /// The parameters the predictions used (this run's when converged, else the previous).
    pub bgnbd_used: Option<BgNbdParams>,
    pub gamma_gamma_used: Option<GammaGammaParams>,
    /// Customers with a purchase for whom some value could not be computed.
    pub prediction_failures: u64,
}

#[derive(Debug, Error)]
pub enum LifetimeError {
    #[error("customer {customer} has a purchase after the as-of day")]
    PurchaseAfterAsOf { customer: String },
}

/// Fits both models over `histories` as of `as_of_day` and predicts for every customer.
pub fn lifetime_values(
    histories: &[History],
    as_of_day: i64,
    options: &LifetimeOptions,
) -> Result<LifetimeValues, LifetimeError> {
    let mut summaries: Vec<Option<Summary>> = Vec::with_capacity(histories.len());
    for history in histories {
        let summary =
            summarize(history, as_of_day).map_err(|_| LifetimeError::PurchaseAfterAsOf {
                customer: history.customer_id.clone(),
            })?;
        summaries.push(summary);
    }
    let spends: Vec<Option<SpendSummary>> = histories.iter().map(repeat_spend).collect();

    let fitted: Vec<Summary> = summaries.iter().flatten().copied().collect();
    let bgnbd = bgnbd::fit(&fitted, options.fit);
    let bgnbd_used = match &bgnbd {
        Ok(fit) if fit.converged => Some(fit.params),
        _ => options.previous.bgnbd,
    };
    let with_repeats: Vec<SpendSummary> = spends.iter().flatten().copied().collect();
    let gamma_gamma = gamma_gamma::fit(&with_repeats, options.fit);
    let gamma_gamma_used = match &gamma_gamma {
        Ok(fit) if fit.converged => Some(fit.params),
        _ => options.previous.gamma_gamma,
    };

    let population_interval = population_interval_days(histories);
    let mut prediction_failures = 0u64;
    let mut customers = Vec::with_capacity(histories.len());
    for ((history, summary), spend) in histories.iter().zip(&summaries).zip(&spends) {
        let mut failed = false;
        let mut keep = |value: Option<f64>| {
            failed |= value.is_none();
            value
        };
        let mut row = CustomerLifetime {
            customer_id: history.customer_id.clone(),
            expected_purchases_90d: None,
            p_alive: None,
            expected_spend_minor: None,
            clv_12m_minor: None,
            churn: None,
        };
        if let Some(summary) = summary {
            if let Some(bg) = &bgnbd_used {
                row.expected_purchases_90d =
                    keep(bgnbd::expected_purchases(bg, summary, NEXT_90_DAYS_WEEKS).ok());
                row.p_alive = keep(bgnbd::p_alive(bg, summary).ok());
            }
            if let Some(gg) = &gamma_gamma_used {
                row.expected_spend_minor = keep(expected_spend(gg, spend.as_ref()).ok());
            }
            if let (Some(bg), Some(spend_minor)) = (&bgnbd_used, row.expected_spend_minor) {
                row.clv_12m_minor = keep(clv_12_months(bg, summary, spend_minor, options.clv).ok());
            }
        }
        // The as-of day was checked above; a bad rule or P(alive) is counted, not fatal.
        match churn_risk(
            history,
            as_of_day,
            row.p_alive,
            population_interval,
            &options.churn,
        ) {
            Ok(risk) => row.churn = risk,
            Err(_) => failed = true,
        }
        if failed {
            prediction_failures += 1;
        }
        customers.push(row);
    }
    Ok(LifetimeValues {
        customers,
        bgnbd,
        gamma_gamma,
        bgnbd_used,
        gamma_gamma_used,
        prediction_failures,
    })
}

#[cfg(test)]
mod tests;

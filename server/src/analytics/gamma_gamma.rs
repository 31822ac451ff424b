//! Gamma-Gamma: how much each customer spends per purchase, and the 12-month customer lifetime
//! value (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves for customer base
//! analysis", Journal of Marketing Research 42(4); Fader & Hardie, "The Gamma-Gamma model of
//! monetary value", 2013 note).
//!
//! The model (p, q, γ parametrisation): a customer's purchase amounts are Gamma(p, ν), ν ~
//! Gamma(q, γ) across customers, independent of how often they buy. It is fitted on customers
//! with repeat purchases (x ≥ 1) from x and m_x, the mean amount of their **repeat** purchases
//! (the first purchase day is left out, as in the paper). Amounts are in the reporting
//! currency's minor units, so γ is too.
//!
//! Per customer:
//! - expected average spend E[M | x, m_x] = p(γ + x·m_x)/(px + q - 1) (the paper's weighted
//!   mean of the population mean pγ/(q-1) and the customer's m_x); a customer with one
//!   purchase (x = 0) gets the population mean; q ≤ 1 means that mean is infinite, an error;
//! - CLV over the next 12 months: Σᵢ₌₁..₁₂ spend · (E[Y(i·w)] - E[Y((i-1)·w)]) / (1+d)^i, with
//!   w = 52/12 weeks (a month), E[Y(t)] BG/NBD's expected purchases and d the monthly discount
//!   rate ([`ClvOptions`], default 1 %): the discounted expected margin of the literature, taken
//!   month by month, with each month's purchases discounted at its end.
//!   Undiscounted (d = 0) it is spend · E[Y(52 weeks)].

use statrs::function::gamma::ln_gamma;
use thiserror::Error;

use super::bgnbd::{BgNbdError, BgNbdParams, Summary, expected_purchases};
use super::input::History;
use super::mle::{MleError, MleOptions, maximise};

/// Months in the CLV horizon and weeks in a month (12 months = 52 weeks).
pub const CLV_MONTHS: u32 = 12;
pub const WEEKS_PER_MONTH: f64 = 52.0 / 12.0;

/// A customer's repeat purchases and their mean amount (minor units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpendSummary {
    pub x: u32,
    pub mean_minor: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGammaParams {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

/// A fit's result, like BG/NBD's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGammaFit {
    pub params: GammaGammaParams,
    pub log_likelihood: f64,
    pub iterations: u64,
    pub converged: bool,
    /// A parameter ended at the search's bound [1e-4, 1e4] (γ in units of the mean m_x; see
    /// `mle`): the model's limit, when the amounts do not follow the model's story (e.g. q
    /// when customers' mean spends do not differ beyond chance, p when one customer's amounts
    /// hardly vary).
    pub at_bound: bool,
    /// Customers in the fit (those with a repeat purchase).
    pub customers: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvOptions {
    /// Discount rate per month (0.01: 1 %).
    pub monthly_discount: f64,
}

impl Default for ClvOptions {
    fn default() -> Self {
        Self {
            monthly_discount: 0.01,
        }
    }
}

#[derive(Debug, Error)]
pub enum GammaGammaError {
    #[error("no customer has a repeat purchase: there is nothing to fit")]
    NoRepeatCustomers,
    #[error("a spend summary is not valid (needs x >= 1 and a finite, positive mean)")]
    BadSummary,
    #[error("parameters must be finite and positive")]
    BadParams,
    #[error("q <= 1: the fitted population's mean spend is infinite")]
    InfiniteMeanSpend,
    #[error("the discount rate must be finite and above -100 %")]
    BadDiscount,
    #[error(transparent)]
    Fit(#[from] MleError),
    #[error(transparent)]
    BgNbd(#[from] BgNbdError),
    #[error("{0} is not a finite number")]
    NonFinite(&'static str),
}

/// The customer's repeat purchases and their mean amount, or `None` without a repeat purchase.
pub fn repeat_spend(history: &History) -> Option<SpendSummary> {
    let repeats = history.days.get(1..)?;
    if repeats.is_empty() {
        return None;
    }
    let total: f64 = repeats.iter().map(|d| d.amount_minor as f64).sum();
    Some(SpendSummary {
        x: u32::try_from(repeats.len()).unwrap_or(u32::MAX),
        mean_minor: total / repeats.len() as f64,
    })
}

fn valid(s: &SpendSummary) -> bool {
    s.x >= 1 && s.mean_minor.is_finite() && s.mean_minor > 0.0
}

fn valid_params(p: &GammaGammaParams) -> bool {
    [p.p, p.q, p.gamma]
        .iter()
        .all(|v| v.is_finite() && *v > 0.0)
}

/// The summaries prepared once for many likelihood evaluations (logarithms taken once; the
/// gamma functions once per distinct x).
#[derive(Debug, Clone)]
struct SpendData {
    rows: Vec<Row>,
    xs: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    x_at: u32,
    x: f64,
    mean: f64,
    ln_mean: f64,
    ln_x: f64,
}

impl SpendData {
    fn new(summaries: &[SpendSummary]) -> Result<Self, GammaGammaError> {
        if summaries.iter().any(|s| !valid(s)) {
            return Err(GammaGammaError::BadSummary);
        }
        let mut xs: Vec<u32> = summaries.iter().map(|s| s.x).collect();
        xs.sort_unstable();
        xs.dedup();
        let rows = summaries
            .iter()
            .map(|s| Row {
                x_at: xs.binary_search(&s.x).unwrap_or(0) as u32,
                x: f64::from(s.x),
                mean: s.mean_minor,
                ln_mean: s.mean_minor.ln(),
                ln_x: f64::from(s.x).ln(),
            })
            .collect();
        Ok(Self { rows, xs })
    }

    /// The mean log-likelihood per customer of the paper's f(m_x | p, q, γ, x) =
    /// Γ(px+q)/(Γ(px)Γ(q)) · γ^q m_x^(px-1) x^(px) / (γ + m_x x)^(px+q).
    fn mean_log_likelihood(&self, params: &GammaGammaParams) -> f64 {
        if self.rows.is_empty() {
            return f64::NAN;
        }
        let GammaGammaParams { p, q, gamma } = *params;
        let per_x: Vec<f64> = self
            .xs
            .iter()
            .map(|&x| {
                let px = p * f64::from(x);
                ln_gamma(px + q) - ln_gamma(px)
            })
            .collect();
        let constant = q * gamma.ln() - ln_gamma(q);
        let mut total = 0.0;
        for row in &self.rows {
            let px = p * row.x;
            total += per_x[row.x_at as usize] + (px - 1.0) * row.ln_mean + px * row.ln_x
                - (px + q) * (gamma + row.mean * row.x).ln();
        }
        constant + total / self.rows.len() as f64
    }
}

/// The total log-likelihood of `summaries` at `params`.
pub fn log_likelihood(
    summaries: &[SpendSummary],
    params: &GammaGammaParams,
) -> Result<f64, GammaGammaError> {
    if !valid_params(params) {
        return Err(GammaGammaError::BadParams);
    }
    let data = SpendData::new(summaries)?;
    let ll = data.mean_log_likelihood(params) * data.rows.len() as f64;
    if ll.is_finite() {
        Ok(ll)
    } else {
        Err(GammaGammaError::NonFinite("the log-likelihood"))
    }
}

/// The maximum-likelihood fit over customers with repeat purchases. The amounts are divided by
/// their mean for the search (γ scales with the currency's unit, the rest do not; so γ's start
/// and the search's bounds mean the same for cents and for yen), and γ is scaled back. Start
/// values: p = 1, q = 2, γ = 1 (in mean units: the start's population mean pγ/(q-1) is the
/// sample's).
pub fn fit(
    summaries: &[SpendSummary],
    options: MleOptions,
) -> Result<GammaGammaFit, GammaGammaError> {
    if summaries.is_empty() {
        return Err(GammaGammaError::NoRepeatCustomers);
    }
    let data = SpendData::new(summaries)?;
    let scale = summaries.iter().map(|s| s.mean_minor).sum::<f64>() / summaries.len() as f64;
    let scaled: Vec<SpendSummary> = summaries
        .iter()
        .map(|s| SpendSummary {
            x: s.x,
            mean_minor: s.mean_minor / scale,
        })
        .collect();
    let scaled = SpendData::new(&scaled)?;
    let outcome = maximise(
        |v: &[f64]| {
            scaled.mean_log_likelihood(&GammaGammaParams {
                p: v[0],
                q: v[1],
                gamma: v[2],
            })
        },
        &[1.0, 2.0, 1.0],
        options,
    )?;
    let [p, q, gamma] = outcome.params[..] else {
        return Err(GammaGammaError::NonFinite("the fitted parameters"));
    };
    let params = GammaGammaParams {
        p,
        q,
        gamma: gamma * scale,
    };
    if !valid_params(&params) {
        return Err(GammaGammaError::NonFinite("the fitted parameters"));
    }
    let customers = summaries.len() as u64;
    let log_likelihood = data.mean_log_likelihood(&params) * customers as f64;
    if !log_likelihood.is_finite() {
        return Err(GammaGammaError::NonFinite("the log-likelihood"));
    }
    Ok(GammaGammaFit {
        params,
        log_likelihood,
        iterations: outcome.iterations,
        converged: outcome.converged,
        at_bound: outcome.at_bound,
        customers,
    })
}

/// E[M | x, m_x]: the expected amount of the customer's future purchases (minor units); the
/// population mean pγ/(q-1) for a customer without repeat purchases (`None`).
pub fn expected_spend(
    params: &GammaGammaParams,
    summary: Option<&SpendSummary>,
) -> Result<f64, GammaGammaError> {
    if !valid_params(params) {
        return Err(GammaGammaError::BadParams);
    }
    let GammaGammaParams { p, q, gamma } = *params;
    let value = match summary {
        None => {
            if q <= 1.0 {
                return Err(GammaGammaError::InfiniteMeanSpend);
            }
            p * gamma / (q - 1.0)
        }
        Some(s) => {
            if !valid(s) {
                return Err(GammaGammaError::BadSummary);
            }
            let x = f64::from(s.x);
            let weight = p * x + q - 1.0;
            if weight <= 0.0 {
                return Err(GammaGammaError::InfiniteMeanSpend);
            }
            p * (gamma + x * s.mean_minor) / weight
        }
    };
    if value.is_finite() {
        Ok(value)
    } else {
        Err(GammaGammaError::NonFinite("the expected spend"))
    }
}

/// The customer's lifetime value over the next 12 months (minor units), see the module docs.
pub fn clv_12_months(
    bg: &BgNbdParams,
    summary: &Summary,
    spend_minor: f64,
    options: ClvOptions,
) -> Result<f64, GammaGammaError> {
    let d = options.monthly_discount;
    if !(d.is_finite() && d > -1.0) {
        return Err(GammaGammaError::BadDiscount);
    }
    if !(spend_minor.is_finite() && spend_minor >= 0.0) {
        return Err(GammaGammaError::BadSummary);
    }
    let mut value = 0.0;
    let mut before = 0.0;
    for month in 1..=CLV_MONTHS {
        let until = expected_purchases(bg, summary, f64::from(month) * WEEKS_PER_MONTH)?;
        value += (until - before).max(0.0) / (1.0 + d).powi(month as i32);
        before = until;
    }
    let value = value * spend_minor;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(GammaGammaError::NonFinite("the CLV"))
    }
}

#[cfg(test)]
mod tests;

//! BG/NBD: how often each customer will buy, and whether they are still a customer at all
//! (Fader, Hardie & Lee 2005, "Counting your customers the easy way: an alternative to the
//! Pareto/NBD model", Marketing Science 24(2)).
//!
//! The model: while active, a customer buys at rate λ (Poisson), λ ~ Gamma(r, α) across
//! customers; after each repeat purchase they drop out for good with probability p,
//! p ~ Beta(a, b).
//!
//! **Time unit: weeks** (a day is 1/7 week), as in the paper, so α reads in weeks. A customer's
//! summary, from their [`History`] and the run's as-of day:
//! - x: repeat purchases (purchase days after the first; several orders on one day are one);
//! - t_x: weeks from the first purchase day to the last ("recency"; 0 when x = 0);
//! - T: weeks from the first purchase day to the as-of day ("age").
//!
//! **Customers without purchases** (in the reporting currency, up to the as-of day) have no
//! summary: they are not in the fit and get no prediction (the model describes customers from
//! their first purchase on). A customer with one purchase (x = 0) is in the fit; their P(alive)
//! is 1 by the model's construction (dropout happens only after a repeat purchase).

use statrs::function::gamma::ln_gamma;
use thiserror::Error;

use super::hyp2f1::{Hyp2f1Error, hyp2f1, hyp2f1_excess_over_b};
use super::input::History;
use super::mle::{MleError, MleOptions, maximise};

pub const DAYS_PER_WEEK: f64 = 7.0;

/// The horizon of the reported expected purchases: the next 90 days, in weeks.
pub const NEXT_90_DAYS_WEEKS: f64 = 90.0 / DAYS_PER_WEEK;

/// A customer's sufficient statistics (weeks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub x: u32,
    pub t_x: f64,
    pub t: f64,
}

/// BG/NBD's parameters (α in weeks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// What a fit returns: its parameters, the total log-likelihood at them, the optimiser's
/// iterations and whether it converged (a fit that did not converge still reports where it
/// stopped; the caller decides, see `lifetime_value`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbdFit {
    pub params: BgNbdParams,
    pub log_likelihood: f64,
    pub iterations: u64,
    pub converged: bool,
    /// A parameter ended at the search's bound [1e-4, 1e4] (see `mle`): the model's limit.
    pub at_bound: bool,
    /// Customers in the fit (those with at least one purchase).
    pub customers: u64,
}

#[derive(Debug, Error)]
pub enum BgNbdError {
    #[error("customer {customer} has a purchase after the as-of day")]
    PurchaseAfterAsOf { customer: String },
    #[error("no customer has a purchase: there is nothing to fit")]
    NoCustomers,
    #[error("a summary is not valid (needs 0 <= t_x <= T, finite; t_x = 0 when x = 0)")]
    BadSummary,
    #[error("parameters must be finite and positive")]
    BadParams,
    #[error("the horizon must be finite and not negative")]
    BadHorizon,
    #[error(transparent)]
    Fit(#[from] MleError),
    #[error(transparent)]
    Hypergeometric(#[from] Hyp2f1Error),
    #[error("{0} is not a finite number")]
    NonFinite(&'static str),
}

/// A customer's summary as of `as_of_day` (days since 1970-01-01), or `None` without purchases.
pub fn summarize(history: &History, as_of_day: i64) -> Result<Option<Summary>, BgNbdError> {
    let (Some(first), Some(last)) = (history.first_day(), history.last_day()) else {
        return Ok(None);
    };
    if last > as_of_day {
        return Err(BgNbdError::PurchaseAfterAsOf {
            customer: history.customer_id.clone(),
        });
    }
    let x = u32::try_from(history.repeat_purchases()).unwrap_or(u32::MAX);
    Ok(Some(Summary {
        x,
        t_x: (last - first) as f64 / DAYS_PER_WEEK,
        t: (as_of_day - first) as f64 / DAYS_PER_WEEK,
    }))
}

fn valid(s: &Summary) -> bool {
    s.t_x.is_finite()
        && s.t.is_finite()
        && 0.0 <= s.t_x
        && s.t_x <= s.t
        && (s.x > 0 || s.t_x == 0.0)
}

fn valid_params(p: &BgNbdParams) -> bool {
    [p.r, p.alpha, p.a, p.b]
        .iter()
        .all(|v| v.is_finite() && *v > 0.0)
}

/// The summaries prepared once for many likelihood evaluations: identical summaries are one
/// weighted group, and the logarithms of α + (a time) are taken once per distinct time.
#[derive(Debug, Clone)]
struct FitData {
    groups: Vec<Group>,
    /// Distinct repeat counts, ascending.
    xs: Vec<u32>,
    /// Distinct times (t_x and T values), ascending.
    times: Vec<f64>,
    customers: u64,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    weight: f64,
    x_at: u32,
    t_x_at: u32,
    t_at: u32,
}

impl FitData {
    fn new(summaries: &[Summary]) -> Result<Self, BgNbdError> {
        if summaries.iter().any(|s| !valid(s)) {
            return Err(BgNbdError::BadSummary);
        }
        let mut sorted: Vec<(u32, u64, u64)> = summaries
            .iter()
            .map(|s| (s.x, s.t_x.to_bits(), s.t.to_bits()))
            .collect();
        sorted.sort_unstable();
        let mut xs: Vec<u32> = sorted.iter().map(|k| k.0).collect();
        xs.dedup();
        let mut times: Vec<f64> = summaries.iter().flat_map(|s| [s.t_x, s.t]).collect();
        times.sort_unstable_by(f64::total_cmp);
        times.dedup();
        let at = |list: &[f64], v: u64| {
            list.binary_search_by(|p| p.total_cmp(&f64::from_bits(v)))
                .unwrap_or(0) as u32
        };
        let mut groups: Vec<Group> = Vec::new();
        let mut previous = None;
        for key in &sorted {
            if previous == Some(*key) {
                if let Some(g) = groups.last_mut() {
                    g.weight += 1.0;
                }
                continue;
            }
            previous = Some(*key);
            groups.push(Group {
                weight: 1.0,
                x_at: xs.binary_search(&key.0).unwrap_or(0) as u32,
                t_x_at: at(&times, key.1),
                t_at: at(&times, key.2),
            });
        }
        Ok(Self {
            groups,
            xs,
            times,
            customers: summaries.len() as u64,
        })
    }

    /// The mean log-likelihood per customer (non-finite when the parameters overflow it).
    fn mean_log_likelihood(&self, p: &BgNbdParams) -> f64 {
        if self.customers == 0 {
            return f64::NAN;
        }
        let BgNbdParams { r, alpha, a, b } = *p;
        let ln_alpha_plus: Vec<f64> = self.times.iter().map(|t| (alpha + t).ln()).collect();
        // Per distinct x: ln Γ(r+x) - ln Γ(r) + ln B(a, b+x) - ln B(a, b), and ln(a/(b+x-1)).
        let (lg_r, lg_b, lg_ab, ln_a) = (ln_gamma(r), ln_gamma(b), ln_gamma(a + b), a.ln());
        let per_x: Vec<(f64, f64)> = self
            .xs
            .iter()
            .map(|&x| {
                let x = f64::from(x);
                let gamma_part =
                    ln_gamma(r + x) - lg_r + ln_gamma(b + x) - lg_b + lg_ab - ln_gamma(a + b + x);
                let dropout = if x > 0.0 {
                    ln_a - (b + x - 1.0).ln()
                } else {
                    f64::NAN
                };
                (gamma_part, dropout)
            })
            .collect();
        let r_ln_alpha = r * alpha.ln();
        let mut total = 0.0;
        for g in &self.groups {
            let x = self.xs[g.x_at as usize];
            let (gamma_part, dropout) = per_x[g.x_at as usize];
            let rx = r + f64::from(x);
            let active = -rx * ln_alpha_plus[g.t_at as usize];
            let ll = if x > 0 {
                let dropped = dropout - rx * ln_alpha_plus[g.t_x_at as usize];
                log_add_exp(active, dropped)
            } else {
                active
            };
            total += g.weight * (r_ln_alpha + gamma_part + ll);
        }
        total / self.customers as f64
    }
}

/// ln(eᵘ + eᵛ) without overflow.
fn log_add_exp(u: f64, v: f64) -> f64 {
    let (hi, lo) = if u >= v { (u, v) } else { (v, u) };
    hi + (lo - hi).exp().ln_1p()
}

/// ln(1 + eʸ) without overflow.
fn softplus(y: f64) -> f64 {
    y.max(0.0) + (-y.abs()).exp().ln_1p()
}

/// The total log-likelihood of `summaries` at `params`.
pub fn log_likelihood(summaries: &[Summary], params: &BgNbdParams) -> Result<f64, BgNbdError> {
    if !valid_params(params) {
        return Err(BgNbdError::BadParams);
    }
    let data = FitData::new(summaries)?;
    let ll = data.mean_log_likelihood(params) * data.customers as f64;
    if ll.is_finite() {
        Ok(ll)
    } else {
        Err(BgNbdError::NonFinite("the log-likelihood"))
    }
}

/// Start values: r = 1, a = 1, b = 3 (as BTYD's examples start), and α = mean T / mean x
/// (so the start's mean purchase rate r/α is the sample's), between 1 and 1,000 weeks.
fn start_values(data: &FitData, summaries: &[Summary]) -> BgNbdParams {
    let n = data.customers.max(1) as f64;
    let mean_x = summaries.iter().map(|s| f64::from(s.x)).sum::<f64>() / n;
    let mean_t = summaries.iter().map(|s| s.t).sum::<f64>() / n;
    let alpha = if mean_x > 0.0 { mean_t / mean_x } else { 1.0 };
    BgNbdParams {
        r: 1.0,
        alpha: if alpha.is_finite() {
            alpha.max(1.0)
        } else {
            1.0
        },
        a: 1.0,
        b: 3.0,
    }
}

/// The maximum-likelihood fit over `summaries` (customers with at least one purchase).
pub fn fit(summaries: &[Summary], options: MleOptions) -> Result<BgNbdFit, BgNbdError> {
    if summaries.is_empty() {
        return Err(BgNbdError::NoCustomers);
    }
    let data = FitData::new(summaries)?;
    let start = start_values(&data, summaries);
    let outcome = maximise(
        |p: &[f64]| {
            data.mean_log_likelihood(&BgNbdParams {
                r: p[0],
                alpha: p[1],
                a: p[2],
                b: p[3],
            })
        },
        &[start.r, start.alpha, start.a, start.b],
        options,
    )?;
    let [r, alpha, a, b] = outcome.params[..] else {
        return Err(BgNbdError::NonFinite("the fitted parameters"));
    };
    let log_likelihood = outcome.mean_log_likelihood * data.customers as f64;
    if !log_likelihood.is_finite() {
        return Err(BgNbdError::NonFinite("the log-likelihood"));
    }
    Ok(BgNbdFit {
        params: BgNbdParams { r, alpha, a, b },
        log_likelihood,
        iterations: outcome.iterations,
        converged: outcome.converged,
        at_bound: outcome.at_bound,
        customers: data.customers,
    })
}

/// ln of the odds "dropped out after the last purchase" to "still active" given the summary
/// (x > 0): ln(a/(b+x-1)) + (r+x) ln((α+T)/(α+t_x)).
fn dropout_log_odds(p: &BgNbdParams, s: &Summary) -> f64 {
    let x = f64::from(s.x);
    (p.a / (p.b + x - 1.0)).ln() + (p.r + x) * ((p.alpha + s.t).ln() - (p.alpha + s.t_x).ln())
}

/// P(alive): the probability the customer is still active at T (paper, eq. 11). 1 when x = 0.
pub fn p_alive(p: &BgNbdParams, s: &Summary) -> Result<f64, BgNbdError> {
    if !valid_params(p) {
        return Err(BgNbdError::BadParams);
    }
    if !valid(s) {
        return Err(BgNbdError::BadSummary);
    }
    if s.x == 0 {
        return Ok(1.0);
    }
    let value = (-softplus(dropout_log_odds(p, s))).exp();
    if value.is_finite() {
        Ok(value)
    } else {
        Err(BgNbdError::NonFinite("P(alive)"))
    }
}

/// E[Y(t) | x, t_x, T]: the expected purchases in the next `t` weeks (paper, eq. 10):
///
/// (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; z)] / D,
/// z = t/(α+T+t), D = 1 + [x > 0] · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x).
///
/// Evaluated as (a+b+x-1) · [(1-g)/(a-1) - g · (F'-1)/(a-1)] / D, with Euler's transformation
/// (1-z)^(r+x) 2F1(r+x, b+x; c; z) = g · F', g = (1-z)^(a-1), F' = 2F1(a+b-1-r, a-1; c; z):
/// the parameters of F' stay small whatever x, and dividing (F'-1) and (1-g) by (a-1)
/// analytically keeps the formula exact as a approaches 1 (where it reads 0/0 as written).
pub fn expected_purchases(p: &BgNbdParams, s: &Summary, t: f64) -> Result<f64, BgNbdError> {
    if !valid_params(p) {
        return Err(BgNbdError::BadParams);
    }
    if !valid(s) {
        return Err(BgNbdError::BadSummary);
    }
    if !(t.is_finite() && t >= 0.0) {
        return Err(BgNbdError::BadHorizon);
    }
    if t == 0.0 {
        return Ok(0.0);
    }
    let x = f64::from(s.x);
    let eps = p.a - 1.0;
    let c = p.a + p.b + x - 1.0;
    let z = t / (p.alpha + s.t + t);
    let ln_one_minus_z = (p.alpha + s.t).ln() - (p.alpha + s.t + t).ln();
    let g = (eps * ln_one_minus_z).exp();
    let one_minus_g_over_eps = if eps == 0.0 {
        -ln_one_minus_z
    } else {
        -(eps * ln_one_minus_z).exp_m1() / eps
    };
    let numerator = match hyp2f1_excess_over_b(p.a + p.b - 1.0 - p.r, eps, c, z) {
        Ok(excess_over_eps) => c * (one_minus_g_over_eps - g * excess_over_eps),
        // Euler's form has parameters of the size of a + b: when a fit runs a and b to the
        // optimiser's bound (no sign of dropping out), its series does not converge, while
        // the direct one, whose ratio is about (r+x)(b+x)/c · z, converges fast; a is then
        // far from 1, so dividing by a - 1 as written is exact enough.
        Err(_) if eps.abs() >= 1.0 => {
            let direct = hyp2f1(p.r + x, p.b + x, c, z)?;
            c / eps * (1.0 - ((p.r + x) * ln_one_minus_z).exp() * direct)
        }
        Err(error) => return Err(error.into()),
    };
    let still_active = if s.x > 0 {
        (-softplus(dropout_log_odds(p, s))).exp()
    } else {
        1.0
    };
    let value = numerator * still_active;
    if value.is_finite() {
        Ok(value.max(0.0))
    } else {
        Err(BgNbdError::NonFinite("the expected purchases"))
    }
}

#[cfg(test)]
pub(crate) mod tests;

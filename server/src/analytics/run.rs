//! One analytics run over plain rows: every metric of this module computed for every
//! customer, with the counts and parameters a run records. Pure: the storage reads the rows
//! and stores the [`RunOutput`]; nothing is stored when this fails, so a failed run leaves the
//! previous results in place.
//!
//! A run is "as of" a moment: only orders up to it count (`input.rs`), and recency, windows and
//! the frequency models are measured to its day, so a run as of a past date is a calibration
//! run for a backtest.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use fieldcrm_core::Millis;
use fieldcrm_core::cross_sell::{CrossSellRule, CrossSellRules, Offer};
use thiserror::Error;

use super::abc::{AbcClass, AbcSettings, AbcSettingsError, ClassTotals, ParetoPoint, abc};
use super::bgnbd::{BgNbdError, BgNbdFit, BgNbdParams};
use super::churn::ChurnLevel;
use super::clusters::{Cluster, ClusterError, ClusterSettings, cluster};
use super::gamma_gamma::{GammaGammaError, GammaGammaFit, GammaGammaParams};
use super::input::{InputCounts, LineRow, OrderRow, day_of, prepare};
use super::lifetime_value::{LifetimeError, LifetimeOptions, lifetime_values};
use super::rfm::{Rfm, RfmSegment, grid, rfm};
use super::rules::{RuleSettings, RulesError, baskets, mine_rules, next_best_per_customer};

/// Most products of a customer's purchases kept with its results (the device ranks offers
/// from them and its own orders since the run).
pub const MAX_BOUGHT_PER_CUSTOMER: usize = 500;

/// What a run reads: the customers (each once) and their orders and lines.
#[derive(Debug, Clone, Default)]
pub struct RunInput {
    pub customers: Vec<String>,
    pub orders: Vec<OrderRow>,
    pub lines: Vec<LineRow>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSettings {
    pub as_of: Millis,
    pub abc: AbcSettings,
    pub rules: RuleSettings,
    pub clusters: ClusterSettings,
    /// The lifetime-value fits, CLV and churn rule (with the previous run's parameters, used
    /// when a fit does not converge).
    pub lifetime: LifetimeOptions,
    /// Next-best products kept per customer.
    pub next_best: usize,
}

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Abc(#[from] AbcSettingsError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Clusters(#[from] ClusterError),
    #[error(transparent)]
    Lifetime(#[from] LifetimeError),
}

/// One customer's results.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerResult {
    pub customer_id: String,
    pub rfm: Option<Rfm>,
    pub segment: RfmSegment,
    pub abc: AbcClass,
    /// Revenue in the ABC window.
    pub revenue_minor: i64,
    pub cluster: Option<u16>,
    /// BG/NBD's expected purchases in the next 90 days and P(alive), the 12-month CLV (minor
    /// units), and the churn risk: `None` without purchases or without a usable fit.
    pub expected_purchases_90d: Option<f64>,
    pub p_alive: Option<f64>,
    pub clv_12m_minor: Option<f64>,
    pub churn: Option<(ChurnLevel, f64)>,
    pub next_best: Vec<Offer>,
    /// The products it bought (at most [`MAX_BOUGHT_PER_CUSTOMER`], by id).
    pub bought: Vec<String>,
}

/// How long each part took, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    pub prepare_ms: u64,
    pub rfm_abc_ms: u64,
    /// Both lifetime-value fits and every customer's predictions.
    pub lifetime_ms: u64,
    pub clusters_ms: u64,
    pub rules_ms: u64,
}

/// Everything a run computed.
#[derive(Debug)]
pub struct RunOutput {
    pub counts: InputCounts,
    pub customers: Vec<CustomerResult>,
    pub rfm_grid: [[u64; 5]; 5],
    pub abc_totals: [ClassTotals; 3],
    pub pareto: Vec<ParetoPoint>,
    pub clusters: Vec<Cluster>,
    pub silhouettes: Vec<(usize, f64)>,
    pub rules: Vec<CrossSellRule>,
    pub baskets: u64,
    pub frequent_itemsets: u64,
    pub rules_found: u64,
    /// The fits as they ended (reported even when not converged), the parameters the
    /// predictions used, and the customers whose values could not be computed.
    pub bgnbd: Result<BgNbdFit, BgNbdError>,
    pub gamma_gamma: Result<GammaGammaFit, GammaGammaError>,
    pub bgnbd_used: Option<BgNbdParams>,
    pub gamma_gamma_used: Option<GammaGammaParams>,
    pub prediction_failures: u64,
    pub timings: Timings,
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Computes a run in the reporting `currency`.
pub fn compute(
    input: &RunInput,
    currency: &str,
    settings: RunSettings,
) -> Result<RunOutput, RunError> {
    let abc_settings = settings.abc.validated()?;
    let rule_settings = settings.rules.validated()?;
    let as_of_day = day_of(settings.as_of);

    let started = Instant::now();
    let prepared = prepare(&input.customers, &input.orders, currency, settings.as_of);
    let prepare_ms = elapsed_ms(started);

    let started = Instant::now();
    let rfm_results = rfm(&prepared.histories, as_of_day);
    let abc_result = abc(&prepared.histories, as_of_day, abc_settings, 100);
    let rfm_abc_ms = elapsed_ms(started);

    let started = Instant::now();
    let lifetime = lifetime_values(&prepared.histories, as_of_day, &settings.lifetime)?;
    let lifetime_ms = elapsed_ms(started);

    let started = Instant::now();
    let clustering = cluster(&rfm_results, currency, settings.clusters)?;
    let clusters_ms = elapsed_ms(started);

    let started = Instant::now();
    let basket_set = baskets(&input.orders, &input.lines, settings.as_of);
    let mined = mine_rules(&basket_set, rule_settings)?;
    let rule_index = CrossSellRules::new(mined.rules.clone());
    let mut offers = next_best_per_customer(&basket_set, &rule_index, settings.next_best);
    let rules_ms = elapsed_ms(started);

    let bought: HashMap<&str, &HashSet<u32>> = basket_set
        .bought
        .iter()
        .map(|(customer, items)| (customer.as_str(), items))
        .collect();
    let customers = prepared
        .histories
        .iter()
        .enumerate()
        .map(|(i, history)| {
            let id = history.customer_id.as_str();
            let mut products: Vec<String> = bought
                .get(id)
                .map(|items| {
                    items
                        .iter()
                        .map(|&item| basket_set.products[item as usize].clone())
                        .collect()
                })
                .unwrap_or_default();
            products.sort_unstable();
            products.truncate(MAX_BOUGHT_PER_CUSTOMER);
            let value = &lifetime.customers[i];
            CustomerResult {
                expected_purchases_90d: value.expected_purchases_90d,
                p_alive: value.p_alive,
                clv_12m_minor: value.clv_12m_minor,
                churn: value.churn.map(|c| (c.level, c.score)),
                customer_id: history.customer_id.clone(),
                rfm: rfm_results[i].values,
                segment: rfm_results[i].segment,
                abc: abc_result.customers[i].class,
                revenue_minor: abc_result.customers[i].revenue_minor,
                cluster: clustering.assignment[i],
                next_best: offers.remove(id).unwrap_or_default(),
                bought: products,
            }
        })
        .collect();
    Ok(RunOutput {
        counts: prepared.counts,
        customers,
        rfm_grid: grid(&rfm_results),
        abc_totals: abc_result.totals,
        pareto: abc_result.curve,
        clusters: clustering.clusters,
        silhouettes: clustering.silhouettes,
        rules: mined.rules,
        baskets: mined.baskets,
        frequent_itemsets: mined.frequent_itemsets,
        rules_found: mined.rules_found,
        bgnbd: lifetime.bgnbd,
        gamma_gamma: lifetime.gamma_gamma,
        bgnbd_used: lifetime.bgnbd_used,
        gamma_gamma_used: lifetime.gamma_gamma_used,
        prediction_failures: lifetime.prediction_failures,
        timings: Timings {
            prepare_ms,
            rfm_abc_ms,
            lifetime_ms,
            clusters_ms,
            rules_ms,
        },
    })
}

#[cfg(test)]
mod tests {
    use fieldcrm_core::DAY_MS;

    use super::*;

    fn settings(as_of_day: i64) -> RunSettings {
        RunSettings {
            as_of: as_of_day * DAY_MS,
            abc: AbcSettings::default(),
            rules: RuleSettings {
                min_support: 0.2,
                min_confidence: 0.5,
                ..RuleSettings::default()
            },
            clusters: ClusterSettings::default(),
            lifetime: LifetimeOptions::default(),
            next_best: 3,
        }
    }

    /// Four customers: a regular who buys coffee and filters, a tea drinker, one who bought
    /// coffee once, and one without orders; one order after the run's date is left out.
    fn shop() -> RunInput {
        let mut input = RunInput {
            customers: vec![
                "regular".into(),
                "tea".into(),
                "once".into(),
                "never".into(),
            ],
            ..RunInput::default()
        };
        let mut add = |id: &str, customer: &str, day: i64, products: &[&str]| {
            input.orders.push(OrderRow {
                order_id: id.into(),
                customer_id: customer.into(),
                ordered_at: day * DAY_MS,
                currency: "EUR".into(),
                net_minor: 1_000 * products.len() as i64,
            });
            for p in products {
                input.lines.push(LineRow {
                    order_id: id.into(),
                    customer_id: customer.into(),
                    product_id: (*p).into(),
                    quantity: 1,
                    net_minor: 1_000,
                });
            }
        };
        for week in 0..5 {
            add(
                &format!("r{week}"),
                "regular",
                20_000 + week * 7,
                &["coffee", "filters"],
            );
        }
        for week in 0..4 {
            add(&format!("t{week}"), "tea", 20_001 + week * 7, &["tea"]);
        }
        add("o1", "once", 20_010, &["coffee"]);
        add("late", "once", 20_100, &["filters"]);
        input
    }

    #[test]
    fn a_small_shop_end_to_end() {
        let output = compute(&shop(), "EUR", settings(20_030)).unwrap();
        assert_eq!(output.counts.used, 10);
        assert_eq!(output.counts.after_as_of, 1);
        let by_id: HashMap<&str, &CustomerResult> = output
            .customers
            .iter()
            .map(|c| (c.customer_id.as_str(), c))
            .collect();
        let regular = by_id["regular"];
        assert_eq!(
            regular.rfm.map(|r| (r.frequency, r.recency_days)),
            Some((5, 2))
        );
        assert_eq!(regular.abc, AbcClass::A);
        assert_eq!(
            regular.bought,
            vec!["coffee".to_owned(), "filters".to_owned()]
        );
        assert!(regular.next_best.is_empty());
        // Coffee buyers buy filters (5 of 6 baskets with coffee, against 5 of all 10 baskets:
        // lift 5/3): offered to the one-off buyer.
        let once = by_id["once"];
        assert_eq!(once.next_best.len(), 1);
        assert_eq!(once.next_best[0].product_id, "filters");
        assert!((once.next_best[0].confidence - 5.0 / 6.0).abs() < 1e-12);
        assert!((once.next_best[0].lift - 5.0 / 3.0).abs() < 1e-12);
        assert!(by_id["tea"].next_best.is_empty());
        // Its late order (filters) is after the run's date: not bought yet.
        assert_eq!(once.bought, vec!["coffee".to_owned()]);
        let never = by_id["never"];
        assert_eq!(never.segment, RfmSegment::NoPurchases);
        assert_eq!(
            (never.abc, never.cluster, never.rfm),
            (AbcClass::C, None, None)
        );
        assert_eq!(output.rfm_grid.iter().flatten().sum::<u64>(), 3);
        assert_eq!(output.baskets, 10);
    }

    #[test]
    fn bad_settings_fail_the_run() {
        let mut bad = settings(20_030);
        bad.rules.min_support = 0.0;
        assert!(matches!(
            compute(&shop(), "EUR", bad),
            Err(RunError::Rules(RulesError::Support))
        ));
        let mut bad = settings(20_030);
        bad.abc.window_days = 0;
        assert!(matches!(
            compute(&shop(), "EUR", bad),
            Err(RunError::Abc(_))
        ));
    }

    #[test]
    fn an_empty_organisation_runs() {
        let output = compute(&RunInput::default(), "EUR", settings(20_030)).unwrap();
        assert!(output.customers.is_empty() && output.rules.is_empty());
    }
}

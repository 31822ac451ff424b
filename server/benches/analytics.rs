//! Customer analytics on a fixed, seeded dataset: the whole computation of one run
//! (`analytics::run::compute`: RFM, ABC, lifetime value, k-means segments, FP-growth and
//! cross-sell rules, each customer's next-best products) over rows built in memory, as a run reads them from storage.
//!
//! Run with `cargo bench -p fieldcrm-server --bench analytics`; `FIELDCRM_BENCH_SCALE`
//! (default 1.0) scales the customers and orders (CI runs 0.02 as a smoke run); the catalog,
//! the planted patterns' share of orders and the thresholds stay. Figures are printed as
//! `bench: <name> = <value> <unit>`; nothing here asserts on timing.
//!
//! Dataset (seeded): 100,000 customers; 500,000 orders over the 3 years before 2026-10-15,
//! customers drawn with a skew (a few buy often, most rarely) and days uniformly; 4 lines per
//! order (2,000,000), products drawn from 20,000 with a skewed popularity; 9 in 10 orders in
//! EUR, the rest in CHF. Planted co-purchases: 10 pairs (A → B) and 5 triples ((A, B) → C) of
//! products outside the popular head, each pattern in 0.25 % of orders, with their consequents
//! rarely bought otherwise.
//!
//! Printed:
//! - `analytics_full_run_s`: one run's computation, median of 3;
//! - `rfm_abc_s`: the RFM and ABC part of it;
//! - `bgnbd_gg_fit_s`: both lifetime-value fits (BG/NBD, Gamma-Gamma) and every customer's
//!   expected purchases, P(alive), CLV and churn risk;
//! - `fpgrowth_rules_s`: baskets, FP-growth at 0.1 % minimum support, rules and next-best
//!   products;
//! - `analytics_peak_rss_mb`: the bench process's peak resident memory (`VmHWM`), dataset
//!   included;
//! - `planted_rules_recovered_pct`: the share of the planted rules among the rules kept.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use fieldcrm_bench_support::{comment, emit, median, scale, scaled};
use fieldcrm_core::{DAY_MS, Millis};
use fieldcrm_server::analytics::abc::AbcSettings;
use fieldcrm_server::analytics::clusters::ClusterSettings;
use fieldcrm_server::analytics::input::{LineRow, OrderRow};
use fieldcrm_server::analytics::lifetime_value::LifetimeOptions;
use fieldcrm_server::analytics::rules::RuleSettings;
use fieldcrm_server::analytics::run::{RunInput, RunSettings, compute};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const SEED: u64 = 0xA7A1_7105_2026;
const CUSTOMERS: usize = 100_000;
const ORDERS: usize = 500_000;
const LINES_PER_ORDER: usize = 4;
const PRODUCTS: usize = 20_000;
/// 2026-10-15, 00:00 UTC.
const NOW_MS: Millis = 1_792_022_400_000;
const YEARS_DAYS: i64 = 3 * 365;
/// Each planted pattern's share of orders.
const PLANTED_SHARE: f64 = 0.0025;

/// A planted rule: antecedent products and the consequent.
type Planted = (Vec<usize>, usize);

fn planted() -> Vec<Planted> {
    // Products from index 10,000 on: outside the popular head.
    let mut rules = Vec::new();
    for i in 0..10 {
        rules.push((vec![10_000 + i * 7], 15_000 + i * 7));
    }
    for i in 0..5 {
        rules.push((vec![12_000 + i * 11, 12_500 + i * 11], 17_000 + i * 11));
    }
    rules
}

fn product_id(index: usize) -> String {
    format!("p{index:05}")
}

fn dataset(scale: f64) -> RunInput {
    let mut rng = SmallRng::seed_from_u64(SEED);
    let customers = scaled(CUSTOMERS, scale).max(10);
    let orders = scaled(ORDERS, scale).max(100);
    let patterns = planted();
    let consequents: HashSet<usize> = patterns.iter().map(|p| p.1).collect();
    let mut input = RunInput {
        customers: (0..customers).map(|c| format!("c{c:06}")).collect(),
        orders: Vec::with_capacity(orders),
        lines: Vec::with_capacity(orders * LINES_PER_ORDER),
    };
    for o in 0..orders {
        // Skewed: customer u² × n (the first customers buy far more often).
        let u: f64 = rng.random();
        let customer = ((u * u) * customers as f64) as usize % customers;
        let day = NOW_MS / DAY_MS - rng.random_range(0..YEARS_DAYS);
        let order_id = format!("o{o:07}");
        let customer_id = input.customers[customer].clone();
        let mut products: Vec<usize> = Vec::with_capacity(LINES_PER_ORDER);
        let roll: f64 = rng.random();
        if let Some(pattern) = patterns
            .iter()
            .enumerate()
            .find(|(i, _)| {
                roll >= *i as f64 * PLANTED_SHARE && roll < (*i + 1) as f64 * PLANTED_SHARE
            })
            .map(|(_, p)| p)
        {
            products.extend(&pattern.0);
            products.push(pattern.1);
        }
        while products.len() < LINES_PER_ORDER {
            // Skewed popularity: u³ × n; consequents of planted rules only through their pattern.
            let u: f64 = rng.random();
            let p = ((u * u * u) * PRODUCTS as f64) as usize % PRODUCTS;
            if !products.contains(&p) && !consequents.contains(&p) {
                products.push(p);
            }
        }
        let mut net = 0i64;
        for p in &products {
            let quantity = rng.random_range(1..6);
            let line_net = quantity * rng.random_range(100..5_000);
            net += line_net;
            input.lines.push(LineRow {
                order_id: order_id.clone(),
                customer_id: customer_id.clone(),
                product_id: product_id(*p),
                quantity,
                net_minor: line_net,
            });
        }
        input.orders.push(OrderRow {
            order_id,
            customer_id,
            ordered_at: day * DAY_MS + rng.random_range(0..DAY_MS),
            currency: if rng.random_range(0..10) == 0 {
                "CHF"
            } else {
                "EUR"
            }
            .into(),
            net_minor: net,
        });
    }
    input
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let scale = scale();
    let started = Instant::now();
    let input = dataset(scale);
    comment(&format!(
        "dataset: {} customers, {} orders, {} lines over {PRODUCTS} products, built in {:.1} s",
        input.customers.len(),
        input.orders.len(),
        input.lines.len(),
        started.elapsed().as_secs_f64()
    ));
    let settings = RunSettings {
        as_of: NOW_MS,
        abc: AbcSettings::default(),
        rules: RuleSettings::default(),
        clusters: ClusterSettings::default(),
        lifetime: LifetimeOptions::default(),
        next_best: 5,
    };
    let mut totals: Vec<Duration> = Vec::new();
    let mut rfm_abc: Vec<Duration> = Vec::new();
    let mut rules: Vec<Duration> = Vec::new();
    let mut lifetime: Vec<Duration> = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let started = Instant::now();
        let output = match compute(&input, "EUR", settings) {
            Ok(output) => output,
            Err(error) => {
                eprintln!("analytics run failed: {error}");
                std::process::exit(1);
            }
        };
        totals.push(started.elapsed());
        rfm_abc.push(Duration::from_millis(
            output.timings.prepare_ms + output.timings.rfm_abc_ms,
        ));
        rules.push(Duration::from_millis(output.timings.rules_ms));
        lifetime.push(Duration::from_millis(output.timings.lifetime_ms));
        last = Some(output);
    }
    let Some(output) = last else { return };
    comment(&format!(
        "lifetime value: BG/NBD {:?}; Gamma-Gamma {:?}; {} prediction failures",
        output.bgnbd, output.gamma_gamma, output.prediction_failures
    ));
    comment(&format!(
        "run: {} orders used, {} baskets, {} frequent itemsets, {} rules found, {} kept; {} segments (silhouettes {:?}); clusters {} ms",
        output.counts.used,
        output.baskets,
        output.frequent_itemsets,
        output.rules_found,
        output.rules.len(),
        output.clusters.len(),
        output.silhouettes,
        output.timings.clusters_ms,
    ));
    let found: HashSet<(Vec<String>, String)> = output
        .rules
        .iter()
        .map(|r| {
            let mut antecedent = r.antecedent.clone();
            antecedent.sort();
            (antecedent, r.consequent.clone())
        })
        .collect();
    let patterns = planted();
    let recovered = patterns
        .iter()
        .filter(|(antecedent, consequent)| {
            let mut a: Vec<String> = antecedent.iter().map(|p| product_id(*p)).collect();
            a.sort();
            found.contains(&(a, product_id(*consequent)))
        })
        .count();
    emit("analytics_full_run_s", median(&mut totals) / 1_000.0, "s");
    emit("rfm_abc_s", median(&mut rfm_abc) / 1_000.0, "s");
    emit("bgnbd_gg_fit_s", median(&mut lifetime) / 1_000.0, "s");
    emit("fpgrowth_rules_s", median(&mut rules) / 1_000.0, "s");
    emit("analytics_peak_rss_mb", peak_rss_mb(), "MB");
    emit(
        "planted_rules_recovered_pct",
        100.0 * recovered as f64 / patterns.len() as f64,
        "%",
    );
}

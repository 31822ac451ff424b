//! Next-best offers ranked on the device: one customer's `Query::CustomerInsight`, with the
//! offers ranked live from the synced cross-sell rules and what the customer bought (the run's
//! list and the local orders taken since the run).
//!
//! Run with `cargo bench -p fieldcrm-core --bench next_best`. Prints one line per figure,
//! `bench: <name> = <value> <unit>`; everything else starts with `#`. `FIELDCRM_BENCH_SCALE`
//! (default 1.0) scales the catalog and the customers in the snapshot; the rule count stays
//! 5,000 (the most a device is sent).
//!
//! - `next_best_on_device_ms`: the median time of the query for one customer who bought 80
//!   products in the run and 5 orders of 6 lines since, over 200 queries (target <= 5 ms).
//!
//! The dataset is seeded: 20,000 products, 5,000 rules whose antecedents (one or two products)
//! favour popular products, 10,000 customers in the snapshot, installed through the sync
//! session's own steps.

use std::collections::BTreeSet;
use std::error::Error;
use std::time::Instant;

use fieldcrm_bench_support::{comment, emit, median, ms, scale, scaled};
use fieldcrm_core::insights::{InsightsPage, InsightsRun, WireInsight, WireRule};
use fieldcrm_core::{
    InsightsOutcome, Millis, OrderLine, Product, Query, QueryResult, Store, SyncSession,
};

const SEED: u64 = 0x00E7_B357;
const BASE_MS: Millis = 1_790_000_000_000;
const DAY_MS: Millis = 86_400_000;
const PRODUCTS: usize = 20_000;
const RULES: usize = 5_000;
const CUSTOMERS: usize = 10_000;
const BOUGHT: usize = 80;
const LOCAL_ORDERS: usize = 5;
const LINES_PER_ORDER: usize = 6;
const QUERIES: usize = 200;
const PAGE: usize = 1_000;

/// SplitMix64, so the dataset is the same on every machine.
struct Random(u64);

impl Random {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }

    /// A product index, popular ones (low indices) far likelier.
    fn popular(&mut self, n: usize) -> usize {
        ((self.unit().powi(3) * n as f64) as usize).min(n - 1)
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let scale = scale();
    let products = scaled(PRODUCTS, scale).max(400);
    let customers = scaled(CUSTOMERS, scale);
    let mut random = Random(SEED);
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path().join("device.sqlite"))?;
    store.set_clock(|| BASE_MS);

    let started = Instant::now();
    let mut ids = Vec::with_capacity(products);
    for i in 0..products {
        let product = store.create(Product::new(format!("SKU-{i:05}"), format!("Product {i}")))?;
        ids.push(product.meta.id);
    }
    comment(&format!(
        "{products} products created in {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    let rules: Vec<WireRule> = (0..RULES)
        .map(|_| {
            let first = random.popular(products);
            let mut antecedent = vec![ids[first].clone()];
            if random.unit() < 0.3 {
                let second = random.popular(products);
                if second != first {
                    antecedent.push(ids[second].clone());
                }
            }
            WireRule {
                antecedent,
                consequent: ids[(random.unit() * products as f64) as usize % products].clone(),
                support: random.between(0.001, 0.05),
                confidence: random.between(0.1, 0.9),
                lift: random.between(1.1, 5.0),
            }
        })
        .collect();
    let customer_ids: Vec<String> = (0..customers)
        .map(|i| format!("0190a0b0-0000-7000-8000-{i:012x}"))
        .collect();
    let insights: Vec<WireInsight> = customer_ids
        .iter()
        .map(|id| {
            let bought: BTreeSet<String> = (0..BOUGHT)
                .map(|_| ids[random.popular(products)].clone())
                .collect();
            WireInsight {
                customer_id: id.clone(),
                segment: "loyal".into(),
                abc_class: "B".into(),
                revenue_minor: 250_000,
                recency_days: Some(12),
                frequency: Some(9),
                monetary_minor: Some(27_000),
                clv_12m_minor: Some(310_000.0),
                expected_purchases_90d: Some(2.1),
                p_alive: Some(0.88),
                churn_level: Some("low".into()),
                churn_score: Some(0.12),
                next_best: Vec::new(),
                bought: bought.into_iter().collect(),
            }
        })
        .collect();

    let started = Instant::now();
    let session = SyncSession::new(&store)?;
    for (i, chunk) in insights.chunks(PAGE).enumerate() {
        let request = session.build_insights_request()?;
        let last = chunk.last().map(|c| c.customer_id.clone());
        let done = (i + 1) * PAGE >= insights.len();
        let page = InsightsPage {
            run: Some(InsightsRun {
                run_id: 1,
                as_of: BASE_MS - DAY_MS,
                currency: "EUR".into(),
            }),
            unchanged: false,
            customers: chunk.to_vec(),
            rules: if i == 0 { rules.clone() } else { Vec::new() },
            next_after: if done { None } else { last },
        };
        let body = fieldcrm_core::protocol::encode(&page)?;
        let outcome = session.apply_insights_page(&request, &body)?;
        if done && !matches!(outcome, InsightsOutcome::Installed { .. }) {
            return Err(format!("the snapshot was not installed: {outcome:?}").into());
        }
    }
    drop(session);
    comment(&format!(
        "snapshot of {customers} customers and {RULES} rules installed in {:.1} s",
        started.elapsed().as_secs_f64()
    ));

    // Orders taken on the device since the run.
    let customer = &customer_ids[0];
    for o in 0..LOCAL_ORDERS {
        let mut order = store.create_order(customer, None, "EUR")?;
        order.lines = (0..LINES_PER_ORDER)
            .map(|l| {
                let product = random.popular(products);
                OrderLine {
                    id: format!("0190a0b1-0000-7000-8000-{:012x}", o * 100 + l),
                    product_id: ids[product].clone(),
                    sku: format!("SKU-{product:05}"),
                    name: format!("Product {product}"),
                    quantity: 1,
                    unit_price_minor: 990,
                    tax_rate_bp: 0,
                    discount_bp: 0,
                }
            })
            .collect();
        store.update(order)?;
    }

    let query = Query::CustomerInsight {
        customer_id: customer.clone(),
        limit: 5,
    };
    let mut samples = Vec::with_capacity(QUERIES);
    let mut offered = 0;
    for _ in 0..QUERIES {
        let started = Instant::now();
        let result = store.query(&query)?;
        samples.push(started.elapsed());
        if let QueryResult::CustomerInsight(Some(insight)) = result {
            offered = insight.offers.len();
        }
    }
    comment(&format!(
        "{offered} offers for a customer with {BOUGHT} products bought in the run and {} lines since; slowest {:.3} ms",
        LOCAL_ORDERS * LINES_PER_ORDER,
        samples.iter().map(|d| ms(*d)).fold(0.0, f64::max)
    ));
    emit("next_best_on_device_ms", median(&mut samples), "ms");
    Ok(())
}

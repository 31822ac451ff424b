//! The snapshot's sync steps (staging, swapping in whole, resuming, restarting, unchanged, no
//! run) and the live insight query, down to an order taken offline changing the suggestion.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use super::*;
use crate::model::{Customer, Product};
use crate::protocol;
use crate::query::{Query, QueryResult};
use crate::store::Store;
use crate::sync::{RetryPolicy, Transport, TransportError, sync};
use crate::{Millis, QueryListener};

const AS_OF: Millis = 1_790_000_000_000;

fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path().join("d.sqlite")).unwrap()
}

fn rule(antecedent: &[&str], consequent: &str, confidence: f64) -> WireRule {
    WireRule {
        antecedent: antecedent.iter().map(|s| (*s).to_owned()).collect(),
        consequent: consequent.into(),
        support: 0.02,
        confidence,
        lift: 2.0,
    }
}

fn insight(customer_id: &str, bought: &[&str]) -> WireInsight {
    WireInsight {
        customer_id: customer_id.into(),
        segment: "champions".into(),
        abc_class: "A".into(),
        revenue_minor: 120_000,
        recency_days: Some(3),
        frequency: Some(12),
        monetary_minor: Some(10_000),
        clv_12m_minor: Some(250_000.0),
        expected_purchases_90d: Some(2.5),
        p_alive: Some(0.93),
        churn_level: Some("low".into()),
        churn_score: Some(0.07),
        next_best: vec![WireOffer {
            product_id: "chips".into(),
            because: vec!["beer".into()],
            confidence: 0.4,
            lift: 2.0,
            support: 0.02,
        }],
        bought: bought.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn run(run_id: i64) -> Option<InsightsRun> {
    Some(InsightsRun {
        run_id,
        as_of: AS_OF,
        currency: "EUR".into(),
    })
}

fn page(
    run_id: i64,
    customers: Vec<WireInsight>,
    rules: Vec<WireRule>,
    next_after: Option<&str>,
) -> Vec<u8> {
    protocol::encode(&InsightsPage {
        run: run(run_id),
        unchanged: false,
        customers,
        rules,
        next_after: next_after.map(str::to_owned),
    })
    .unwrap()
}

fn beer_rules() -> Vec<WireRule> {
    vec![
        rule(&["beer"], "chips", 0.4),
        rule(&["beer", "chips"], "salsa", 0.7),
        rule(&["wine"], "cheese", 0.9),
    ]
}

fn insight_of(store: &Store, customer_id: &str) -> Option<Box<CustomerInsight>> {
    match store
        .query(&Query::CustomerInsight {
            customer_id: customer_id.into(),
            limit: 0,
        })
        .unwrap()
    {
        QueryResult::CustomerInsight(insight) => insight,
        other => panic!("{other:?}"),
    }
}

fn offered(insight: &CustomerInsight) -> Vec<&str> {
    insight
        .offers
        .iter()
        .map(|o| o.product.product_id.as_str())
        .collect()
}

/// Applies the answer to the session's next request.
fn apply(store: &Store, body: &[u8]) -> (InsightsRequest, InsightsOutcome) {
    let session = SyncSession::new(store).unwrap();
    let request = session.build_insights_request().unwrap();
    let outcome = session.apply_insights_page(&request, body).unwrap();
    (request, outcome)
}

#[test]
fn a_run_is_staged_page_by_page_and_swapped_in_only_with_its_last_page() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir);
    let (request, outcome) = apply(
        &device,
        &page(7, vec![insight("c1", &["beer"])], beer_rules(), Some("c1")),
    );
    assert_eq!(request.query, "run=0&limit=500");
    assert_eq!(outcome, InsightsOutcome::Staged { customers: 1 });
    assert!(
        insight_of(&device, "c1").is_none(),
        "half a run is not shown"
    );
    assert_eq!(device.insights_run().unwrap(), None);

    let (request, outcome) = apply(&device, &page(7, vec![insight("c2", &[])], vec![], None));
    assert_eq!(request.query, "run=0&limit=500&after=c1");
    assert_eq!(
        outcome,
        InsightsOutcome::Installed {
            run_id: 7,
            customers: 1
        }
    );
    assert_eq!(device.insights_run().unwrap(), run(7));
    let c1 = insight_of(&device, "c1").unwrap();
    assert_eq!(
        (c1.segment.as_str(), c1.abc_class.as_str()),
        ("champions", "A")
    );
    assert_eq!(c1.clv_12m_minor, Some(250_000.0));
    assert_eq!(offered(&c1), vec!["chips"]);
    assert_eq!(c1.run_offers[0].product.product_id, "chips");
    assert!(insight_of(&device, "c2").unwrap().offers.is_empty());

    // A newer run half downloaded leaves run 7 in place; the next request resumes it.
    apply(
        &device,
        &page(8, vec![insight("c1", &["wine"])], beer_rules(), Some("c1")),
    );
    assert_eq!(offered(&insight_of(&device, "c1").unwrap()), vec!["chips"]);
    let session = SyncSession::new(&device).unwrap();
    assert_eq!(
        session.build_insights_request().unwrap().query,
        "run=7&limit=500&after=c1"
    );
    drop(session);
    // The server moved on to run 9 meanwhile: the staged pages go, and a first page follows.
    let (_, outcome) = apply(&device, &page(9, vec![insight("c2", &[])], vec![], None));
    assert_eq!(outcome, InsightsOutcome::Restart);
    assert_eq!(device.insights_run().unwrap(), run(7));
    let (request, outcome) = apply(
        &device,
        &page(9, vec![insight("c1", &["wine"])], beer_rules(), None),
    );
    assert_eq!(request.after, None);
    assert!(matches!(
        outcome,
        InsightsOutcome::Installed { run_id: 9, .. }
    ));
    assert_eq!(offered(&insight_of(&device, "c1").unwrap()), vec!["cheese"]);
    assert!(
        insight_of(&device, "c2").is_none(),
        "the old run's rows are gone"
    );
}

#[test]
fn unchanged_and_no_run_keep_what_the_device_holds() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir);
    apply(
        &device,
        &page(3, vec![insight("c1", &["beer"])], beer_rules(), None),
    );
    let unchanged = protocol::encode(&InsightsPage {
        run: run(3),
        unchanged: true,
        customers: vec![],
        rules: vec![],
        next_after: None,
    })
    .unwrap();
    let (request, outcome) = apply(&device, &unchanged);
    assert_eq!(request.query, "run=3&limit=500");
    assert_eq!(outcome, InsightsOutcome::Unchanged);
    let no_run = protocol::encode(&InsightsPage {
        run: None,
        unchanged: false,
        customers: vec![],
        rules: vec![],
        next_after: None,
    })
    .unwrap();
    assert_eq!(apply(&device, &no_run).1, InsightsOutcome::NoRun);
    assert_eq!(offered(&insight_of(&device, "c1").unwrap()), vec!["chips"]);
}

#[test]
fn a_customer_leaving_the_devices_sight_takes_its_results_along() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir);
    apply(
        &device,
        &page(
            3,
            vec![insight("c1", &["beer"]), insight("c2", &["beer"])],
            beer_rules(),
            None,
        ),
    );
    device.forget(&["c1".to_owned()]).unwrap();
    assert!(insight_of(&device, "c1").is_none());
    assert!(insight_of(&device, "c2").is_some());
}

#[test]
fn a_page_naming_an_invalid_id_or_over_a_limit_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir);
    let bad = page(1, vec![insight("c1", &["be\ner"])], vec![], None);
    let session = SyncSession::new(&device).unwrap();
    let request = session.build_insights_request().unwrap();
    let err = session.apply_insights_page(&request, &bad).unwrap_err();
    assert_eq!(err.code(), "malformed_message");
    let too_many: Vec<WireRule> = (0..=MAX_DEVICE_RULES)
        .map(|i| rule(&["a"], &format!("p{i}"), 0.5))
        .collect();
    let err = session
        .apply_insights_page(&request, &page(1, vec![], too_many, None))
        .unwrap_err();
    assert_eq!(err.code(), "limit_exceeded");
    drop(session);
    assert_eq!(device.insights_run().unwrap(), None);
}

#[derive(Default)]
struct Results(Mutex<Vec<QueryResult>>);

impl QueryListener for Results {
    fn on_result(&self, result: QueryResult) {
        self.0.lock().unwrap().push(result);
    }
}

#[test]
fn an_order_taken_offline_changes_the_suggestion_live() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir);
    device.set_clock(|| AS_OF + 60_000);
    let customer = device.create(Customer::new("Harbour kiosk")).unwrap();
    let mut products = Vec::new();
    for (sku, name) in [
        ("beer", "Pale ale"),
        ("chips", "Salted chips"),
        ("salsa", "Salsa"),
    ] {
        let mut product = Product::new(sku, name);
        product.prices.insert("EUR".into(), 250);
        products.push(device.create(product).unwrap());
    }
    let id = |i: usize| products[i].meta.id.clone();
    let rules = vec![
        WireRule {
            antecedent: vec![id(0)],
            consequent: id(1),
            support: 0.05,
            confidence: 0.4,
            lift: 2.0,
        },
        WireRule {
            antecedent: vec![id(0), id(1)],
            consequent: id(2),
            support: 0.03,
            confidence: 0.7,
            lift: 3.0,
        },
    ];
    let mut snapshot = insight(&customer.meta.id, &[]);
    snapshot.bought = vec![id(0)];
    apply(&device, &page(1, vec![snapshot], rules, None));

    let results = Arc::new(Results::default());
    let _subscription = device
        .subscribe(
            Query::CustomerInsight {
                customer_id: customer.meta.id.clone(),
                limit: 3,
            },
            results.clone(),
        )
        .unwrap();
    let before = insight_of(&device, &customer.meta.id).unwrap();
    assert_eq!(offered(&before), vec![id(1).as_str()]);
    let chips = &before.offers[0];
    assert_eq!(chips.product.name.as_deref(), Some("Salted chips"));
    assert_eq!(chips.because[0].name.as_deref(), Some("Pale ale"));
    assert_eq!(chips.confidence, 0.4);
    assert!(before.bought_since_run.is_empty());

    // Offline, a minute after the run: the rep sells chips.
    let order = device.create_order(&customer.meta.id, None, "EUR").unwrap();
    device.add_order_line(&order.meta.id, &id(1), 2).unwrap();
    let after = insight_of(&device, &customer.meta.id).unwrap();
    assert_eq!(
        offered(&after),
        vec![id(2).as_str()],
        "salsa now, chips no more"
    );
    assert_eq!(after.bought_since_run, vec![id(1)]);
    let delivered = results.0.lock().unwrap();
    match delivered.last() {
        Some(QueryResult::CustomerInsight(Some(live))) => {
            assert_eq!(offered(live), vec![id(2).as_str()]);
        }
        other => panic!("{other:?}"),
    }
    drop(delivered);

    // A cancelled order does not count.
    device
        .set_order_status(&order.meta.id, crate::OrderStatus::Cancelled)
        .unwrap();
    assert_eq!(
        offered(&insight_of(&device, &customer.meta.id).unwrap()),
        vec![id(1).as_str()]
    );
}

/// A server holding one run in pages of one customer, answering like `/v1/analytics/device`.
struct AnalyticsServer {
    run_id: i64,
    customers: Vec<WireInsight>,
    requests: RefCell<Vec<String>>,
    down_after: Option<usize>,
}

impl AnalyticsServer {
    fn answer(&self, query: &str) -> Result<Vec<u8>, TransportError> {
        self.requests.borrow_mut().push(query.to_owned());
        if self
            .down_after
            .is_some_and(|n| self.requests.borrow().len() > n)
        {
            return Err(TransportError::Offline("no signal".into()));
        }
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
        };
        let held: i64 = param("run").unwrap().parse().unwrap();
        let after = param("after");
        if held == self.run_id && after.is_none() {
            return Ok(protocol::encode(&InsightsPage {
                run: run(self.run_id),
                unchanged: true,
                customers: vec![],
                rules: vec![],
                next_after: None,
            })
            .unwrap());
        }
        let rest: Vec<WireInsight> = self
            .customers
            .iter()
            .filter(|c| after.as_deref().is_none_or(|a| c.customer_id.as_str() > a))
            .cloned()
            .collect();
        let next_after = (rest.len() > 1).then(|| rest[0].customer_id.clone());
        let rules = if after.is_none() {
            beer_rules()
        } else {
            vec![]
        };
        Ok(page(
            self.run_id,
            rest.into_iter().take(1).collect(),
            rules,
            next_after.as_deref(),
        ))
    }
}

impl Transport for AnalyticsServer {
    fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        unreachable!("nothing to push")
    }

    fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        Ok(protocol::encode_pull_response(
            &protocol::PullResponse {
                docs: vec![],
                removals: vec![],
                next_cursor: 0,
                has_more: false,
            },
            protocol::PROTOCOL_VERSION,
        )
        .unwrap())
    }

    fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        unreachable!("no pings")
    }

    fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        unreachable!("nothing refused")
    }

    fn analytics(&self, query: &str) -> Result<Vec<u8>, TransportError> {
        self.answer(query)
    }
}

fn server(run_id: i64, down_after: Option<usize>) -> AnalyticsServer {
    AnalyticsServer {
        run_id,
        customers: ["c1", "c2", "c3"]
            .into_iter()
            .map(|c| insight(c, &["beer"]))
            .collect(),
        requests: RefCell::new(Vec::new()),
        down_after,
    }
}

fn round(device: &Store, server: &dyn Transport) -> Result<crate::SyncReport, crate::SyncError> {
    let policy = RetryPolicy {
        attempts: 1,
        ..RetryPolicy::default()
    };
    sync(device, server, &policy, &mut |_| {}, &|| AS_OF)
}

#[test]
fn one_sync_round_brings_the_snapshot_and_an_interrupted_one_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir);
    // The connection drops after the second page: run 4 is staged, not installed.
    let flaky = server(4, Some(2));
    assert_eq!(round(&device, &flaky).unwrap_err().code(), "offline");
    assert_eq!(device.insights_run().unwrap(), None);
    let steady = server(4, None);
    let report = round(&device, &steady).unwrap();
    assert_eq!(
        steady.requests.borrow().as_slice(),
        ["run=0&limit=500&after=c2"],
        "resumed after the last customer staged"
    );
    assert_eq!(
        (report.insights_run, report.insights_customers),
        (Some(4), 1)
    );
    for customer in ["c1", "c2", "c3"] {
        assert_eq!(
            offered(&insight_of(&device, customer).unwrap()),
            vec!["chips"]
        );
    }
    // Nothing new: one request, answered "unchanged".
    let again = server(4, None);
    let report = round(&device, &again).unwrap();
    assert_eq!(again.requests.borrow().as_slice(), ["run=4&limit=500"]);
    assert_eq!(report.insights_run, None);
}

/// A server without the analytics endpoint.
struct NoAnalytics;

impl Transport for NoAnalytics {
    fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        unreachable!("nothing to push")
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        server(1, None).pull(body)
    }

    fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        unreachable!("no pings")
    }

    fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        unreachable!("nothing refused")
    }

    fn analytics(&self, _query: &str) -> Result<Vec<u8>, TransportError> {
        Err(TransportError::Server {
            status: 404,
            code: "not_found".into(),
            retry_after: None,
        })
    }
}

#[test]
fn a_server_without_analytics_is_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir);
    let report = round(&device, &NoAnalytics).unwrap();
    assert_eq!(report.insights_run, None);
    assert_eq!(device.sync_status().unwrap().last_error, None);
}

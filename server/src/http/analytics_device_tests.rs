//! The device's analytics snapshot over HTTP (`GET /v1/analytics/device`), driven with
//! `oneshot` on the sales tests' organisation: nothing before a run, each rep's customers only,
//! the rules on the first page, paging, "unchanged", malformed parameters, and a rep's device
//! taking the snapshot through its sync steps and ranking offers offline.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use fieldcrm_core::insights::{InsightsOutcome, InsightsPage};
use fieldcrm_core::{Customer, OrderLine, OrderStatus, Query, QueryResult, Store, SyncSession};

use super::sales_tests::SalesApp;
use crate::config::AnalyticsParams;
use crate::model::now_ms;

fn line(n: usize, product: &str) -> OrderLine {
    OrderLine {
        id: format!("0190a0b0-0000-7000-8000-{n:012x}"),
        product_id: product.into(),
        sku: product.to_uppercase(),
        name: product.into(),
        quantity: 1,
        unit_price_minor: 500,
        tax_rate_bp: 0,
        discount_bp: 0,
    }
}

fn take_order(device: &Store, customer_id: &str, products: &[&str], status: OrderStatus) {
    let mut order = device.create_order(customer_id, None, "EUR").unwrap();
    order.lines = products
        .iter()
        .enumerate()
        .map(|(j, p)| line(j, p))
        .collect();
    let order = device.update(order).unwrap();
    if status != OrderStatus::Draft {
        device.set_order_status(&order.meta.id, status).unwrap();
    }
}

/// A new customer of `rep` in `territory` with one submitted order per basket; its id.
fn buyer(app: &SalesApp, rep: &str, name: &str, territory: &str, baskets: &[&[&str]]) -> String {
    let device = app.device(rep);
    let mut customer = Customer::new(name);
    customer.territory = Some(territory.into());
    let customer = device.create(customer).unwrap();
    for basket in baskets {
        take_order(&device, &customer.meta.id, basket, OrderStatus::Submitted);
    }
    app.push(rep, &device);
    customer.meta.id
}

/// Buyers in both territories and a run: coffee and filters go together.
fn run(app: &SalesApp) -> (i64, String, String, String) {
    let cafe = buyer(
        app,
        "ana",
        "Harbour café",
        "harbour",
        &[&["coffee", "filters"][..]; 3],
    );
    buyer(
        app,
        "ana",
        "Quay bar",
        "harbour",
        &[&["coffee", "filters"][..]; 2],
    );
    let tea = buyer(app, "ana", "Tea room", "harbour", &[&["tea"][..]; 2]);
    let stall = buyer(app, "cy", "Fish stall", "quay", &[&["ice"][..]; 2]);
    let params = AnalyticsParams {
        currency: "EUR".into(),
        abc_window_days: 365,
        min_support: 0.1,
        min_confidence: 0.5,
        clv_monthly_discount: 0.01,
        next_best: 3,
    };
    let done =
        crate::insights::run(app.storage.as_ref(), "EUR", params.settings(now_ms())).unwrap();
    (done.run_id, cafe, tea, stall)
}

async fn fetch(app: &SalesApp, query: &str, as_user: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::get(format!("/v1/analytics/device?{query}"))
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", app.token(as_user).await),
        )
        .body(Body::empty())
        .unwrap();
    let response = super::app(app.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

async fn page(app: &SalesApp, query: &str, as_user: &str) -> InsightsPage {
    let (status, body) = fetch(app, query, as_user).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    fieldcrm_core::protocol::decode(&body, 64 << 20).unwrap()
}

fn ids(page: &InsightsPage) -> Vec<&str> {
    page.customers
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect()
}

#[tokio::test]
async fn a_rep_gets_the_run_for_the_customers_in_scope_only() {
    let app = SalesApp::new().await;
    let before = page(&app, "", "ana").await;
    assert_eq!((before.run.clone(), before.customers.len()), (None, 0));

    let (run_id, cafe, tea, stall) = run(&app);
    let ana = page(&app, "run=0&limit=1000", "ana").await;
    assert_eq!(ana.run.as_ref().unwrap().run_id, run_id);
    assert!(!ana.unchanged);
    assert!(ids(&ana).contains(&cafe.as_str()) && ids(&ana).contains(&tea.as_str()));
    assert!(!ids(&ana).contains(&stall.as_str()));
    assert_eq!(ana.next_after, None);
    let cafe_insight = ana
        .customers
        .iter()
        .find(|c| c.customer_id == cafe)
        .unwrap();
    assert_eq!(cafe_insight.abc_class, "A");
    let mut bought = cafe_insight.bought.clone();
    bought.sort();
    assert_eq!(bought, ["coffee", "filters"]);
    assert!(
        ana.rules
            .iter()
            .any(|r| r.antecedent == ["coffee"] && r.consequent == "filters"),
        "{:?}",
        ana.rules
    );

    let cy = page(&app, "limit=1000", "cy").await;
    assert!(ids(&cy).contains(&stall.as_str()));
    assert!(
        !ids(&cy)
            .iter()
            .any(|id| [&cafe, &tea].contains(&&id.to_string()))
    );
    // Starting after a customer out of sight answers as after any unknown id: a cursor only.
    let past_hidden = page(&app, &format!("limit=1000&after={cafe}"), "cy").await;
    let past_unknown = page(&app, &format!("limit=1000&after={cafe}0"), "cy").await;
    assert_eq!(past_hidden.customers.len(), past_unknown.customers.len());
    assert!(
        past_hidden.rules.is_empty(),
        "rules come on the first page only"
    );
    // An unknown run is any run but the current one.
    assert_eq!(page(&app, "run=999999", "cy").await, cy_default(&app).await);
}

async fn cy_default(app: &SalesApp) -> InsightsPage {
    page(app, "", "cy").await
}

#[tokio::test]
async fn the_current_run_is_unchanged_and_pages_follow_each_other() {
    let app = SalesApp::new().await;
    let (run_id, ..) = run(&app);
    let unchanged = page(&app, &format!("run={run_id}"), "root").await;
    assert!(unchanged.unchanged);
    assert!(unchanged.customers.is_empty() && unchanged.rules.is_empty());
    assert_eq!(unchanged.run.unwrap().run_id, run_id);

    let first = page(&app, &format!("run={}&limit=1", run_id - 1), "root").await;
    assert_eq!(first.customers.len(), 1);
    assert!(!first.rules.is_empty());
    let after = first.next_after.clone().unwrap();
    let second = page(&app, &format!("limit=1&after={after}"), "root").await;
    assert!(second.customers[0].customer_id > after);
    assert!(second.rules.is_empty());
}

#[tokio::test]
async fn malformed_parameters_are_bad_requests() {
    let app = SalesApp::new().await;
    for query in ["limit=0", "limit=1001", "limit=many", "run=latest"] {
        let (status, body) = fetch(&app, query, "ana").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "bad_request", "{query}: {body}");
    }
    let request = Request::get("/v1/analytics/device")
        .body(Body::empty())
        .unwrap();
    let response = super::app(app.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

fn offers(device: &Store, customer_id: &str) -> Vec<String> {
    match device
        .query(&Query::CustomerInsight {
            customer_id: customer_id.into(),
            limit: 5,
        })
        .unwrap()
    {
        QueryResult::CustomerInsight(Some(insight)) => insight
            .offers
            .iter()
            .map(|o| o.product.product_id.clone())
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_reps_device_takes_the_snapshot_and_an_order_taken_offline_changes_the_offer() {
    let app = SalesApp::new().await;
    let (run_id, cafe, tea, stall) = run(&app);
    let device = app.device("ana");
    let session = SyncSession::new(&device).unwrap();
    loop {
        let request = session.build_insights_request().unwrap();
        let (status, body) = fetch(&app, &request.query, "ana").await;
        assert_eq!(status, StatusCode::OK);
        match session.apply_insights_page(&request, &body).unwrap() {
            InsightsOutcome::Staged { .. } => continue,
            InsightsOutcome::Installed {
                run_id: installed, ..
            } => {
                assert_eq!(installed, run_id);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    drop(session);
    assert!(offers(&device, &cafe).is_empty(), "bought both already");
    assert!(offers(&device, &tea).is_empty());
    assert!(matches!(
        device
            .query(&Query::CustomerInsight {
                customer_id: stall,
                limit: 5
            })
            .unwrap(),
        QueryResult::CustomerInsight(None)
    ));
    // Offline: the tea room buys coffee for the first time, and filters are offered.
    take_order(&device, &tea, &["coffee"], OrderStatus::Draft);
    assert_eq!(offers(&device, &tea), ["filters"]);
}

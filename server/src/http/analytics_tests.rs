//! Customer analytics over HTTP, driven with `oneshot` on the sales tests' organisation:
//! nothing before a run, then each role's customers and summaries through its sight, the
//! rules, paging, and malformed parameters (a 400 with a stable code).

use axum::http::StatusCode;
use serde_json::Value;

use fieldcrm_core::{Customer, OrderLine, OrderStatus};

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

/// A new customer of `rep` in `territory` with one submitted order per basket.
fn buyer(app: &SalesApp, rep: &str, name: &str, territory: &str, baskets: &[&[&str]]) {
    let device = app.device(rep);
    let mut customer = Customer::new(name);
    customer.territory = Some(territory.into());
    let customer = device.create(customer).unwrap();
    for (i, basket) in baskets.iter().enumerate() {
        let mut order = device.create_order(&customer.meta.id, None, "EUR").unwrap();
        order.lines = basket
            .iter()
            .enumerate()
            .map(|(j, p)| line(i * 10 + j, p))
            .collect();
        let order = device.update(order).unwrap();
        device
            .set_order_status(&order.meta.id, OrderStatus::Submitted)
            .unwrap();
    }
    app.push(rep, &device);
}

fn names(page: &Value) -> Vec<String> {
    let mut names: Vec<String> = page["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn each_role_reads_the_current_run_through_its_sight() {
    let app = SalesApp::new().await;
    let (status, overview) = app.get("/v1/analytics", "ana").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(overview["run"], Value::Null);
    let (_, page) = app.get("/v1/analytics/customers", "ana").await;
    assert_eq!(page["customers"], serde_json::json!([]));

    buyer(
        &app,
        "ana",
        "Harbour café",
        "harbour",
        &[&["coffee", "filters"][..]; 3],
    );
    buyer(&app, "cy", "Fish stall", "quay", &[&["ice"][..]; 2]);
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

    let (_, ana) = app.get("/v1/analytics/customers?limit=1000", "ana").await;
    assert!(names(&ana).contains(&"Harbour café".to_owned()));
    assert!(!names(&ana).contains(&"Fish stall".to_owned()));
    assert_eq!(ana["run"]["run_id"], done.run_id);
    let (_, mia) = app.get("/v1/analytics/customers?limit=1000", "mia").await;
    assert_eq!(names(&mia), names(&ana));
    let (_, cy) = app.get("/v1/analytics/customers?limit=1000", "cy").await;
    assert!(names(&cy).contains(&"Fish stall".to_owned()));
    assert!(!names(&cy).contains(&"Harbour café".to_owned()));
    let (_, root) = app.get("/v1/analytics/customers?limit=1000", "root").await;
    assert_eq!(
        names(&root).len(),
        names(&mia).len() + names(&cy).len(),
        "{root}"
    );
    let kiosk = ana["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Harbour café")
        .unwrap();
    assert_eq!(kiosk["frequency"], 1);
    assert_eq!(kiosk["abc_class"], "A");

    let (_, overview) = app.get("/v1/analytics", "mia").await;
    assert_eq!(overview["run"]["currency"], "EUR");
    let buyers: u64 = overview["rfm_grid"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(buyers, 1, "north has one buying customer: {overview}");
    assert_eq!(
        overview["customers"].as_u64().unwrap(),
        names(&mia).len() as u64
    );

    let (_, rules) = app.get("/v1/analytics/rules", "cy").await;
    let rules = rules["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["antecedent"] == serde_json::json!(["coffee"])
                && r["consequent"] == "filters"),
        "{rules:?}"
    );

    // Paging: one at a time, each page after the last id of the one before.
    let (_, first) = app.get("/v1/analytics/customers?limit=1", "root").await;
    let after = first["next_after"].as_str().unwrap().to_owned();
    let (_, second) = app
        .get(
            &format!("/v1/analytics/customers?limit=1&after={after}"),
            "root",
        )
        .await;
    assert!(second["customers"][0]["customer_id"].as_str().unwrap() > after.as_str());
}

#[tokio::test]
async fn malformed_parameters_are_bad_requests() {
    let app = SalesApp::new().await;
    for path in [
        "/v1/analytics/customers?limit=0",
        "/v1/analytics/customers?limit=1001",
        "/v1/analytics/customers?limit=many",
        "/v1/analytics/rules?limit=5001",
    ] {
        let (status, body) = app.get(path, "root").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}: {body}");
    }
}

/// A customer of ana's (and owned by her) in harbour who bought every 20 days until a year
/// ago: overdue against her own interval, so at high churn risk.
fn lapsed_buyer(app: &SalesApp, name: &str) {
    let device = app.device("ana");
    let mut customer = Customer::new(name);
    customer.territory = Some("harbour".into());
    customer.owner = Some(app.user("ana").id);
    let customer = device.create(customer).unwrap();
    for (i, days_ago) in [420i64, 400, 380, 360].into_iter().enumerate() {
        let at = now_ms() - days_ago * fieldcrm_core::DAY_MS;
        device.set_clock(move || at);
        let mut order = device.create_order(&customer.meta.id, None, "EUR").unwrap();
        order.lines = vec![line(i, "coffee")];
        let order = device.update(order).unwrap();
        device
            .set_order_status(&order.meta.id, OrderStatus::Submitted)
            .unwrap();
    }
    device.set_clock(fieldcrm_core::now_ms);
    app.push("ana", &device);
}

#[tokio::test]
async fn the_panels_draw_the_pareto_curve_the_clv_spread_and_the_churn_list() {
    let app = SalesApp::new().await;
    let (_, empty) = app.get("/v1/analytics/panels", "mia").await;
    assert_eq!(empty["run"], Value::Null);
    buyer(
        &app,
        "ana",
        "Harbour café",
        "harbour",
        &[&["coffee"][..]; 3],
    );
    buyer(
        &app,
        "bo",
        "Dock bar",
        "harbour",
        &[&["ice", "coffee"][..]; 2],
    );
    lapsed_buyer(&app, "Old mill");
    buyer(&app, "cy", "Fish stall", "quay", &[&["ice"][..]; 2]);
    let params = AnalyticsParams {
        currency: "EUR".into(),
        abc_window_days: 730,
        min_support: 0.1,
        min_confidence: 0.5,
        clv_monthly_discount: 0.01,
        next_best: 3,
    };
    crate::insights::run(app.storage.as_ref(), "EUR", params.settings(now_ms())).unwrap();

    let (status, panels) = app.get("/v1/analytics/panels", "mia").await;
    assert_eq!(status, StatusCode::OK, "{panels}");
    let (_, overview) = app.get("/v1/analytics", "mia").await;
    let pareto = panels["pareto"].as_array().unwrap();
    assert_eq!(pareto.first().unwrap(), &serde_json::json!([0.0, 0.0]));
    assert_eq!(pareto.last().unwrap(), &serde_json::json!([1.0, 1.0]));
    let shares: Vec<f64> = pareto.iter().map(|p| p[1].as_f64().unwrap()).collect();
    assert!(shares.windows(2).all(|w| w[0] <= w[1]), "{shares:?}");
    // Every customer in mia's sight is in the histogram or counted as unknown.
    let binned: u64 = panels["clv"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(
        binned + panels["clv"]["unknown"].as_u64().unwrap(),
        overview["customers"].as_u64().unwrap()
    );
    let top: Vec<f64> = panels["top_clv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clv_12m_minor"].as_f64().unwrap())
        .collect();
    assert!(top.windows(2).all(|w| w[0] >= w[1]), "{top:?}");
    assert!(
        !panels["top_clv"].to_string().contains("Fish stall"),
        "another team's customer"
    );
    let mill = panels["churn"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Old mill")
        .unwrap_or_else(|| panic!("{panels}"));
    assert_eq!(mill["churn_level"], "high");
    assert_eq!(mill["owner"], "ana");
    let (_, cy) = app.get("/v1/analytics/panels", "cy").await;
    assert!(!cy["churn"].to_string().contains("Old mill"));
}

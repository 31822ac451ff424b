//! Orders and revenue over HTTP, driven with `oneshot` on the sales tests' organisation: what
//! each role sees by rep, customer and product, the unknown products, revenue attainment in
//! targets, a customer moved with its orders, and malformed parameters (a 400 with a stable
//! code, never a 500).

use axum::http::StatusCode;
use serde_json::{Value, json};

use fieldcrm_core::{Customer, OrderLine, OrderStatus, Product, Store};

use super::sales_tests::SalesApp;
use crate::model::now_ms;
use crate::sales::Period;
use crate::storage::Storage;

fn line(
    id: u8,
    product_id: &str,
    quantity: i64,
    unit: i64,
    tax_bp: u32,
    discount_bp: u32,
) -> OrderLine {
    OrderLine {
        id: format!("0190a0b0-0000-7000-8000-0000000000{id:02x}"),
        product_id: product_id.into(),
        sku: "SKU-1".into(),
        name: "Espresso beans".into(),
        quantity,
        unit_price_minor: unit,
        tax_rate_bp: tax_bp,
        discount_bp,
    }
}

/// An order of `rep` at a new customer of `territory` with these lines, moved to `status`.
fn order(
    app: &SalesApp,
    rep: &str,
    customer: &str,
    territory: &str,
    currency: &str,
    lines: Vec<OrderLine>,
    status: OrderStatus,
) -> (Store, String, String) {
    let device = app.device(rep);
    let mut c = Customer::new(customer);
    c.territory = Some(territory.into());
    let c = device.create(c).unwrap();
    let mut o = device.create_order(&c.meta.id, None, currency).unwrap();
    o.lines = lines;
    let o = device.update(o).unwrap();
    if status != OrderStatus::Draft {
        device.set_order_status(&o.meta.id, status).unwrap();
    }
    app.push(rep, &device);
    (device, c.meta.id, o.meta.id)
}

struct Orders {
    product: String,
    kiosk: String,
}

/// Root's product (pushed); ana's submitted order at the Kiosk (the product twice at 10.00,
/// 10 % off, 19 % tax: net 18.00, gross 21.42; and a line of an unknown product, 5.00) and her
/// draft; bo's confirmed order (net 30.00, gross 35.70) and his cancelled one; cy's delivered
/// order (9.00 EUR) and his submitted one in USD (7.00).
fn seed_orders(app: &SalesApp) -> Orders {
    let root = app.device("root");
    let product = root
        .create(Product::new("SKU-1", "Espresso beans"))
        .unwrap();
    app.push("root", &root);
    let p = product.meta.id.as_str();
    let (_, kiosk, _) = order(
        app,
        "ana",
        "Kiosk at the pier",
        "harbour",
        "EUR",
        vec![
            line(1, p, 2, 1_000, 1_900, 1_000),
            line(2, "no-such-product", 1, 500, 0, 0),
        ],
        OrderStatus::Submitted,
    );
    order(
        app,
        "ana",
        "Draft shop",
        "harbour",
        "EUR",
        vec![line(3, p, 10, 1_000, 0, 0)],
        OrderStatus::Draft,
    );
    order(
        app,
        "bo",
        "Bakery Lund",
        "harbour",
        "EUR",
        vec![line(4, p, 3, 1_000, 1_900, 0)],
        OrderStatus::Confirmed,
    );
    order(
        app,
        "bo",
        "Cancelled cafe",
        "harbour",
        "EUR",
        vec![line(5, p, 1, 1_000, 0, 0)],
        OrderStatus::Cancelled,
    );
    order(
        app,
        "cy",
        "Fish market",
        "quay",
        "EUR",
        vec![line(6, p, 1, 900, 0, 0)],
        OrderStatus::Delivered,
    );
    order(
        app,
        "cy",
        "Harbour bar",
        "quay",
        "USD",
        vec![line(7, p, 1, 700, 0, 0)],
        OrderStatus::Submitted,
    );
    Orders {
        product: product.meta.id,
        kiosk,
    }
}

/// (name or id, currency, net, gross) of a report's groups.
fn groups(body: &Value) -> Vec<(String, String, i64, i64)> {
    body["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap_or("?").to_owned(),
                g["currency"].as_str().unwrap().to_owned(),
                g["net_minor"].as_i64().unwrap(),
                g["gross_minor"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn group(name: &str, currency: &str, net: i64, gross: i64) -> (String, String, i64, i64) {
    (name.into(), currency.into(), net, gross)
}

#[tokio::test]
async fn revenue_by_rep_customer_and_product_keeps_to_the_callers_sight() {
    let app = SalesApp::new().await;
    let orders = seed_orders(&app);
    let north = vec![
        group("bo", "EUR", 3_000, 3_570),
        group("ana", "EUR", 2_300, 2_642),
    ];
    for viewer in ["ana", "bo", "mia"] {
        let (status, body) = app.get("/v1/revenue?by=rep", viewer).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(groups(&body), north, "{viewer}");
        assert_eq!(
            body["totals"],
            json!([{"currency": "EUR", "orders": 2, "net_minor": 5_300, "gross_minor": 6_212}]),
            "{viewer}"
        );
        assert_eq!(body["groups"][0]["orders"], 1);
    }
    let (_, body) = app.get("/v1/revenue", "sam").await;
    assert_eq!(body["by"], "rep");
    assert_eq!(
        groups(&body),
        [group("cy", "EUR", 900, 900), group("cy", "USD", 700, 700)]
    );
    let (_, body) = app.get("/v1/revenue?by=rep", "root").await;
    assert_eq!(
        body["totals"],
        json!([
            {"currency": "EUR", "orders": 3, "net_minor": 6_200, "gross_minor": 7_112},
            {"currency": "USD", "orders": 1, "net_minor": 700, "gross_minor": 700},
        ])
    );
    assert_eq!(body["truncated"], false);
    // A currency, a limit.
    let (_, body) = app.get("/v1/revenue?currency=USD", "root").await;
    assert_eq!(groups(&body), [group("cy", "USD", 700, 700)]);
    let (_, body) = app.get("/v1/revenue?limit=1", "root").await;
    assert_eq!(groups(&body), [group("bo", "EUR", 3_000, 3_570)]);
    assert_eq!(body["truncated"], true);

    // By customer: named, the draft and the cancelled order left out.
    let (_, body) = app.get("/v1/revenue?by=customer", "mia").await;
    assert_eq!(
        groups(&body),
        [
            group("Bakery Lund", "EUR", 3_000, 3_570),
            group("Kiosk at the pier", "EUR", 2_300, 2_642),
        ]
    );
    assert_eq!(body["groups"][1]["id"], orders.kiosk.as_str());

    // By product: the known product, and the unknown one shown as unknown.
    let (_, body) = app.get("/v1/revenue?by=product", "mia").await;
    let rows = body["groups"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{body}");
    assert_eq!(rows[0]["id"], orders.product.as_str());
    assert_eq!(
        (
            &rows[0]["known"],
            &rows[0]["lines"],
            &rows[0]["quantity"],
            &rows[0]["net_minor"]
        ),
        (&json!(true), &json!(2), &json!(5), &json!(4_800))
    );
    assert_eq!(rows[0]["sku"], "SKU-1");
    assert_eq!(rows[1]["id"], "no-such-product");
    assert_eq!(
        (&rows[1]["known"], &rows[1]["net_minor"]),
        (&json!(false), &json!(500))
    );
    let (_, body) = app.get("/v1/revenue?by=product", "sam").await;
    assert_eq!(groups(&body).len(), 2);

    // Another period holds nothing.
    let (status, body) = app.get("/v1/revenue?period=2001-Q1", "root").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((&body["totals"], &body["groups"]), (&json!([]), &json!([])));
    assert_eq!(body["period"], "2001-Q1");
}

#[tokio::test]
async fn unknown_products_are_counted_and_listed_per_sight() {
    let app = SalesApp::new().await;
    seed_orders(&app);
    for viewer in ["ana", "mia", "root"] {
        let (status, body) = app.get("/v1/revenue/unknown-products", viewer).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["count"], 1, "{viewer}: {body}");
        assert_eq!(body["lines"][0]["product_id"], "no-such-product");
        assert_eq!(body["lines"][0]["net_minor"], 500);
        assert_eq!(body["lines"][0]["rep_id"], app.user("ana").id.as_str());
    }
    for viewer in ["cy", "sam"] {
        let (_, body) = app.get("/v1/revenue/unknown-products", viewer).await;
        assert_eq!(
            (&body["count"], &body["lines"]),
            (&json!(0), &json!([])),
            "{viewer}"
        );
    }
}

#[tokio::test]
async fn a_product_that_arrives_after_its_orders_becomes_known() {
    let app = SalesApp::new().await;
    // Root makes the product but has not pushed it when ana's order names it.
    let root = app.device("root");
    let product = root.create(Product::new("SKU-9", "Late beans")).unwrap();
    order(
        &app,
        "ana",
        "Kiosk",
        "harbour",
        "EUR",
        vec![line(1, &product.meta.id, 1, 100, 0, 0)],
        OrderStatus::Submitted,
    );
    let (_, body) = app.get("/v1/revenue/unknown-products", "mia").await;
    assert_eq!(body["count"], 1);
    app.push("root", &root);
    let (_, body) = app.get("/v1/revenue/unknown-products", "mia").await;
    assert_eq!(body["count"], 0, "{body}");
    let (_, body) = app.get("/v1/revenue?by=product", "mia").await;
    assert_eq!(body["groups"][0]["known"], true);
}

#[tokio::test]
async fn a_customer_moved_to_another_territory_takes_its_orders_along() {
    let app = SalesApp::new().await;
    let orders = seed_orders(&app);
    let quay = app.storage.territory_by_name("quay").unwrap().unwrap();
    app.storage
        .assign_customer_territory(&orders.kiosk, &quay.id)
        .unwrap();
    let (_, body) = app.get("/v1/revenue?by=rep", "mia").await;
    assert_eq!(groups(&body), [group("bo", "EUR", 3_000, 3_570)]);
    let (_, body) = app.get("/v1/revenue?by=rep&currency=EUR", "sam").await;
    assert_eq!(
        groups(&body),
        [
            group("ana", "EUR", 2_300, 2_642),
            group("cy", "EUR", 900, 900)
        ]
    );
    let (_, body) = app.get("/v1/revenue/unknown-products", "sam").await;
    assert_eq!(body["count"], 1);
}

#[tokio::test]
async fn revenue_targets_are_measured_against_the_reps_orders() {
    let app = SalesApp::new().await;
    seed_orders(&app);
    let month = Period::month_of(now_ms()).to_string();
    let ana = app.user("ana").id;
    let (status, body) = app
        .put(
            "/v1/targets",
            "mia",
            json!({"rep_id": ana, "period": month, "metric": "revenue", "currency": "EUR", "value": 4_600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = app
        .put(
            "/v1/targets",
            "mia",
            json!({"rep_id": ana, "period": month, "metric": "revenue", "currency": "USD", "value": 100}),
        )
        .await;
    assert_eq!(body["currency"], "USD");
    let (status, body) = app.get(&format!("/v1/targets?period={month}"), "mia").await;
    assert_eq!(status, StatusCode::OK);
    let rep = body["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["username"] == "ana")
        .unwrap()
        .clone();
    assert_eq!(
        rep["targets"],
        json!([
            {"metric": "revenue", "currency": "EUR", "target": 4_600, "actual": 2_300, "percent": 50.0},
            {"metric": "revenue", "currency": "USD", "target": 100, "actual": 0, "percent": 0.0},
        ])
    );
    let (_, body) = app
        .get(
            &format!("/v1/targets/ranking?period={month}&metric=revenue&currency=EUR"),
            "mia",
        )
        .await;
    assert_eq!(body["reps"][0]["username"], "ana");
    assert_eq!(body["reps"][0]["actual"], 2_300);
    assert_eq!(body["reps"][0]["rank"], 1);
}

#[tokio::test]
async fn malformed_revenue_parameters_are_bad_requests() {
    let app = SalesApp::new().await;
    for path in [
        "/v1/revenue?by=region",
        "/v1/revenue?by=",
        "/v1/revenue?by=REP",
        "/v1/revenue?period=2026-Q5",
        "/v1/revenue?period=1999",
        "/v1/revenue?period=",
        "/v1/revenue?currency=eur",
        "/v1/revenue?currency=EURO",
        "/v1/revenue?limit=0",
        "/v1/revenue?limit=501",
        "/v1/revenue?limit=-1",
        "/v1/revenue?limit=abc",
        "/v1/revenue/unknown-products?period=2026-13",
        "/v1/revenue/unknown-products?limit=0",
        "/v1/revenue/unknown-products?limit=99999999999",
    ] {
        for viewer in ["ana", "mia", "root"] {
            let (status, body) = app.get(path, viewer).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
            assert_eq!(body["error"]["code"], "bad_request", "{path}");
        }
    }
    let request = axum::http::Request::get("/v1/revenue")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _) = app.call(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The rows of a CSV answer (header first).
fn csv_rows(body: &Value) -> Vec<csv::StringRecord> {
    let text = body.as_str().unwrap_or_else(|| panic!("{body}"));
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn the_orders_csv_holds_one_row_per_line_of_the_orders_each_role_sees() {
    let app = SalesApp::new().await;
    seed_orders(&app);
    for (viewer, rows) in [
        ("ana", 5),
        ("bo", 5),
        ("mia", 5),
        ("cy", 2),
        ("sam", 2),
        ("root", 7),
    ] {
        let (status, body) = app.get("/v1/export/orders.csv", viewer).await;
        assert_eq!(status, StatusCode::OK, "{viewer}");
        let records = csv_rows(&body);
        assert_eq!(&records[0][0], "order_id");
        assert_eq!(records.len(), rows + 1, "{viewer}: {body}");
    }
    let (_, body) = app.get("/v1/export/orders.csv", "mia").await;
    let records = csv_rows(&body);
    let at = |name: &str| records[0].iter().position(|h| h == name).unwrap();
    let unknown = records
        .iter()
        .find(|r| &r[at("product_id")] == "no-such-product")
        .unwrap();
    assert_eq!(
        (
            &unknown[at("status")],
            &unknown[at("revenue")],
            &unknown[at("owner")],
            &unknown[at("order_net_minor")],
            &unknown[at("line_net_minor")],
        ),
        ("submitted", "true", "ana", "2300", "500")
    );
}

//! The sales cycle end to end through the real binary: the admin publishes the catalog, the
//! manager sets a rep's revenue target, the rep takes an order during a visit with no network
//! (her sync fails, the order waits on the device), syncs later, and the manager sees the order
//! in revenue by rep, by customer and by product, and in the rep's target attainment.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::*;
use fieldcrm_server::sales::Period;
use serde_json::{Value, json};

mod support;
use support::{BIN, Device, Launch, OrgServer, agent, device};

const PASSWORD: &str = "secret pass";

fn organisation() -> OrgServer {
    OrgServer::start(
        BIN,
        &[
            ("ada", "admin", None),
            ("ana", "rep", Some("harbour")),
            ("mia", "manager", None),
        ],
        PASSWORD,
        Launch::default(),
    )
}

fn synced(device: &Device) {
    device.sync().unwrap();
    assert!(
        device.store.rejected_changes().unwrap().is_empty(),
        "{:?}",
        device.store.rejected_changes()
    );
}

fn get(base: &str, token: &str, path: &str) -> Value {
    let mut response = agent()
        .get(format!("{base}{path}"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.body_mut().read_json().unwrap()
}

fn product(sku: &str, name: &str, euros: i64, tax_rate_bp: u32) -> Product {
    let mut p = Product::new(sku, name);
    p.prices.insert("EUR".into(), euros);
    p.tax_rate_bp = tax_rate_bp;
    p
}

#[test]
fn an_order_taken_offline_reaches_the_managers_revenue_and_the_reps_target() {
    let server = organisation();
    let ada = device(&server.base, "ada", PASSWORD);
    let ana = device(&server.base, "ana", PASSWORD);
    let mia = device(&server.base, "mia", PASSWORD);

    // The admin publishes the catalog; the rep's phone receives it with her customer.
    let bread = ada
        .store
        .create(product("AB-1001", "Roggenbrot", 349, 700))
        .unwrap();
    let beans = ada
        .store
        .create(product("CF-2001", "Espresso Blend", 2_490, 700))
        .unwrap();
    synced(&ada);
    let mut shop = Customer::new("Bäckerei am Hafen");
    shop.territory = Some("harbour".into());
    shop.location = Some(GeoLocation {
        lat: 53.5449,
        lon: 9.9101,
        source: LocationSource::Gps,
        at: now_ms(),
    });
    let shop = ana.store.create(shop).unwrap();
    let mut visit = Visit::new(shop.meta.id.clone(), ana.store.user());
    visit.planned_start = Some(now_ms());
    let visit = ana.store.create(visit).unwrap();
    synced(&ana);
    assert_eq!(ana.store.document_ids(Kind::Product).unwrap().len(), 2);

    // No signal at the shop: the phone's sync fails, and the visit and order happen anyway.
    let offline = HttpTransport::new("http://127.0.0.1:9", &ana.token);
    let no_signal = fieldcrm_core::sync(
        &ana.store,
        &offline,
        &RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        },
        &mut |_| {},
        &now_ms,
    );
    assert!(no_signal.is_err(), "no server at the shop");
    ana.store
        .check_in(
            &visit.meta.id,
            Fix {
                at: now_ms(),
                lat: 53.5449,
                lon: 9.9102,
                accuracy_m: 8.0,
                mock: false,
            },
        )
        .unwrap();
    let order = ana
        .store
        .create_order(&shop.meta.id, Some(&visit.meta.id), "EUR")
        .unwrap();
    let order = ana
        .store
        .add_order_line(&order.meta.id, &bread.meta.id, 10)
        .unwrap();
    let order = ana
        .store
        .add_order_line(&order.meta.id, &beans.meta.id, 2)
        .unwrap();
    let beans_line = order.lines[1].id.clone();
    let order = ana
        .store
        .edit_order_line(
            &order.meta.id,
            &beans_line,
            LineEdit {
                quantity: None,
                discount_bp: Some(1_000),
            },
        )
        .unwrap();
    let order = ana
        .store
        .set_order_status(&order.meta.id, OrderStatus::Submitted)
        .unwrap();
    // 10 × 3.49 + 2 × 24.90 less 10 % on the beans: 34.90 + 44.82.
    let totals = order.totals();
    assert_eq!(totals.net_minor, 3_490 + 4_482);
    assert!(
        !ana.store.pending_changes(100).unwrap().is_empty(),
        "waiting for signal"
    );

    // Back in signal: the order goes up, and the manager sees it.
    synced(&ana);
    synced(&mia);
    assert_eq!(
        mia.store
            .get::<Order>(&order.meta.id)
            .unwrap()
            .map(|o| o.totals()),
        Some(totals)
    );
    let period = Period::month_of(order.ordered_at).to_string();
    let by_rep = get(
        &server.base,
        &mia.token,
        &format!("/v1/revenue?period={period}&by=rep"),
    );
    assert_eq!(by_rep["totals"][0]["currency"], "EUR", "{by_rep}");
    assert_eq!(
        by_rep["totals"][0]["net_minor"], totals.net_minor,
        "{by_rep}"
    );
    assert_eq!(
        by_rep["totals"][0]["gross_minor"], totals.gross_minor,
        "{by_rep}"
    );
    assert_eq!(by_rep["groups"][0]["name"], "ana", "{by_rep}");
    assert_eq!(by_rep["groups"][0]["orders"], 1, "{by_rep}");
    let by_customer = get(
        &server.base,
        &mia.token,
        &format!("/v1/revenue?period={period}&by=customer"),
    );
    assert_eq!(by_customer["groups"][0]["id"], shop.meta.id.as_str());
    assert_eq!(by_customer["groups"][0]["net_minor"], totals.net_minor);
    let by_product = get(
        &server.base,
        &mia.token,
        &format!("/v1/revenue?period={period}&by=product"),
    );
    let beans_row = by_product["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["sku"] == "CF-2001")
        .unwrap_or_else(|| panic!("{by_product}"));
    assert_eq!(beans_row["net_minor"], 4_482);
    assert_eq!(beans_row["known"], true);

    // The manager's target for the rep, and her attainment from the order.
    let mut set = agent()
        .put(format!("{}/v1/targets", server.base))
        .header("authorization", &format!("Bearer {}", mia.token))
        .send_json(json!({
            "rep_id": ana.store.user(),
            "period": period,
            "metric": "revenue",
            "currency": "EUR",
            "value": 15_944,
        }))
        .unwrap();
    assert_eq!(
        set.status(),
        200,
        "{}",
        set.body_mut().read_to_string().unwrap()
    );
    let targets = get(
        &server.base,
        &mia.token,
        &format!("/v1/targets?period={period}"),
    );
    let revenue = targets["reps"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == "revenue")
        .unwrap_or_else(|| panic!("{targets}"))
        .clone();
    assert_eq!(revenue["actual"], totals.net_minor, "{targets}");
    assert_eq!(revenue["percent"], 50.0, "{targets}");
    // The rep sees her own attainment too.
    let own = get(
        &server.base,
        &ana.token,
        &format!("/v1/targets?period={period}"),
    );
    assert_eq!(own["reps"].as_array().unwrap().len(), 1, "{own}");
}

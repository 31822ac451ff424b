//! Customer analytics through the real binary: a rep's orders synced to the server, then the
//! admin command runs the analytics (now, and as of a past day: a calibration run), prints the
//! report as JSON and lists the runs; a bad date is refused with a clear error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::{Customer, OrderLine, OrderStatus};
use serde_json::Value;

mod support;
use support::{BIN, Launch, OrgServer, device};

const PASSWORD: &str = "analytics pass";

fn line(n: usize, product: &str) -> OrderLine {
    OrderLine {
        id: format!("0190a0b0-0000-7000-8000-{n:012x}"),
        product_id: product.into(),
        sku: product.to_uppercase(),
        name: product.into(),
        quantity: 2,
        unit_price_minor: 450,
        tax_rate_bp: 700,
        discount_bp: 0,
    }
}

#[test]
fn the_admin_runs_the_analytics_now_and_as_of_a_past_day() {
    let server = OrgServer::start(
        BIN,
        &[("root", "admin", None), ("ana", "rep", Some("harbour"))],
        PASSWORD,
        Launch::default(),
    );
    let ana = device(&server.base, "ana", PASSWORD);
    let mut n = 0;
    for name in ["Kiosk", "Bakery", "Quiet corner"] {
        let mut customer = Customer::new(name);
        customer.territory = Some("harbour".into());
        let customer = ana.store.create(customer).unwrap();
        if name == "Quiet corner" {
            continue;
        }
        for basket in [&["coffee", "filters"][..], &["coffee"][..]] {
            let mut order = ana
                .store
                .create_order(&customer.meta.id, None, "EUR")
                .unwrap();
            order.lines = basket
                .iter()
                .map(|p| {
                    n += 1;
                    line(n, p)
                })
                .collect();
            let order = ana.store.update(order).unwrap();
            ana.store
                .set_order_status(&order.meta.id, OrderStatus::Submitted)
                .unwrap();
        }
    }
    ana.sync().unwrap();
    assert!(ana.store.rejected_changes().unwrap().is_empty());

    let db = server.db.as_path();
    let printed =
        support::admin_output(db, &["analytics", "run", "--json", "--min-support", "0.2"]);
    let report: Value = serde_json::from_str(printed.trim()).unwrap();
    assert_eq!(report["input"]["customers"], 3);
    assert_eq!(report["input"]["orders"], 4);
    assert_eq!(report["input"]["orders_used"], 4);
    assert_eq!(report["currency"], "EUR");
    assert_eq!(report["parameters"]["rules"]["min_support"], 0.2);
    // Coffee in all four baskets, filters in two: no rule has a lift above 1.
    assert_eq!(report["results"]["rules_kept"], 0);

    let current: Value =
        serde_json::from_str(support::admin_output(db, &["analytics", "report"]).trim()).unwrap();
    assert_eq!(current, report);

    // As of a day before every order: a calibration run sees none of them.
    let past: Value = serde_json::from_str(
        support::admin_output(db, &["analytics", "run", "--json", "--as-of", "2020-01-31"]).trim(),
    )
    .unwrap();
    assert_eq!(past["input"]["orders_used"], 0);
    assert_eq!(past["input"]["after_as_of"], 4);

    let runs = support::admin_output(db, &["analytics", "runs"]);
    assert_eq!(runs.lines().count(), 2, "{runs}");
    assert!(runs.lines().all(|l| l.contains("succeeded")), "{runs}");

    let refused =
        fieldcrm_tests::server::try_admin(BIN, db, &["analytics", "run", "--as-of", "31/01/2020"])
            .unwrap_err()
            .to_string();
    assert!(
        refused.contains("is not a date: expected YYYY-MM-DD"),
        "{refused}"
    );
}

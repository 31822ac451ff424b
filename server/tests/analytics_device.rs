//! Customer analytics to the phone through the real server binary and the library's own sync
//! round over HTTP: orders pushed, an analytics run (the admin command), one sync brings each
//! rep the run for their customers only; offers ranked offline change with an order taken
//! offline; the next sync finds the run unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::*;

mod support;
use support::{BIN, Device, Launch, OrgServer, admin, device};

const PASSWORD: &str = "secret pass";

fn product(device: &Device, sku: &str, name: &str) -> String {
    let mut product = Product::new(sku, name);
    product.prices.insert("EUR".into(), 500);
    device.store.create(product).unwrap().meta.id
}

fn sell(device: &Device, customer_id: &str, products: &[&str], status: OrderStatus) {
    let order = device.store.create_order(customer_id, None, "EUR").unwrap();
    for product in products {
        device
            .store
            .add_order_line(&order.meta.id, product, 1)
            .unwrap();
    }
    if status != OrderStatus::Draft {
        device
            .store
            .set_order_status(&order.meta.id, status)
            .unwrap();
    }
}

fn customer(device: &Device, name: &str, territory: &str) -> String {
    let mut customer = Customer::new(name);
    customer.territory = Some(territory.into());
    device.store.create(customer).unwrap().meta.id
}

fn insight(device: &Device, customer_id: &str) -> Option<Box<CustomerInsight>> {
    match device
        .store
        .query(&Query::CustomerInsight {
            customer_id: customer_id.into(),
            limit: 5,
        })
        .unwrap()
    {
        QueryResult::CustomerInsight(insight) => insight,
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_sync_brings_a_rep_the_run_and_an_order_taken_offline_changes_the_offer() {
    let server = OrgServer::start(
        BIN,
        &[
            ("ada", "admin", None),
            ("ana", "rep", Some("harbour")),
            ("ben", "rep", Some("hills")),
        ],
        PASSWORD,
        Launch::default(),
    );
    let ada = device(&server.base, "ada", PASSWORD);
    let (coffee, filters, tea) = (
        product(&ada, "CO-1", "Espresso beans"),
        product(&ada, "FI-1", "Coffee filters"),
        product(&ada, "TE-1", "Green tea"),
    );
    ada.sync().unwrap();
    let ana = device(&server.base, "ana", PASSWORD);
    ana.sync().unwrap();
    let cafe = customer(&ana, "Hafencafé", "harbour");
    for _ in 0..3 {
        sell(&ana, &cafe, &[&coffee, &filters], OrderStatus::Submitted);
    }
    let tea_room = customer(&ana, "Teestube", "harbour");
    for _ in 0..2 {
        sell(&ana, &tea_room, &[&tea], OrderStatus::Submitted);
    }
    let report = ana.sync().unwrap();
    assert_eq!(report.rejected, 0);
    assert_eq!(report.insights_run, None, "no run yet: no error either");

    admin(&server.db, &["analytics", "run"]);
    let report = ana.sync().unwrap();
    assert!(report.insights_run.is_some(), "{report:?}");
    assert_eq!(report.insights_customers, 2);
    let before = insight(&ana, &tea_room).unwrap();
    assert!(before.offers.is_empty(), "{before:?}");
    assert_eq!(insight(&ana, &cafe).unwrap().abc_class, "A");

    // Offline: the tea room takes coffee; filters are offered at once.
    sell(&ana, &tea_room, &[&coffee], OrderStatus::Draft);
    let after = insight(&ana, &tea_room).unwrap();
    let offer = &after.offers[0];
    assert_eq!(offer.product.product_id, filters);
    assert_eq!(offer.product.name.as_deref(), Some("Coffee filters"));
    assert_eq!(offer.because[0].name.as_deref(), Some("Espresso beans"));
    assert_eq!(offer.confidence, 1.0);

    // The next sync: the run is unchanged, nothing downloaded.
    let again = ana.sync().unwrap();
    assert_eq!((again.insights_run, again.insights_customers), (None, 0));

    // A rep of another territory gets the run and its rules, and none of ana's customers.
    let ben = device(&server.base, "ben", PASSWORD);
    let report = ben.sync().unwrap();
    assert_eq!(report.insights_run, insight(&ana, &cafe).map(|i| i.run_id));
    assert_eq!(report.insights_customers, 0);
    assert!(insight(&ben, &cafe).is_none());
}

//! Issue-level end to end of customer analytics through the real binary: customers and the
//! catalog imported from CSV, years of order history imported (twice: the second adds nothing),
//! the analytics run, a rep's device synced, and then, offline, the customer's analytics and
//! next-best products read on the device; an order taken offline changes the suggestion.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::fmt::Write as _;

use fieldcrm_core::*;

mod support;
use support::{BIN, Device, Launch, OrgServer, admin_output, device};

const PASSWORD: &str = "history pass";

/// Shops 01 to 20 bought espresso beans with filters three times in 2025; shops 21 to 24 green
/// tea twice; shop 25 never bought; shops 26 to 30 (the other territory) tea with a mug.
fn files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let mut customers = String::from("external_id,name,territory,owner\n");
    for i in 1..=30 {
        let (territory, owner) = if i <= 25 {
            ("harbour", "ana")
        } else {
            ("hills", "ben")
        };
        writeln!(customers, "c{i:02},Shop {i:02},{territory},{owner}").unwrap();
    }
    let products = "external_id,sku,name,prices\n\
                    p1,COF,Espresso beans,EUR 5.00\n\
                    p2,FIL,Coffee filters,EUR 5.00\n\
                    p3,TEA,Green tea,EUR 5.00\n\
                    p4,MUG,Tea mug,EUR 5.00\n";
    let mut history =
        String::from("customer_external_id,date,amount,currency,sku,quantity,unit_price\n");
    for i in 1..=20 {
        for date in ["2025-03-03", "2025-06-02", "2025-09-01"] {
            for sku in ["COF", "FIL"] {
                writeln!(history, "c{i:02},{date},10.00,EUR,{sku},1,5.00").unwrap();
            }
        }
    }
    for i in 21..=24 {
        for date in ["2025-04-07", "2025-08-04"] {
            writeln!(history, "c{i:02},{date},5.00,EUR,TEA,1,5.00").unwrap();
        }
    }
    for i in 26..=30 {
        for sku in ["TEA", "MUG"] {
            writeln!(history, "c{i:02},2025-05-05,10.00,EUR,{sku},1,5.00").unwrap();
        }
    }
    let paths = (
        dir.join("customers.csv"),
        dir.join("products.csv"),
        dir.join("history.csv"),
    );
    std::fs::write(&paths.0, customers).unwrap();
    std::fs::write(&paths.1, products).unwrap();
    std::fs::write(&paths.2, history).unwrap();
    paths
}

fn customer_id(device: &Device, name: &str) -> String {
    match device
        .store
        .query(&Query::SearchCustomers {
            text: name.into(),
            limit: 5,
        })
        .unwrap()
    {
        QueryResult::Customers(found) => found.into_iter().find(|c| c.name == name).unwrap().id,
        other => panic!("{other:?}"),
    }
}

fn product_id(device: &Device, sku: &str) -> String {
    match device
        .store
        .query(&Query::ProductBySku { sku: sku.into() })
        .unwrap()
    {
        QueryResult::Products(found) => found[0].id.clone(),
        other => panic!("{other:?}"),
    }
}

fn insight(device: &Device, customer_id: &str) -> Box<CustomerInsight> {
    match device
        .store
        .query(&Query::CustomerInsight {
            customer_id: customer_id.into(),
            limit: 5,
        })
        .unwrap()
    {
        QueryResult::CustomerInsight(Some(insight)) => insight,
        other => panic!("{other:?}"),
    }
}

fn offered(insight: &CustomerInsight) -> Vec<String> {
    insight
        .offers
        .iter()
        .map(|o| o.product.name.clone().unwrap_or_default())
        .collect()
}

#[test]
fn history_imported_analytics_run_and_the_offline_offer_follows_an_offline_order() {
    let server = OrgServer::start(
        BIN,
        &[
            ("root", "admin", None),
            ("ana", "rep", Some("harbour")),
            ("ben", "rep", Some("hills")),
        ],
        PASSWORD,
        Launch::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let (customers, products, history) = files(dir.path());
    let db = server.db.as_path();
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    admin_output(
        db,
        &["import", "customers", &path(&customers), "--as", "root"],
    );
    admin_output(
        db,
        &["import", "products", &path(&products), "--as", "root"],
    );
    let first = admin_output(db, &["analytics", "import", &path(&history)]);
    let again = admin_output(db, &["analytics", "import", &path(&history)]);
    assert_ne!(
        first, again,
        "the second import reports what was already there"
    );
    let report: serde_json::Value = serde_json::from_str(
        admin_output(
            db,
            &[
                "analytics",
                "run",
                "--json",
                "--min-support",
                "0.05",
                // The history is of last year: revenue classes over two years.
                "--abc-window-days",
                "730",
            ],
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(report["input"]["customers"], 30, "{report}");
    assert!(
        report["results"]["rules_kept"].as_u64().unwrap() > 0,
        "{report}"
    );

    // ana syncs once, then goes offline.
    let ana = device(&server.base, "ana", PASSWORD);
    let synced = ana.sync().unwrap();
    assert_eq!(synced.insights_customers, 25, "{synced:?}");
    assert!(synced.insights_run.is_some());

    // A coffee shop's analytics come from its history: three purchase days, class A.
    let coffee_shop = insight(&ana, &customer_id(&ana, "Shop 01"));
    assert_eq!(coffee_shop.frequency, Some(3), "{coffee_shop:?}");
    assert_eq!(coffee_shop.abc_class, "A");
    assert!(coffee_shop.clv_12m_minor.is_some_and(f64::is_finite));

    // A tea shop is offered the mug (tea buyers also buy mugs), not the filters.
    let tea_shop = customer_id(&ana, "Shop 21");
    let before = insight(&ana, &tea_shop);
    assert!(
        offered(&before).contains(&"Tea mug".to_owned()),
        "{before:?}"
    );
    assert!(!offered(&before).contains(&"Coffee filters".to_owned()));

    // Offline, the tea shop orders espresso beans: the filters are offered at once, because
    // every customer who bought beans also bought filters.
    let order = ana.store.create_order(&tea_shop, None, "EUR").unwrap();
    ana.store
        .add_order_line(&order.meta.id, &product_id(&ana, "COF"), 2)
        .unwrap();
    let after = insight(&ana, &tea_shop);
    let filters = after
        .offers
        .iter()
        .find(|o| o.product.name.as_deref() == Some("Coffee filters"))
        .unwrap_or_else(|| panic!("{after:?}"));
    assert_eq!(filters.confidence, 1.0);
    assert_eq!(filters.because[0].name.as_deref(), Some("Espresso beans"));
    assert!(after.bought_since_run.contains(&product_id(&ana, "COF")));

    // The other territory's rep gets none of ana's customers.
    let ben = device(&server.base, "ben", PASSWORD);
    assert_eq!(ben.sync().unwrap().insights_customers, 5);
}

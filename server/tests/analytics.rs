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

/// Imports `customers` (`import customers ... --as root`) and then the order `history`
/// (`analytics import`), each from a file; the history import's report, and the history file
/// (to import again).
fn import_customers_and_history(
    db: &std::path::Path,
    dir: &tempfile::TempDir,
    customers: &str,
    history: &str,
) -> (String, std::path::PathBuf) {
    let customers_file = dir.path().join("customers.csv");
    let history_file = dir.path().join("history.csv");
    std::fs::write(&customers_file, customers).unwrap();
    std::fs::write(&history_file, history).unwrap();
    let customers_file = customers_file.to_str().unwrap();
    support::admin(db, &["import", "customers", customers_file, "--as", "root"]);
    let report =
        support::admin_output(db, &["analytics", "import", history_file.to_str().unwrap()]);
    (report, history_file)
}

/// `GET path` as `token`: the JSON answer.
fn get_json(base: &str, token: &str, path: &str) -> Value {
    let mut response = support::agent()
        .get(format!("{base}{path}"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.body_mut().read_json().unwrap()
}

/// The named customer's results in the current run, as the admin reads them.
fn insight(base: &str, token: &str, name: &str) -> Value {
    let page = get_json(base, token, "/v1/analytics/customers?limit=1000");
    page["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} in {page}"))
}

#[test]
fn imported_order_history_counts_beside_the_crms_orders() {
    let server = OrgServer::start(
        BIN,
        &[("root", "admin", None), ("ana", "rep", Some("harbour"))],
        PASSWORD,
        Launch::default(),
    );
    let db = server.db.as_path();
    let dir = tempfile::tempdir().unwrap();
    // Kiosk: three days with orders (two orders on the last: one purchase); Bakery: one.
    let (first, history) = import_customers_and_history(
        db,
        &dir,
        "external_id,name,territory\nK-1,Kiosk,harbour\nK-2,Bakery,harbour\n",
        "customer_external_id,date,amount,currency\n\
         K-1,2024-01-05,10.00,EUR\n\
         K-1,2024-02-05,12.00,EUR\n\
         K-1,2024-03-05,8.00,EUR\n\
         K-1,2024-03-05,8.00,EUR\n\
         K-2,2024-03-05,30.00,EUR\n\
         K-3,2024-03-05,30.00,EUR\n",
    );
    let history = history.to_str().unwrap();
    assert!(
        first.contains("6 rows: 5 orders new, 0 already present"),
        "{first}"
    );
    assert!(
        first.contains("line 7 (K-3): no customer was imported with the external id \"K-3\""),
        "{first}"
    );
    let again = support::admin_output(db, &["analytics", "import", history]);
    assert!(again.contains("0 orders new, 5 already present"), "{again}");

    let report: Value =
        serde_json::from_str(support::admin_output(db, &["analytics", "run", "--json"]).trim())
            .unwrap();
    assert_eq!(report["input"]["orders"], 5);
    let (token, _) = support::login(&server.base, "root", PASSWORD);
    let kiosk = insight(&server.base, &token, "Kiosk");
    assert_eq!(kiosk["frequency"], 3, "{kiosk}");
    assert_eq!(kiosk["monetary_minor"], 3_800, "{kiosk}");

    // An order taken in the CRM for the same customer counts with its history.
    let ana = device(&server.base, "ana", PASSWORD);
    ana.sync().unwrap();
    let customer_id = kiosk["customer_id"].as_str().unwrap();
    let mut order = ana.store.create_order(customer_id, None, "EUR").unwrap();
    order.lines = vec![line(1, "coffee")];
    let order = ana.store.update(order).unwrap();
    ana.store
        .set_order_status(&order.meta.id, OrderStatus::Submitted)
        .unwrap();
    ana.sync().unwrap();
    assert!(ana.store.rejected_changes().unwrap().is_empty());
    support::admin(db, &["analytics", "run"]);
    let kiosk = insight(&server.base, &token, "Kiosk");
    assert_eq!(kiosk["frequency"], 4, "{kiosk}");
}

/// Polls `analytics runs` until `enough` runs succeeded (at most a minute); what it printed.
fn wait_for_runs(db: &std::path::Path, enough: usize) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let runs = support::admin_output(db, &["analytics", "runs", "--limit", "1000"]);
        if runs.lines().filter(|l| l.contains("succeeded")).count() >= enough {
            return runs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled runs: {runs}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn scheduled_runs_grade_customers_by_their_abc_class_and_the_reps_receive_it() {
    let mut server = OrgServer::start(
        BIN,
        &[("root", "admin", None), ("ana", "rep", Some("harbour"))],
        PASSWORD,
        Launch {
            args: &["--analytics-every", "1s", "--grade-from-abc", "root"],
            ..Launch::default()
        },
    );
    let db = server.db.clone();
    let dir = tempfile::tempdir().unwrap();
    // Ten days ago: inside the ABC window (a year).
    let day = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 86_400
        - 10;
    let date = fieldcrm_core::dates::format_date(day);
    import_customers_and_history(
        &db,
        &dir,
        "external_id,name,territory,grade\nK-1,Kiosk,harbour,B\nK-2,Bakery,harbour,A\n",
        &format!("customer_external_id,date,amount,currency\nK-1,{date},10.00,EUR\n"),
    );
    // Runs follow one another, each grading before the next starts: of three more runs than
    // there were, the second started after the import, and its grades are pushed once the
    // third is recorded.
    let before = support::admin_output(&db, &["analytics", "runs", "--limit", "1000"])
        .lines()
        .filter(|l| l.contains("succeeded"))
        .count();
    wait_for_runs(&db, before + 3);
    server.assert_up();

    // Kiosk, the only customer with revenue, is class A, Bakery class C: their grades (B and
    // A by hand) follow, and reach the rep's device.
    let ana = device(&server.base, "ana", PASSWORD);
    ana.sync().unwrap();
    let (token, _) = support::login(&server.base, "root", PASSWORD);
    for (name, class, grade) in [
        ("Kiosk", "A", fieldcrm_core::Grade::A),
        ("Bakery", "C", fieldcrm_core::Grade::C),
    ] {
        let found = insight(&server.base, &token, name);
        assert_eq!(found["abc_class"], class, "{found}");
        let customer: Customer = ana
            .store
            .get(found["customer_id"].as_str().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(customer.grade, Some(grade), "{name}");
    }
}

#[test]
fn the_holdout_report_compares_predictions_with_the_period_after_and_stores_nothing() {
    let server = OrgServer::start(BIN, &[("root", "admin", None)], PASSWORD, Launch::default());
    let db = server.db.as_path();
    let dir = tempfile::tempdir().unwrap();
    // 300 customers buying at their own pace (every 5 to 60 days), some stopping for good.
    let mut customers = String::from("external_id,name,territory\n");
    let mut history = String::from("customer_external_id,date,amount,currency\n");
    let start = fieldcrm_core::dates::parse_date("2022-01-03").unwrap();
    let end = fieldcrm_core::dates::parse_date("2024-12-31").unwrap();
    let calibration_end = fieldcrm_core::dates::parse_date("2024-06-30").unwrap();
    let mut seed: u64 = 42;
    let mut next = |below: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % below
    };
    let mut actual_in_holdout = 0;
    let mut cohort = 0;
    for i in 0..300 {
        customers.push_str(&format!("K-{i},Customer {i},harbour\n"));
        let gap = 5 + next(56) as i64;
        let mut day = start + next(700) as i64;
        let mut purchase_days = std::collections::BTreeSet::new();
        while day <= end {
            purchase_days.insert(day);
            history.push_str(&format!(
                "K-{i},{},{}.00,EUR\n",
                fieldcrm_core::dates::format_date(day),
                10 + next(90)
            ));
            if next(100) < 8 {
                break;
            }
            day += 1 + next(2 * gap as u64) as i64;
        }
        if purchase_days.iter().any(|d| *d <= calibration_end) {
            cohort += 1;
            actual_in_holdout += purchase_days
                .iter()
                .filter(|d| **d > calibration_end && **d <= calibration_end + 180)
                .count();
        }
    }
    import_customers_and_history(db, &dir, &customers, &history);
    support::admin(db, &["analytics", "run"]);
    let current = support::admin_output(db, &["analytics", "report"]);

    let holdout = [
        "analytics",
        "holdout",
        "--as-of",
        "2024-06-30",
        "--days",
        "180",
    ];
    let printed = support::admin_output(db, &[&holdout[..], &["--json"]].concat());
    let report: Value = serde_json::from_str(printed.trim()).unwrap();
    assert_eq!(report["calibration_end"], "2024-06-30");
    assert_eq!(report["holdout_days"], 180);
    assert_eq!(report["bgnbd"]["converged"], true, "{report}");
    assert_eq!(
        report["customers"].as_u64().unwrap() + report["prediction_failures"].as_u64().unwrap(),
        cohort
    );
    assert_eq!(report["actual_total"], actual_in_holdout as u64, "{report}");
    let predicted = report["predicted_total"].as_f64().unwrap();
    assert!(predicted > 0.0, "{report}");
    let groups = report["by_frequency"].as_array().unwrap();
    assert_eq!(groups.len(), 8);
    assert_eq!(groups[7]["repeat_purchases"], "7+");
    let grouped: u64 = groups
        .iter()
        .map(|g| g["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(grouped, report["customers"].as_u64().unwrap());

    let table = support::admin_output(db, &holdout);
    assert!(table.contains("the next 180 days compared"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("7+\t")), "{table}");

    // Nothing was stored: one run, and its report is still the current one.
    let runs = support::admin_output(db, &["analytics", "runs"]);
    assert_eq!(runs.lines().count(), 1, "{runs}");
    assert_eq!(support::admin_output(db, &["analytics", "report"]), current);
}

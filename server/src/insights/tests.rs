//! Runs through the real push path and storage: results per customer, read through each
//! viewer's sight; a failed run keeps the previous results current; old runs are pruned.

use fieldcrm_core::{Customer, OrderLine, OrderStatus, Store};

use super::*;
use crate::analytics::run::RunSettings;
use crate::config::AnalyticsParams;
use crate::model::{Role, User};
use crate::storage::{Accounts, AnalyticsStorage, SqliteStorage};

struct Org {
    storage: SqliteStorage,
    ana: User,
    cy: User,
    mia: User,
    root: User,
}

fn org() -> Org {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let north = storage.create_team("north").unwrap();
    let south = storage.create_team("south").unwrap();
    let harbour = storage.create_territory("harbour", &north.id).unwrap();
    let quay = storage.create_territory("quay", &south.id).unwrap();
    let user = |name: &str, role: Role, team: Option<&str>| {
        crate::storage::test_users::passwordless_user(&storage, name, role, team)
    };
    let ana = user("ana", Role::Rep, Some(&north.id));
    let cy = user("cy", Role::Rep, Some(&south.id));
    let mia = user("mia", Role::Manager, Some(&north.id));
    let root = user("root", Role::Admin, None);
    storage.assign_user_territory(&ana.id, &harbour.id).unwrap();
    storage.assign_user_territory(&cy.id, &quay.id).unwrap();
    Org {
        storage,
        ana,
        cy,
        mia,
        root,
    }
}

fn push(org: &Org, user: &User, device: &Store) {
    let principal = org.storage.principal(user).unwrap();
    while let Some((request, hashes)) = device.push_request(1_000).unwrap() {
        let (response, _) = org.storage.push_changes(&principal, request).unwrap();
        assert!(response.rejected.is_empty(), "{:?}", response.rejected);
        device.acknowledge(&hashes).unwrap();
    }
}

fn line(n: usize, product: &str) -> OrderLine {
    OrderLine {
        id: format!("0190a0b0-0000-7000-8000-{n:012x}"),
        product_id: product.into(),
        sku: product.to_uppercase(),
        name: product.into(),
        quantity: 1,
        unit_price_minor: 1_000,
        tax_rate_bp: 0,
        discount_bp: 0,
    }
}

/// `user`'s device creates customers in `territory`, each with submitted orders of `baskets`.
fn customers_with_orders(
    org: &Org,
    user: &User,
    territory: &str,
    names: &[&str],
    baskets: &[&[&str]],
) {
    let device = Store::open(":memory:").unwrap();
    device.set_user(&user.id).unwrap();
    org.storage
        .register_device(&user.id, &device.actor_id())
        .unwrap();
    let mut n = 0;
    for name in names {
        let mut customer = Customer::new(*name);
        customer.territory = Some(territory.into());
        let customer = device.create(customer).unwrap();
        for basket in baskets {
            let mut order = device.create_order(&customer.meta.id, None, "EUR").unwrap();
            order.lines = basket
                .iter()
                .map(|p| {
                    n += 1;
                    line(n, p)
                })
                .collect();
            let order = device.update(order).unwrap();
            device
                .set_order_status(&order.meta.id, OrderStatus::Submitted)
                .unwrap();
        }
    }
    push(org, user, &device);
}

fn params() -> AnalyticsParams {
    AnalyticsParams {
        currency: "EUR".into(),
        abc_window_days: 365,
        min_support: 0.1,
        min_confidence: 0.3,
        clv_monthly_discount: 0.01,
        next_best: 3,
    }
}

fn settings() -> RunSettings {
    params().settings(now_ms())
}

fn seen(org: &Org, viewer: &User, run_id: i64) -> Vec<String> {
    let principal = org.storage.principal(viewer).unwrap();
    let mut names: Vec<String> = org
        .storage
        .customer_insights(&principal, run_id, None, 100)
        .unwrap()
        .into_iter()
        .map(|row| row.customer_name.unwrap_or_default())
        .collect();
    names.sort();
    names
}

fn seeded() -> Org {
    let org = org();
    customers_with_orders(
        &org,
        &org.ana,
        "harbour",
        &["Kiosk", "Bakery"],
        &[&["coffee", "filters"], &["coffee", "filters"], &["coffee"]],
    );
    customers_with_orders(
        &org,
        &org.cy,
        "quay",
        &["Fish stall"],
        &[&["ice"], &["ice", "salt"]],
    );
    org
}

#[test]
fn a_run_stores_every_customers_results_read_through_each_sight() {
    let org = seeded();
    let done = run(&org.storage, "EUR", settings()).unwrap();
    assert_eq!(done.report["input"]["customers"], 3);
    assert_eq!(done.report["input"]["orders_used"], 8);
    assert_eq!(
        org.storage.current_analytics_run().unwrap().map(|r| r.id),
        Some(done.run_id)
    );
    assert_eq!(seen(&org, &org.ana, done.run_id), vec!["Bakery", "Kiosk"]);
    assert_eq!(seen(&org, &org.mia, done.run_id), vec!["Bakery", "Kiosk"]);
    assert_eq!(seen(&org, &org.cy, done.run_id), vec!["Fish stall"]);
    assert_eq!(
        seen(&org, &org.root, done.run_id),
        vec!["Bakery", "Fish stall", "Kiosk"]
    );
    let principal = org.storage.principal(&org.ana).unwrap();
    let kiosk = org
        .storage
        .customer_insights(&principal, done.run_id, None, 100)
        .unwrap()
        .into_iter()
        .find(|r| r.customer_name.as_deref() == Some("Kiosk"))
        .unwrap();
    assert_eq!(
        kiosk.frequency,
        Some(1),
        "three orders on one day: one purchase day"
    );
    assert_eq!(kiosk.bought, r#"["coffee","filters"]"#);
    let rules = org.storage.cross_sell_rules(done.run_id, 100).unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r.antecedent == ["coffee"] && r.consequent == "filters"),
        "{rules:?}"
    );
}

#[test]
fn a_failed_run_keeps_the_previous_results_current() {
    let org = seeded();
    let first = run(&org.storage, "EUR", settings()).unwrap();
    let mut bad = settings();
    bad.rules.min_support = 0.0;
    assert!(matches!(
        run(&org.storage, "EUR", bad),
        Err(InsightsError::Run(_))
    ));
    let runs = org.storage.analytics_runs(10).unwrap();
    assert_eq!(runs[0].status, "failed");
    assert!(runs[0].error.as_deref().unwrap_or("").contains("support"));
    assert_eq!(
        org.storage.current_analytics_run().unwrap().map(|r| r.id),
        Some(first.run_id)
    );
    assert_eq!(seen(&org, &org.root, runs[0].id), Vec::<String>::new());
    assert_eq!(seen(&org, &org.root, first.run_id).len(), 3);
}

#[test]
fn only_the_last_runs_keep_their_results() {
    let org = seeded();
    let ids: Vec<i64> = (0..4)
        .map(|_| run(&org.storage, "EUR", settings()).unwrap().run_id)
        .collect();
    assert!(seen(&org, &org.root, ids[0]).is_empty());
    for id in &ids[1..] {
        assert_eq!(seen(&org, &org.root, *id).len(), 3);
    }
}

#[test]
fn the_report_states_the_models_and_the_next_run_reads_their_parameters_back() {
    let org = seeded();
    let done = run(&org.storage, "EUR", settings()).unwrap();
    let models = &done.report["models"];
    for fit in ["bgnbd", "gamma_gamma"] {
        let fit = &models[fit];
        assert!(
            fit.get("params").is_some() || fit.get("error").is_some(),
            "{fit}"
        );
    }
    let report = serde_json::json!({
        "models": {
            "bgnbd_used": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
            "gamma_gamma_used": {"p": 6.25, "q": 3.74, "gamma": 15.44},
        }
    });
    let previous = previous_params(&report);
    assert_eq!(previous.bgnbd.map(|p| p.alpha), Some(4.414));
    assert_eq!(previous.gamma_gamma.map(|p| p.q), Some(3.74));
    // A report without usable parameters (none, or not numbers) gives none.
    let none = previous_params(&serde_json::json!({"models": {"bgnbd_used": {"r": "x"}}}));
    assert_eq!((none.bgnbd, none.gamma_gamma), (None, None));
    // Stored values are finite or absent.
    let principal = org.storage.principal(&org.root).unwrap();
    for row in org
        .storage
        .customer_insights(&principal, done.run_id, None, 100)
        .unwrap()
    {
        for value in [
            row.p_alive,
            row.expected_purchases_90d,
            row.clv_12m_minor,
            row.churn_score,
        ]
        .into_iter()
        .flatten()
        {
            assert!(value.is_finite());
        }
    }
}

/// Each customer's grade as `viewer` sees the records (what their devices receive).
fn grades(org: &Org, viewer: &User) -> Vec<(String, Option<fieldcrm_core::Grade>)> {
    use crate::storage::CsvStorage;
    let principal = org.storage.principal(viewer).unwrap();
    let mut grades: Vec<_> = org
        .storage
        .export_page(&principal, fieldcrm_core::Kind::Customer, "", 100)
        .unwrap()
        .into_iter()
        .filter_map(|row| match row.record {
            fieldcrm_core::AnyRecord::Customer(c) => Some((c.name, c.grade)),
            _ => None,
        })
        .collect();
    grades.sort();
    grades
}

#[test]
fn the_grade_follows_the_abc_class_as_an_admin_change_when_chosen() {
    use fieldcrm_core::Grade;
    let org = seeded();
    let with_grades = GradeOption {
        grade_from_abc: Some("root".into()),
    };
    let params = params();
    // Not chosen: the grades stay as the reps set them.
    let (_, none) =
        run_configured(&org.storage, &params, &GradeOption::default(), now_ms()).unwrap();
    assert_eq!(none, None);
    assert!(grades(&org, &org.root).iter().all(|(_, g)| g.is_none()));

    let (done, set) = run_configured(&org.storage, &params, &with_grades, now_ms()).unwrap();
    assert_eq!(set.map(|s| (s.changed, s.refused)), Some((3, 0)));
    let principal = org.storage.principal(&org.root).unwrap();
    let classes: Vec<(String, Option<Grade>)> = {
        let mut rows: Vec<_> = org
            .storage
            .customer_insights(&principal, done.run_id, None, 100)
            .unwrap()
            .into_iter()
            .map(|r| {
                let grade = match r.abc_class.as_str() {
                    "A" => Grade::A,
                    "B" => Grade::B,
                    _ => Grade::C,
                };
                (r.customer_name.unwrap_or_default(), Some(grade))
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(grades(&org, &org.root), classes);
    // The reps receive the grades like any edit.
    let fish = classes
        .iter()
        .find(|(name, _)| name == "Fish stall")
        .cloned();
    assert_eq!(grades(&org, &org.cy), vec![fish.unwrap()]);

    // Again: nothing differs, nothing is written; the import device was revoked.
    let (_, again) = run_configured(&org.storage, &params, &with_grades, now_ms()).unwrap();
    assert_eq!(again.map(|s| (s.changed, s.unchanged)), Some((0, 3)));
    assert!(
        org.storage
            .device_statuses(&org.root.id)
            .unwrap()
            .iter()
            .all(|d| d.revoked_at.is_some())
    );

    // Only an admin's name is accepted; the run itself stays current.
    let by_rep = GradeOption {
        grade_from_abc: Some("ana".into()),
    };
    let refused = run_configured(&org.storage, &params, &by_rep, now_ms()).unwrap_err();
    let InsightsError::Grades { error, .. } = &refused else {
        panic!("{refused}");
    };
    assert!(matches!(**error, GradeError::NotAdmin(_)), "{refused}");
}

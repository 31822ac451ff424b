use super::*;
use crate::storage::SqliteStorage;
use fieldcrm_core::protocol::{PullRequest, PulledPayload};
use fieldcrm_core::{AnyRecord, Kind};

const NOW: Millis = 1_790_000_000_000;

fn reps() -> [String; REPS] {
    ["rep-a".to_owned(), "rep-b".to_owned(), "rep-c".to_owned()]
}

/// Every record `username` pulls from a fresh cursor.
fn pull_all(storage: &SqliteStorage, username: &str) -> Vec<AnyRecord> {
    let user = storage.user_by_username(username).unwrap().unwrap();
    let principal = storage.principal(&user).unwrap();
    let mut cursor = 0;
    let mut records = Vec::new();
    loop {
        let page = storage
            .pull_changes(
                &principal,
                &PullRequest {
                    cursor,
                    limit: 1_000,
                },
                fieldcrm_core::protocol::PROTOCOL_VERSION,
            )
            .unwrap();
        for doc in page.docs {
            match doc.payload {
                PulledPayload::Snapshot { record, .. } => {
                    records.push(record.read().expect("a record in this format"))
                }
                PulledPayload::Changes(_) => panic!("a fresh device gets snapshots"),
            }
        }
        cursor = page.next_cursor;
        if !page.has_more {
            return records;
        }
    }
}

#[test]
fn the_plan_is_deterministic_and_realistic() {
    let first = plan(&reps(), NOW);
    assert_eq!(first, plan(&reps(), NOW));
    assert_eq!(first.customers.len(), 300);
    let names: BTreeSet<&str> = first
        .customers
        .iter()
        .map(|(_, c)| c.name.as_str())
        .collect();
    assert_eq!(names.len(), 300, "names are unique");
    // The store fills in the creation fields; give the plain plan some to validate it.
    let created = |mut meta: fieldcrm_core::RecordMeta| {
        meta.created_at = NOW;
        meta.updated_at = NOW;
        meta.created_by = "rep-a".into();
        meta
    };
    for (rep, customer) in &first.customers {
        let mut valid = customer.clone();
        valid.meta = created(valid.meta);
        valid.validate().unwrap();
        let location = customer.location.as_ref().unwrap();
        // Hamburg, west of the Alster (Altona) or north of it (Eppendorf).
        assert!((53.54..53.61).contains(&location.lat), "{location:?}");
        assert!((9.88..10.00).contains(&location.lon), "{location:?}");
        let altona = customer.territory.as_deref() == Some("altona");
        assert_eq!(altona, *rep < 2);
        assert_eq!(altona, location.lon < 9.96, "{location:?}");
    }
    let done = first
        .visits
        .iter()
        .filter(|(_, v)| v.status == VisitStatus::Done)
        .count();
    let planned = first
        .visits
        .iter()
        .filter(|(_, v)| v.status == VisitStatus::Planned)
        .count();
    assert!(
        done >= 3 * 4 * 4,
        "a working week of visits per rep: {done}"
    );
    assert_eq!(planned, 3 * 8, "four today and four tomorrow per rep");
    for (_, visit) in &first.visits {
        let mut valid = visit.clone();
        valid.meta = created(valid.meta);
        valid.validate().unwrap();
    }
    let stages: BTreeSet<Stage> = first
        .opportunities
        .iter()
        .map(|(_, o)| o.stage.clone())
        .collect();
    assert_eq!(stages.len(), 6, "every stage");
    // Deals went through the funnel over time: histories of several stages, in time order.
    let long = first
        .opportunities
        .iter()
        .filter(|(_, o)| o.stage_history.len() >= 4)
        .count();
    assert!(long >= 10, "deals that got far: {long}");
    for (_, deal) in &first.opportunities {
        assert!(deal.stage_history.windows(2).all(|w| w[0].at < w[1].at));
        assert!(
            deal.stage_history
                .last()
                .is_some_and(|c| c.stage == deal.stage)
        );
        assert!(deal.stage_history.iter().all(|c| c.at <= NOW));
        assert_eq!(deal.stage == Stage::Lost, deal.lost_reason.is_some());
    }
    // About 200 products in every category; orders at the visits that took one.
    assert!(
        (180..=240).contains(&first.products.len()),
        "{}",
        first.products.len()
    );
    let skus: BTreeSet<&str> = first.products.iter().map(|p| p.sku.as_str()).collect();
    assert_eq!(skus.len(), first.products.len(), "SKUs are unique");
    for product in &first.products {
        let mut valid = product.clone();
        valid.meta = created(valid.meta);
        valid.validate().unwrap();
    }
    assert!(first.orders.len() >= 3 * 5, "{}", first.orders.len());
    for (rep, order) in &first.orders {
        let visit = first
            .visits
            .iter()
            .find(|(_, v)| Some(&v.meta.id) == order.visit_id.as_ref())
            .map(|(owner, v)| (owner, v))
            .expect("an order's visit");
        assert_eq!(visit.0, rep);
        assert_eq!(visit.1.customer_id, order.customer_id);
        assert!(!order.lines.is_empty());
        assert!(order.totals().gross_minor > 0);
        let mut valid = order.clone();
        valid.meta = created(valid.meta);
        valid.validate().unwrap();
    }
}

#[test]
fn seeding_goes_through_the_push_path_and_respects_scopes() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let params = PasswordParams::fast_for_tests();
    let outcome = ensure_demo(&storage, &params, NOW).unwrap();
    let DemoOutcome::Seeded(summary) = outcome else {
        panic!("expected seeding, got {outcome:?}");
    };
    assert_eq!(summary.customers, 300);
    assert!(summary.visits > 60);
    assert_eq!(summary.opportunities, REPS * deals::DEALS_PER_REP);
    assert!(summary.products >= 180);
    assert!(summary.orders >= 15);
    // Each deal's stage moves and each order's status moves are changes of their own.
    assert!(
        summary.changes
            > summary.customers
                + summary.visits
                + summary.opportunities
                + summary.products
                + summary.orders
    );
    assert_eq!(storage.document_count(Kind::Customer).unwrap(), 300);
    assert_eq!(
        storage.document_count(Kind::Visit).unwrap(),
        summary.visits as i64
    );
    assert_eq!(
        storage.document_count(Kind::Opportunity).unwrap(),
        summary.opportunities as i64
    );
    assert_eq!(
        storage.document_count(Kind::Product).unwrap(),
        summary.products as i64
    );
    assert_eq!(
        storage.document_count(Kind::Order).unwrap(),
        summary.orders as i64
    );
    for user in DEMO_USERS {
        let stored = storage.user_by_username(user.username).unwrap().unwrap();
        assert_eq!(stored.role, user.role);
        assert!(auth::verify_password(
            stored.password_hash.as_deref().unwrap(),
            DEMO_PASSWORD
        ));
    }
    let anna = storage.user_by_username("anna").unwrap().unwrap();
    assert_eq!(storage.devices_of_user(&anna.id).unwrap().len(), 1);

    // Reps see their territory's customers (and deals) and only their own visits.
    let customers_of = |records: &[AnyRecord]| -> Vec<Customer> {
        records
            .iter()
            .filter_map(|r| match r {
                AnyRecord::Customer(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    };
    for (username, territory, count) in [
        ("anna", "altona", 180),
        ("ben", "altona", 180),
        ("clara", "eppendorf", 120),
    ] {
        let user = storage.user_by_username(username).unwrap().unwrap();
        let records = pull_all(&storage, username);
        let customers = customers_of(&records);
        assert_eq!(customers.len(), count, "{username}");
        assert!(
            customers
                .iter()
                .all(|c| c.territory.as_deref() == Some(territory))
        );
        let visits: Vec<&Visit> = records
            .iter()
            .filter_map(|r| match r {
                AnyRecord::Visit(v) => Some(v),
                _ => None,
            })
            .collect();
        assert!(!visits.is_empty());
        assert!(visits.iter().all(|v| v.rep == user.id), "{username}");
    }
    // The manager sees the whole team, the admin everything.
    assert_eq!(customers_of(&pull_all(&storage, "mia")).len(), 300);
    let everything = pull_all(&storage, "admin");
    assert_eq!(
        everything.len(),
        summary.customers
            + summary.visits
            + summary.opportunities
            + summary.products
            + summary.orders
    );
    // The deals arrive with the history seeding replayed, at its times.
    let planned = plan(
        &["rep-a".to_owned(), "rep-b".to_owned(), "rep-c".to_owned()],
        NOW,
    );
    let deal_times = |deals: Vec<&Opportunity>| -> BTreeSet<Vec<Millis>> {
        deals
            .iter()
            .map(|o| o.stage_history.iter().map(|c| c.at).collect())
            .collect()
    };
    let stored: Vec<&Opportunity> = everything
        .iter()
        .filter_map(|r| match r {
            AnyRecord::Opportunity(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(
        deal_times(stored),
        deal_times(planned.opportunities.iter().map(|(_, o)| o).collect())
    );

    // A second start adds nothing.
    assert_eq!(
        ensure_demo(&storage, &params, NOW + DAY_MS).unwrap(),
        DemoOutcome::AlreadySeeded
    );
    assert_eq!(storage.document_count(Kind::Customer).unwrap(), 300);
}

#[test]
fn a_database_with_other_data_is_left_alone() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    storage.create_team("south").unwrap();
    storage.create_team(DEMO_TEAM).unwrap();
    let params = PasswordParams::fast_for_tests();
    assert_eq!(
        ensure_demo(&storage, &params, NOW).unwrap(),
        DemoOutcome::NotEmpty
    );
    assert!(storage.user_by_username("anna").unwrap().is_none());
}

#[test]
fn the_login_hint_names_every_user() {
    let hint = login_hint("http://127.0.0.1:8080");
    for user in DEMO_USERS {
        assert!(hint.contains(user.username));
    }
    assert!(hint.contains(DEMO_PASSWORD));
    assert!(hint.contains("http://127.0.0.1:8080/v1/auth/login"));
    assert!(hint.contains("http://127.0.0.1:8080/dashboard"));
}

#[test]
fn slugs_are_ascii() {
    assert_eq!(
        ascii_slug("Bäckerei Müller & Söhne GmbH"),
        "baeckerei-mueller-soehne-gmbh"
    );
}

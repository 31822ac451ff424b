//! No full scan of a table that grows with the organisation, proven on the statements the
//! server actually runs: a representative workload goes through [`SqliteStorage`] with every
//! executed statement recorded (SQLite's trace hook), then each distinct statement's plan is
//! checked. A new query on the push or pull path is covered the day it runs, without a list
//! to keep up to date.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use fieldcrm_core::protocol::{DocChanges, PingUpload, PullRequest, PushRequest};
use fieldcrm_core::route::Fix;
use fieldcrm_core::{
    Contact, Customer, DAY_MS, GeoLocation, GpsStamp, LocationSource, Money, Opportunity,
    OrderLine, OrderStatus, Product, Stage, Store, Task, Visit, VisitStatus,
};
use rusqlite::trace::{TraceEvent, TraceEventCodes};

use crate::model::{Role, User, now_ms};
use crate::sales::orders::RevenueBy;
use crate::sales::targets::Target;
use crate::scope::Principal;
use crate::storage::{AnalyticsStorage, PipelineFilter, Sales, SqliteStorage, Storage};

/// Tables whose rows grow with the organisation's data. Teams, users, territories, their
/// assignments, devices, signing keys and the one-row log head stay small.
const GROWING: &[&str] = &[
    "documents",
    "changes",
    "scope_history",
    "user_scope_history",
    "customer_territories",
    "customer_places",
    "visit_facts",
    "pings",
    "ping_batches",
    "pin_moves",
    "opportunity_facts",
    "opportunity_stage_changes",
    "customer_origins",
    "targets",
    "order_facts",
    "order_line_facts",
    "analytics_runs",
    "customer_insights",
    "cross_sell_rules",
    "analytics_clusters",
];

/// Full scans allowed, each with why: the answer itself needs every row. The test fails when
/// an entry no longer matches a scanning statement, so the list cannot go stale.
const ALLOWED: &[(&str, &str)] = &[
    (
        "WHERE c.cadence_days IS NOT NULL AND c.deleted = 0 AND TRUE)",
        "an admin's overdue list ranks every customer of the organisation by due date",
    ),
    (
        "SELECT customer_id FROM customer_places WHERE deleted = 0 ORDER BY customer_id",
        "an analytics run reads every customer of the organisation",
    ),
    (
        "FROM analytics_runs ORDER BY id DESC LIMIT ?1",
        "the latest runs: read backwards in rowid order, stopping at the limit",
    ),
];

struct Org {
    storage: SqliteStorage,
    ana: User,
    bo: User,
    mia: User,
    root: User,
    dock: String,
}

fn org() -> Org {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let north = storage.create_team("north").unwrap();
    let harbour = storage.create_territory("harbour", &north.id).unwrap();
    let dock = storage.create_territory("dock", &north.id).unwrap();
    let user = |name: &str, role: Role, team: Option<&str>| {
        crate::storage::test_users::passwordless_user(&storage, name, role, team)
    };
    let ana = user("ana", Role::Rep, Some(&north.id));
    let bo = user("bo", Role::Rep, Some(&north.id));
    let mia = user("mia", Role::Manager, Some(&north.id));
    let root = user("root", Role::Admin, None);
    for rep in [&ana, &bo] {
        storage.assign_user_territory(&rep.id, &harbour.id).unwrap();
    }
    Org {
        storage,
        ana,
        bo,
        mia,
        root,
        dock: dock.id,
    }
}

fn device(org: &Org, user: &User) -> Store {
    let store = Store::open(":memory:").unwrap();
    store.set_user(&user.id).unwrap();
    org.storage
        .register_device(&user.id, &store.actor_id())
        .unwrap();
    store
}

fn principal(org: &Org, user: &User) -> Principal {
    org.storage.principal(user).unwrap()
}

/// Pushes the device's queue as one request, or with one entry per change.
fn push(org: &Org, user: &User, device: &Store, one_entry_per_change: bool) {
    let (request, hashes) = if one_entry_per_change {
        let pending = device.pending_changes(1_000).unwrap();
        let hashes: Vec<String> = pending.iter().map(|c| c.hash.clone()).collect();
        let docs = pending
            .into_iter()
            .map(|c| DocChanges {
                doc_id: c.doc_id,
                kind: c.kind,
                changes: vec![c.bytes],
            })
            .collect();
        (PushRequest { docs }, hashes)
    } else {
        match device.push_request(1_000).unwrap() {
            Some(request) => request,
            None => return,
        }
    };
    let (response, _) = org
        .storage
        .push_changes(&principal(org, user), request)
        .unwrap();
    assert!(response.rejected.is_empty(), "{:?}", response.rejected);
    device.acknowledge(&hashes).unwrap();
}

/// Pulls everything after `cursor` in pages of `limit`; returns the last cursor.
fn pull(org: &Org, user: &User, mut cursor: u64, limit: u32) -> u64 {
    for _ in 0..100 {
        let page = org
            .storage
            .pull_changes(
                &principal(org, user),
                &PullRequest { cursor, limit },
                fieldcrm_core::protocol::PROTOCOL_VERSION,
            )
            .unwrap();
        cursor = page.next_cursor;
        if !page.has_more {
            return cursor;
        }
    }
    panic!("the pull does not end");
}

fn located(lat: f64) -> Option<GeoLocation> {
    Some(GeoLocation {
        lat,
        lon: 9.93,
        source: LocationSource::Gps,
        at: now_ms(),
    })
}

fn stamp(at: i64, lat: f64) -> GpsStamp {
    GpsStamp {
        at,
        lat,
        lon: 9.93,
        accuracy_m: 10.0,
        fix_at: at - 1_000,
        mock: false,
    }
}

/// Pushes, pings, pulls and reviews, as a working day of a small team produces them.
fn workload(org: &Org) {
    let now = now_ms();
    let ana = device(org, &org.ana);
    let bo = device(org, &org.bo);
    // Customers (one without a pin), with what hangs off them, and tasks.
    let mut customers = Vec::new();
    for (index, lat) in [Some(53.55), Some(53.56), None].into_iter().enumerate() {
        let mut customer = Customer::new(format!("Customer {index}"));
        customer.territory = Some("harbour".into());
        customer.visit_cadence_days = Some(7);
        customer.location = lat.and_then(located);
        let customer = ana.create(customer).unwrap();
        ana.create(Contact::new(&customer.meta.id, "Eva")).unwrap();
        ana.create(Opportunity::new(
            &customer.meta.id,
            "Coffee machines",
            Money {
                minor: 120_000,
                currency: "EUR".into(),
            },
        ))
        .unwrap();
        customers.push(customer);
    }
    // A deal won, one lost, one with its own probability and close date.
    for (index, stage) in [Stage::Won, Stage::Lost, Stage::Proposal]
        .into_iter()
        .enumerate()
    {
        let mut deal = Opportunity::new(
            &customers[index].meta.id,
            "Cups",
            Money {
                minor: 9_000,
                currency: "EUR".into(),
            },
        );
        deal.owner = Some(org.ana.id.clone());
        deal.expected_close_at = Some(now + 20 * DAY_MS);
        let mut deal = ana.create(deal).unwrap();
        if stage == Stage::Lost {
            deal.lost_reason = Some("Price".into());
        }
        deal.stage = stage;
        deal.probability = Some(60);
        ana.update(deal).unwrap();
    }
    let mut task = Task::new("Send the catalogue");
    task.linked_id = Some(customers[0].meta.id.clone());
    ana.create(task).unwrap();
    // A product (the admin's) and orders naming it and an unknown product, one submitted.
    let root = device(org, &org.root);
    let product = root.create(Product::new("SKU-1", "Beans")).unwrap();
    push(org, &org.root, &root, false);
    for (index, customer) in customers.iter().enumerate() {
        let mut order = ana.create_order(&customer.meta.id, None, "EUR").unwrap();
        for (line, product_id) in [product.meta.id.as_str(), "no-such-product"]
            .iter()
            .enumerate()
        {
            order.lines.push(OrderLine {
                id: format!("0190a0b0-0000-7000-8000-00000000{index:02x}{line:02x}"),
                product_id: (*product_id).to_owned(),
                sku: "SKU-1".into(),
                name: "Beans".into(),
                quantity: 2,
                unit_price_minor: 450,
                tax_rate_bp: 700,
                discount_bp: 500,
            });
        }
        let order = ana.update(order).unwrap();
        if index > 0 {
            ana.set_order_status(&order.meta.id, OrderStatus::Submitted)
                .unwrap();
        }
    }
    push(org, &org.ana, &ana, false);
    let bo_cursor = pull(org, &org.bo, 0, 2);
    let mia_cursor = pull(org, &org.mia, 0, 5);
    let root_cursor = pull(org, &org.root, 0, 5);

    // Visits checked in and out, a pin set and a pin moved, edits pushed one change per entry
    // (a document named several times in one push).
    for (index, customer) in customers.iter().enumerate() {
        let mut visit = Visit::new(&customer.meta.id, &org.ana.id);
        visit.planned_start = Some(now - 3_600_000);
        let visit = ana.create(visit).unwrap();
        push(org, &org.ana, &ana, false);
        let mut visit = visit;
        visit.check_in = Some(stamp(now - 1_800_000, 53.55 + index as f64 * 0.01));
        visit.status = VisitStatus::InProgress;
        let mut visit = ana.update(visit).unwrap();
        visit.check_out = Some(stamp(now - 600_000, 53.55 + index as f64 * 0.01));
        visit.status = VisitStatus::Done;
        ana.update(visit).unwrap();
    }
    let mut moved = customers[1].clone();
    moved.location = located(53.60);
    moved = ana.update(moved).unwrap();
    moved.location = located(53.56);
    ana.update(moved).unwrap();
    let mut unlocated = customers[2].clone();
    unlocated.location = located(53.57);
    ana.update(unlocated).unwrap();
    let mut renamed = customers[0].clone();
    renamed.name = "Customer 0 GmbH".into();
    ana.update(renamed).unwrap();
    push(org, &org.ana, &ana, true);
    // Bo plans a visit at the same customer; his device first pulls what ana wrote.
    let mut visit = Visit::new(&customers[0].meta.id, &org.bo.id);
    visit.planned_start = Some(now + 3_600_000);
    bo.create(visit).unwrap();
    push(org, &org.bo, &bo, false);

    // Pings: a batch, the same batch again, and one arriving out of order.
    for (batch, minutes) in [("b1", 0..30), ("b1", 0..30), ("b2", 40..50), ("b3", 30..40)] {
        let upload = PingUpload {
            batch_id: batch.into(),
            pings: minutes
                .map(|m| Fix {
                    at: now - 3_600_000 + m * 60_000,
                    lat: 53.55 + m as f64 * 0.0003,
                    lon: 9.93,
                    accuracy_m: 8.0,
                    mock: false,
                })
                .collect(),
        };
        org.storage.store_pings(&org.ana.id, &upload, now).unwrap();
    }

    // Incremental pulls, then pulls after scope changes: a territory given and taken, a
    // customer moved, a rep moved to another team.
    let bo_cursor = pull(org, &org.bo, bo_cursor, 2);
    pull(org, &org.mia, mia_cursor, 5);
    pull(org, &org.root, root_cursor, 5);
    // After a change of the user's own scope the pull starts over, in pages of 2; a device
    // holding a plain position (from a server before scope epochs) starts over too.
    org.storage
        .assign_user_territory(&org.bo.id, &org.dock)
        .unwrap();
    let legacy = u64::try_from(crate::storage::cursor_position(bo_cursor)).unwrap_or(0);
    pull(org, &org.bo, legacy, 2);
    let bo_cursor = pull(org, &org.bo, bo_cursor, 2);
    org.storage
        .assign_customer_territory(&customers[1].meta.id, &org.dock)
        .unwrap();
    let bo_cursor = pull(org, &org.bo, bo_cursor, 2);
    org.storage
        .unassign_user_territory(&org.bo.id, &org.dock)
        .unwrap();
    pull(org, &org.bo, bo_cursor, 2);
    let south = org.storage.create_team("south").unwrap();
    let ana_cursor = pull(org, &org.ana, 0, 3);
    org.storage
        .move_user_to_team(&org.ana.id, &south.id)
        .unwrap();
    pull(org, &org.ana, ana_cursor, 100);
    pull(org, &org.mia, 0, 5);

    // Reviews by every role.
    for viewer in [&org.ana, &org.mia, &org.root] {
        let viewer = principal(org, viewer);
        let reps = org.storage.reviewable_reps(&viewer).unwrap();
        for rep in &reps {
            org.storage
                .rep_day(&viewer, &rep.id, now - DAY_MS, now + DAY_MS)
                .unwrap();
        }
        org.storage
            .team_overview(&viewer, &reps, now - DAY_MS, now + DAY_MS)
            .unwrap();
        org.storage
            .overdue_customers(&viewer, now + 30 * DAY_MS, 50)
            .unwrap();
    }

    // Sales reports and targets by every role.
    let (from, to) = (now - 30 * DAY_MS, now + 90 * DAY_MS);
    for user in [&org.ana, &org.mia, &org.root] {
        let viewer = principal(org, user);
        for filter in [
            PipelineFilter::default(),
            PipelineFilter {
                rep_id: Some(org.ana.id.clone()),
                currency: Some("EUR".into()),
            },
        ] {
            org.storage.pipeline(&viewer, &filter).unwrap();
        }
        for currency in [None, Some("EUR")] {
            org.storage.forecast(&viewer, from, to, currency).unwrap();
            org.storage.big_deals(&viewer, 0, currency, 50).unwrap();
        }
        org.storage.funnel(&viewer, from, to).unwrap();
        for by in [RevenueBy::Rep, RevenueBy::Customer, RevenueBy::Product] {
            for currency in [None, Some("EUR")] {
                org.storage
                    .revenue(&viewer, by, from, to, currency, 100)
                    .unwrap();
            }
        }
        org.storage
            .unknown_product_lines(&viewer, from, to, 100)
            .unwrap();
        org.storage.win_rates(&viewer, from, to).unwrap();
        let reps = org.storage.reviewable_reps(&viewer).unwrap();
        let ids: Vec<String> = reps.iter().map(|r| r.id.clone()).collect();
        org.storage.targets(&ids, "2026-11").unwrap();
        org.storage.rep_actuals(&viewer, &reps, from, to).unwrap();
    }
    // Analytics: a run (it reads everything), one that fails, and the reads of the results.
    let params = crate::config::AnalyticsParams {
        currency: "EUR".into(),
        abc_window_days: 365,
        min_support: 0.1,
        min_confidence: 0.1,
        clv_monthly_discount: 0.01,
        next_best: 3,
    };
    let done = crate::insights::run(&org.storage, "EUR", params.settings(now)).unwrap();
    let mut failing = params.settings(now);
    failing.rules.min_support = 0.0;
    assert!(crate::insights::run(&org.storage, "EUR", failing).is_err());
    for _ in 0..3 {
        crate::insights::run(&org.storage, "EUR", params.settings(now)).unwrap();
    }
    for viewer in [&org.ana, &org.mia, &org.root] {
        let viewer = org.storage.principal(viewer).unwrap();
        org.storage
            .customer_insights(&viewer, done.run_id, Some("a"), 10)
            .unwrap();
    }
    org.storage.current_analytics_run().unwrap();
    org.storage.analytics_runs(10).unwrap();
    org.storage.cross_sell_rules(done.run_id, 10).unwrap();
    org.storage.analytics_clusters(done.run_id).unwrap();
    for value in [10, 12] {
        let target = Target::new("visits", None, value).unwrap();
        org.storage
            .set_target(&org.ana.id, "2026-11", &target, &org.mia.id, now)
            .unwrap();
    }
}

/// The table a plan's `SCAN <name>` reads: `name` itself, or the table it aliases in `sql`.
fn scanned_table(sql: &str, name: &str) -> Option<&'static str> {
    if let Some(table) = GROWING.iter().find(|t| **t == name) {
        return Some(table);
    }
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(3).find_map(|w| {
        let aliased = w[1] == name || (w[1].eq_ignore_ascii_case("AS") && w[2] == name);
        GROWING.iter().find(|t| **t == w[0] && aliased).copied()
    })
}

/// The full scans of growing tables in `sql`'s plan.
fn full_scans(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut explain = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("cannot plan {sql}: {e}"));
    // Unbound: the plan cannot depend on values (the server plans for any, see `configure`).
    let unbound = vec![rusqlite::types::Null; explain.parameter_count()];
    let plan: Vec<String> = explain
        .query_map(rusqlite::params_from_iter(unbound), |row| {
            row.get::<_, String>(3)
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    plan.into_iter()
        .filter(|step| {
            let Some(rest) = step.strip_prefix("SCAN ") else {
                return false;
            };
            let name = rest.split_whitespace().next().unwrap_or_default();
            scanned_table(sql, name).is_some()
        })
        .collect()
}

#[test]
fn no_statement_the_server_runs_scans_a_growing_table() {
    let org = org();
    let executed = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    {
        let recorder = executed.clone();
        org.storage
            .write()
            .trace_v2(
                TraceEventCodes::SQLITE_TRACE_STMT,
                Some(move |event: TraceEvent<'_>| {
                    if let TraceEvent::Stmt(_, sql) = event {
                        recorder.lock().unwrap().insert(sql.to_owned());
                    }
                }),
            )
            .unwrap();
    }
    workload(&org);
    let mut conn = org.storage.write();
    conn.trace_v2(
        TraceEventCodes::SQLITE_TRACE_STMT,
        None::<fn(TraceEvent<'_>)>,
    )
    .unwrap();
    let executed = executed.lock().unwrap().clone();
    let statements: Vec<&String> = executed
        .iter()
        .filter(|sql| {
            let head = sql.trim_start().to_ascii_uppercase();
            // Trigger comments and transaction control have no plan.
            ![
                "--",
                "BEGIN",
                "COMMIT",
                "ROLLBACK",
                "SAVEPOINT",
                "RELEASE",
                "PRAGMA",
            ]
            .iter()
            .any(|p| head.starts_with(p))
        })
        .collect();
    // The workload reached every part of the server it should.
    for expected in [
        "INSERT INTO changes",
        "INSERT INTO pings",
        "INSERT INTO pin_moves",
        "FROM pin_moves\n                         WHERE customer_id = ?1 AND moved_at >= ?2",
        "FROM visit_facts\n             WHERE customer_id = ?1 AND verification = 'no_customer_location'",
        "SELECT bytes FROM changes WHERE doc_id = ?1 AND seq > ?2",
        "FROM scope_history WHERE doc_id = ?1",
        "FROM user_scope_history WHERE user_id = ?1 AND seq <= ?2",
        "ORDER BY seq LIMIT 1 OFFSET ?2",
        "FROM visit_facts v LEFT JOIN customer_places c",
        "INSERT INTO opportunity_facts",
        "INSERT INTO opportunity_stage_changes",
        "INSERT INTO customer_origins",
        "UPDATE opportunity_facts SET territory_id",
        "UPDATE opportunity_stage_changes SET territory_id",
        "GROUP BY o.stage, o.currency, o.rep_id",
        "GROUP BY o.rep_id",
        "FROM opportunity_stage_changes s",
        "FROM customer_origins",
        "INSERT INTO targets",
        "INSERT INTO order_facts",
        "INSERT INTO order_line_facts",
        "UPDATE order_facts SET territory_id",
        "UPDATE order_line_facts SET territory_id",
        "UPDATE order_line_facts SET known_product = 1",
        "GROUP BY o.rep_id, o.currency",
        "GROUP BY o.customer_id, o.currency",
        "GROUP BY l.product_id, l.currency",
        "FROM order_line_facts l JOIN order_facts o",
        "FROM order_facts\n         WHERE rep_id = ?1 AND revenue = 1",
    ] {
        assert!(
            statements.iter().any(|sql| sql.contains(expected)),
            "the workload never ran {expected:?}"
        );
    }
    let mut failures = Vec::new();
    let mut allowed_seen = vec![false; ALLOWED.len()];
    for sql in statements {
        let scans = full_scans(&conn, sql);
        if scans.is_empty() {
            continue;
        }
        if let Some(index) = ALLOWED
            .iter()
            .position(|(fragment, _)| sql.contains(fragment))
        {
            allowed_seen[index] = true;
            continue;
        }
        failures.push(format!("{scans:?} in:\n{sql}"));
    }
    assert!(
        failures.is_empty(),
        "full scans of growing tables:\n\n{}",
        failures.join("\n\n")
    );
    for ((fragment, reason), seen) in ALLOWED.iter().zip(allowed_seen) {
        assert!(
            seen,
            "allowed ({reason}) but no longer a scanning statement, remove it: {fragment}"
        );
    }
}

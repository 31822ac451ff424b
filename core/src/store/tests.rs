//! The store's unit tests.

use super::*;
use crate::model::*;
use crate::{
    ValidationError,
    query::{CustomerFilter, StageTotal},
};

fn customer(name: &str) -> Customer {
    let mut c = Customer::new(name);
    c.address.city = Some("Berlin".into());
    c
}

#[test]
fn a_push_request_stays_within_the_protocol_limits() {
    use crate::protocol::{self, MAX_CHANGES_PER_DOC, PushRequest};
    let store = Store::open(":memory:").unwrap();
    let mut busy = store.create(customer("Busy")).unwrap();
    for i in 0..MAX_CHANGES_PER_DOC + 2 {
        busy.notes = i.to_string();
        busy = store.update(busy).unwrap();
    }
    store.create(customer("Later")).unwrap();
    let (request, hashes) = store.push_request(u32::MAX).unwrap().unwrap();
    // The busy document's first MAX_CHANGES_PER_DOC changes; the rest and the later
    // document wait for the next push.
    assert_eq!(request.docs.len(), 1);
    assert_eq!(request.docs[0].changes.len(), MAX_CHANGES_PER_DOC);
    assert_eq!(hashes.len(), MAX_CHANGES_PER_DOC);
    let body = protocol::encode(&request).unwrap();
    assert_eq!(
        protocol::decode::<PushRequest>(&body, 64 << 20).unwrap(),
        request
    );
    store.acknowledge(&hashes).unwrap();
    let (request, hashes) = store.push_request(u32::MAX).unwrap().unwrap();
    assert_eq!(request.docs.len(), 2);
    assert_eq!(hashes.len(), 4);
}

#[test]
fn a_push_request_stays_under_the_payload_budget() {
    const BUDGET: usize = 4_000;
    let store = Store::open(":memory:").unwrap();
    for n in 0..12 {
        let mut c = customer(&format!("Kiosk {n}"));
        c.notes = (0..150).map(|i| format!("{:09}", i * 7919 + n)).collect();
        store.create(c).unwrap();
    }
    let mut big = customer("Big");
    big.notes = (0..1_000).map(|i| format!("{i:09}")).collect();
    store.create(big).unwrap();
    let (mut sent, mut pushes, mut alone) = (0, 0, 0);
    while let Some((request, hashes)) = store.push_request_within(u32::MAX, BUDGET).unwrap() {
        let bytes: usize = request
            .docs
            .iter()
            .flat_map(|d| &d.changes)
            .map(Vec::len)
            .sum();
        if bytes > BUDGET {
            assert_eq!(
                hashes.len(),
                1,
                "only a single change may exceed the budget"
            );
            alone += 1;
        }
        sent += hashes.len();
        pushes += 1;
        store.acknowledge(&hashes).unwrap();
    }
    assert_eq!((sent, alone), (13, 1));
    assert!(pushes > 2, "{pushes}");
}

#[test]
fn a_customers_contacts_and_visits_for_its_detail_screen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.sqlite")).unwrap();
    let kiosk = store.create(customer("Kiosk")).unwrap();
    let other = store.create(customer("Other")).unwrap();
    let mut zoe = Contact::new(&kiosk.meta.id, "zoe Winter");
    zoe.phones.insert("+49 30 1".into());
    zoe.phones.insert("+49 170 2".into());
    store.create(zoe).unwrap();
    let anton = store
        .create(Contact::new(&kiosk.meta.id, "Anton Berg"))
        .unwrap();
    store
        .create(Contact::new(&other.meta.id, "Elsewhere"))
        .unwrap();
    store.delete(&anton.meta.id).unwrap();
    store
        .create(Contact::new(&kiosk.meta.id, "Ben Alt"))
        .unwrap();
    let QueryResult::Contacts(contacts) = store
        .query(&Query::ContactsOfCustomer {
            customer_id: kiosk.meta.id.clone(),
        })
        .unwrap()
    else {
        panic!("contacts expected");
    };
    let names: Vec<&str> = contacts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["Ben Alt", "zoe Winter"],
        "by name, deleted ones left out"
    );
    assert_eq!(contacts[1].phones, ["+49 170 2", "+49 30 1"]);

    for (day, customer) in [(1, &kiosk), (3, &kiosk), (2, &other), (2, &kiosk)] {
        let mut visit = Visit::new(&customer.meta.id, "rep-1");
        visit.planned_start = Some(1_790_000_000_000 + day * 86_400_000);
        store.create(visit).unwrap();
    }
    let QueryResult::Visits(visits) = store
        .query(&Query::VisitsForCustomer {
            customer_id: kiosk.meta.id.clone(),
            limit: 2,
        })
        .unwrap()
    else {
        panic!("visits expected");
    };
    let days: Vec<Option<Millis>> = visits.iter().map(|v| v.planned_start).collect();
    assert_eq!(
        days,
        [3, 2].map(|d| Some(1_790_000_000_000 + d * 86_400_000)),
        "newest first, limited"
    );
    assert!(
        visits
            .iter()
            .all(|v| v.customer_name.as_deref() == Some("Kiosk"))
    );
}

#[test]
fn invalid_values_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.sqlite")).unwrap();
    let mut bad = customer("Kiosk");
    bad.location = Some(GeoLocation {
        lat: 91.0,
        lon: 0.0,
        source: LocationSource::Gps,
        at: 1_790_000_000_000,
    });
    let err = store.create(bad).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Validation(ValidationError::OutOfRange { .. })
        ),
        "{err}"
    );
    let good = store.create(customer("Kiosk")).unwrap();
    let mut bad_update = good.clone();
    bad_update.name = String::new();
    assert!(store.update(bad_update).is_err());
    assert_eq!(
        store.get::<Customer>(&good.meta.id).unwrap().unwrap().name,
        "Kiosk"
    );
    assert_eq!(
        store.sync_status().unwrap().pending_changes,
        1,
        "only the valid write queued"
    );
    let QueryResult::Customers(rows) = store
        .query(&Query::Customers(CustomerFilter::default()))
        .unwrap()
    else {
        panic!("customers expected")
    };
    assert_eq!(rows.len(), 1);
}

#[test]
fn wrong_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.sqlite")).unwrap();
    let c = store.create(customer("Kiosk")).unwrap();
    assert!(matches!(
        store.get::<Visit>(&c.meta.id),
        Err(StoreError::WrongKind { .. })
    ));
    let mut task = Task::new("t");
    task.meta = c.meta.clone();
    assert!(matches!(
        store.update(task),
        Err(StoreError::WrongKind { .. })
    ));
}

#[test]
fn a_file_that_is_not_a_store_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    let content = b"this is not a database, it is a shopping list\n".repeat(100);
    std::fs::write(&text, &content).unwrap();
    assert!(matches!(Store::open(&text), Err(StoreError::NotAStore)));
    assert_eq!(std::fs::read(&text).unwrap(), content);

    let other = dir.path().join("other.sqlite");
    let conn = Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE recipes (name TEXT)")
        .unwrap();
    drop(conn);
    let before = std::fs::read(&other).unwrap();
    assert!(matches!(Store::open(&other), Err(StoreError::NotAStore)));
    assert_eq!(std::fs::read(&other).unwrap(), before);
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path).unwrap();
    store.create(customer("Kiosk")).unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", schema::LATEST_VERSION + 1)
        .unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, .. } if found == schema::LATEST_VERSION + 1),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn reopening_keeps_actor_user_and_records_and_loads_no_document() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path).unwrap();
    store.set_user("anna").unwrap();
    let actor = store.actor_id();
    let c = store.create(customer("Kiosk")).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.lock().docs.len(), 0, "opening loads no document");
    assert_eq!(store.actor_id(), actor);
    assert_eq!(store.user(), "anna");
    let QueryResult::Customers(rows) = store
        .query(&Query::SearchCustomers {
            text: "kio".into(),
            limit: 5,
        })
        .unwrap()
    else {
        panic!("customers expected")
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(
        store.lock().docs.len(),
        0,
        "queries read projections, not documents"
    );
    assert_eq!(
        store
            .get::<Customer>(&c.meta.id)
            .unwrap()
            .unwrap()
            .meta
            .created_by,
        "anna"
    );
}

#[test]
fn store_is_shareable_across_threads_and_unchanged_saves_write_nothing() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path().join("s.sqlite")).unwrap());
    let c = store.create(customer("Kiosk")).unwrap();
    store.update(c.clone()).unwrap();
    assert_eq!(store.sync_status().unwrap().pending_changes, 1);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    store.create(Task::new(format!("task {t}-{i}"))).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(store.sync_status().unwrap().pending_changes, 101);
}

#[test]
fn document_cache_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.sqlite")).unwrap();
    for i in 0..(DOC_CACHE_CAPACITY + 20) {
        store.create(Task::new(format!("task {i}"))).unwrap();
    }
    assert_eq!(store.lock().docs.len(), DOC_CACHE_CAPACITY);
}

#[test]
fn acknowledged_changes_leave_the_queue_and_status_reports_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.sqlite")).unwrap();
    let c = store.create(customer("Kiosk")).unwrap();
    let mut edited = c.clone();
    edited.grade = Some(Grade::A);
    store.update(edited).unwrap();
    let pending = store.pending_changes(100).unwrap();
    assert_eq!(pending.len(), 2);
    assert!(pending[0].seq < pending[1].seq);
    assert_eq!(store.acknowledge(&[pending[0].hash.clone()]).unwrap(), 1);
    assert_eq!(
        store.acknowledge(&[pending[0].hash.clone()]).unwrap(),
        0,
        "repeat is harmless"
    );
    store
        .record_sync_error("server unreachable", "offline", 1_790_000_000_000)
        .unwrap();
    let status = store.sync_status().unwrap();
    assert_eq!(
        (
            status.pending_changes,
            status.last_error.as_deref(),
            status.last_error_code.as_deref()
        ),
        (1, Some("server unreachable"), Some("offline"))
    );
    store.record_sync_success(42, 1_790_000_100_000).unwrap();
    let status = store.sync_status().unwrap();
    assert_eq!(
        (
            status.cursor,
            status.last_sync_at,
            status.last_error,
            status.last_error_code
        ),
        (42, Some(1_790_000_100_000), None, None)
    );
}

#[test]
fn search_matches_prefixes_of_name_contact_city_and_phone_digits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.sqlite")).unwrap();
    let mut c = customer("Bäckerei Schmidt");
    c.phones.insert("+49 30 1234567".into());
    let c = store.create(c).unwrap();
    store.create(customer("Café Mitte")).unwrap();
    store
        .create(Contact::new(&c.meta.id, "Maria Weber"))
        .unwrap();
    for (text, expected) in [
        ("bäck", 1),
        ("backerei", 1),
        ("SCHM", 1),
        ("weber", 1),
        ("berl", 2),
        ("4930123", 1),
        ("30 1234", 1),
        ("zzz", 0),
        ("", 0),
        ("\"*(", 0),
    ] {
        let QueryResult::Customers(rows) = store
            .query(&Query::SearchCustomers {
                text: text.into(),
                limit: 10,
            })
            .unwrap()
        else {
            panic!("customers expected")
        };
        assert_eq!(rows.len(), expected, "search {text:?}");
    }
}

#[test]
fn nearby_returns_the_true_nearest_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.sqlite")).unwrap();
    // A ring of customers at growing distances east of the centre, plus one far away.
    for (i, km) in [0.2, 0.9, 3.0, 7.5, 40.0, 400.0].iter().enumerate() {
        let mut c = customer(&format!("C{i}"));
        let lon = 13.4 + km / (111.32 * 52.5f64.to_radians().cos());
        c.location = Some(GeoLocation {
            lat: 52.5,
            lon,
            source: LocationSource::Manual,
            at: 1_790_000_000_000,
        });
        store.create(c).unwrap();
    }
    store.create(customer("no location")).unwrap();
    let near = |limit, max| match store
        .query(&Query::NearbyCustomers {
            lat: 52.5,
            lon: 13.4,
            max_distance_m: max,
            limit,
        })
        .unwrap()
    {
        QueryResult::Customers(rows) => rows
            .into_iter()
            .map(|r| (r.name, r.distance_m.unwrap_or(-1.0)))
            .collect::<Vec<_>>(),
        _ => panic!("customers expected"),
    };
    let five = near(5, None);
    assert_eq!(
        five.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["C0", "C1", "C2", "C3", "C4"]
    );
    assert!(
        (five[2].1 - 3_000.0).abs() < 30.0,
        "exact distance: {}",
        five[2].1
    );
    assert_eq!(near(10, Some(5_000.0)).len(), 3);
    assert_eq!(near(10, None).len(), 6);
    assert!(matches!(
        store.query(&Query::NearbyCustomers {
            lat: f64::NAN,
            lon: 0.0,
            max_distance_m: None,
            limit: 5
        }),
        Err(StoreError::Validation(ValidationError::NotFinite { .. }))
    ));
}

#[test]
fn overdue_pipeline_tasks_cases_and_visits_by_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.sqlite")).unwrap();
    let day = 86_400_000;
    let now = 1_790_000_000_000;
    let mut visited = customer("Visited recently");
    visited.visit_cadence_days = Some(14);
    let visited = store.create(visited).unwrap();
    let mut stale = customer("Visited long ago");
    stale.visit_cadence_days = Some(7);
    let stale = store.create(stale).unwrap();
    let mut never = customer("Never visited");
    never.visit_cadence_days = Some(30);
    store.create(never).unwrap();
    store.create(customer("No cadence")).unwrap();
    for (customer, at) in [(&visited, now - 2 * day), (&stale, now - 10 * day)] {
        let mut v = Visit::new(&customer.meta.id, "anna");
        v.status = VisitStatus::Done;
        v.check_in = Some(GpsStamp {
            at,
            lat: 52.5,
            lon: 13.4,
            accuracy_m: 5.0,
            fix_at: at,
            mock: false,
        });
        store.create(v).unwrap();
    }
    let QueryResult::Customers(overdue) = store
        .query(&Query::OverdueCustomers {
            now,
            owner: None,
            limit: 10,
        })
        .unwrap()
    else {
        panic!("customers expected")
    };
    assert_eq!(
        overdue.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["Never visited", "Visited long ago"]
    );
    assert_eq!(overdue[1].last_visit_at, Some(now - 10 * day));

    let QueryResult::Visits(visits) = store
        .query(&Query::VisitsForRep {
            rep: "anna".into(),
            from: now - 3 * day,
            to: now,
        })
        .unwrap()
    else {
        panic!("visits expected")
    };
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].customer_name.as_deref(), Some("Visited recently"));

    for (minor, stage) in [(100, Stage::Lead), (250, Stage::Lead), (1_000, Stage::Won)] {
        let mut o = Opportunity::new(
            &visited.meta.id,
            "deal",
            Money {
                minor,
                currency: "EUR".into(),
            },
        );
        o.stage = stage;
        store.create(o).unwrap();
    }
    let QueryResult::Pipeline(pipeline) = store.query(&Query::Pipeline { owner: None }).unwrap()
    else {
        panic!("pipeline expected")
    };
    assert_eq!(
        pipeline,
        vec![
            StageTotal {
                stage: Stage::Lead,
                currency: "EUR".into(),
                count: 2,
                amount_minor: 350
            },
            StageTotal {
                stage: Stage::Won,
                currency: "EUR".into(),
                count: 1,
                amount_minor: 1_000
            },
        ]
    );

    let mut done = store.create(Task::new("done already")).unwrap();
    store.create(Task::new("call back")).unwrap();
    done.status = TaskStatus::Done;
    store.update(done).unwrap();
    let QueryResult::Tasks(tasks) = store.query(&Query::OpenTasks { assignee: None }).unwrap()
    else {
        panic!("tasks expected")
    };
    assert_eq!(
        tasks.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
        ["call back"]
    );

    let mut critical = Case::new(&visited.meta.id, "Late delivery");
    critical.severity = Severity::Critical;
    store
        .create(Case::new(&visited.meta.id, "Wrong invoice"))
        .unwrap();
    store.create(critical).unwrap();
    let QueryResult::Cases(cases) = store
        .query(&Query::OpenCases {
            customer_id: Some(visited.meta.id.clone()),
            assignee: None,
        })
        .unwrap()
    else {
        panic!("cases expected")
    };
    assert_eq!(
        cases.iter().map(|c| c.subject.as_str()).collect::<Vec<_>>(),
        ["Late delivery", "Wrong invoice"]
    );
}

#[test]
fn records_carry_the_time_of_the_clock_the_store_was_given() {
    use std::sync::atomic::{AtomicI64, Ordering};
    let store = Store::open(":memory:").unwrap();
    store.set_user("ana").unwrap();
    let time = Arc::new(AtomicI64::new(1_700_000_000_000));
    let clock = time.clone();
    store.set_clock(move || clock.load(Ordering::SeqCst));
    let shop = store.create(customer("Shop")).unwrap();
    let deal = store
        .create(Opportunity::new(
            shop.meta.id.clone(),
            "Refit",
            Money {
                minor: 100_000,
                currency: "EUR".into(),
            },
        ))
        .unwrap();
    assert_eq!(deal.meta.created_at, 1_700_000_000_000);
    time.store(1_700_000_000_000 + 3 * DAY_MS, Ordering::SeqCst);
    let mut moved = deal.clone();
    moved.stage = Stage::Qualified;
    let moved = store.update(moved).unwrap();
    assert_eq!(moved.meta.updated_at, 1_700_000_000_000 + 3 * DAY_MS);
    let times: Vec<Millis> = moved.stage_history.iter().map(|c| c.at).collect();
    assert_eq!(times, [1_700_000_000_000, 1_700_000_000_000 + 3 * DAY_MS]);
    // A clock behind the record's last update never makes time run backwards for it.
    time.store(0, Ordering::SeqCst);
    store.delete(&moved.meta.id).unwrap();
    let deleted = store.get::<Opportunity>(&moved.meta.id).unwrap().unwrap();
    assert_eq!(deleted.meta.updated_at, 1_700_000_000_000 + 3 * DAY_MS);
}

#[test]
fn a_store_skipping_projections_stores_queues_and_forgets_records_no_query_sees() {
    let store = Store::open(":memory:").unwrap();
    store.skip_projections();
    let created = store.create(customer("Kiosk am Markt")).unwrap();
    let mut edited = created.clone();
    edited.phones.insert("030 1234".into());
    let edited = store.update(edited).unwrap();
    assert_eq!(
        store.get::<Customer>(&created.meta.id).unwrap(),
        Some(edited)
    );
    assert_eq!(store.pending_changes(10).unwrap().len(), 2);
    for query in [
        Query::Customers(CustomerFilter::default()),
        Query::SearchCustomers {
            text: "kio".into(),
            limit: 5,
        },
    ] {
        let QueryResult::Customers(rows) = store.query(&query).unwrap() else {
            panic!("customers expected")
        };
        assert!(rows.is_empty(), "{query:?} sees nothing");
    }
    store
        .forget(std::slice::from_ref(&created.meta.id))
        .unwrap();
    assert_eq!(store.get::<Customer>(&created.meta.id).unwrap(), None);
    assert!(store.pending_changes(10).unwrap().is_empty());
}

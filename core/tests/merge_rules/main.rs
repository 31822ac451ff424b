//! Every merge rule of the data model: two replicas edit offline, exchange their changes both
//! ways, and must end identical and as the rule says.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use fieldcrm_core::*;
use tempfile::TempDir;

/// The activity rules.
mod activities;
/// The service case rules.
mod cases;
/// The product and order rules, in a file of their own.
mod catalog;

struct Replica {
    store: Store,
    _dir: TempDir,
}

fn replica(user: &str) -> Replica {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(user).unwrap();
    Replica { store, _dir: dir }
}

/// Sends `from`'s unacknowledged changes to `to`, grouped by document, and acknowledges them.
fn send(from: &Store, to: &Store) {
    let pending = from.pending_changes(10_000).unwrap();
    let mut by_doc: Vec<IncomingDoc> = Vec::new();
    for change in &pending {
        match by_doc.iter_mut().find(|d| d.doc_id == change.doc_id) {
            Some(IncomingDoc {
                payload: IncomingPayload::Changes(list),
                ..
            }) => list.push(change.bytes.clone()),
            _ => by_doc.push(IncomingDoc {
                doc_id: change.doc_id.clone(),
                payload: IncomingPayload::Changes(vec![change.bytes.clone()]),
            }),
        }
    }
    let report = to.import(by_doc).unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
    from.acknowledge(&pending.iter().map(|c| c.hash.clone()).collect::<Vec<_>>())
        .unwrap();
}

fn exchange(a: &Store, b: &Store) {
    send(a, b);
    send(b, a);
}

/// A and B both hold `record`, created on A.
fn shared<R: Record>(a: &Replica, b: &Replica, record: R) -> R {
    let created = a.store.create(record).unwrap();
    exchange(&a.store, &b.store);
    created
}

fn both<R: Record + std::fmt::Debug>(a: &Replica, b: &Replica, id: &str) -> R {
    let left: R = a.store.get(id).unwrap().unwrap();
    let right: R = b.store.get(id).unwrap().unwrap();
    assert_eq!(left, right, "replicas diverged");
    left
}

fn berlin_customer() -> Customer {
    let mut c = Customer::new("Bäckerei Schmidt");
    c.address.city = Some("Berlin".into());
    c.location = Some(GeoLocation {
        lat: 52.52,
        lon: 13.405,
        source: LocationSource::Geocoded,
        at: 1_790_000_000_000,
    });
    c.phones = BTreeSet::from(["+49 30 1234567".to_owned()]);
    c
}

fn customer_rows(result: QueryResult) -> Vec<CustomerSummary> {
    match result {
        QueryResult::Customers(rows) => rows,
        other => panic!("customers expected, got {other:?}"),
    }
}

#[test]
fn different_fields_edited_concurrently_both_survive() {
    let (a, b) = (replica("anna"), replica("ben"));
    let c = shared(&a, &b, berlin_customer());
    let mut on_a: Customer = a.store.get(&c.meta.id).unwrap().unwrap();
    on_a.grade = Some(Grade::A);
    a.store.update(on_a).unwrap();
    let mut on_b: Customer = b.store.get(&c.meta.id).unwrap().unwrap();
    on_b.address.postal_code = Some("10115".into());
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Customer = both(&a, &b, &c.meta.id);
    assert_eq!(merged.grade, Some(Grade::A));
    assert_eq!(merged.address.postal_code.as_deref(), Some("10115"));
    assert_eq!(merged.address.city.as_deref(), Some("Berlin"));
    assert!(a.store.conflicts(&c.meta.id).unwrap().is_empty());
}

#[test]
fn same_field_last_writer_wins_and_the_loser_stays_readable() {
    let (a, b) = (replica("anna"), replica("ben"));
    let c = shared(&a, &b, berlin_customer());
    let mut on_a: Customer = a.store.get(&c.meta.id).unwrap().unwrap();
    on_a.name = "Schmidt & Söhne".into();
    a.store.update(on_a).unwrap();
    let mut on_b: Customer = b.store.get(&c.meta.id).unwrap().unwrap();
    on_b.name = "Bäckerei Schmidt GmbH".into();
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Customer = both(&a, &b, &c.meta.id);
    let conflicts = a.store.conflicts(&c.meta.id).unwrap();
    assert_eq!(conflicts, b.store.conflicts(&c.meta.id).unwrap());
    let name = conflicts
        .iter()
        .find(|f| f.field == "name")
        .expect("name conflict listed");
    assert_eq!(name.values[0], merged.name, "first value is the one shown");
    let values: BTreeSet<&str> = name.values.iter().map(String::as_str).collect();
    assert_eq!(
        values,
        BTreeSet::from(["Schmidt & Söhne", "Bäckerei Schmidt GmbH"])
    );
    // A later edit resolves the conflict.
    let mut resolved = merged.clone();
    resolved.name = "Schmidt und Söhne".into();
    a.store.update(resolved).unwrap();
    exchange(&a.store, &b.store);
    assert!(
        b.store
            .conflicts(&c.meta.id)
            .unwrap()
            .iter()
            .all(|f| f.field != "name")
    );
    assert_eq!(
        both::<Customer>(&a, &b, &c.meta.id).name,
        "Schmidt und Söhne"
    );
}

#[test]
fn notes_merge_character_by_character() {
    let (a, b) = (replica("anna"), replica("ben"));
    let mut c = berlin_customer();
    c.notes = "Delivery on Monday.".into();
    let c = shared(&a, &b, c);
    let mut on_a: Customer = a.store.get(&c.meta.id).unwrap().unwrap();
    on_a.notes = "Call first. Delivery on Monday.".into();
    a.store.update(on_a).unwrap();
    let mut on_b: Customer = b.store.get(&c.meta.id).unwrap().unwrap();
    on_b.notes = "Delivery on Monday. Back door.".into();
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Customer = both(&a, &b, &c.meta.id);
    assert_eq!(merged.notes, "Call first. Delivery on Monday. Back door.");
}

#[test]
fn sets_are_add_wins() {
    let (a, b) = (replica("anna"), replica("ben"));
    let mut c = berlin_customer();
    c.segments = BTreeSet::from(["retail".to_owned(), "bakery".to_owned()]);
    let c = shared(&a, &b, c);
    let mut on_a: Customer = a.store.get(&c.meta.id).unwrap().unwrap();
    on_a.segments = BTreeSet::from(["bakery".to_owned(), "wholesale".to_owned()]);
    a.store.update(on_a).unwrap();
    let mut on_b: Customer = b.store.get(&c.meta.id).unwrap().unwrap();
    on_b.segments.insert("organic".to_owned());
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Customer = both(&a, &b, &c.meta.id);
    assert_eq!(
        merged.segments,
        BTreeSet::from([
            "bakery".to_owned(),
            "wholesale".to_owned(),
            "organic".to_owned()
        ])
    );

    // A removes a phone while B removes and re-adds it: the concurrent add wins.
    let mut on_a: Customer = a.store.get(&c.meta.id).unwrap().unwrap();
    on_a.phones.clear();
    a.store.update(on_a).unwrap();
    let mut on_b: Customer = b.store.get(&c.meta.id).unwrap().unwrap();
    on_b.phones.clear();
    b.store.update(on_b).unwrap();
    let mut on_b: Customer = b.store.get(&c.meta.id).unwrap().unwrap();
    on_b.phones.insert("+49 30 1234567".to_owned());
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Customer = both(&a, &b, &c.meta.id);
    assert_eq!(merged.phones, BTreeSet::from(["+49 30 1234567".to_owned()]));
}

#[test]
fn location_changes_atomically() {
    let (a, b) = (replica("anna"), replica("ben"));
    let c = shared(&a, &b, berlin_customer());
    let mut on_a: Customer = a.store.get(&c.meta.id).unwrap().unwrap();
    on_a.location = Some(GeoLocation {
        lat: 52.50,
        lon: 13.30,
        source: LocationSource::Gps,
        at: 1_790_000_100_000,
    });
    a.store.update(on_a.clone()).unwrap();
    let mut on_b: Customer = b.store.get(&c.meta.id).unwrap().unwrap();
    on_b.location = Some(GeoLocation {
        lat: 52.60,
        lon: 13.50,
        source: LocationSource::Manual,
        at: 1_790_000_200_000,
    });
    b.store.update(on_b.clone()).unwrap();
    exchange(&a.store, &b.store);
    let merged: Customer = both(&a, &b, &c.meta.id);
    assert!(
        merged.location == on_a.location || merged.location == on_b.location,
        "never a mix of both: {:?}",
        merged.location
    );
    // The projection used by "nearby" agrees with the document on both sides.
    for store in [&a.store, &b.store] {
        let rows = customer_rows(
            store
                .query(&Query::NearbyCustomers {
                    lat: 52.55,
                    lon: 13.4,
                    max_distance_m: None,
                    limit: 5,
                })
                .unwrap(),
        );
        let location = merged.location.as_ref().unwrap();
        assert_eq!(
            (rows[0].lat, rows[0].lon),
            (Some(location.lat), Some(location.lon))
        );
    }
}

#[test]
fn visit_status_furthest_state_wins_in_any_arrival_order() {
    for a_first in [true, false] {
        let (a, b) = (replica("anna"), replica("ben"));
        let v = shared(&a, &b, Visit::new("customer-1", "anna"));
        let mut on_a: Visit = a.store.get(&v.meta.id).unwrap().unwrap();
        on_a.status = VisitStatus::InProgress;
        a.store.update(on_a).unwrap();
        let mut on_a: Visit = a.store.get(&v.meta.id).unwrap().unwrap();
        on_a.status = VisitStatus::Done;
        a.store.update(on_a).unwrap();
        let mut on_b: Visit = b.store.get(&v.meta.id).unwrap().unwrap();
        on_b.status = VisitStatus::InProgress;
        b.store.update(on_b).unwrap();
        if a_first {
            send(&a.store, &b.store);
            send(&b.store, &a.store);
        } else {
            send(&b.store, &a.store);
            send(&a.store, &b.store);
        }
        let merged: Visit = both(&a, &b, &v.meta.id);
        assert_eq!(merged.status, VisitStatus::Done);
    }
    // Concurrent terminal states: done beats cancelled beats skipped, on both sides.
    let (a, b) = (replica("anna"), replica("ben"));
    let v = shared(&a, &b, Visit::new("customer-1", "anna"));
    let mut on_a: Visit = a.store.get(&v.meta.id).unwrap().unwrap();
    on_a.status = VisitStatus::Cancelled;
    a.store.update(on_a).unwrap();
    let mut on_b: Visit = b.store.get(&v.meta.id).unwrap().unwrap();
    on_b.status = VisitStatus::Skipped;
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    assert_eq!(
        both::<Visit>(&a, &b, &v.meta.id).status,
        VisitStatus::Cancelled
    );
}

#[test]
fn visit_status_cannot_go_back_locally() {
    let a = replica("anna");
    let mut v = Visit::new("customer-1", "anna");
    v.status = VisitStatus::Done;
    let v = a.store.create(v).unwrap();
    let mut back = v.clone();
    back.status = VisitStatus::Planned;
    let err = a.store.update(back).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Validation(ValidationError::StatusRegression { .. })
        ),
        "{err}"
    );
    assert_eq!(
        a.store.get::<Visit>(&v.meta.id).unwrap().unwrap().status,
        VisitStatus::Done
    );
}

/// A change by a newer app that adds a visit state this code does not know to the status map
/// of `store`'s copy of `id`.
fn newer_app_reaches(store: &Store, id: &str, state: &str) -> Vec<u8> {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit, ROOT, ReadDoc};
    let mut doc = AutoCommit::load(&store.document_bytes(id).unwrap().unwrap()).unwrap();
    doc.set_actor(ActorId::from(b"newer-app-device".to_vec()));
    let (_, status) = doc.get(ROOT, "status").unwrap().expect("the status map");
    doc.put(&status, state, true).unwrap();
    doc.get_last_local_change()
        .expect("a change")
        .raw_bytes()
        .to_vec()
}

/// Delivers a change of another device (as the server relays it).
fn relay(store: &Store, id: &str, change: &[u8]) {
    let report = store
        .import(vec![IncomingDoc {
            doc_id: id.into(),
            payload: IncomingPayload::Changes(vec![change.to_vec()]),
        }])
        .unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
}

#[test]
fn an_unknown_visit_state_is_kept_whatever_the_arrival_order_and_not_changed_here() {
    for a_first in [true, false] {
        let (a, b) = (replica("anna"), replica("ben"));
        let v = shared(&a, &b, Visit::new("customer-1", "anna"));
        // A newer app's state reaches B while A, offline, moves the visit to done; A gets the
        // newer app's change after its own edits.
        let newer = newer_app_reaches(&b.store, &v.meta.id, "rescheduled");
        relay(&b.store, &v.meta.id, &newer);
        let mut on_a: Visit = a.store.get(&v.meta.id).unwrap().unwrap();
        on_a.status = VisitStatus::InProgress;
        a.store.update(on_a).unwrap();
        let mut on_a: Visit = a.store.get(&v.meta.id).unwrap().unwrap();
        on_a.status = VisitStatus::Done;
        a.store.update(on_a).unwrap();
        if a_first {
            send(&a.store, &b.store);
        }
        relay(&a.store, &v.meta.id, &newer);
        // B edits another field: the unknown state stays as it is.
        let mut on_b: Visit = b.store.get(&v.meta.id).unwrap().unwrap();
        assert_eq!(on_b.status, VisitStatus::Unknown("rescheduled".into()));
        on_b.notes = "Call before coming".into();
        b.store.update(on_b).unwrap();
        exchange(&a.store, &b.store);
        exchange(&a.store, &b.store);
        // This code cannot rank the state: it shows it, the same on both sides, and never
        // maps it to a state it knows.
        let merged: Visit = both(&a, &b, &v.meta.id);
        assert_eq!(merged.status, VisitStatus::Unknown("rescheduled".into()));
        assert_eq!(merged.notes, "Call before coming");
        // A local status change from it is refused: whether it moves forward is unknown.
        let mut cancel = merged.clone();
        cancel.status = VisitStatus::Cancelled;
        let err = a.store.update(cancel).unwrap_err();
        assert!(
            matches!(
                &err,
                StoreError::Validation(ValidationError::UnknownStatus { status })
                    if status == "rescheduled"
            ),
            "{err}"
        );
        assert_eq!(
            a.store.get::<Visit>(&v.meta.id).unwrap().unwrap().status,
            merged.status
        );
    }
}

#[test]
fn check_in_is_written_once() {
    let a = replica("anna");
    let v = a.store.create(Visit::new("customer-1", "anna")).unwrap();
    let stamp = GpsStamp {
        at: 1_790_000_000_000,
        lat: 52.52,
        lon: 13.40,
        accuracy_m: 8.0,
        fix_at: 1_789_999_990_000,
        mock: false,
    };
    let mut checked_in = v.clone();
    checked_in.check_in = Some(stamp.clone());
    checked_in.status = VisitStatus::InProgress;
    let checked_in = a.store.update(checked_in).unwrap();
    let mut moved = checked_in.clone();
    moved.check_in = Some(GpsStamp {
        lat: 52.0,
        ..stamp.clone()
    });
    let err = a.store.update(moved).unwrap_err();
    assert!(
        matches!(err, StoreError::Validation(ValidationError::Immutable { ref field }) if field == "check_in"),
        "{err}"
    );
    assert_eq!(
        a.store.get::<Visit>(&v.meta.id).unwrap().unwrap().check_in,
        Some(stamp)
    );
}

#[test]
fn delete_against_concurrent_edit_stays_deleted_and_keeps_the_edit() {
    let (a, b) = (replica("anna"), replica("ben"));
    let c = shared(&a, &b, berlin_customer());
    a.store.delete(&c.meta.id).unwrap();
    let mut on_b: Customer = b.store.get(&c.meta.id).unwrap().unwrap();
    on_b.grade = Some(Grade::B);
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Customer = both(&a, &b, &c.meta.id);
    assert!(
        merged.meta.deleted,
        "the tombstone wins over an edit of another field"
    );
    assert_eq!(
        merged.grade,
        Some(Grade::B),
        "the concurrent edit is kept in the document"
    );
    for store in [&a.store, &b.store] {
        let rows = customer_rows(
            store
                .query(&Query::SearchCustomers {
                    text: "schmidt".into(),
                    limit: 10,
                })
                .unwrap(),
        );
        assert!(rows.is_empty(), "a deleted customer leaves search");
    }
    b.store.restore(&c.meta.id).unwrap();
    exchange(&a.store, &b.store);
    let restored: Customer = both(&a, &b, &c.meta.id);
    assert!(!restored.meta.deleted);
    assert_eq!(restored.grade, Some(Grade::B));
    let rows = customer_rows(
        a.store
            .query(&Query::SearchCustomers {
                text: "schmidt".into(),
                limit: 10,
            })
            .unwrap(),
    );
    assert_eq!(rows.len(), 1);
}

#[test]
fn stage_history_appends_from_both_sides() {
    let (a, b) = (replica("anna"), replica("ben"));
    let o = shared(
        &a,
        &b,
        Opportunity::new(
            "customer-1",
            "Bread",
            Money {
                minor: 10_000,
                currency: "EUR".into(),
            },
        ),
    );
    let mut on_a: Opportunity = a.store.get(&o.meta.id).unwrap().unwrap();
    on_a.stage = Stage::Qualified;
    a.store.update(on_a).unwrap();
    let mut on_b: Opportunity = b.store.get(&o.meta.id).unwrap().unwrap();
    on_b.amount = Money {
        minor: 12_000,
        currency: "EUR".into(),
    };
    on_b.stage = Stage::Proposal;
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Opportunity = both(&a, &b, &o.meta.id);
    let stages: BTreeSet<Stage> = merged
        .stage_history
        .iter()
        .map(|c| c.stage.clone())
        .collect();
    assert_eq!(
        stages,
        BTreeSet::from([Stage::Lead, Stage::Qualified, Stage::Proposal])
    );
    assert_eq!(merged.stage_history.len(), 3);
    assert_eq!(merged.amount.minor, 12_000);
}

#[test]
fn live_query_sees_local_writes_and_imports() {
    struct Collect(Mutex<Vec<usize>>);
    impl QueryListener for Collect {
        fn on_result(&self, result: QueryResult) {
            self.0.lock().unwrap().push(customer_rows(result).len());
        }
    }
    let (a, b) = (replica("anna"), replica("ben"));
    let listener = Arc::new(Collect(Mutex::new(Vec::new())));
    let subscription = a
        .store
        .subscribe(
            Query::SearchCustomers {
                text: "schmidt".into(),
                limit: 10,
            },
            listener.clone(),
        )
        .unwrap();
    assert_eq!(
        *listener.0.lock().unwrap(),
        vec![0],
        "called with the initial result"
    );
    a.store.create(berlin_customer()).unwrap();
    a.store.create(Task::new("unrelated")).unwrap(); // does not touch the query
    let mut other = berlin_customer();
    other.name = "Fleischerei Schmidt".into();
    b.store.create(other).unwrap();
    send(&b.store, &a.store);
    assert_eq!(*listener.0.lock().unwrap(), vec![0, 1, 2]);
    drop(subscription);
    a.store.create(berlin_customer()).unwrap();
    assert_eq!(
        listener.0.lock().unwrap().len(),
        3,
        "no calls after unsubscribing"
    );
}

#[test]
fn listener_may_write_to_the_store() {
    struct Writer {
        store: Arc<Store>,
        calls: Mutex<u32>,
    }
    impl QueryListener for Writer {
        fn on_result(&self, _result: QueryResult) {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            if *calls == 2 {
                self.store
                    .create(Task::new("follow up the new customer"))
                    .unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("s.sqlite")).unwrap());
    let listener = Arc::new(Writer {
        store: store.clone(),
        calls: Mutex::new(0),
    });
    let _subscription = store
        .subscribe(
            Query::Customers(CustomerFilter::default()),
            listener.clone(),
        )
        .unwrap();
    store.create(berlin_customer()).unwrap();
    assert_eq!(*listener.calls.lock().unwrap(), 2);
    let QueryResult::Tasks(tasks) = store.query(&Query::OpenTasks { assignee: None }).unwrap()
    else {
        panic!("tasks expected")
    };
    assert_eq!(tasks.len(), 1);
}

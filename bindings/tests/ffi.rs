//! The bindings' public API as a host app meets it, called from Rust: the same functions and
//! types the generated Kotlin and Swift call through the FFI.
//!
//! The sync tests run the real `fieldcrm-server` binary on a loopback port (`support`), not a
//! fake server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fieldcrm_ffi::*;

mod support;
use support::{HostHttp, admin, agent, device, start_server};

fn open(dir: &tempfile::TempDir, name: &str) -> Arc<FieldStore> {
    FieldStore::open(dir.path().join(name).display().to_string()).unwrap()
}

fn located(name: &str, city: &str, lat: f64, lon: f64) -> Customer {
    let mut customer = new_customer(name.into());
    customer.address.city = Some(city.into());
    customer.location = Some(GeoLocation {
        lat,
        lon,
        source: LocationSource::Gps,
        at: 1_790_000_000_000,
    });
    customer
}

#[test]
fn create_get_update_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "crm.sqlite");
    let mut bakery = new_customer("Bäckerei Schulz".into());
    bakery.address.city = Some("Hamburg".into());
    bakery.phones = vec!["+49 40 555 123".into()];
    bakery.segments = vec!["food".into(), "bakery".into()];
    let created = store.create_customer(bakery).unwrap();
    assert!(!created.meta.id.is_empty(), "the store chose an id");
    assert!(created.meta.created_at > 0);
    assert_eq!(created.segments, ["bakery", "food"]);
    store
        .create_customer(new_customer("Fischhalle".into()))
        .unwrap();

    let hits = store.search_customers("bäck".into(), 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, created.meta.id);
    assert_eq!(hits[0].city.as_deref(), Some("Hamburg"));
    assert_eq!(store.search_customers("555".into(), 10).unwrap().len(), 1);

    let mut edited = store
        .get_customer(created.meta.id.clone())
        .unwrap()
        .unwrap();
    assert_eq!(edited, created);
    edited.grade = Some(Grade::A);
    let saved = store.update_customer(edited).unwrap();
    assert_eq!(saved.grade, Some(Grade::A));
    let graded = store
        .customers(CustomerFilter {
            grade: Some(Grade::A),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(graded.len(), 1);
    assert_eq!(store.get_customer("nope".into()).unwrap(), None);

    // The other kinds, and their queries.
    let contact = store
        .create_contact(new_contact(created.meta.id.clone(), "Ines Schulz".into()))
        .unwrap();
    assert_eq!(
        store.get_contact(contact.meta.id).unwrap().unwrap().name,
        "Ines Schulz"
    );
    assert_eq!(
        store.search_customers("ines".into(), 10).unwrap().len(),
        1,
        "contact names are searchable"
    );
    let deal = store
        .create_opportunity(new_opportunity(
            created.meta.id.clone(),
            "Ovens".into(),
            Money {
                minor: 120_000,
                currency: "EUR".into(),
            },
        ))
        .unwrap();
    assert_eq!(deal.stage, Stage::Lead);
    let pipeline = store.pipeline(None).unwrap();
    assert_eq!(
        (
            pipeline[0].stage.clone(),
            pipeline[0].count,
            pipeline[0].amount_minor
        ),
        (Stage::Lead, 1, 120_000)
    );
    let mut task = new_task("Send price list".into());
    task.due_at = Some(1_790_000_000_000);
    store.create_task(task).unwrap();
    assert_eq!(store.open_tasks(None).unwrap().len(), 1);
    store
        .create_case(new_case(created.meta.id.clone(), "Late delivery".into()))
        .unwrap();
    assert_eq!(
        store
            .open_cases(Some(created.meta.id.clone()), None)
            .unwrap()[0]
            .severity,
        Severity::Medium
    );
    let mut visit = new_visit(created.meta.id.clone(), store.user().unwrap());
    visit.planned_start = Some(1_790_000_000_000);
    let visit = store.create_visit(visit).unwrap();
    let day = store
        .visits_for_rep(store.user().unwrap(), 1_789_990_000_000, 1_790_010_000_000)
        .unwrap();
    assert_eq!(day.len(), 1);
    assert_eq!(day[0].id, visit.meta.id);
    assert_eq!(day[0].customer_name.as_deref(), Some("Bäckerei Schulz"));
    // Never visited, cadence of 7 days: overdue.
    let mut cadence = store
        .get_customer(created.meta.id.clone())
        .unwrap()
        .unwrap();
    cadence.visit_cadence_days = Some(7);
    store.update_customer(cadence).unwrap();
    let overdue = store
        .overdue_customers(1_790_000_000_000, None, 10)
        .unwrap();
    assert_eq!(overdue.len(), 1);
    let via_query = store
        .query(Query::OverdueCustomers {
            now: 1_790_000_000_000,
            owner: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(via_query, QueryResult::Customers { rows: overdue });
}

#[test]
fn nearby_finds_the_closest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "crm.sqlite");
    // Around Hamburg's town hall (53.5503, 9.9920).
    for (name, lat, lon) in [
        ("Far", 53.60, 10.10),
        ("Near", 53.5505, 9.9925),
        ("Middle", 53.555, 10.0),
    ] {
        store
            .create_customer(located(name, "Hamburg", lat, lon))
            .unwrap();
    }
    store
        .create_customer(new_customer("Nowhere".into()))
        .unwrap();
    let rows = store.nearby_customers(53.5503, 9.9920, None, 10).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Near", "Middle", "Far"]);
    let first = rows[0].distance_m.unwrap();
    assert!(first > 0.0 && first < 100.0, "{first}");
    assert!((first - distance_m(53.5503, 9.9920, 53.5505, 9.9925)).abs() < 1e-6);
    let within_1km = store
        .nearby_customers(53.5503, 9.9920, Some(1_000.0), 10)
        .unwrap();
    assert_eq!(within_1km.len(), 2);
}

#[derive(Default)]
struct Collect(Mutex<Vec<QueryResult>>);

impl QueryListener for Collect {
    fn on_result(&self, result: QueryResult) -> Result<(), FieldCrmError> {
        self.0.lock().unwrap().push(result);
        Ok(())
    }
}

impl Collect {
    fn names(&self) -> Vec<Vec<String>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|r| match r {
                QueryResult::Customers { rows } => rows.iter().map(|c| c.name.clone()).collect(),
                other => panic!("customers expected, got {other:?}"),
            })
            .collect()
    }
}

#[test]
fn a_live_query_listener_gets_updates_until_closed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "crm.sqlite");
    let listener = Arc::new(Collect::default());
    let subscription = store
        .subscribe(
            Query::SearchCustomers {
                text: "kiosk".into(),
                limit: 10,
            },
            listener.clone(),
        )
        .unwrap();
    assert!(subscription.is_active());
    assert_eq!(
        listener.names(),
        [Vec::<String>::new()],
        "current result at once"
    );
    store
        .create_customer(new_customer("Kiosk Nord".into()))
        .unwrap();
    store
        .create_customer(new_customer("Unrelated".into()))
        .unwrap();
    assert_eq!(
        listener.names(),
        [vec![], vec!["Kiosk Nord".to_owned()]],
        "called when the result changed, not for unrelated writes"
    );
    subscription.close();
    assert!(!subscription.is_active());
    store
        .create_customer(new_customer("Kiosk Süd".into()))
        .unwrap();
    assert_eq!(listener.names().len(), 2, "no calls after close");

    // Dropping the subscription also unsubscribes.
    let dropped = Arc::new(Collect::default());
    drop(
        store
            .subscribe(Query::OpenTasks { assignee: None }, dropped.clone())
            .unwrap(),
    );
    store.create_task(new_task("Call".into())).unwrap();
    assert_eq!(
        dropped.0.lock().unwrap().len(),
        1,
        "only the initial result"
    );
}

#[test]
fn invalid_values_give_typed_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "crm.sqlite");
    let err = store
        .create_customer(located("Secret Name GmbH", "Hamburg", 95.0, 10.0))
        .unwrap_err();
    match &err {
        FieldCrmError::InvalidValue {
            field,
            rule,
            detail,
        } => {
            assert_eq!(
                (field.as_str(), *rule),
                ("location.lat", ValidationRule::OutOfRange)
            );
            assert!(!detail.is_empty());
        }
        other => panic!("InvalidValue expected, got {other:?}"),
    }
    assert!(
        !err.to_string().contains("Secret"),
        "no record contents in errors: {err}"
    );
    assert!(matches!(
        store.create_customer(new_customer("  ".into())),
        Err(FieldCrmError::InvalidValue {
            rule: ValidationRule::Required,
            ..
        })
    ));
    assert!(matches!(
        store.nearby_customers(f64::NAN, 0.0, None, 10),
        Err(FieldCrmError::InvalidValue {
            rule: ValidationRule::NotFinite,
            ..
        })
    ));
    let mut deal = new_opportunity(
        "c1".into(),
        "Deal".into(),
        Money {
            minor: 1,
            currency: "euro".into(),
        },
    );
    deal.probability = Some(50);
    assert!(matches!(
        store.create_opportunity(deal),
        Err(FieldCrmError::InvalidValue { field, .. }) if field == "amount.currency"
    ));
    assert_eq!(
        store.sync_status().unwrap().pending_changes,
        0,
        "nothing written"
    );
    assert!(matches!(
        store.update_customer(new_customer("Never created".into())),
        Err(FieldCrmError::NotFound { .. })
    ));
}

#[test]
fn a_file_that_is_not_a_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"not a database, just text that is long enough").unwrap();
    let err = FieldStore::open(path.display().to_string()).unwrap_err();
    assert!(matches!(err, FieldCrmError::NotAStore), "{err:?}");
}

#[test]
fn a_closed_store_answers_every_call_with_store_closed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "crm.sqlite");
    let customer = store.create_customer(new_customer("Kiosk".into())).unwrap();
    let listener = Arc::new(Collect::default());
    let subscription = store
        .subscribe(
            Query::Customers {
                filter: CustomerFilter::default(),
            },
            listener.clone(),
        )
        .unwrap();
    store.close();
    assert!(store.is_closed());
    let closed = Err::<(), _>(FieldCrmError::StoreClosed);
    assert_eq!(
        store
            .create_customer(new_customer("Late".into()))
            .map(|_| ()),
        closed
    );
    assert_eq!(
        store.get_customer(customer.meta.id.clone()).map(|_| ()),
        closed
    );
    assert_eq!(store.update_customer(customer.clone()).map(|_| ()), closed);
    assert_eq!(store.delete_customer(customer.meta.id.clone()), closed);
    assert_eq!(store.search_customers("k".into(), 0).map(|_| ()), closed);
    assert_eq!(store.sync_status().map(|_| ()), closed);
    assert_eq!(store.rejected_changes().map(|_| ()), closed);
    assert_eq!(store.actor_id().map(|_| ()), closed);
    assert_eq!(
        store
            .subscribe(Query::Pipeline { owner: None }, listener.clone())
            .map(|_| ()),
        closed
    );
    assert_eq!(
        store
            .sync_with_builtin_http("http://127.0.0.1:9".into(), "t".into())
            .map(|_| ()),
        closed
    );
    store.close(); // twice is harmless
    subscription.close(); // and so is closing a subscription of a closed store
    // The file was released: it opens again with the data.
    let again = open(&dir, "crm.sqlite");
    assert!(again.get_customer(customer.meta.id).unwrap().is_some());
}

#[test]
fn one_store_serves_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "crm.sqlite");
    let listener = Arc::new(Collect::default());
    let _subscription = store
        .subscribe(
            Query::Customers {
                filter: CustomerFilter {
                    limit: 10_000,
                    ..Default::default()
                },
            },
            listener.clone(),
        )
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let created = store
                        .create_customer(new_customer(format!("Shop {t}-{i}")))
                        .unwrap();
                    assert!(store.get_customer(created.meta.id).unwrap().is_some());
                    store.search_customers("shop".into(), 5).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let all = store
        .customers(CustomerFilter {
            limit: 10_000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 200);
    assert_eq!(store.sync_status().unwrap().pending_changes, 200);
    assert_eq!(
        listener.names().last().map(Vec::len),
        Some(200),
        "the live query saw the final state"
    );
}

// ---------------------------------------------------------------------------------------------
// Sync against the real server binary (tests/support)

#[test]
fn two_devices_sync_through_the_real_server() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let (ana, ana_token) = device(&server, &dir, "ana");
    let (ben, ben_token) = device(&server, &dir, "ben");

    let mut shared = new_customer("Fischhalle".into());
    shared.territory = Some("harbour".into());
    let shared = ana.create_customer(shared).unwrap();
    let mut elsewhere = new_customer("Other territory".into());
    elsewhere.territory = Some("hills".into());
    let elsewhere = ana.create_customer(elsewhere).unwrap();

    // Ana's app syncs through its own transport (the foreign trait).
    let host = Arc::new(HostHttp {
        agent: agent(),
        base: server.base.clone(),
        token: ana_token.clone(),
        requests: Mutex::new(0),
    });
    let report = ana.sync(host.clone()).unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 1));
    assert!(
        *host.requests.lock().unwrap() >= 2,
        "push and pull went through the host"
    );
    let status = ana.sync_status().unwrap();
    assert_eq!(
        (
            status.pending_changes,
            status.rejected_changes,
            status.syncing
        ),
        (0, 1, false)
    );
    assert!(status.last_sync_at.is_some() && status.last_error.is_none());
    let rejected = ana.rejected_changes().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (
            rejected[0].doc_id.as_str(),
            rejected[0].code,
            rejected[0].kind
        ),
        (
            elsewhere.meta.id.as_str(),
            RejectCode::Forbidden,
            RecordKind::Customer
        )
    );
    ana.dismiss_rejections(elsewhere.meta.id.clone()).unwrap();
    assert!(ana.rejected_changes().unwrap().is_empty());

    // Ben's app uses the built-in HTTP client; a live query sees the pulled customer.
    let listener = Arc::new(Collect::default());
    let _live = ben
        .subscribe(
            Query::SearchCustomers {
                text: "fisch".into(),
                limit: 10,
            },
            listener.clone(),
        )
        .unwrap();
    let report = ben
        .sync_with_builtin_http(server.base.clone(), ben_token.clone())
        .unwrap();
    assert_eq!(report.pulled_docs, 1);
    assert_eq!(
        ben.get_customer(shared.meta.id.clone()).unwrap(),
        Some(shared.clone())
    );
    assert_eq!(
        listener.names().last().cloned(),
        Some(vec!["Fischhalle".to_owned()])
    );
    assert!(
        ben.get_customer(elsewhere.meta.id.clone())
            .unwrap()
            .is_none()
    );
    // A bootstrap arrives unverified; verification derives it from the document.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ben.verify_documents(100).unwrap().remaining > 0 {
        assert!(Instant::now() < deadline, "verification did not finish");
    }

    // Edits of different fields on both devices merge.
    let mut on_ben = ben.get_customer(shared.meta.id.clone()).unwrap().unwrap();
    on_ben.phones.push("+49 40 123".into());
    ben.update_customer(on_ben).unwrap();
    let mut on_ana = ana.get_customer(shared.meta.id.clone()).unwrap().unwrap();
    on_ana.grade = Some(Grade::B);
    ana.update_customer(on_ana).unwrap();
    ben.sync_with_builtin_http(server.base.clone(), ben_token.clone())
        .unwrap();
    ana.sync(host).unwrap();
    ben.sync_with_builtin_http(server.base.clone(), ben_token)
        .unwrap();
    let merged = ana.get_customer(shared.meta.id.clone()).unwrap().unwrap();
    assert_eq!(
        (merged.grade.clone(), merged.phones.clone()),
        (Some(Grade::B), vec!["+49 40 123".to_owned()])
    );
    assert_eq!(ben.get_customer(shared.meta.id).unwrap(), Some(merged));

    // A wrong token is a typed refusal, recorded in the status.
    let err = ana
        .sync_with_builtin_http(server.base.clone(), "not a token".into())
        .unwrap_err();
    assert!(
        matches!(err, FieldCrmError::ServerRefused { status: 401, .. }),
        "{err:?}"
    );
    assert!(ana.sync_status().unwrap().last_error.is_some());
}

#[test]
fn a_revoked_device_is_wiped_by_its_next_sync() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let (ana, token) = device(&server, &dir, "ana");
    let mut kiosk = new_customer("Fischhalle".into());
    kiosk.territory = Some("harbour".into());
    let kiosk = ana.create_customer(kiosk).unwrap();
    let host = Arc::new(HostHttp {
        agent: agent(),
        base: server.base.clone(),
        token,
        requests: Mutex::new(0),
    });
    ana.sync(host.clone()).unwrap();
    let unsent = ana
        .create_customer(new_customer("Not yet sent".into()))
        .unwrap();
    let actor = ana.actor_id().unwrap();

    admin(
        &server.bin,
        &server.db,
        &["device", "revoke", "--device", &actor],
    );

    assert_eq!(ana.sync(host).unwrap_err(), FieldCrmError::DeviceRevoked);
    for id in [kiosk.meta.id, unsent.meta.id] {
        assert!(ana.get_customer(id).unwrap().is_none());
    }
    let status = ana.sync_status().unwrap();
    assert_eq!((status.pending_changes, status.cursor), (0, 0));
    assert_eq!(status.last_error_code.as_deref(), Some("device_revoked"));
    assert_eq!(ana.user().unwrap(), "local");
    assert_ne!(ana.actor_id().unwrap(), actor);
}

#[test]
fn an_unreachable_server_is_offline() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "crm.sqlite");
    // Port 9 (discard) on loopback is closed. Retried with backoff (about 7.5 s), then typed.
    let err = store.sync_with_builtin_http("http://127.0.0.1:9".into(), "token".into());
    assert!(matches!(err, Err(FieldCrmError::Offline { .. })), "{err:?}");
    let status = store.sync_status().unwrap();
    assert!(status.last_error.is_some() && !status.syncing);
}

#[test]
fn a_failing_listener_does_not_fail_the_write_or_other_listeners() {
    struct Throws;
    impl QueryListener for Throws {
        fn on_result(&self, _result: QueryResult) -> Result<(), FieldCrmError> {
            panic!("listener bug");
        }
    }
    // A listener that returns an error (what a Kotlin or Swift throw becomes) is the same.
    struct Fails;
    impl QueryListener for Fails {
        fn on_result(&self, _result: QueryResult) -> Result<(), FieldCrmError> {
            Err(FieldCrmError::Internal {
                operation: "listener".into(),
            })
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "crm.sqlite");
    let healthy = Arc::new(Collect::default());
    let query = Query::SearchCustomers {
        text: "kiosk".into(),
        limit: 10,
    };
    let _bad = store.subscribe(query.clone(), Arc::new(Throws)).unwrap();
    let _failing = store.subscribe(query.clone(), Arc::new(Fails)).unwrap();
    let _good = store.subscribe(query, healthy.clone()).unwrap();
    store
        .create_customer(new_customer("Kiosk".into()))
        .expect("the write committed and says so");
    assert_eq!(healthy.names().last().map(Vec::len), Some(1));
    assert_eq!(store.search_customers("kiosk".into(), 0).unwrap().len(), 1);
}

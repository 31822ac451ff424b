//! A device's life across restarts: what it queued, what it holds and what it was sent must
//! survive closing and reopening the store.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::*;

fn customers(store: &Store, text: &str) -> Vec<CustomerSummary> {
    match store
        .query(&Query::SearchCustomers {
            text: text.into(),
            limit: 50,
        })
        .unwrap()
    {
        QueryResult::Customers(rows) => rows,
        other => panic!("customers expected, got {other:?}"),
    }
}

#[test]
fn queued_and_held_changes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (phone_path, tablet_path) = (
        dir.path().join("phone.sqlite"),
        dir.path().join("tablet.sqlite"),
    );

    // The tablet makes three successive edits of one customer while offline.
    let tablet = Store::open(&tablet_path).unwrap();
    tablet.set_user("anna").unwrap();
    let mut customer = tablet.create(Customer::new("Kiosk am Ostkreuz")).unwrap();
    for city in ["Berlin", "Berlin-Friedrichshain"] {
        customer.address.city = Some(city.into());
        customer = tablet.update(customer).unwrap();
    }
    let changes = tablet.pending_changes(100).unwrap();
    assert_eq!(changes.len(), 3);
    drop(tablet);

    // The phone receives the last two first (out of order), then restarts.
    let phone = Store::open(&phone_path).unwrap();
    let later = IncomingDoc {
        doc_id: customer.meta.id.clone(),
        payload: IncomingPayload::Changes(vec![changes[2].bytes.clone(), changes[1].bytes.clone()]),
    };
    let report = phone.import(vec![later.clone()]).unwrap();
    assert_eq!((report.held_changes, report.refused.len()), (2, 0));
    assert!(
        phone.get::<Customer>(&customer.meta.id).unwrap().is_none(),
        "incomplete: not shown"
    );
    assert!(customers(&phone, "kiosk").is_empty());
    drop(phone);

    let phone = Store::open(&phone_path).unwrap();
    let first = IncomingDoc {
        doc_id: customer.meta.id.clone(),
        payload: IncomingPayload::Changes(vec![changes[0].bytes.clone()]),
    };
    let report = phone.import(vec![first]).unwrap();
    assert_eq!((report.applied, report.held_changes), (1, 0));
    let on_phone: Customer = phone.get(&customer.meta.id).unwrap().unwrap();
    assert_eq!(
        on_phone, customer,
        "all three changes applied after the restart"
    );
    assert_eq!(customers(&phone, "friedrichshain").len(), 1);

    // Receiving them all again changes nothing.
    let report = phone.import(vec![later]).unwrap();
    assert_eq!((report.applied, report.unchanged), (0, 1));

    // The tablet, reopened, still has its queue until the server acknowledges it.
    let tablet = Store::open(&tablet_path).unwrap();
    assert_eq!(tablet.sync_status().unwrap().pending_changes, 3);
    let hashes: Vec<String> = changes.iter().map(|c| c.hash.clone()).collect();
    assert_eq!(tablet.acknowledge(&hashes).unwrap(), 3);
    drop(tablet);
    assert_eq!(
        Store::open(&tablet_path)
            .unwrap()
            .sync_status()
            .unwrap()
            .pending_changes,
        0
    );
}

#[test]
fn a_bootstrap_from_snapshots_matches_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(dir.path().join("source.sqlite")).unwrap();
    source.set_user("anna").unwrap();
    let mut ids = Vec::new();
    for i in 0..30 {
        let mut c = Customer::new(format!("Customer {i}"));
        c.location = Some(GeoLocation {
            lat: 52.4 + f64::from(i) * 0.005,
            lon: 13.3 + f64::from(i) * 0.004,
            source: LocationSource::Geocoded,
            at: 1_790_000_000_000,
        });
        c.visit_cadence_days = Some(7 + i as u32);
        let c = source.create(c).unwrap();
        let mut v = Visit::new(&c.meta.id, "anna");
        v.planned_start = Some(1_790_000_000_000 + i64::from(i) * 3_600_000);
        let v = source.create(v).unwrap();
        ids.push(c.meta.id);
        ids.push(v.meta.id);
    }
    let snapshots: Vec<IncomingDoc> = ids
        .iter()
        .map(|id| IncomingDoc {
            doc_id: id.clone(),
            payload: IncomingPayload::Snapshot(source.document_bytes(id).unwrap().unwrap()),
        })
        .collect();
    let fresh = Store::open(dir.path().join("fresh.sqlite")).unwrap();
    let report = fresh.import(snapshots).unwrap();
    assert_eq!((report.applied, report.refused.len()), (60, 0));
    for id in &ids {
        assert_eq!(fresh.get_any(id).unwrap(), source.get_any(id).unwrap());
    }
    for query in [
        Query::NearbyCustomers {
            lat: 52.45,
            lon: 13.35,
            max_distance_m: None,
            limit: 10,
        },
        Query::OverdueCustomers {
            now: 1_795_000_000_000,
            owner: None,
            limit: 100,
        },
        Query::VisitsForRep {
            rep: "anna".into(),
            from: 0,
            to: i64::MAX,
        },
    ] {
        assert_eq!(
            fresh.query(&query).unwrap(),
            source.query(&query).unwrap(),
            "{query:?}"
        );
    }
    assert_eq!(
        fresh.sync_status().unwrap().pending_changes,
        0,
        "imports queue nothing"
    );
}

#[test]
fn a_bootstrap_with_records_is_queryable_at_once_and_verified_later() {
    let dir = tempfile::tempdir().unwrap();
    let source = Store::open(dir.path().join("source.sqlite")).unwrap();
    let honest = source.create(Customer::new("Hotel Spree")).unwrap();
    let described = source.create(Customer::new("Café Mitte")).unwrap();
    let mut misdescribed = described.clone();
    misdescribed.name = "Something Else".into(); // the record sent does not match the bytes
    let corrupt = source.create(Customer::new("Kiosk")).unwrap();
    let task = source.create(Task::new("Call back")).unwrap();
    let mut not_a_customer = Customer::new("Pretend customer");
    not_a_customer.meta = task.meta.clone();
    let incoming = |id: &str, record: &Customer, bytes: Vec<u8>| IncomingDoc {
        doc_id: id.to_owned(),
        payload: IncomingPayload::SnapshotWithRecord {
            bytes,
            record: Box::new(AnyRecord::Customer(record.clone())),
        },
    };
    let bytes = |id: &str| source.document_bytes(id).unwrap().unwrap();
    let mut garbage = bytes(&corrupt.meta.id);
    let middle = garbage.len() / 2;
    garbage[middle] ^= 0x40;

    let device = Store::open(dir.path().join("device.sqlite")).unwrap();
    let report = device
        .import(vec![
            incoming(&honest.meta.id, &honest, bytes(&honest.meta.id)),
            incoming(&described.meta.id, &misdescribed, bytes(&described.meta.id)),
            incoming(&corrupt.meta.id, &corrupt, garbage),
            incoming("wrong-id", &honest, bytes(&honest.meta.id)),
            incoming(&task.meta.id, &not_a_customer, bytes(&task.meta.id)),
        ])
        .unwrap();
    assert_eq!(report.applied, 3);
    let refused: Vec<(&str, &ImportError)> = report
        .refused
        .iter()
        .map(|r| (r.doc_id.as_str(), &r.error))
        .collect();
    assert!(
        matches!(
            refused[..],
            [
                (_, ImportError::MalformedData(_)),
                ("wrong-id", ImportError::IdMismatch { .. })
            ]
        ),
        "{refused:?}"
    );
    assert_eq!(
        refused[0].0, corrupt.meta.id,
        "corrupt bytes are refused at once"
    );
    assert!(device.get_any(&corrupt.meta.id).unwrap().is_none());
    assert_eq!(
        customers(&device, "something").len(),
        1,
        "projected from the record sent"
    );

    let report = device.verify_documents(10).unwrap();
    assert_eq!((report.verified, report.remaining), (2, 0));
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].doc_id, task.meta.id);
    assert!(matches!(
        report.failed[0].error,
        ImportError::InvalidRecord(_)
    ));
    assert!(
        customers(&device, "something").is_empty(),
        "projection now derived from the document"
    );
    assert_eq!(customers(&device, "café").len(), 1);
    assert_eq!(
        device.get::<Customer>(&described.meta.id).unwrap().unwrap(),
        described
    );
    // A bootstrap payload for a document the device already has is merged like a snapshot.
    let mut renamed = source.get::<Customer>(&honest.meta.id).unwrap().unwrap();
    renamed.name = "Hotel Spree am Fluss".into();
    let renamed = source.update(renamed).unwrap();
    let repeat = device
        .import(vec![
            incoming(&honest.meta.id, &honest, bytes(&honest.meta.id)),
            incoming(&honest.meta.id, &honest, bytes(&honest.meta.id)),
        ])
        .unwrap();
    assert_eq!((repeat.applied, repeat.unchanged), (1, 1));
    assert_eq!(
        device.get::<Customer>(&honest.meta.id).unwrap().unwrap(),
        renamed
    );
    assert_eq!(customers(&device, "fluss").len(), 1);
    let again = device.verify_documents(10).unwrap();
    assert_eq!(
        (again.verified, again.failed.len(), again.remaining),
        (0, 0, 0),
        "failures are not retried"
    );
}

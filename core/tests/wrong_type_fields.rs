//! A document with a field of the wrong type (a string where a number is expected, written by
//! a buggy or newer peer), imported into a device store: the rest of the record reads, the
//! problem is reported (the import's report, the sync status, the log), the value stays in the
//! document through an edit of other fields, and the other documents of the same import are
//! unaffected. A required field of the wrong type makes its document unreadable: it is refused
//! with a stable code, and still the rest of the import applies.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ROOT, ReadDoc, ScalarValue, Value};
use fieldcrm_core::*;

const ANNA: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e01";

fn store(dir: &tempfile::TempDir, name: &str) -> Store {
    let store = Store::open(dir.path().join(name)).unwrap();
    store.set_user(ANNA).unwrap();
    store
}

/// A document of `store` edited by a peer that writes `edit` with its own actor.
fn edited_by_peer(store: &Store, id: &str, edit: impl FnOnce(&mut AutoCommit)) -> Vec<u8> {
    let mut doc = AutoCommit::load(&store.document_bytes(id).unwrap().unwrap()).unwrap();
    doc.set_actor(ActorId::from(b"buggy-peer-device".to_vec()));
    edit(&mut doc);
    doc.save()
}

fn snapshot(doc_id: &str, bytes: Vec<u8>) -> IncomingDoc {
    IncomingDoc {
        doc_id: doc_id.to_owned(),
        payload: IncomingPayload::Snapshot(bytes),
    }
}

fn scalar_at(bytes: &[u8], key: &str) -> Option<ScalarValue> {
    let doc = AutoCommit::load(bytes).unwrap();
    match doc.get(ROOT, key).unwrap() {
        Some((Value::Scalar(s), _)) => Some(s.into_owned()),
        _ => None,
    }
}

fn stamp() -> GpsStamp {
    GpsStamp {
        at: 1_790_000_000_000,
        lat: 52.52,
        lon: 13.405,
        accuracy_m: 5.0,
        fix_at: 1_790_000_000_000,
        mock: false,
    }
}

#[test]
fn a_field_of_the_wrong_type_reads_as_absent_is_reported_and_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let peer = store(&dir, "peer.sqlite");
    let cafe = peer
        .create(Customer {
            visit_cadence_days: Some(14),
            owner: Some(ANNA.into()),
            notes: "Espresso machine".into(),
            ..Customer::new("Café Mitte")
        })
        .unwrap();
    let bakery = peer.create(Customer::new("Bäckerei Nord")).unwrap();
    let visit = peer
        .create(Visit {
            status: VisitStatus::InProgress,
            check_in: Some(stamp()),
            outcome: Some("Ordered beans".into()),
            ..Visit::new(cafe.meta.id.clone(), ANNA)
        })
        .unwrap();
    let broken = peer.create(Customer::new("Kiosk Süd")).unwrap();

    let cafe_bytes = edited_by_peer(&peer, &cafe.meta.id, |doc| {
        doc.put(ROOT, "visit_cadence_days", "fourteen").unwrap();
    });
    let visit_bytes = edited_by_peer(&peer, &visit.meta.id, |doc| {
        let (_, check_in) = doc.get(ROOT, "check_in").unwrap().unwrap();
        doc.put(&check_in, "accuracy_m", "5 m").unwrap();
    });
    // A required field of the wrong type.
    let broken_bytes = edited_by_peer(&peer, &broken.meta.id, |doc| {
        doc.put(ROOT, "name", 42_i64).unwrap();
    });
    // The server reads strictly and would refuse such a push.
    assert!(authority::Current::load(&cafe_bytes).is_err());

    let device = store(&dir, "device.sqlite");
    let report = device
        .import(vec![
            snapshot(&cafe.meta.id, cafe_bytes.clone()),
            snapshot(&broken.meta.id, broken_bytes),
            snapshot(
                &bakery.meta.id,
                peer.document_bytes(&bakery.meta.id).unwrap().unwrap(),
            ),
            snapshot(&visit.meta.id, visit_bytes),
        ])
        .unwrap();
    assert_eq!(report.applied, 3, "{report:?}");
    assert_eq!(
        report.partly_read,
        vec![
            PartlyRead {
                doc_id: cafe.meta.id.clone(),
                unread_fields: vec!["visit_cadence_days".into()],
            },
            PartlyRead {
                doc_id: visit.meta.id.clone(),
                unread_fields: vec!["check_in.accuracy_m".into()],
            },
        ]
    );
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].doc_id, broken.meta.id);
    assert_eq!(report.refused[0].error.code(), "invalid_record");
    device
        .record_refused_documents(&report.refused, 1_790_000_000_000)
        .unwrap();

    // The rest of each record reads.
    let read_cafe = device.get::<Customer>(&cafe.meta.id).unwrap().unwrap();
    assert_eq!(
        read_cafe,
        Customer {
            visit_cadence_days: None,
            ..cafe.clone()
        }
    );
    let read_visit = device.get::<Visit>(&visit.meta.id).unwrap().unwrap();
    assert_eq!(
        read_visit,
        Visit {
            check_in: None,
            ..visit.clone()
        }
    );
    // The other documents of the import are unaffected.
    assert_eq!(
        device.get::<Customer>(&bakery.meta.id).unwrap().unwrap(),
        bakery
    );
    // And the lists show the records.
    let QueryResult::Customers(listed) = device
        .query(&Query::Customers(CustomerFilter {
            limit: 10,
            ..CustomerFilter::default()
        }))
        .unwrap()
    else {
        panic!("a customer list")
    };
    let mut names: Vec<_> = listed.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Bäckerei Nord", "Café Mitte"]);

    let status = device.sync_status().unwrap();
    assert_eq!(status.partly_read_documents, 2);
    assert_eq!(status.refused_documents, 1);
    assert_eq!(
        device.refused_documents().unwrap()[0].code,
        "invalid_record"
    );

    // An edit of another field keeps the value this code could not read, and writes only the
    // edited field.
    device
        .update(Customer {
            notes: "Espresso machine, second grinder".into(),
            ..read_cafe
        })
        .unwrap();
    let after_edit = device.document_bytes(&cafe.meta.id).unwrap().unwrap();
    assert_eq!(
        scalar_at(&after_edit, "visit_cadence_days"),
        Some(ScalarValue::from("fourteen"))
    );
    assert_eq!(
        device
            .get::<Customer>(&cafe.meta.id)
            .unwrap()
            .unwrap()
            .notes,
        "Espresso machine, second grinder"
    );

    // A later version with a number there reads whole, and the document no longer counts.
    let fixed = {
        let mut doc = AutoCommit::load(&cafe_bytes).unwrap();
        doc.set_actor(ActorId::from(b"buggy-peer-device".to_vec()));
        doc.put(ROOT, "visit_cadence_days", 21_i64).unwrap();
        doc.save()
    };
    let report = device.import(vec![snapshot(&cafe.meta.id, fixed)]).unwrap();
    assert!(report.partly_read.is_empty() && report.refused.is_empty());
    let whole = device.get::<Customer>(&cafe.meta.id).unwrap().unwrap();
    assert_eq!(whole.visit_cadence_days, Some(21));
    assert_eq!(whole.notes, "Espresso machine, second grinder");
    assert_eq!(device.sync_status().unwrap().partly_read_documents, 1);

    // A document that leaves the device leaves the count.
    device.forget(std::slice::from_ref(&visit.meta.id)).unwrap();
    assert_eq!(device.sync_status().unwrap().partly_read_documents, 0);
}

/// The bootstrap path: a snapshot stored with the record the server sent is read from its
/// document when verified; a field of the wrong type there is reported the same way.
#[test]
fn verification_reads_a_bootstrapped_document_as_far_as_possible() {
    let dir = tempfile::tempdir().unwrap();
    let peer = store(&dir, "peer.sqlite");
    let cafe = peer
        .create(Customer {
            visit_cadence_days: Some(14),
            ..Customer::new("Café Mitte")
        })
        .unwrap();
    let bytes = edited_by_peer(&peer, &cafe.meta.id, |doc| {
        doc.put(ROOT, "visit_cadence_days", "fourteen").unwrap();
    });
    let device = store(&dir, "device.sqlite");
    let report = device
        .import(vec![IncomingDoc {
            doc_id: cafe.meta.id.clone(),
            payload: IncomingPayload::SnapshotWithRecord {
                bytes,
                record: Box::new(AnyRecord::Customer(cafe.clone())),
            },
        }])
        .unwrap();
    assert_eq!(report.applied, 1);
    assert_eq!(device.sync_status().unwrap().partly_read_documents, 0);

    let verified = device.verify_documents(10).unwrap();
    assert_eq!(verified.verified, 1, "{verified:?}");
    assert!(verified.failed.is_empty());
    assert_eq!(device.sync_status().unwrap().partly_read_documents, 1);
    assert_eq!(
        device.get::<Customer>(&cafe.meta.id).unwrap().unwrap(),
        Customer {
            visit_cadence_days: None,
            ..cafe
        }
    );
}

//! A document written by a newer app ("newer peer"): the version 1 customer of the
//! compatibility fixtures, then edited by an app that knows fields this code does not (a root
//! `website`, a `loyalty` map, a `district` inside the address). This code reads what it knows,
//! and an edit by this code loses nothing of what it does not: Automerge keeps every key, and
//! the store writes only the fields that changed (docs/ARCHITECTURE.md, "Architecture
//! invariants").
//!
//! The fixture (`tests/fixtures/compat/newer_peer/customer.automerge`) is written once by the
//! ignored `write_newer_peer_fixture` below and committed; the tests read the committed bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::PathBuf;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use fieldcrm_core::*;

mod support;
use support::string_at;

const CUSTOMER: &str = "01937a00-0000-7000-8000-000000000001";
const ANNA: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e01";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat")
}

fn newer_document() -> Vec<u8> {
    std::fs::read(fixtures().join("newer_peer/customer.automerge")).unwrap()
}

#[test]
#[ignore = "writes tests/fixtures/compat/newer_peer/customer.automerge once; see the file's comment"]
fn write_newer_peer_fixture() {
    let path = fixtures().join("newer_peer/customer.automerge");
    if path.exists() {
        println!("{} exists: pinned, not rewritten", path.display());
        return;
    }
    let v1 = std::fs::read(fixtures().join("v1/documents/customer.automerge")).unwrap();
    let mut doc = AutoCommit::load(&v1).unwrap();
    // The newer app's own actor.
    doc.set_actor(ActorId::from(b"newer-app-device".to_vec()));
    doc.put(ROOT, "website", "https://cafe-mitte.example")
        .unwrap();
    let loyalty = doc.put_object(ROOT, "loyalty", ObjType::Map).unwrap();
    doc.put(&loyalty, "tier", "gold").unwrap();
    doc.put(&loyalty, "points", 1_250_i64).unwrap();
    let (_, address) = doc.get(ROOT, "address").unwrap().expect("an address map");
    doc.put(&address, "district", "Mitte").unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, doc.save()).unwrap();
}

/// Everything the newer app wrote is still in `bytes`.
fn assert_newer_fields_kept(bytes: &[u8]) {
    let doc = AutoCommit::load(bytes).unwrap();
    assert_eq!(
        string_at(&doc, &ROOT, "website").as_deref(),
        Some("https://cafe-mitte.example")
    );
    let (_, loyalty) = doc.get(ROOT, "loyalty").unwrap().expect("the loyalty map");
    assert_eq!(string_at(&doc, &loyalty, "tier").as_deref(), Some("gold"));
    match doc.get(&loyalty, "points").unwrap() {
        Some((Value::Scalar(s), _)) => assert_eq!(s.as_ref(), &ScalarValue::Int(1_250)),
        other => panic!("points: {other:?}"),
    }
    let (_, address) = doc.get(ROOT, "address").unwrap().expect("the address map");
    assert_eq!(
        string_at(&doc, &address, "district").as_deref(),
        Some("Mitte")
    );
}

#[test]
fn this_code_reads_what_it_knows_of_a_newer_document_and_its_edits_lose_nothing() {
    let bytes = newer_document();
    assert_newer_fields_kept(&bytes);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(ANNA).unwrap();
    let report = store
        .import(vec![IncomingDoc {
            doc_id: CUSTOMER.into(),
            payload: IncomingPayload::Snapshot(bytes.clone()),
        }])
        .unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
    let mut customer = store.get::<Customer>(CUSTOMER).unwrap().expect("it reads");
    // The fields this code knows read as the version 1 customer wrote them.
    let v1 = std::fs::read(fixtures().join("v1/documents/customer.automerge")).unwrap();
    let known = authority::Current::load(&v1).unwrap().record;
    assert_eq!(AnyRecord::Customer(customer.clone()), known);

    // An edit by this code: a known field of the root and one of the address.
    customer.notes = "Edited by an older app".into();
    customer.address.city = Some("Berlin-Mitte".into());
    store.update(customer.clone()).unwrap();
    let edited = store.document_bytes(CUSTOMER).unwrap().unwrap();
    assert_newer_fields_kept(&edited);
    let got = store.get::<Customer>(CUSTOMER).unwrap().unwrap();
    assert_eq!(got.notes, "Edited by an older app");
    assert_eq!(got.address.city.as_deref(), Some("Berlin-Mitte"));
    assert_eq!(
        got.address.line, customer.address.line,
        "the rest as it was"
    );

    // And what it pushes carries only its own edit: the newer fields stay the newer app's.
    let pending = store.pending_changes(100).unwrap();
    assert_eq!(pending.len(), 1);
    let server = authority::Current::load(&bytes).unwrap();
    let mut merged = server.doc;
    merged
        .apply_changes(vec![
            automerge::Change::from_bytes(pending[0].bytes.clone()).unwrap(),
        ])
        .unwrap();
    assert_newer_fields_kept(&merged.save());
}

//! A document written by a newer app ("newer peer"): the version 1 customer of the
//! compatibility fixtures, then edited by an app that knows fields this code does not (a root
//! `website`, a `loyalty` map, a `district` inside the address). This code reads what it knows,
//! and an edit by this code loses nothing of what it does not: Automerge keeps every key, and
//! the store writes only the fields that changed (docs/ARCHITECTURE.md, "Architecture
//! invariants").
//!
//! The fixture (`tests/fixtures/compat/newer_peer/customer.automerge`) is written once by the
//! ignored `write_newer_peer_fixture` below and committed; the tests read the committed bytes.
//!
//! The same for enum values this code does not know (`newer_peer/visit.automerge`,
//! `newer_peer/opportunity.automerge`, written by `write_newer_peer_enum_fixtures`): the
//! version 1 visit and opportunity after a newer app gave them a visit status ("reviewed"), a
//! verification ("verified_by_photo") and a stage ("on_hold") that this code does not know.
//! They read as `Unknown`, are shown as unknown, survive this code's edits of other fields, and
//! this code's server refuses a push that brings one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::PathBuf;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use fieldcrm_core::*;

mod support;
use support::string_at;

const CUSTOMER: &str = "01937a00-0000-7000-8000-000000000001";
const OPPORTUNITY: &str = "01937a00-0000-7000-8000-000000000003";
const VISIT: &str = "01937a00-0000-7000-8000-000000000004";
/// When the newer app edited the version 1 visit and opportunity.
const NEWER_EDIT_AT: i64 = 1_795_900_000_000;
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

#[test]
#[ignore = "writes tests/fixtures/compat/newer_peer/{visit,opportunity}.automerge once; see the file's comment"]
fn write_newer_peer_enum_fixtures() {
    let folder = fixtures().join("newer_peer");
    let visit_path = folder.join("visit.automerge");
    if visit_path.exists() {
        println!("{} exists: pinned, not rewritten", visit_path.display());
    } else {
        let v1 = std::fs::read(fixtures().join("v1/documents/visit.automerge")).unwrap();
        let mut doc = AutoCommit::load(&v1).unwrap();
        doc.set_actor(ActorId::from(b"newer-app-device".to_vec()));
        let (_, status) = doc.get(ROOT, "status").unwrap().expect("the status map");
        doc.put(&status, "reviewed", true).unwrap();
        doc.put(ROOT, "verification", "verified_by_photo").unwrap();
        doc.put(ROOT, "updated_at", NEWER_EDIT_AT).unwrap();
        std::fs::write(&visit_path, doc.save()).unwrap();
    }
    let opportunity_path = folder.join("opportunity.automerge");
    if opportunity_path.exists() {
        println!(
            "{} exists: pinned, not rewritten",
            opportunity_path.display()
        );
    } else {
        let v1 = std::fs::read(fixtures().join("v1/documents/opportunity.automerge")).unwrap();
        let mut doc = AutoCommit::load(&v1).unwrap();
        doc.set_actor(ActorId::from(b"newer-app-device".to_vec()));
        doc.put(ROOT, "stage", "on_hold").unwrap();
        let (_, history) = doc
            .get(ROOT, "stage_history")
            .unwrap()
            .expect("the stage history");
        let entry = doc
            .insert_object(&history, doc.length(&history), ObjType::Map)
            .unwrap();
        doc.put(&entry, "stage", "on_hold").unwrap();
        doc.put(&entry, "at", NEWER_EDIT_AT).unwrap();
        doc.put(&entry, "by", ANNA).unwrap();
        doc.put(ROOT, "updated_at", NEWER_EDIT_AT).unwrap();
        std::fs::write(&opportunity_path, doc.save()).unwrap();
    }
}

fn newer(kind: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(format!("newer_peer/{kind}.automerge"))).unwrap()
}

fn version_1(kind: &str) -> AnyRecord {
    let bytes = std::fs::read(fixtures().join(format!("v1/documents/{kind}.automerge"))).unwrap();
    authority::Current::load(&bytes).unwrap().record
}

/// The unknown values the newer app wrote, as this code reads them.
fn reviewed() -> VisitStatus {
    VisitStatus::Unknown("reviewed".into())
}
fn by_photo() -> Option<Verification> {
    Some(Verification::Unknown("verified_by_photo".into()))
}
fn on_hold() -> Stage {
    Stage::Unknown("on_hold".into())
}

/// The newer app's unknown values are still in `bytes`, as it wrote them.
fn assert_unknown_values_kept(visit: &[u8], opportunity: &[u8]) {
    let doc = AutoCommit::load(visit).unwrap();
    let (_, status) = doc.get(ROOT, "status").unwrap().expect("the status map");
    assert!(
        doc.get(&status, "reviewed").unwrap().is_some(),
        "status kept"
    );
    assert_eq!(
        string_at(&doc, &ROOT, "verification").as_deref(),
        Some("verified_by_photo")
    );
    let doc = AutoCommit::load(opportunity).unwrap();
    assert_eq!(string_at(&doc, &ROOT, "stage").as_deref(), Some("on_hold"));
}

fn visits_of_customer(store: &Store) -> Vec<VisitSummary> {
    match store
        .query(&Query::VisitsForCustomer {
            customer_id: CUSTOMER.into(),
            limit: 10,
        })
        .unwrap()
    {
        QueryResult::Visits(rows) => rows,
        other => panic!("visits expected, got {other:?}"),
    }
}

fn pipeline(store: &Store) -> Vec<StageTotal> {
    match store.query(&Query::Pipeline { owner: None }).unwrap() {
        QueryResult::Pipeline(rows) => rows,
        other => panic!("the pipeline expected, got {other:?}"),
    }
}

#[test]
fn unknown_enum_values_are_shown_as_unknown_and_survive_this_codes_edits() {
    let (visit_bytes, opportunity_bytes) = (newer("visit"), newer("opportunity"));
    assert_unknown_values_kept(&visit_bytes, &opportunity_bytes);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(ANNA).unwrap();
    let report = store
        .import(vec![
            IncomingDoc {
                doc_id: VISIT.into(),
                payload: IncomingPayload::Snapshot(visit_bytes.clone()),
            },
            IncomingDoc {
                doc_id: OPPORTUNITY.into(),
                payload: IncomingPayload::Snapshot(opportunity_bytes.clone()),
            },
        ])
        .unwrap();
    assert!(report.refused.is_empty(), "{report:?}");

    // Read: the unknown values as unknown, everything else as version 1 wrote it.
    let mut visit = store.get::<Visit>(VISIT).unwrap().expect("it reads");
    let AnyRecord::Visit(mut wanted) = version_1("visit") else {
        panic!("a visit")
    };
    wanted.status = reviewed();
    wanted.verification = by_photo();
    wanted.meta.updated_at = NEWER_EDIT_AT;
    assert_eq!(visit, wanted);
    let mut deal = store
        .get::<Opportunity>(OPPORTUNITY)
        .unwrap()
        .expect("it reads");
    assert_eq!(deal.stage, on_hold());
    assert_eq!(
        deal.stage_history.last().map(|c| &c.stage),
        Some(&on_hold())
    );

    // Shown as unknown, not as a default.
    let shown = visits_of_customer(&store);
    assert_eq!(
        (shown.len(), &shown[0].status, &shown[0].verification),
        (1, &reviewed(), &by_photo())
    );
    assert_eq!(
        pipeline(&store)
            .iter()
            .map(|total| total.stage.clone())
            .collect::<Vec<_>>(),
        vec![on_hold()]
    );

    // This code's edits of other fields keep them, in the record, the projection and the
    // document.
    visit.notes = "Edited by an older app".into();
    store.update(visit.clone()).unwrap();
    deal.title = "Deck oven replacement, second offer".into();
    store.update(deal.clone()).unwrap();
    let visit = store.get::<Visit>(VISIT).unwrap().unwrap();
    assert_eq!(
        (&visit.status, &visit.verification, visit.notes.as_str()),
        (&reviewed(), &by_photo(), "Edited by an older app")
    );
    let deal = store.get::<Opportunity>(OPPORTUNITY).unwrap().unwrap();
    assert_eq!(deal.stage, on_hold());
    assert_eq!(
        deal.stage_history.len(),
        4,
        "no stage change: no history entry"
    );
    assert_eq!(visits_of_customer(&store)[0].status, reviewed());
    assert_eq!(pipeline(&store)[0].stage, on_hold());
    assert_unknown_values_kept(
        &store.document_bytes(VISIT).unwrap().unwrap(),
        &store.document_bytes(OPPORTUNITY).unwrap().unwrap(),
    );

    // What it pushes carries only its own edits: merged onto the newer app's copy, the
    // unknown values stay and the edits arrive.
    let pending = store.pending_changes(100).unwrap();
    assert_eq!(pending.len(), 2);
    let merged = |bytes: &[u8], id: &str| {
        let mut doc = authority::Current::load(bytes).unwrap().doc;
        let changes = pending
            .iter()
            .filter(|c| c.doc_id == id)
            .map(|c| automerge::Change::from_bytes(c.bytes.clone()).unwrap())
            .collect::<Vec<_>>();
        doc.apply_changes(changes).unwrap();
        doc.save()
    };
    let (visit_merged, deal_merged) = (
        merged(&visit_bytes, VISIT),
        merged(&opportunity_bytes, OPPORTUNITY),
    );
    assert_unknown_values_kept(&visit_merged, &deal_merged);
    let AnyRecord::Visit(read) = authority::Current::load(&visit_merged).unwrap().record else {
        panic!("a visit")
    };
    assert_eq!((read.status, read.notes), (reviewed(), visit.notes.clone()));

    // The app cannot change an unknown status (it cannot know whether the change moves the
    // visit forward), nor write an unknown value it did not read.
    let mut cancelled = visit.clone();
    cancelled.status = VisitStatus::Cancelled;
    assert!(matches!(
        store.update(cancelled),
        Err(StoreError::Validation(ValidationError::UnknownStatus { status })) if status == "reviewed"
    ));
    let mut made_up = deal.clone();
    made_up.stage = Stage::Unknown("paused".into());
    assert!(matches!(
        store.update(made_up),
        Err(StoreError::Validation(ValidationError::UnknownValue { field, value }))
            if field == "stage" && value == "paused"
    ));
    let mut new_visit = Visit::new(CUSTOMER, ANNA);
    new_visit.verification = by_photo();
    assert!(matches!(
        store.create(new_visit),
        Err(StoreError::Validation(ValidationError::UnknownValue { field, .. }))
            if field == "verification"
    ));
    // A stage has no order: moving an unknown stage to a known one is an edit like any other.
    let mut won = deal.clone();
    won.stage = Stage::Won;
    let won = store.update(won).unwrap();
    assert_eq!(won.stage_history.len(), 5);
    assert_eq!(pipeline(&store)[0].stage, Stage::Won);
}

#[test]
fn this_server_refuses_a_push_that_brings_a_value_it_does_not_know() {
    let v1 = std::fs::read(fixtures().join("v1/documents/visit.automerge")).unwrap();
    let device = ActorId::from(b"annas-newer-app".to_vec());
    let writer = authority::Writer {
        user_id: ANNA,
        actor_allowed: &|actor| *actor == device,
    };
    let push = |edit: &dyn Fn(&mut AutoCommit)| {
        let mut doc = AutoCommit::load(&v1).unwrap();
        doc.set_actor(device.clone());
        edit(&mut doc);
        let change = doc.get_last_local_change().expect("a change").clone();
        let checked = authority::check_changes(&[change.raw_bytes().to_vec()], &writer).unwrap();
        let server = authority::Current::load(&v1).unwrap();
        authority::apply_push(Some(server), VISIT, Kind::Visit, checked, &writer)
    };
    let refused = push(&|doc| {
        let (_, status) = doc.get(ROOT, "status").unwrap().unwrap();
        doc.put(&status, "reviewed", true).unwrap();
    })
    .unwrap_err();
    assert_eq!(refused.code, protocol::RejectCode::InvalidRecord);
    assert!(refused.reason.contains("reviewed"), "{}", refused.reason);
    let refused = push(&|doc| {
        doc.put(ROOT, "verification", "verified_by_photo").unwrap();
    })
    .unwrap_err();
    assert!(
        refused.reason.contains("verification"),
        "{}",
        refused.reason
    );
    // The same device's edit of a value the server knows is accepted.
    let accepted = push(&|doc| {
        doc.put(ROOT, "outcome", "Ordered rolls").unwrap();
    })
    .unwrap();
    let AnyRecord::Visit(visit) = accepted.record else {
        panic!("a visit")
    };
    assert_eq!(visit.outcome.as_deref(), Some("Ordered rolls"));
}

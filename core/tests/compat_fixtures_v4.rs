//! The record kind added with protocol version 4 (activities), pinned as its first version
//! wrote it: `tests/fixtures/compat/v4/` holds the saved Automerge document of one activity,
//! written through the real `Store` API with every optional field set and edited after its
//! creation, and the record bytes sent beside its snapshot (`WireRecord`, record format 2).
//! Every later version must read them as the values written out below; they are never
//! rewritten. `write_v4_compat_fixtures` made them (`--ignored`; it writes nothing when the
//! folder exists).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use fieldcrm_core::protocol::{self, WireRecord};
use fieldcrm_core::*;

const ANNA: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e01";
const CUSTOMER: &str = "01937a00-0000-7000-8000-000000000001";
const CONTACT: &str = "01937a00-0000-7000-8000-000000000002";
const ACTIVITY: &str = "01937a00-0000-7000-8000-000000000009";
const CREATED: Millis = 1_796_000_000_000;
const EDITED: Millis = 1_796_000_600_000;

fn v4_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat/v4")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = v4_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
#[ignore = "writes the fixtures once; never regenerate them (see the module docs)"]
fn write_v4_compat_fixtures() {
    let dir = v4_dir();
    if dir.exists() {
        println!("{} exists: nothing written", dir.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let rep = Store::open(tmp.path().join("anna.sqlite")).unwrap();
    rep.set_user(ANNA).unwrap();
    rep.set_clock(|| CREATED);
    let mut call = Activity::new(CUSTOMER, ActivityChannel::Call, 0, "Rye flour prices");
    call.meta.id = ACTIVITY.into();
    call.contact_id = Some(CONTACT.into());
    call.direction = Some(ActivityDirection::Outbound);
    call.duration_s = Some(420);
    call.notes = "Asked for the autumn prices.".into();
    let mut call = rep.create(call).unwrap();
    rep.set_clock(|| EDITED);
    call.outcome = Some("Wants a quote".into());
    call.next_step = Some("Send the quote".into());
    call.next_step_due_at = Some(CREATED + 86_400_000);
    rep.update(call).unwrap();
    std::fs::create_dir_all(dir.join("documents")).unwrap();
    std::fs::create_dir_all(dir.join("records")).unwrap();
    let bytes = rep.document_bytes(ACTIVITY).unwrap().unwrap();
    std::fs::write(dir.join("documents/activity.automerge"), bytes).unwrap();
    let record = rep.get_any(ACTIVITY).unwrap().unwrap();
    let wire = WireRecord::new(&record).unwrap();
    assert_eq!(wire.format, 2);
    std::fs::write(dir.join("records/activity.format2"), wire.bytes).unwrap();
    println!("{record:#?}");
}

/// The activity as its first version wrote it.
fn activity() -> Activity {
    Activity {
        meta: RecordMeta {
            id: ACTIVITY.into(),
            created_at: CREATED,
            created_by: ANNA.into(),
            updated_at: EDITED,
            deleted: false,
        },
        customer_id: CUSTOMER.into(),
        contact_id: Some(CONTACT.into()),
        channel: ActivityChannel::Call,
        direction: Some(ActivityDirection::Outbound),
        occurred_at: CREATED,
        duration_s: Some(420),
        subject: "Rye flour prices".into(),
        notes: "Asked for the autumn prices.".into(),
        outcome: Some("Wants a quote".into()),
        next_step: Some("Send the quote".into()),
        next_step_due_at: Some(CREATED + 86_400_000),
    }
}

#[test]
fn the_server_and_a_device_read_the_document_as_its_record() {
    let expected = AnyRecord::Activity(activity());
    let bytes = fixture("documents/activity.automerge");
    let current = authority::Current::load(&bytes).unwrap();
    assert_eq!(current.record, expected);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    let report = store
        .import(vec![IncomingDoc {
            doc_id: ACTIVITY.into(),
            payload: IncomingPayload::Snapshot(bytes),
        }])
        .unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(store.get_any(ACTIVITY).unwrap(), Some(expected));
}

#[test]
fn the_record_sent_beside_a_snapshot_reads_in_format_2() {
    assert_eq!(protocol::RECORD_FORMAT, 2);
    let expected = AnyRecord::Activity(activity());
    let wire = WireRecord {
        format: 2,
        bytes: fixture("records/activity.format2"),
    };
    assert_eq!(wire.read(), Some(expected.clone()));
    assert_eq!(
        WireRecord::new(&expected).unwrap().bytes,
        wire.bytes,
        "written again byte for byte"
    );
}

#[test]
fn activities_are_unknown_to_apps_before_version_4() {
    assert_eq!(protocol::first_version_knowing(Kind::Activity), 4);
    assert_eq!(protocol::PROTOCOL_VERSION, 4);
}

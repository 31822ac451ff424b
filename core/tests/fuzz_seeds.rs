//! Writes the fuzz targets' seed corpora and fixtures (`fuzz/corpus/<target>/`,
//! `fuzz/fixtures/`) from valid inputs made by a real device store. Not a test: run it by hand
//! when the wire format or the data model changes, then commit what it wrote:
//! `cargo test -p fieldcrm-core --test fuzz_seeds -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use automerge::Automerge;
use fieldcrm_core::protocol::{
    DocChanges, PROTOCOL_VERSION, PingAck, PingUpload, PullRequest, PullResponse, PulledDoc,
    PulledPayload, PushRequest, PushResponse, RefusedPing, RejectCode, Rejection, WireRecord,
    encode, encode_pull_response,
};
use fieldcrm_core::{
    AnyRecord, Customer, Fix, GeoLocation, GpsStamp, Kind, LocationSource, Store, Task, Visit,
    VisitStatus,
};

const NOW_MS: i64 = 1_790_000_000_000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn with_mode(mode: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![mode];
    out.extend_from_slice(bytes);
    out
}

/// The body of a change chunk (after magic, checksum, type and length).
fn body(chunk: &[u8]) -> &[u8] {
    let mut at = 9;
    while chunk[at] & 0x80 != 0 {
        at += 1;
    }
    &chunk[at + 1..]
}

#[test]
#[ignore = "writes the fuzz seed corpora; run by hand"]
fn write_fuzz_seed_corpora() {
    let dir = tempfile::tempdir().unwrap();
    let device = Store::open(dir.path().join("anna.sqlite")).unwrap();
    device.set_user("anna").unwrap();
    let mut customer = Customer::new("Café Mitte");
    customer.location = Some(GeoLocation {
        lat: 52.52,
        lon: 13.405,
        source: LocationSource::Gps,
        at: NOW_MS,
    });
    let customer = device.create(customer).unwrap();
    let first = device.pending_changes(10).unwrap();
    assert_eq!(first.len(), 1);
    let creation = first[0].bytes.clone();

    // record_read's fixture: the customer as the server stores it, and changes on top of it.
    let stored = Automerge::load(&creation).unwrap().save();
    let fixtures = fuzz_dir().join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    std::fs::write(fixtures.join("customer.automerge"), &stored).unwrap();
    let mut renamed = customer.clone();
    renamed.name = "Café Mitte am Markt".to_owned();
    renamed.phones.insert("+49 30 1234567".to_owned());
    device.update(renamed).unwrap();
    let mut visit = device
        .create(Visit::new(&customer.meta.id, "anna"))
        .unwrap();
    visit.status = VisitStatus::InProgress;
    visit.check_in = Some(GpsStamp {
        at: NOW_MS,
        lat: 52.52,
        lon: 13.405,
        accuracy_m: 6.0,
        fix_at: NOW_MS,
        mock: false,
    });
    device.update(visit).unwrap();
    let mut task = Task::new("Angebot schicken");
    task.linked_id = Some(customer.meta.id.clone());
    device.create(task).unwrap();
    let pending = device.pending_changes(100).unwrap();
    let update = &pending[1].bytes;
    write("record_read", "load_customer", &with_mode(0, &stored));
    write(
        "record_read",
        "load_uncompressed",
        &with_mode(0, &Automerge::load(&creation).unwrap().save_nocompress()),
    );
    write("record_read", "change_raw", &with_mode(1, update));
    write("record_read", "change_body", &with_mode(2, body(update)));
    let mut all_changes = Vec::new();
    for change in &pending {
        all_changes.extend_from_slice(&change.bytes);
    }
    write("record_read", "load_changes", &with_mode(0, &all_changes));
    // Mode 5 reads a document both ways: this customer, and the newer peer's documents (fields
    // and enum values this code does not know).
    write("record_read", "both_reads_customer", &with_mode(5, &stored));
    let newer_peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat/newer_peer");
    for entry in std::fs::read_dir(newer_peer).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "automerge") {
            let name = path.file_stem().unwrap().to_string_lossy();
            write(
                "record_read",
                &format!("both_reads_newer_peer_{name}"),
                &with_mode(5, &std::fs::read(&path).unwrap()),
            );
        }
    }
    // The known Automerge panics (core/tests/fixtures/automerge_panics/, same format as mode 4).
    let panics = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/automerge_panics");
    for entry in std::fs::read_dir(panics).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            let name = path.file_stem().unwrap().to_string_lossy();
            write(
                "record_read",
                &format!("automerge_panic_{name}"),
                &with_mode(4, &std::fs::read(&path).unwrap()),
            );
        }
    }

    // chunk_framing: whole chunks, and bodies with a chunk type byte in front.
    write("chunk_framing", "change", &creation);
    write("chunk_framing", "document", &stored);
    write("chunk_framing", "change_body", &with_mode(1, body(update)));
    write("chunk_framing", "changes", &all_changes);

    // protocol_decode: one valid body of every message type.
    let (push, hashes) = device.push_request(100).unwrap().unwrap();
    write("protocol_decode", "push", &encode(&push).unwrap());
    write(
        "protocol_decode",
        "push_small",
        &encode(&PushRequest {
            docs: vec![DocChanges {
                doc_id: "c1".into(),
                kind: Kind::Task,
                changes: vec![vec![1, 2, 3]],
            }],
        })
        .unwrap(),
    );
    write(
        "protocol_decode",
        "pull",
        &encode(&PullRequest {
            cursor: 42,
            limit: 500,
        })
        .unwrap(),
    );
    write(
        "protocol_decode",
        "pull_response",
        &encode_pull_response(
            &PullResponse {
                docs: vec![
                    PulledDoc {
                        doc_id: customer.meta.id.clone(),
                        payload: PulledPayload::Snapshot {
                            bytes: stored.clone(),
                            record: WireRecord::new(&AnyRecord::Customer(customer.clone()))
                                .unwrap(),
                        },
                    },
                    PulledDoc {
                        doc_id: "v1".into(),
                        payload: PulledPayload::Changes(vec![creation.clone()]),
                    },
                ],
                removals: vec!["c2".into()],
                next_cursor: 9,
                has_more: true,
            },
            PROTOCOL_VERSION,
        )
        .unwrap(),
    );
    write(
        "protocol_decode",
        "push_response",
        &encode(&PushResponse {
            acknowledged: hashes[..1].to_vec(),
            rejected: vec![Rejection {
                doc_id: customer.meta.id.clone(),
                hashes: hashes[1..].to_vec(),
                code: RejectCode::ImmutableField,
                reason: "check_in is written once".into(),
            }],
        })
        .unwrap(),
    );
    write(
        "protocol_decode",
        "ping_ack",
        &encode(&PingAck {
            batch_id: "0190a0b0-0000-7000-8000-000000000001".into(),
            stored: 3,
            duplicates: 1,
            refused: vec![RefusedPing {
                at: NOW_MS + 86_400_000,
                reason: "in the future".into(),
            }],
        })
        .unwrap(),
    );

    // ping_batch (and protocol_decode): ping uploads, small and compressed.
    let fix = |i: i64| Fix {
        at: NOW_MS - 3_600_000 + i * 30_000,
        lat: 52.5 + i as f64 * 0.0005,
        lon: 13.4,
        accuracy_m: 10.0,
        mock: i % 7 == 0,
    };
    for (name, count) in [("pings_1", 1), ("pings_5", 5), ("pings_120", 120)] {
        let upload = encode(&PingUpload {
            batch_id: format!("0190a0b0-0000-7000-8000-{count:012}"),
            pings: (0..count).map(fix).collect(),
        })
        .unwrap();
        write("ping_batch", name, &upload);
        write("protocol_decode", name, &upload);
    }
}

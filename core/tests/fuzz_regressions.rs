//! Inputs the fuzz targets (`fuzz/`, see `fuzz/README.md`) found, replayed through the same
//! path. Memory findings run in a child process under an address-space limit (`ulimit -v`), so
//! an allocation the input should never cause aborts the child and fails the test instead of
//! exhausting the machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use fieldcrm_core::Store;
use fieldcrm_core::authority::{Current, Writer, apply_push, change_hash, check_changes};
use fieldcrm_core::protocol::RejectCode;
use sha2::{Digest, Sha256};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name);
    std::fs::read(path).unwrap()
}

/// Set in the child process that replays an input under the memory limit.
const CHILD: &str = "FIELDCRM_FUZZ_REPLAY_CHILD";

/// Replays `replay` in a child process (this test binary, running only the ignored test
/// `test`, ignored or not) limited to `limit_mb` of address space, and asserts it passed; in that child, runs
/// `replay` itself. So the test never replays the input without the limit.
fn within_memory(test: &str, limit_mb: u64, replay: impl FnOnce()) {
    if std::env::var_os(CHILD).is_some() {
        replay();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {} && exec \"$0\" --include-ignored --exact {test} --test-threads=1 --quiet",
            limit_mb * 1024
        ))
        .arg(exe)
        .env(CHILD, "1")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "{test} failed within {limit_mb} MB of address space: {status}"
    );
}

/// chunk_framing, 2026-11-27: a 535-byte Automerge bundle chunk (type 3) given to
/// `authority::change_hash`, which the server calls on every change of a refused document
/// (`server/src/sync.rs`, `reject`), makes Automerge's bundle parser allocate 2 GiB
/// (`automerge::storage::bundle::storage::decode_delta_int`, via `Change::from_bytes` and
/// `Chunk::parse`). Its checksum does not matter: the parse runs before it is checked.
#[test]
fn a_bundle_chunk_named_by_change_hash_stays_within_memory() {
    within_memory(
        "a_bundle_chunk_named_by_change_hash_stays_within_memory",
        768,
        || {
            let bytes = fixture("change_hash-bundle-2gb.bin");
            assert_eq!(change_hash(&bytes), None, "a bundle is not a change");
            let mut damaged = bytes;
            damaged[4] ^= 0xff;
            assert_eq!(change_hash(&damaged), None);
        },
    );
}

/// record_read (and push_handler), 2026-11-27: a 214-byte change chunk with an intact checksum
/// makes `authority::check_changes` (`Change::from_bytes`, `verify_ops`, a string column's
/// `RawDecoder::read::<SmolStr>`, automerge `decodable_impls.rs:113`) allocate 512 MiB: a
/// string's length is read from the change and only capped by Automerge's `MAX_ALLOCATION`
/// (10^9 bytes), not by the bytes left. It runs before the actor check. The pages stay
/// untouched (zeroed lazily), so only address space is taken; under an address-space limit
/// the allocation fails and the process aborts.
/// Automerge still reserves from the declared length; `chunks::check_change` refuses such a
/// change first (`core/src/chunks/string_columns.rs`).
#[test]
fn a_change_declaring_a_huge_string_stays_within_memory() {
    within_memory(
        "a_change_declaring_a_huge_string_stays_within_memory",
        384,
        || {
            let change = fixture("check_changes-string-length-512mb.bin");
            let writer = Writer {
                user_id: "anna",
                actor_allowed: &|_| true,
            };
            assert!(check_changes(&[change], &writer).is_err());
        },
    );
}

/// record_read, 2026-11-27 (after the fix above): a 216-byte bundle chunk (type 3) given to
/// `authority::Current::load`, which the server runs on its stored documents, makes
/// Automerge's bundle parser allocate 128 MiB and more (`decode_delta_int`, the same site as
/// the first finding, reached through `Automerge::load`). Nothing in FieldCRM writes a bundle,
/// so every load walks the chunk headers first (`chunks::load`) and refuses one unparsed: on
/// the server and on the device, which imports what it is sent the same way.
#[test]
fn a_bundle_loaded_as_a_document_stays_within_memory() {
    within_memory(
        "a_bundle_loaded_as_a_document_stays_within_memory",
        384,
        || {
            let bytes = fixture("current_load-bundle-128mb.bin");
            assert_eq!(bytes[8], 3, "a bundle chunk");
            let refused = Current::load(&bytes).unwrap_err();
            assert!(
                refused.reason.contains("not loadable"),
                "{}",
                refused.reason
            );
            let store = Store::open(":memory:").unwrap();
            let report = store
                .import(vec![fieldcrm_core::IncomingDoc {
                    doc_id: "bundle".into(),
                    payload: fieldcrm_core::IncomingPayload::Snapshot(bytes),
                }])
                .unwrap();
            assert_eq!(report.refused.len(), 1, "{report:?}");
        },
    );
}

/// A change chunk around `body`, with its checksum (as the fuzz targets seal their inputs).
fn sealed_change(body: &[u8]) -> Vec<u8> {
    let mut hashed = vec![1u8];
    let mut length = body.len() as u64;
    loop {
        let byte = (length & 0x7f) as u8;
        length >>= 7;
        if length == 0 {
            hashed.push(byte);
            break;
        }
        hashed.push(byte | 0x80);
    }
    hashed.extend_from_slice(body);
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83];
    chunk.extend_from_slice(&Sha256::digest(&hashed)[..4]);
    chunk.extend_from_slice(&hashed);
    chunk
}

/// record_read, 2026-11-27: a 167-byte change pushed onto a customer (the fuzz fixture, by its
/// author) makes the merged document's objects nest without end (a map inside itself, through
/// Automerge's run-length op columns), and reading the record recursed until the stack
/// overflowed (`record::read_map` / `object_node`): an abort, which no `catch_unwind` contains,
/// on the server's push path. Reading now stops at a depth and a number of values
/// (`TreeReader` in `core/src/records/fields.rs`), and the push is refused.
#[test]
fn a_change_nesting_objects_without_end_is_refused_without_overflowing_the_stack() {
    within_memory(
        "a_change_nesting_objects_without_end_is_refused_without_overflowing_the_stack",
        2048,
        || {
            let base = Current::load(&fixture("customer.automerge")).unwrap();
            let change = sealed_change(&fixture("record_read-nested-objects.bin"));
            let meta = base.record.meta().clone();
            let kind = base.record.kind();
            let writer = Writer {
                user_id: &meta.created_by,
                actor_allowed: &|_| true,
            };
            let checked = check_changes(&[change], &writer).unwrap();
            let refused = apply_push(Some(base), &meta.id, kind, checked, &writer).unwrap_err();
            assert!(!refused.contained_panic, "{}", refused.reason);
        },
    );
}

/// record_read, 2026-11-27 (finding 7): a 427-byte change pushed onto a customer by its author
/// marks (`MarkEnd`, rich-text formatting) keys of the root map. Automerge 0.12 panics applying
/// it in its mark index and panics again while unwinding: the process aborts, on the server's
/// push path, whatever `catch_unwind` surrounds it. Changes with marks are refused before they
/// are applied (`authority::check_changes`); no record holds marks. Replayed in a child process,
/// so a regression fails this test instead of aborting the whole test binary.
#[test]
fn a_change_with_marks_is_refused_before_automerge_applies_it() {
    within_memory(
        "a_change_with_marks_is_refused_before_automerge_applies_it",
        2048,
        || {
            let change = sealed_change(&fixture("record_read-marks-on-a-map.bin"));
            let writer = Writer {
                user_id: "anna",
                actor_allowed: &|_| true,
            };
            let refused = match check_changes(&[change], &writer) {
                Ok(_) => panic!("a change with marks passed the checks"),
                Err(refused) => refused,
            };
            assert_eq!(
                refused.code,
                RejectCode::MalformedChange,
                "{}",
                refused.reason
            );
            assert!(refused.reason.contains("marks"), "{}", refused.reason);
            assert!(!refused.contained_panic, "{}", refused.reason);
        },
    );
}

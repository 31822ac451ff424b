//! The core's chunk framing checks (`chunks::check`, `chunks::check_change`, exposed through
//! `fieldcrm_core::fuzzing`) and `authority::change_hash`, on arbitrary bytes and on arbitrary
//! bodies framed as a sealed change chunk (so Automerge's change parser sees them). Never
//! panics, and the checks agree with each other: a single intact change is an intact chunk
//! sequence, and its checksum is the head of the hash `change_hash` names it by.
#![no_main]

use fieldcrm_core::authority::change_hash;
use fieldcrm_core::fuzzing::{check_change_chunk, check_chunks};
use fieldcrm_fuzz::{no_escaping_panic, remember_panics, seal};
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    let one_change = check_change_chunk(bytes);
    let chunks = check_chunks(bytes);
    let hash = change_hash(bytes);
    if one_change.is_ok() {
        assert!(
            chunks.is_ok(),
            "one intact change is an intact chunk sequence"
        );
        if let Some(hash) = hash {
            let checksum: String = bytes[4..8].iter().map(|b| format!("{b:02x}")).collect();
            assert!(
                hash.starts_with(&checksum),
                "checksum {checksum} is not the head of hash {hash}"
            );
        }
    }
}

fuzz_target!(init: remember_panics(), |data: &[u8]| {
    no_escaping_panic(|| {
        check(data);
        // The first byte picks the chunk type (document, change, compressed change, bundle,
        // unknown); the rest is the body.
        if let Some((&chunk_type, body)) = data.split_first() {
            check(&seal(chunk_type % 5, body));
        }
    });
});

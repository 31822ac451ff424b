//! Reading a record from an arbitrary Automerge document (`authority::Current::load`, which
//! contains Automerge's panics and must answer `Err`), and arbitrary bytes pushed as changes on
//! a fixed valid customer document (`fixtures/customer.automerge`, written by the seed
//! generator) through `authority::check_changes` + `authority::apply_push`. A contained panic
//! (`Refusal.contained_panic`) is expected; one that escapes is a crash.
//!
//! Input: the first byte picks the mode, the rest is its data:
//! 0: a stored document to load; 1: one raw pushed change, as is; 2: a change body, sealed as a
//! change chunk (so it passes the checksum); 3: a compressed-change body, sealed; 4: a base
//! document and a change on it, in the format of `core/tests/fixtures/automerge_panics/` (the
//! document's length as 4 bytes big-endian, the document, the change), pushed as the base
//! record's author: the known Automerge panics are seeds of this mode; 5: a document read both
//! ways, strictly (the server's read) and leniently (the device's): what the strict read
//! accepts, the lenient read gives back the same, with no field skipped.
#![no_main]

use std::sync::OnceLock;

use fieldcrm_core::authority::{Current, Writer, apply_push, check_changes};
use fieldcrm_fuzz::{CHANGE_CHUNK, no_escaping_panic, remember_panics, seal};
use libfuzzer_sys::fuzz_target;

/// The fixture: one customer made by user `anna` on a device store.
const FIXTURE: &[u8] = include_bytes!("../fixtures/customer.automerge");

fn fixture() -> &'static Current {
    static CURRENT: OnceLock<Current> = OnceLock::new();
    CURRENT.get_or_init(|| Current::load(FIXTURE).expect("the fixture is a valid customer"))
}

fn push(change: Vec<u8>) {
    push_onto(fixture().clone(), change);
}

/// Pushes `change` onto `base` as the base record's author, from a registered device.
fn push_onto(base: Current, change: Vec<u8>) {
    let allowed = |_: &fieldcrm_core::authority::ActorId| true;
    let meta = base.record.meta().clone();
    let kind = base.record.kind();
    let writer = Writer {
        user_id: &meta.created_by,
        actor_allowed: &allowed,
    };
    let Ok(checked) = check_changes(&[change], &writer) else {
        return;
    };
    let _ = apply_push(Some(base), &meta.id, kind, checked, &writer);
}

fn base_and_change(bytes: &[u8]) {
    let Some((length, rest)) = bytes.split_first_chunk::<4>() else {
        return;
    };
    let length = u32::from_be_bytes(*length) as usize;
    if rest.len() < length {
        return;
    }
    let (base, change) = rest.split_at(length);
    if let Ok(base) = Current::load(base) {
        push_onto(base, change.to_vec());
    }
}

/// The device's lenient read agrees with the server's strict one wherever the strict one reads.
fn strict_and_lenient(bytes: &[u8]) {
    let Some((strict, lenient)) = fieldcrm_core::fuzzing::read_strict_and_lenient(bytes) else {
        return;
    };
    if let Ok(record) = strict {
        let (lenient_record, skipped) = match lenient {
            Ok(read) => read,
            Err(error) => panic!("the strict read accepts what the lenient read refuses: {error}"),
        };
        assert!(
            skipped.is_empty(),
            "a strictly read record skipped {skipped:?}"
        );
        // Compared as printed: a NaN coordinate is equal to itself there.
        assert_eq!(format!("{record:?}"), format!("{lenient_record:?}"));
    }
}

fuzz_target!(init: { remember_panics(); fixture(); }, |data: &[u8]| {
    no_escaping_panic(|| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        match mode % 6 {
            0 => {
                let _ = Current::load(rest);
            }
            1 => push(rest.to_vec()),
            2 => push(seal(CHANGE_CHUNK, rest)),
            3 => push(seal(CHANGE_CHUNK + 1, rest)),
            4 => base_and_change(rest),
            _ => strict_and_lenient(rest),
        }
    });
});

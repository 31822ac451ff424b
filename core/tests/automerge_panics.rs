//! Automerge 0.12 panics on some crafted changes (docs/ARCHITECTURE.md, "Known issues"). The
//! server contains such panics (`authority` runs Automerge work on device bytes inside
//! `catch_unwind`) and refuses the document. This file keeps every panicking input found as a
//! fixture (`tests/fixtures/automerge_panics/*.bin`: the base document's saved bytes, then the
//! pushed change, each prefixed by its length as 4 bytes big-endian) and replays them through
//! the push path: each must be refused, none may escape.
//!
//! `cargo test -p fieldcrm-core --test automerge_panics -- --ignored` runs the seeded mutation
//! search that found them (mutants of a valid change with its checksum recomputed, as an
//! attacker would) and writes new findings into the fixture folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use automerge::{Automerge, Change};
use fieldcrm_core::authority::{self, Current, Writer};
use fieldcrm_core::{GpsStamp, Kind, Store, Visit, VisitStatus};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/automerge_panics")
}

fn split(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

fn join(base: &[u8], change: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u32::try_from(base.len()).unwrap().to_be_bytes());
    out.extend_from_slice(base);
    out.extend_from_slice(change);
    out
}

#[test]
fn every_known_panicking_change_is_refused_not_escaped() {
    let mut replayed = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "bin") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let (base, change) = split(&bytes).unwrap();
        // The input panics Automerge when used directly (what the fixture is for)...
        let direct = catch_unwind(AssertUnwindSafe(|| {
            let mut doc = Automerge::load(base).unwrap();
            if let Ok(change) = Change::from_bytes(change.to_vec()) {
                let _ = doc.apply_changes([change]);
            }
        }));
        assert!(
            direct.is_err(),
            "{} no longer panics Automerge: upstream fixed it, keep the fixture as a plain refusal test",
            path.display()
        );
        // ...and through the push path it is a refusal.
        let current = Current::load(base).unwrap();
        let id = current.record.meta().id.clone();
        let writer = Writer {
            user_id: "anna",
            actor_allowed: &|_| true,
        };
        let outcome = authority::check_changes(&[change.to_vec()], &writer).and_then(|checked| {
            authority::apply_push(Some(current), &id, Kind::Visit, checked, &writer)
        });
        let refusal = outcome.expect_err("a panicking change was accepted");
        assert!(refusal.contained_panic, "{}: {refusal:?}", path.display());
        replayed += 1;
    }
    assert!(
        replayed > 0,
        "no fixtures found in {}",
        fixtures().display()
    );
}

/// A visit document on the server and a valid change on top of it (a check-in, a status and
/// notes: many operations of several kinds).
fn base_and_change() -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let anna = Store::open(dir.path().join("anna.sqlite")).unwrap();
    anna.set_user("anna").unwrap();
    let visit = anna.create(Visit::new("customer-1", "anna")).unwrap();
    let creation = anna.pending_changes(10).unwrap();
    let mut visit = visit;
    visit.status = VisitStatus::InProgress;
    visit.notes = "Met the buyer, wants a quote".into();
    visit.check_in = Some(GpsStamp {
        at: 1_790_000_000_000,
        lat: 53.55,
        lon: 9.93,
        accuracy_m: 8.0,
        fix_at: 1_790_000_000_000,
        mock: false,
    });
    anna.update(visit).unwrap();
    let all = anna.pending_changes(10).unwrap();
    let mut base = Automerge::new();
    base.apply_changes(
        creation
            .iter()
            .map(|c| Change::from_bytes(c.bytes.clone()).unwrap()),
    )
    .unwrap();
    (base.save(), all[creation.len()].bytes.clone())
}

/// Recomputes a change chunk's checksum after its body was mutated.
fn reseal(chunk: &mut [u8]) {
    let digest = Sha256::digest(&chunk[8..]);
    chunk[4..8].copy_from_slice(&digest[..4]);
}

#[test]
#[ignore = "search: writes new fixtures; run on demand"]
fn search_for_panicking_mutants() {
    let (base, change) = base_and_change();
    let doc = Automerge::load(&base).unwrap();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = SmallRng::seed_from_u64(12);
    let mut found = 0;
    let body_start = 12;
    for round in 0..20_000u32 {
        let mut mutant = change.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(body_start..mutant.len());
            mutant[at] = rng.random();
        }
        reseal(&mut mutant);
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let mut doc = doc.clone();
            if let Ok(parsed) = Change::from_bytes(mutant.clone()) {
                let _ = doc.apply_changes([parsed]);
            }
        }))
        .is_err();
        if panicked {
            found += 1;
            let path = fixtures().join(format!("mutant-seed12-{round}.bin"));
            std::fs::write(path, join(&base, &mutant)).unwrap();
            if found >= 6 {
                break;
            }
        }
    }
    let _ = std::panic::take_hook();
    assert!(found > 0, "no panicking mutant in this search");
}

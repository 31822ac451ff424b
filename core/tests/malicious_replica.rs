//! Property tests for the server's side of a push (`fieldcrm_core::authority`) against a
//! malicious replica: a rep with a registered device who writes raw Automerge operations
//! instead of going through `Store`. Whatever the operations, a document the server accepts
//! keeps every invariant of `authority` (docs/ARCHITECTURE.md, "Invariants re-checked on the
//! merged result"): identity written once and single-valued, a visit's rep, customer,
//! check-in and check-out written once, its status never moving back, and no panic escaping.

// Tests report failures by panicking; unwrap/expect are the plainest way to do so here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use fieldcrm_core::authority::{self, Current, Writer};
use fieldcrm_core::{AnyRecord, GpsStamp, Kind, Store, Visit, VisitStatus};
use proptest::prelude::*;

const T0: i64 = 1_790_000_000_000;

/// Root keys a malicious change goes for: identity, the written-once visit fields, the status
/// map, and some free fields.
const KEYS: &[&str] = &[
    "id",
    "kind",
    "created_at",
    "created_by",
    "rep",
    "customer_id",
    "status",
    "check_in",
    "check_out",
    "outcome",
    "notes",
    "deleted",
];
const TEXTS: &[&str] = &["anna", "ben", "customer-2", "visit", "customer", "done"];
/// The visit states, and one this code does not know (which the server must refuse).
const STATES: &[&str] = &[
    "planned",
    "in_progress",
    "skipped",
    "cancelled",
    "done",
    "rescheduled",
];

#[derive(Debug, Clone)]
enum Op {
    PutText(usize, usize),
    PutInt(usize, i64),
    Delete(usize),
    NewMap(usize),
    MarkState(usize),
    UnmarkState(usize),
    MoveCheckIn(f64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..KEYS.len(), 0..TEXTS.len()).prop_map(|(k, v)| Op::PutText(k, v)),
        (0..KEYS.len(), -5i64..5).prop_map(|(k, v)| Op::PutInt(k, T0 + v)),
        (0..KEYS.len()).prop_map(Op::Delete),
        (0..KEYS.len()).prop_map(Op::NewMap),
        (0..STATES.len()).prop_map(Op::MarkState),
        (0..STATES.len()).prop_map(Op::UnmarkState),
        (-1.0f64..1.0).prop_map(Op::MoveCheckIn),
    ]
}

fn stamp(at: i64) -> GpsStamp {
    GpsStamp {
        at,
        lat: 53.55,
        lon: 9.93,
        accuracy_m: 8.0,
        fix_at: at,
        mock: false,
    }
}

/// The server's copy of one of anna's visits, pushed honestly: planned, or checked in and out
/// and done.
fn honest_visit(done: bool) -> (String, Current) {
    let dir = tempfile::tempdir().unwrap();
    let anna = Store::open(dir.path().join("anna.sqlite")).unwrap();
    anna.set_user("anna").unwrap();
    let mut visit = anna.create(Visit::new("customer-1", "anna")).unwrap();
    if done {
        visit.status = VisitStatus::InProgress;
        visit.check_in = Some(stamp(T0));
        visit = anna.update(visit).unwrap();
        visit.status = VisitStatus::Done;
        visit.check_out = Some(stamp(T0 + 600_000));
        visit = anna.update(visit).unwrap();
    }
    let changes: Vec<Vec<u8>> = anna
        .pending_changes(100)
        .unwrap()
        .into_iter()
        .map(|c| c.bytes)
        .collect();
    let writer = Writer {
        user_id: "anna",
        actor_allowed: &|_| true,
    };
    let checked = authority::check_changes(&changes, &writer).unwrap();
    let accepted =
        authority::apply_push(None, &visit.meta.id, Kind::Visit, checked, &writer).unwrap();
    (visit.meta.id, Current::from_doc(accepted.doc).unwrap())
}

/// The two honest visits, made once (opening a store per case would dominate the run).
fn base_visit(done: bool) -> (String, Current) {
    static BASES: std::sync::OnceLock<[(String, Current); 2]> = std::sync::OnceLock::new();
    BASES.get_or_init(|| [honest_visit(false), honest_visit(true)])[usize::from(done)].clone()
}

/// Applies `ops` on a fork of `doc` as raw Automerge operations; returns the new changes.
fn malicious_changes(doc: &Automerge, ops: &[Op]) -> Vec<Vec<u8>> {
    let mut evil = doc.fork();
    let heads = doc.get_heads();
    for op in ops {
        // Some operations are impossible on the document as it stands (a state on a status
        // that is no longer a map): Automerge refuses them and the replica moves on.
        let _ = evil.transact::<_, _, automerge::AutomergeError>(|tx| {
            match op {
                Op::PutText(k, v) => tx.put(ROOT, KEYS[*k], TEXTS[*v])?,
                Op::PutInt(k, v) => tx.put(ROOT, KEYS[*k], *v)?,
                Op::Delete(k) => tx.delete(ROOT, KEYS[*k])?,
                Op::NewMap(k) => {
                    tx.put_object(ROOT, KEYS[*k], ObjType::Map)?;
                }
                Op::MarkState(s) | Op::UnmarkState(s) => {
                    if let Some((_, status)) = tx.get(ROOT, "status")? {
                        if matches!(op, Op::MarkState(_)) {
                            tx.put(&status, STATES[*s], true)?;
                        } else {
                            tx.delete(&status, STATES[*s])?;
                        }
                    }
                }
                Op::MoveCheckIn(by) => {
                    if let Some((_, check_in)) = tx.get(ROOT, "check_in")? {
                        tx.put(&check_in, "lat", 53.55 + by)?;
                    }
                }
            }
            Ok(())
        });
    }
    evil.get_changes(&heads)
        .into_iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect()
}

fn assert_invariants(doc: &Automerge, before: &AnyRecord, after: &AnyRecord) {
    for key in ["id", "kind", "created_at", "created_by"] {
        assert_eq!(
            doc.get_all(ROOT, key).unwrap().len(),
            1,
            "{key} single-valued"
        );
    }
    assert_eq!(
        after.unknown_values(),
        vec![],
        "a value the server does not know was accepted"
    );
    let (AnyRecord::Visit(b), AnyRecord::Visit(a)) = (before, after) else {
        panic!("the accepted document is no longer a visit: {after:?}");
    };
    assert_eq!(a.meta.id, b.meta.id);
    assert_eq!(a.meta.created_at, b.meta.created_at);
    assert_eq!(a.meta.created_by, b.meta.created_by);
    assert_eq!(a.rep, b.rep);
    assert_eq!(a.customer_id, b.customer_id);
    if b.check_in.is_some() {
        assert_eq!(a.check_in, b.check_in);
    }
    if b.check_out.is_some() {
        assert_eq!(a.check_out, b.check_out);
    }
    assert!(
        a.status.rank() >= b.status.rank(),
        "status moved back: {:?} -> {:?}",
        b.status,
        a.status
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn no_raw_operation_breaks_a_server_invariant(
        done in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..8),
    ) {
        let (id, current) = base_visit(done);
        let before = current.record.clone();
        let changes = malicious_changes(&current.doc, &ops);
        let writer = Writer { user_id: "anna", actor_allowed: &|_| true };
        let outcome = authority::check_changes(&changes, &writer)
            .and_then(|checked| authority::apply_push(Some(current), &id, Kind::Visit, checked, &writer));
        if let Ok(accepted) = outcome {
            assert_invariants(&accepted.doc, &before, &accepted.record);
        }
    }
}

/// Finding 7 of the security review, as a plain test: deleting the reached states of a done
/// visit is refused, so the manager never sees `done -> planned`.
#[test]
fn deleting_reached_states_is_refused() {
    let (id, current) = base_visit(true);
    let ops: Vec<Op> = (1..STATES.len())
        .filter(|s| VisitStatus::parse_known(STATES[*s]).is_some())
        .map(Op::UnmarkState)
        .collect();
    let changes = malicious_changes(&current.doc, &ops);
    let writer = Writer {
        user_id: "anna",
        actor_allowed: &|_| true,
    };
    let checked = authority::check_changes(&changes, &writer).unwrap();
    let refusal = authority::apply_push(Some(current), &id, Kind::Visit, checked, &writer)
        .expect_err("status moved back");
    assert!(refusal.reason.contains("only moves forward"), "{refusal:?}");
}

/// Finding 11: another document's creation change merged into an existing document is refused
/// every time, whichever `id` the merge would show.
#[test]
fn another_documents_creation_change_is_refused() {
    for _ in 0..6 {
        let (id, current) = honest_visit(false);
        let (_, other) = honest_visit(false);
        let creation: Vec<Vec<u8>> = other
            .doc
            .get_changes(&[])
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let writer = Writer {
            user_id: "anna",
            actor_allowed: &|_| true,
        };
        let checked = authority::check_changes(&creation, &writer).unwrap();
        let refusal = authority::apply_push(Some(current), &id, Kind::Visit, checked, &writer)
            .expect_err("a foreign creation change merged");
        assert!(
            refusal.reason.contains("written once") || refusal.reason.contains("not the visit"),
            "{refusal:?}"
        );
    }
}

//! Property test of the server's side of a push against a malicious replica editing an order
//! with raw Automerge operations (the rep's own device, registered, so its changes pass the
//! author check): whatever the operations, an order the server accepts keeps its customer,
//! visit, currency and owner, a status that never moves back, its lines once it left draft,
//! its status history (every new entry by the pushing user), and no value the server does not
//! know.

// Tests report failures by panicking; unwrap/expect are the plainest way to do so here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use fieldcrm_core::authority::{self, Current, Writer};
use fieldcrm_core::{AnyRecord, Kind, Order, OrderStatus, Product, Store};
use proptest::prelude::*;

const T0: i64 = 1_790_000_000_000;

const ROOT_KEYS: &[&str] = &[
    "customer_id",
    "visit_id",
    "currency",
    "owner",
    "ordered_at",
    "notes",
    "status",
    "lines",
    "status_history",
];
const TEXTS: &[&str] = &["anna", "ben", "customer-2", "USD", "EUR", "p9"];
const STATES: &[&str] = &[
    "draft",
    "submitted",
    "confirmed",
    "cancelled",
    "delivered",
    "on_hold",
];
const LINE_KEYS: &[&str] = &[
    "product_id",
    "quantity",
    "unit_price_minor",
    "discount_bp",
    "tax_rate_bp",
    "name",
];

#[derive(Debug, Clone)]
enum Op {
    PutText(usize, usize),
    PutInt(usize, i64),
    Delete(usize),
    MarkState(usize),
    UnmarkState(usize),
    LineInt(usize, usize, i64),
    LineText(usize, usize, usize),
    AddLine(i64),
    RemoveLine(usize),
    History(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..ROOT_KEYS.len(), 0..TEXTS.len()).prop_map(|(k, v)| Op::PutText(k, v)),
        (0..ROOT_KEYS.len(), -5i64..5).prop_map(|(k, v)| Op::PutInt(k, T0 + v)),
        (0..ROOT_KEYS.len()).prop_map(Op::Delete),
        (0..STATES.len()).prop_map(Op::MarkState),
        (0..STATES.len()).prop_map(Op::UnmarkState),
        (0..2usize, 0..LINE_KEYS.len(), -3i64..20_000).prop_map(|(l, k, v)| Op::LineInt(l, k, v)),
        (0..2usize, 0..LINE_KEYS.len(), 0..TEXTS.len()).prop_map(|(l, k, v)| Op::LineText(l, k, v)),
        (-2i64..5).prop_map(Op::AddLine),
        (0..2usize).prop_map(Op::RemoveLine),
        (0..STATES.len(), 0..TEXTS.len()).prop_map(|(s, by)| Op::History(s, by)),
    ]
}

/// The server's copy of one of anna's orders with two lines, pushed honestly: a draft, or
/// submitted.
fn honest_order(submitted: bool) -> (String, Current) {
    let dir = tempfile::tempdir().unwrap();
    let anna = Store::open(dir.path().join("anna.sqlite")).unwrap();
    anna.set_user("anna").unwrap();
    let mut bread = Product::new("AB-1", "Bread");
    bread.prices.insert("EUR".into(), 349);
    let bread = anna.create(bread).unwrap();
    anna.acknowledge(
        &anna
            .pending_changes(100)
            .unwrap()
            .into_iter()
            .map(|c| c.hash)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let order = anna.create_order("customer-1", None, "EUR").unwrap();
    anna.add_order_line(&order.meta.id, &bread.meta.id, 2)
        .unwrap();
    anna.add_order_line(&order.meta.id, &bread.meta.id, 5)
        .unwrap();
    if submitted {
        anna.set_order_status(&order.meta.id, OrderStatus::Submitted)
            .unwrap();
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
        authority::apply_push(None, &order.meta.id, Kind::Order, checked, &writer).unwrap();
    (order.meta.id, Current::from_doc(accepted.doc).unwrap())
}

fn base_order(submitted: bool) -> (String, Current) {
    static BASES: std::sync::OnceLock<[(String, Current); 2]> = std::sync::OnceLock::new();
    BASES.get_or_init(|| [honest_order(false), honest_order(true)])[usize::from(submitted)].clone()
}

/// The `index`-th line's map, if there is one.
fn line(tx: &automerge::transaction::Transaction<'_>, index: usize) -> Option<automerge::ObjId> {
    let (_, lines) = tx.get(ROOT, "lines").ok()??;
    let keys: Vec<String> = tx.keys(&lines).collect();
    let key = keys.get(index % keys.len().max(1))?;
    tx.get(&lines, key.as_str()).ok()?.map(|(_, id)| id)
}

fn malicious_changes(doc: &Automerge, ops: &[Op]) -> Vec<Vec<u8>> {
    let mut evil = doc.fork();
    let heads = doc.get_heads();
    for op in ops {
        let _ = evil.transact::<_, _, automerge::AutomergeError>(|tx| {
            match op {
                Op::PutText(k, v) => tx.put(ROOT, ROOT_KEYS[*k], TEXTS[*v])?,
                Op::PutInt(k, v) => tx.put(ROOT, ROOT_KEYS[*k], *v)?,
                Op::Delete(k) => tx.delete(ROOT, ROOT_KEYS[*k])?,
                Op::MarkState(s) | Op::UnmarkState(s) => {
                    if let Some((_, status)) = tx.get(ROOT, "status")? {
                        if matches!(op, Op::MarkState(_)) {
                            tx.put(&status, STATES[*s], true)?;
                        } else {
                            tx.delete(&status, STATES[*s])?;
                        }
                    }
                }
                Op::LineInt(l, k, v) => {
                    if let Some(line) = line(tx, *l) {
                        tx.put(&line, LINE_KEYS[*k], *v)?;
                    }
                }
                Op::LineText(l, k, v) => {
                    if let Some(line) = line(tx, *l) {
                        tx.put(&line, LINE_KEYS[*k], TEXTS[*v])?;
                    }
                }
                Op::AddLine(quantity) => {
                    if let Some((_, lines)) = tx.get(ROOT, "lines")? {
                        let new = tx.put_object(&lines, "0190-evil-line", ObjType::Map)?;
                        tx.put(&new, "product_id", "p9")?;
                        tx.put(&new, "name", "Extra")?;
                        tx.put(&new, "quantity", *quantity)?;
                        tx.put(&new, "unit_price_minor", 1)?;
                    }
                }
                Op::RemoveLine(l) => {
                    if let Some((_, lines)) = tx.get(ROOT, "lines")? {
                        let keys: Vec<String> = tx.keys(&lines).collect();
                        if let Some(key) = keys.get(*l % keys.len().max(1)) {
                            tx.delete(&lines, key.as_str())?;
                        }
                    }
                }
                Op::History(s, by) => {
                    if let Some((_, history)) = tx.get(ROOT, "status_history")? {
                        let at = tx.length(&history);
                        let entry = tx.insert_object(&history, at, ObjType::Map)?;
                        tx.put(&entry, "status", STATES[*s])?;
                        tx.put(&entry, "at", T0)?;
                        tx.put(&entry, "by", TEXTS[*by])?;
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
        assert_eq!(doc.get_all(ROOT, key).unwrap().len(), 1, "{key}");
    }
    assert_eq!(after.unknown_values(), vec![], "an unknown value accepted");
    assert_eq!(after.validate(), Ok(()));
    let (AnyRecord::Order(b), AnyRecord::Order(a)) = (before, after) else {
        panic!("the accepted document is no longer an order: {after:?}");
    };
    assert_eq!(
        (&a.customer_id, &a.visit_id, &a.currency, &a.owner),
        (&b.customer_id, &b.visit_id, &b.currency, &b.owner)
    );
    assert!(
        a.status.rank() >= b.status.rank(),
        "status moved back: {:?} -> {:?}",
        b.status,
        a.status
    );
    if b.status.is_frozen() {
        assert_eq!(a.lines, b.lines, "a frozen order's lines changed");
    }
    let mut remaining = a.status_history.iter();
    assert!(
        b.status_history.iter().all(|e| remaining.any(|x| x == e)),
        "history rewritten"
    );
    assert!(
        a.status_history
            .iter()
            .filter(|e| !b.status_history.contains(e))
            .all(|e| e.by == "anna"),
        "a history entry in someone else's name"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn no_raw_operation_breaks_an_order_invariant(
        submitted in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..8),
    ) {
        let (id, current) = base_order(submitted);
        let before = current.record.clone();
        let changes = malicious_changes(&current.doc, &ops);
        let writer = Writer { user_id: "anna", actor_allowed: &|_| true };
        let outcome = authority::check_changes(&changes, &writer)
            .and_then(|checked| authority::apply_push(Some(current), &id, Kind::Order, checked, &writer));
        if let Ok(accepted) = outcome {
            assert_invariants(&accepted.doc, &before, &accepted.record);
        }
    }
}

/// The plain case: a line added to a submitted order by a raw change is refused as frozen.
#[test]
fn a_raw_line_added_to_a_submitted_order_is_refused() {
    let (id, current) = base_order(true);
    let changes = malicious_changes(&current.doc, &[Op::AddLine(3)]);
    let writer = Writer {
        user_id: "anna",
        actor_allowed: &|_| true,
    };
    let checked = authority::check_changes(&changes, &writer).unwrap();
    let refusal = authority::apply_push(Some(current), &id, Kind::Order, checked, &writer)
        .expect_err("a frozen order took a line");
    assert!(refusal.reason.contains("submitted"), "{refusal:?}");
}

/// What the rules allow is accepted (so the property above is not vacuous): a raw change of a
/// draft line's quantity, and notes on a submitted order.
#[test]
fn allowed_raw_edits_are_accepted() {
    let writer = Writer {
        user_id: "anna",
        actor_allowed: &|_| true,
    };
    for (submitted, op) in [(false, Op::LineInt(0, 1, 7)), (true, Op::PutText(5, 0))] {
        let (id, current) = base_order(submitted);
        let changes = malicious_changes(&current.doc, &[op]);
        let checked = authority::check_changes(&changes, &writer).unwrap();
        let accepted = authority::apply_push(Some(current), &id, Kind::Order, checked, &writer)
            .expect("an allowed edit");
        let AnyRecord::Order(order) = accepted.record else {
            panic!("an order expected");
        };
        let order: Order = order;
        assert!(order.lines.iter().any(|l| l.quantity == 7) || order.notes == "anna");
    }
}

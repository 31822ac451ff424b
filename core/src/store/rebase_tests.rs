//! Tests of discarding and retrying refused changes (`rebase.rs`). The server is played by
//! hand: acknowledgements and rejections are recorded as a sync round would.

use super::*;
use crate::model::*;
use crate::protocol::{RejectCode, Rejection};
use crate::{IncomingDoc, IncomingPayload, SyncStatus};

fn customer(name: &str, territory: Option<&str>) -> Customer {
    let mut c = Customer::new(name);
    c.territory = territory.map(str::to_owned);
    c
}

/// Acknowledges everything queued (the server took it).
fn acknowledge_all(store: &Store) {
    let hashes: Vec<String> = store
        .pending_changes(u32::MAX)
        .unwrap()
        .into_iter()
        .map(|c| c.hash)
        .collect();
    store.acknowledge(&hashes).unwrap();
}

/// Rejects everything queued for `doc_id` (the server refused the push of that document).
fn reject_all(store: &Store, doc_id: &str, reason: &str) {
    let hashes: Vec<String> = store
        .pending_changes(u32::MAX)
        .unwrap()
        .into_iter()
        .filter(|c| c.doc_id == doc_id)
        .map(|c| c.hash)
        .collect();
    assert!(!hashes.is_empty(), "something queued to reject");
    store
        .record_rejections(
            &[Rejection {
                doc_id: doc_id.to_owned(),
                hashes,
                code: RejectCode::InvalidRecord,
                reason: reason.to_owned(),
            }],
            1,
        )
        .unwrap();
}

fn counts(store: &Store) -> (u64, u64) {
    let status: SyncStatus = store.sync_status().unwrap();
    (status.pending_changes, status.rejected_changes)
}

/// Every change of `doc_id` in `store` applies to a fresh document without missing
/// dependencies once `server` (the changes the server holds) is known: what a peer receiving
/// the queued changes after the server's would see.
fn pushable(store: &Store, server: &[Vec<u8>]) -> Automerge {
    let mut peer = Automerge::new();
    let changes = server
        .iter()
        .map(|bytes| Change::from_bytes(bytes.clone()).unwrap());
    peer.apply_changes(changes).unwrap();
    let queued = store
        .pending_changes(u32::MAX)
        .unwrap()
        .into_iter()
        .map(|c| Change::from_bytes(c.bytes).unwrap());
    peer.apply_changes(queued).unwrap();
    assert!(
        peer.get_missing_deps(&[]).is_empty(),
        "queued changes depend only on what the server has"
    );
    peer
}

#[test]
fn a_refused_creation_fixed_and_retried_is_queued_again_as_a_fresh_creation() {
    let store = Store::open(":memory:").unwrap();
    let created = store.create(customer("Kiosk", None)).unwrap();
    let id = created.meta.id.clone();
    reject_all(&store, &id, "needs a territory known to the server");
    let mut fixed = store.get::<Customer>(&id).unwrap().unwrap();
    fixed.territory = Some("harbour".into());
    store.update(fixed).unwrap();
    reject_all(&store, &id, "depends on changes the server does not have");
    assert_eq!(counts(&store), (0, 2));

    store.retry_rejected(&id).unwrap();

    assert_eq!(
        counts(&store),
        (1, 0),
        "one creation queued, nothing rejected"
    );
    assert!(store.rejected_changes().unwrap().is_empty());
    let read = store.get::<Customer>(&id).unwrap().unwrap();
    assert_eq!(read.territory.as_deref(), Some("harbour"));
    assert_eq!(read.meta.created_at, created.meta.created_at);
    // The one queued change needs nothing the server lacks, and makes the record.
    let peer = pushable(&store, &[]);
    let on_server = AnyRecord::read(&peer).unwrap();
    assert_eq!(on_server.meta().id, id);
    let AnyRecord::Customer(on_server) = on_server else {
        panic!("a customer")
    };
    assert_eq!(on_server.territory.as_deref(), Some("harbour"));
    let queued = store.pending_changes(10).unwrap();
    assert_eq!(queued[0].kind, Kind::Customer);
    assert_eq!(
        Change::from_bytes(queued[0].bytes.clone()).unwrap().seq(),
        1,
        "the server never stored the refused creation"
    );
    // Projected: queries see the fix.
    let QueryResult::Customers(rows) = store
        .query(&Query::Customers(crate::query::CustomerFilter::default()))
        .unwrap()
    else {
        panic!("customers")
    };
    assert_eq!(rows.len(), 1);
}

#[test]
fn a_refused_creation_discarded_leaves_the_device() {
    let store = Store::open(":memory:").unwrap();
    let kept = store.create(customer("Kept", Some("harbour"))).unwrap();
    acknowledge_all(&store);
    let refused = store.create(customer("Refused", None)).unwrap();
    reject_all(&store, &refused.meta.id, "needs a territory");

    store.discard_rejected(&refused.meta.id).unwrap();

    assert!(store.get_any(&refused.meta.id).unwrap().is_none());
    assert_eq!(store.document_ids(Kind::Customer).unwrap(), [kept.meta.id]);
    assert_eq!(counts(&store), (0, 0));
    let QueryResult::Customers(rows) = store
        .query(&Query::Customers(crate::query::CustomerFilter::default()))
        .unwrap()
    else {
        panic!("customers")
    };
    assert_eq!(rows.len(), 1);
}

/// A customer the server has, with an acknowledged edit of this device and one of another
/// device; then an edit the server refuses and a later edit built on it.
struct Refused {
    store: Store,
    id: String,
    server_changes: Vec<Vec<u8>>,
}

fn refused_edit_of_a_known_customer() -> Refused {
    let store = Store::open(":memory:").unwrap();
    let mut c = store
        .create(customer("Fischhalle", Some("harbour")))
        .unwrap();
    let id = c.meta.id.clone();
    c.notes = "acknowledged note".into();
    store.update(c).unwrap();
    acknowledge_all(&store);
    // Another device's edit, relayed by the server.
    let other = Store::open(":memory:").unwrap();
    other
        .import(vec![IncomingDoc {
            doc_id: id.clone(),
            payload: IncomingPayload::Changes(store.document_changes(&id).unwrap()),
        }])
        .unwrap();
    let mut theirs = other.get::<Customer>(&id).unwrap().unwrap();
    theirs.address.city = Some("Hamburg".into());
    other.update(theirs).unwrap();
    store
        .import(vec![IncomingDoc {
            doc_id: id.clone(),
            payload: IncomingPayload::Changes(other.document_changes(&id).unwrap()),
        }])
        .unwrap();
    let server_changes = store.document_changes(&id).unwrap();
    // Refused, then an edit built on it.
    let mut c = store.get::<Customer>(&id).unwrap().unwrap();
    c.territory = Some("nowhere".into());
    let c = store.update(c).unwrap();
    reject_all(&store, &id, "needs a territory known to the server");
    let mut c2 = c.clone();
    c2.name = "Fischhalle Nord".into();
    store.update(c2).unwrap();
    assert_eq!(counts(&store), (1, 1));
    Refused {
        store,
        id,
        server_changes,
    }
}

#[test]
fn discarding_a_refused_edit_goes_back_to_the_servers_version_keeping_acknowledged_edits() {
    let Refused {
        store,
        id,
        server_changes,
    } = refused_edit_of_a_known_customer();

    store.discard_rejected(&id).unwrap();

    let c = store.get::<Customer>(&id).unwrap().unwrap();
    assert_eq!(
        c.territory.as_deref(),
        Some("harbour"),
        "the refused edit went"
    );
    assert_eq!(c.name, "Fischhalle", "the edit built on it went too");
    assert_eq!(
        c.notes, "acknowledged note",
        "this device's acknowledged edit stayed"
    );
    assert_eq!(
        c.address.city.as_deref(),
        Some("Hamburg"),
        "another device's stayed"
    );
    assert_eq!(counts(&store), (0, 0));
    // Exactly the server's changes remain.
    let mut kept = store.document_changes(&id).unwrap();
    let mut expected = server_changes.clone();
    kept.sort();
    expected.sort();
    assert_eq!(kept, expected);
    // Discarding again: nothing is rejected any more.
    assert!(matches!(
        store.discard_rejected(&id),
        Err(StoreError::NoRejectedChanges { .. })
    ));
    // A later edit builds on the server's version only.
    let mut c = c;
    c.notes = "after discard".into();
    store.update(c).unwrap();
    pushable(&store, &server_changes);
}

#[test]
fn retrying_a_fixed_edit_writes_it_onto_the_servers_version() {
    let Refused {
        store,
        id,
        server_changes,
    } = refused_edit_of_a_known_customer();
    let mut fix = store.get::<Customer>(&id).unwrap().unwrap();
    fix.territory = Some("hills".into());
    store.update(fix).unwrap();
    let actor = store.actor_id();
    let last_acknowledged_seq = server_changes
        .iter()
        .map(|b| Change::from_bytes(b.clone()).unwrap())
        .filter(|c| c.actor_id().to_hex_string() == actor)
        .map(|c| c.seq())
        .max()
        .unwrap();

    store.retry_rejected(&id).unwrap();

    let c = store.get::<Customer>(&id).unwrap().unwrap();
    assert_eq!(c.territory.as_deref(), Some("hills"));
    assert_eq!(c.name, "Fischhalle Nord", "the later edit is retried too");
    assert_eq!(c.notes, "acknowledged note");
    assert_eq!(c.address.city.as_deref(), Some("Hamburg"));
    assert_eq!(counts(&store), (1, 0));
    // One new change, after the server's, by this device with the next sequence number.
    let peer = pushable(&store, &server_changes);
    let queued = store.pending_changes(10).unwrap();
    let change = Change::from_bytes(queued[0].bytes.clone()).unwrap();
    assert_eq!(change.seq(), last_acknowledged_seq + 1);
    let AnyRecord::Customer(on_server) = AnyRecord::read(&peer).unwrap() else {
        panic!("a customer")
    };
    assert_eq!(on_server.territory.as_deref(), Some("hills"));
    assert_eq!(on_server.name, "Fischhalle Nord");
    assert_eq!(on_server.address.city.as_deref(), Some("Hamburg"));
    // The acknowledged changes are all still there.
    let now: HashSet<Vec<u8>> = store.document_changes(&id).unwrap().into_iter().collect();
    assert!(server_changes.iter().all(|c| now.contains(c)));
}

#[test]
fn a_retry_that_does_not_validate_changes_nothing() {
    let store = Store::open(":memory:").unwrap();
    let c = store.create(customer("Kiosk", None)).unwrap();
    reject_all(&store, &c.meta.id, "needs a territory");
    // The stored record is made invalid behind the store's back (an empty name).
    {
        let mut inner = store.lock();
        let doc = inner.doc(&c.meta.id).unwrap().unwrap();
        doc.transact(|tx| {
            automerge::transaction::Transactable::put(tx, &automerge::ROOT, "name", "")
        })
        .map_err(|f| f.error)
        .unwrap();
    }
    assert!(
        store
            .get::<Customer>(&c.meta.id)
            .unwrap()
            .unwrap()
            .validate()
            .is_err()
    );
    let before = (counts(&store), store.rejected_changes().unwrap());

    assert!(matches!(
        store.retry_rejected(&c.meta.id),
        Err(StoreError::Validation(_))
    ));
    assert_eq!((counts(&store), store.rejected_changes().unwrap()), before);
}

#[test]
fn a_document_without_rejected_changes_is_a_clear_error_and_nothing_changes() {
    let store = Store::open(":memory:").unwrap();
    let c = store.create(customer("Kiosk", Some("harbour"))).unwrap();
    for attempt in [Store::discard_rejected, Store::retry_rejected] {
        assert!(matches!(
            attempt(&store, &c.meta.id),
            Err(StoreError::NoRejectedChanges { id }) if id == c.meta.id
        ));
        assert!(matches!(
            attempt(&store, "no-such-id"),
            Err(StoreError::NoRejectedChanges { .. })
        ));
    }
    assert_eq!(counts(&store), (1, 0), "the queued creation stays");
    assert!(store.get_any(&c.meta.id).unwrap().is_some());
}

#[test]
fn nothing_is_resolved_while_a_sync_runs() {
    let store = Store::open(":memory:").unwrap();
    let c = store.create(customer("Kiosk", None)).unwrap();
    reject_all(&store, &c.meta.id, "needs a territory");
    let slot = store.claim_sync_slot().unwrap();
    assert!(matches!(
        store.discard_rejected(&c.meta.id),
        Err(StoreError::SyncRunning)
    ));
    assert!(matches!(
        store.retry_rejected(&c.meta.id),
        Err(StoreError::SyncRunning)
    ));
    drop(slot);
    assert_eq!(counts(&store), (0, 1));
}

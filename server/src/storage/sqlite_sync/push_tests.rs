//! The push transaction on a real `SqliteStorage`: entries naming a document twice, appended
//! documents compacted.

use fieldcrm_core::protocol::{DocChanges, PullRequest, PulledPayload, PushRequest};
use fieldcrm_core::{Customer, IncomingDoc, IncomingPayload, Store};

use super::push::COMPACT_AFTER;
use crate::model::Role;
use crate::scope::Principal;
use crate::storage::{NewUser, SqliteStorage, Storage};

/// A server with one rep in territory `north`, and that rep's device store.
fn rep_and_device(dir: &tempfile::TempDir) -> (SqliteStorage, Principal, Store) {
    let storage = SqliteStorage::open(&dir.path().join("server.sqlite")).unwrap();
    let team = storage.create_team("team").unwrap();
    let territory = storage.create_territory("north", &team.id).unwrap();
    let user = storage
        .create_user(NewUser {
            username: "anna",
            password_hash: None,
            role: Role::Rep,
            team_id: Some(&team.id),
        })
        .unwrap();
    storage
        .assign_user_territory(&user.id, &territory.id)
        .unwrap();
    let device = Store::open(dir.path().join("device.sqlite")).unwrap();
    device.set_user(&user.id).unwrap();
    storage
        .register_device(&user.id, &device.actor_id())
        .unwrap();
    let principal = storage.principal(&user).unwrap();
    (storage, principal, device)
}

fn customer() -> Customer {
    let mut c = Customer::new("Bäckerei Nord");
    c.territory = Some("north".to_owned());
    c
}

/// Every pending change of the device, one `DocChanges` per change (so a document with
/// several changes appears several times in one push).
fn one_entry_per_change(device: &Store) -> (PushRequest, Vec<String>) {
    let pending = device.pending_changes(1_000).unwrap();
    let hashes = pending.iter().map(|c| c.hash.clone()).collect();
    let docs = pending
        .into_iter()
        .map(|c| DocChanges {
            doc_id: c.doc_id,
            kind: c.kind,
            changes: vec![c.bytes],
        })
        .collect();
    (PushRequest { docs }, hashes)
}

/// What a fresh device of `principal` holds after pulling everything.
fn fresh_pull(storage: &SqliteStorage, principal: &Principal, dir: &tempfile::TempDir) -> Store {
    let fresh = Store::open(dir.path().join("fresh.sqlite")).unwrap();
    let page = storage
        .pull_changes(
            principal,
            &PullRequest {
                cursor: 0,
                limit: 100,
            },
            fieldcrm_core::protocol::PROTOCOL_VERSION,
        )
        .unwrap();
    let batch = page
        .docs
        .into_iter()
        .map(|doc| IncomingDoc {
            doc_id: doc.doc_id,
            payload: match doc.payload {
                PulledPayload::Changes(changes) => IncomingPayload::Changes(changes),
                PulledPayload::Snapshot { bytes, .. } => IncomingPayload::Snapshot(bytes),
            },
        })
        .collect();
    fresh.import(batch).unwrap();
    fresh
}

#[test]
fn a_document_named_twice_in_one_push_keeps_both_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, principal, device) = rep_and_device(&dir);
    let mut c = device.create(customer()).unwrap();
    c.notes = "Liefert dienstags".to_owned();
    let c = device.update(c).unwrap();
    let (request, hashes) = one_entry_per_change(&device);
    assert_eq!(request.docs.len(), 2);
    let (response, stats) = storage.push_changes(&principal, request).unwrap();
    assert!(response.rejected.is_empty(), "{:?}", response.rejected);
    assert_eq!(response.acknowledged, hashes);
    assert_eq!(stats.merged_changes, 2);
    let fresh = fresh_pull(&storage, &principal, &dir);
    assert_eq!(fresh.get::<Customer>(&c.meta.id).unwrap(), Some(c));
}

#[test]
fn appended_documents_are_compacted_and_read_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, principal, device) = rep_and_device(&dir);
    let mut c = device.create(customer()).unwrap();
    // One push per edit: the stored bytes grow by appending, then get saved compactly.
    for round in 0..(2 * COMPACT_AFTER + 3) {
        let (request, hashes) = one_entry_per_change(&device);
        let (response, _) = storage.push_changes(&principal, request).unwrap();
        assert_eq!(response.acknowledged, hashes, "round {round}");
        device.acknowledge(&hashes).unwrap();
        c.notes = format!("Besuch {round}");
        c = device.update(c).unwrap();
    }
    let (request, hashes) = one_entry_per_change(&device);
    storage.push_changes(&principal, request).unwrap();
    device.acknowledge(&hashes).unwrap();
    let appended: i64 = storage
        .read()
        .query_row(
            "SELECT appended FROM documents WHERE id = ?1",
            [&c.meta.id],
            |row| row.get(0),
        )
        .unwrap();
    assert!(
        (1..=COMPACT_AFTER).contains(&appended),
        "compacted at least once and appending again: {appended}"
    );
    // Nothing in the server's memory is needed to read the stored bytes back.
    storage.docs.take(&c.meta.id, i64::MAX);
    let fresh = fresh_pull(&storage, &principal, &dir);
    assert_eq!(fresh.get::<Customer>(&c.meta.id).unwrap(), Some(c));
}

/// Pulls pages of `limit` from `cursor` until the server says there is no more, as a device
/// does; returns the documents seen and the final cursor. Fails if it does not end.
fn pull_until_done(
    storage: &SqliteStorage,
    principal: &Principal,
    mut cursor: u64,
    limit: u32,
) -> (std::collections::BTreeSet<String>, u64) {
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..50 {
        let page = storage
            .pull_changes(
                principal,
                &PullRequest { cursor, limit },
                fieldcrm_core::protocol::PROTOCOL_VERSION,
            )
            .unwrap();
        seen.extend(page.docs.into_iter().map(|d| d.doc_id));
        cursor = page.next_cursor;
        if !page.has_more {
            return (seen, cursor);
        }
    }
    panic!("the pull does not end");
}

#[test]
fn a_bootstrap_after_a_scope_change_ends_however_many_pages_it_takes() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, principal, device) = rep_and_device(&dir);
    for n in 0..7 {
        device
            .create(Customer {
                name: format!("Kiosk {n}"),
                ..customer()
            })
            .unwrap();
    }
    let (request, _) = one_entry_per_change(&device);
    storage.push_changes(&principal, request).unwrap();
    let (_, old_cursor) = pull_until_done(&storage, &principal, 0, 100);

    // The rep is given a second territory: a scope change recorded after every document.
    let team = storage.team_by_name("team").unwrap().unwrap();
    let south = storage.create_territory("south", &team.id).unwrap();
    storage
        .assign_user_territory(&principal.user_id, &south.id)
        .unwrap();
    let principal = storage
        .principal(&storage.user_by_id(&principal.user_id).unwrap().unwrap())
        .unwrap();

    // A fresh device bootstraps in pages of 2, every page's position below the change.
    let (fresh, _) = pull_until_done(&storage, &principal, 0, 2);
    assert_eq!(fresh.len(), 7);
    // A device synced before the change restarts once, then bootstraps to the end.
    let first = storage
        .pull_changes(
            &principal,
            &PullRequest {
                cursor: old_cursor,
                limit: 2,
            },
            fieldcrm_core::protocol::PROTOCOL_VERSION,
        )
        .unwrap();
    assert_eq!((first.next_cursor, first.has_more), (0, true), "restarted");
    let (again, cursor) = pull_until_done(&storage, &principal, 0, 2);
    assert_eq!(again.len(), 7);
    // Settled: the next pull is empty and stays at the cursor.
    let (nothing, same) = pull_until_done(&storage, &principal, cursor, 2);
    assert!(nothing.is_empty());
    assert_eq!(same, cursor);
}

/// The change feed's events are written by the push that commits the change: an accepted
/// creation and edit have theirs, a refused document and a push of changes already stored
/// have none.
#[test]
fn a_push_commits_the_events_of_what_it_accepts_and_nothing_for_what_it_refuses() {
    use crate::storage::WebhookStorage;

    let dir = tempfile::tempdir().unwrap();
    let (storage, principal, device) = rep_and_device(&dir);
    let accepted = device.create(customer()).unwrap();
    // No territory: refused as forbidden.
    device.create(Customer::new("Nowhere")).unwrap();
    let (request, _) = one_entry_per_change(&device);
    let (response, _) = storage.push_changes(&principal, request.clone()).unwrap();
    assert_eq!(response.rejected.len(), 1);
    let events = storage.events_after(0, 100).unwrap();
    let summary: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.record_id.as_str()))
        .collect();
    assert_eq!(summary, [("customer.created", accepted.meta.id.as_str())]);

    // The same changes again: stored already, no new event.
    storage.push_changes(&principal, request).unwrap();
    assert_eq!(storage.events_after(0, 100).unwrap().len(), 1);

    let mut renamed = accepted.clone();
    renamed.name = "Bäckerei Nordkap".into();
    device.update(renamed).unwrap();
    let pending = device.pending_changes(1_000).unwrap();
    let edit = pending
        .into_iter()
        .rfind(|c| c.doc_id == accepted.meta.id)
        .unwrap();
    let request = PushRequest {
        docs: vec![DocChanges {
            doc_id: edit.doc_id,
            kind: edit.kind,
            changes: vec![edit.bytes],
        }],
    };
    storage.push_changes(&principal, request).unwrap();
    let events = storage.events_after(events[0].seq, 100).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "customer.changed");
    assert_eq!(events[0].data["changed"], serde_json::json!(["name"]));
}

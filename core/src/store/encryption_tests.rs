//! Encryption at rest: the key opens the store, anything else leaves the file as it was, and a
//! plaintext store is encrypted in place without losing anything.

use std::path::Path;

use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::StoreKey;
use crate::model::{Customer, GeoLocation, LocationSource};
use crate::{Fix, Query, QueryResult, Store, StoreError, ValidationError};

fn key(byte: u8) -> StoreKey {
    StoreKey::from_bytes(&[byte; StoreKey::LEN]).unwrap()
}

fn located(name: &str) -> Customer {
    let mut customer = Customer::new(name);
    customer.address.city = Some("Hamburg".into());
    customer.location = Some(GeoLocation {
        lat: 53.55,
        lon: 9.99,
        source: LocationSource::Gps,
        at: 1_790_000_000_000,
    });
    customer
}

/// Every file in the folder with the SHA-256 of its bytes, sorted by name.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let hash = hex::encode(Sha256::digest(std::fs::read(entry.path()).unwrap()));
            (entry.file_name().to_string_lossy().into_owned(), hash)
        })
        .collect();
    files.sort();
    files
}

fn names(dir: &Path) -> Vec<String> {
    snapshot(dir).into_iter().map(|(name, _)| name).collect()
}

/// Whether `needle` occurs in any file of the folder (the store, its log, anything left).
fn any_file_contains(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        bytes.windows(needle.len()).any(|window| window == needle)
    })
}

fn search(store: &Store, text: &str) -> Vec<String> {
    match store
        .query(&Query::SearchCustomers {
            text: text.into(),
            limit: 10,
        })
        .unwrap()
    {
        QueryResult::Customers(rows) => rows.into_iter().map(|row| row.name).collect(),
        _ => panic!("customers expected"),
    }
}

fn nearby(store: &Store) -> Vec<String> {
    match store
        .query(&Query::NearbyCustomers {
            lat: 53.55,
            lon: 9.99,
            max_distance_m: Some(1_000.0),
            limit: 10,
        })
        .unwrap()
    {
        QueryResult::Customers(rows) => rows.into_iter().map(|row| row.name).collect(),
        _ => panic!("customers expected"),
    }
}

#[test]
fn an_encrypted_store_opens_with_its_key_and_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite");
    let store = Store::open_encrypted(&path, &key(7)).unwrap();
    store.set_user("anna").unwrap();
    let created = store.create(located("Kiosk Nordlicht")).unwrap();
    let actor = store.actor_id();
    drop(store);

    let header = std::fs::read(&path).unwrap();
    assert_ne!(&header[..16], b"SQLite format 3\0");
    assert!(!any_file_contains(dir.path(), b"Nordlicht"));
    assert!(!any_file_contains(dir.path(), b"anna"));
    assert_eq!(names(dir.path()), ["device.sqlite"], "no log left behind");

    let store = Store::open_encrypted(&path, &key(7)).unwrap();
    assert_eq!(store.actor_id(), actor);
    assert_eq!(store.user(), "anna");
    assert_eq!(
        store
            .get::<Customer>(&created.meta.id)
            .unwrap()
            .unwrap()
            .name,
        "Kiosk Nordlicht"
    );
    assert_eq!(search(&store, "nordl"), ["Kiosk Nordlicht"]);
    assert_eq!(nearby(&store), ["Kiosk Nordlicht"]);
}

#[test]
fn a_wrong_key_or_no_key_is_a_typed_error_and_leaves_the_folder_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite");
    let store = Store::open_encrypted(&path, &key(7)).unwrap();
    store.create(located("Kiosk")).unwrap();
    drop(store);
    let before = snapshot(dir.path());

    let wrong = Store::open_encrypted(&path, &key(8)).unwrap_err();
    assert!(matches!(wrong, StoreError::WrongKey), "{wrong}");
    assert_eq!(snapshot(dir.path()), before);

    let without = Store::open(&path).unwrap_err();
    assert!(matches!(without, StoreError::KeyRequired), "{without}");
    assert_eq!(snapshot(dir.path()), before);

    // Still the store it was.
    let store = Store::open_encrypted(&path, &key(7)).unwrap();
    assert_eq!(search(&store, "kiosk"), ["Kiosk"]);
}

#[test]
fn a_wrong_key_leaves_a_store_that_is_open_elsewhere_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite");
    let store = Store::open_encrypted(&path, &key(7)).unwrap();
    store.create(located("Kiosk")).unwrap();
    let main_before = std::fs::read(&path).unwrap();
    let wal_before = std::fs::read(dir.path().join("device.sqlite-wal")).unwrap();

    assert!(matches!(
        Store::open_encrypted(&path, &key(8)),
        Err(StoreError::WrongKey)
    ));
    assert_eq!(std::fs::read(&path).unwrap(), main_before);
    assert_eq!(
        std::fs::read(dir.path().join("device.sqlite-wal")).unwrap(),
        wal_before
    );
    store.create(located("Still writable")).unwrap();
}

#[test]
fn a_plaintext_store_is_encrypted_in_place_and_keeps_what_was_not_synced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite");
    let plain = Store::open(&path).unwrap();
    plain.set_user("anna").unwrap();
    let kiosk = plain.create(located("Kiosk Nordlicht")).unwrap();
    let mut edited = kiosk.clone();
    edited.notes = "call before noon".into();
    plain.update(edited).unwrap();
    let now = crate::store::now_ms();
    plain
        .record_pings(&[Fix {
            at: now - 60_000,
            lat: 53.55,
            lon: 9.99,
            accuracy_m: 5.0,
            mock: false,
        }])
        .unwrap();
    // The server acknowledged the newest change: the queue's sequence must go on after it.
    let mut pending = plain.pending_changes(100).unwrap();
    let acknowledged = pending.pop().unwrap();
    plain
        .acknowledge(std::slice::from_ref(&acknowledged.hash))
        .unwrap();
    let status = plain.sync_status().unwrap();
    assert_eq!(status.pending_changes, pending.len() as u64);
    let actor = plain.actor_id();
    // The old app version may have been killed: copy the files as a crash leaves them, the
    // last changes still in the log.
    let crashed = tempfile::tempdir().unwrap();
    for name in ["device.sqlite", "device.sqlite-wal"] {
        std::fs::copy(dir.path().join(name), crashed.path().join(name)).unwrap();
    }
    drop(plain);
    let path = crashed.path().join("device.sqlite");
    let dir = crashed;

    let store = Store::open_encrypted(&path, &key(7)).unwrap();
    assert_eq!(store.pending_changes(100).unwrap(), pending);
    let after = store.sync_status().unwrap();
    assert_eq!(
        (after.pending_changes, after.pending_pings),
        (status.pending_changes, status.pending_pings)
    );
    assert_eq!(store.actor_id(), actor);
    assert_eq!(store.user(), "anna");
    assert_eq!(search(&store, "nordl"), ["Kiosk Nordlicht"]);
    assert_eq!(nearby(&store), ["Kiosk Nordlicht"]);
    store.create(located("After the migration")).unwrap();
    assert!(store.pending_changes(100).unwrap().last().unwrap().seq > acknowledged.seq);
    assert!(store.push_request(100).unwrap().is_some());
    drop(store);

    assert_ne!(&std::fs::read(&path).unwrap()[..16], b"SQLite format 3\0");
    assert!(!any_file_contains(dir.path(), b"Nordlicht"));
    assert_eq!(names(dir.path()), ["device.sqlite"]);
    assert!(matches!(Store::open(&path), Err(StoreError::KeyRequired)));
    let reopened = Store::open_encrypted(&path, &key(7)).unwrap();
    assert_eq!(
        reopened.pending_changes(100).unwrap().len(),
        pending.len() + 1
    );
}

#[test]
fn an_interrupted_encryption_leaves_the_plaintext_store_whole_and_is_redone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite");
    let plain = Store::open(&path).unwrap();
    plain.create(located("Kiosk")).unwrap();
    let pending = plain.pending_changes(100).unwrap();
    drop(plain);
    // What a crash while writing the encrypted copy leaves: a partial copy beside the store.
    std::fs::write(
        dir.path().join("device.sqlite.encrypting"),
        vec![0x5a; 3 * 4096],
    )
    .unwrap();
    let plain = Store::open(&path).unwrap();
    assert_eq!(plain.pending_changes(100).unwrap(), pending);
    drop(plain);

    let store = Store::open_encrypted(&path, &key(7)).unwrap();
    assert_eq!(store.pending_changes(100).unwrap(), pending);
    drop(store);
    assert_eq!(names(dir.path()), ["device.sqlite"]);
}

#[test]
fn a_plaintext_store_open_elsewhere_is_not_encrypted_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite");
    let plain = Store::open(&path).unwrap();
    plain.create(located("Kiosk")).unwrap();

    let err = Store::open_encrypted(&path, &key(7)).unwrap_err();
    assert!(
        matches!(&err, StoreError::Database(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)),
        "{err}"
    );
    assert_eq!(&std::fs::read(&path).unwrap()[..16], b"SQLite format 3\0");
    assert!(!dir.path().join("device.sqlite.encrypting").exists());
    plain.create(located("Still writable")).unwrap();
    assert_eq!(plain.pending_changes(100).unwrap().len(), 2);
}

#[test]
fn a_file_that_is_not_a_store_is_refused_with_a_key_too() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.sqlite");
    let conn = Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE recipes (name TEXT)")
        .unwrap();
    drop(conn);
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"a shopping list, not a store\n".repeat(10)).unwrap();
    let before = snapshot(dir.path());
    for path in [&other, &text] {
        let err = Store::open_encrypted(path, &key(7)).unwrap_err();
        assert!(matches!(err, StoreError::NotAStore), "{err}");
    }
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn wiping_an_encrypted_store_leaves_it_encrypted_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite");
    let store = Store::open_encrypted(&path, &key(7)).unwrap();
    store.set_user("anna").unwrap();
    let kiosk = store.create(located("Kiosk Nordlicht")).unwrap();
    store.wipe().unwrap();
    assert!(store.get_any(&kiosk.meta.id).unwrap().is_none());
    assert!(store.pending_changes(10).unwrap().is_empty());
    drop(store);

    assert_ne!(&std::fs::read(&path).unwrap()[..16], b"SQLite format 3\0");
    assert!(matches!(
        Store::open_encrypted(&path, &key(8)),
        Err(StoreError::WrongKey)
    ));
    let store = Store::open_encrypted(&path, &key(7)).unwrap();
    assert_eq!(store.user(), "local");
    assert!(search(&store, "kiosk").is_empty());
}

#[test]
fn a_key_is_32_bytes_and_never_printed() {
    for len in [0, 16, 31, 33, 64] {
        let err = StoreKey::from_bytes(&vec![1; len]).unwrap_err();
        assert!(
            matches!(&err, ValidationError::Malformed { field, .. } if field == "key"),
            "{err}"
        );
        assert!(!err.to_string().contains("0101"), "{err}");
    }
    let key = StoreKey::from_bytes(&[0xab; 32]).unwrap();
    assert_eq!(format!("{key:?}"), "StoreKey(..)");
    let text = key.raw_key_text();
    assert_eq!(text.len(), 67);
    assert!(text.starts_with("x'abab") && text.ends_with("ab'"));
}

//! Encryption at rest through the bindings' API, as a host app calls it: `openEncrypted` with
//! the key from the Keystore or Keychain, the typed errors of a wrong or missing key, and the
//! first encrypted start of an app whose store is still plaintext, against the real server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::Path;

use fieldcrm_ffi::*;

mod support;
use support::{admin, device, start_server};

const KEY: [u8; 32] = [7; 32];

fn folder(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(entry.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn an_encrypted_store_opens_only_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.sqlite").display().to_string();
    let store = FieldStore::open_encrypted(path.clone(), KEY.to_vec()).unwrap();
    let kiosk = store
        .create_customer(new_customer("Kiosk Nordlicht".into()))
        .unwrap();
    store.close();
    drop(store);
    let before = folder(dir.path());

    let mut wrong = KEY.to_vec();
    wrong[31] ^= 1;
    let err = FieldStore::open_encrypted(path.clone(), wrong).unwrap_err();
    assert_eq!(err, FieldCrmError::WrongKey);
    assert_eq!(
        FieldStore::open(path.clone()).unwrap_err(),
        FieldCrmError::KeyRequired
    );
    assert_eq!(folder(dir.path()), before, "the folder is byte-identical");

    for len in [0, 16, 33] {
        let err = FieldStore::open_encrypted(path.clone(), vec![7; len]).unwrap_err();
        assert!(
            matches!(&err, FieldCrmError::InvalidValue { field, rule: ValidationRule::Malformed, .. } if field == "key"),
            "{err:?}"
        );
    }
    assert_eq!(folder(dir.path()), before);

    let store = FieldStore::open_encrypted(path, KEY.to_vec()).unwrap();
    assert_eq!(
        store.get_customer(kiosk.meta.id).unwrap().unwrap().name,
        "Kiosk Nordlicht"
    );
}

#[test]
fn a_plaintext_store_encrypted_at_the_first_keyed_start_still_pushes_its_unsynced_changes() {
    let server = start_server();
    let dir = tempfile::tempdir().unwrap();
    let (ana, ana_token) = device(&server, &dir, "ana");
    let (ben, ben_token) = device(&server, &dir, "ben");
    let mut kiosk = new_customer("Fischhalle".into());
    kiosk.territory = Some("harbour".into());
    let kiosk = ana.create_customer(kiosk).unwrap();
    let actor = ana.actor_id().unwrap();
    ana.close();
    drop(ana);

    // The app's new version starts with a key: the store is encrypted in place.
    let path = dir.path().join("ana.sqlite");
    let ana = FieldStore::open_encrypted(path.display().to_string(), KEY.to_vec()).unwrap();
    assert_eq!(
        ana.actor_id().unwrap(),
        actor,
        "still the registered device"
    );
    assert_eq!(ana.sync_status().unwrap().pending_changes, 1);
    assert_ne!(&std::fs::read(&path).unwrap()[..16], b"SQLite format 3\0");

    let report = ana
        .sync_with_builtin_http(server.base.clone(), ana_token.clone())
        .unwrap();
    assert_eq!((report.pushed, report.rejected), (1, 0));
    ben.sync_with_builtin_http(server.base.clone(), ben_token)
        .unwrap();
    assert_eq!(
        ben.get_customer(kiosk.meta.id.clone()).unwrap(),
        Some(kiosk.clone())
    );

    // A revoked device's encrypted store is wiped like any other.
    admin(
        &server.bin,
        &server.db,
        &["device", "revoke", "--device", &actor],
    );
    assert_eq!(
        ana.sync_with_builtin_http(server.base.clone(), ana_token)
            .unwrap_err(),
        FieldCrmError::DeviceRevoked
    );
    ana.close();
    drop(ana);
    let ana = FieldStore::open_encrypted(path.display().to_string(), KEY.to_vec()).unwrap();
    assert!(ana.get_customer(kiosk.meta.id).unwrap().is_none());
    assert_eq!(ana.sync_status().unwrap().pending_changes, 0);
}

//! Lost phones and departed reps, end to end: the real server binary, device stores talking to
//! it through the core library's HTTP transport, and the admin's command and endpoint. A
//! revoked device is refused at once, told to wipe, and has nothing left; the user's other
//! device keeps working.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::Path;
use std::process::Command;

use fieldcrm_core::*;
use serde_json::json;

mod support;
use support::{BIN, Device, Launch, ServerProcess, admin, agent, device, login, seed_org};

const PASSWORD: &str = "secret pass";

type Server = ServerProcess;

fn start(db: &Path) -> Server {
    ServerProcess::start(BIN, db, Launch::default())
}

impl Device {
    fn customers(&self) -> Vec<String> {
        self.store.document_ids(Kind::Customer).unwrap()
    }

    fn assert_wiped(&self) {
        for kind in [Kind::Customer, Kind::Visit] {
            assert!(
                self.store.document_ids(kind).unwrap().is_empty(),
                "{kind:?}"
            );
        }
        let status = self.store.sync_status().unwrap();
        assert_eq!(
            (status.pending_changes, status.pending_pings, status.cursor),
            (0, 0, 0)
        );
        assert_eq!(status.last_error_code.as_deref(), Some(DEVICE_REVOKED));
        assert_eq!(self.store.user(), "local", "the user binding is gone too");
    }
}

fn organisation(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("server.sqlite");
    seed_org(
        &db,
        &[
            ("ana", "rep", Some("harbour")),
            ("ben", "rep", Some("harbour")),
            ("root", "admin", None),
        ],
        PASSWORD,
    );
    db
}

/// A customer of ana's territory, pushed by her phone and on every device of hers.
fn seed_customer(phone: &Device, tablet: &Device) -> String {
    let mut kiosk = Customer::new("Kiosk Hafen");
    kiosk.territory = Some("harbour".into());
    let kiosk = phone.store.create(kiosk).unwrap();
    phone.sync().unwrap();
    tablet.sync().unwrap();
    assert_eq!(tablet.customers(), std::slice::from_ref(&kiosk.meta.id));
    kiosk.meta.id
}

#[test]
fn a_device_revoked_through_the_endpoint_is_told_to_wipe_and_has_nothing_left() {
    let dir = tempfile::tempdir().unwrap();
    let db = organisation(dir.path());
    let server = start(&db);
    let phone = device(&server.base, "ana", PASSWORD);
    let tablet = device(&server.base, "ana", PASSWORD);
    let kiosk = seed_customer(&phone, &tablet);
    // Something still waiting for upload on the lost phone.
    let visit = phone
        .store
        .create(Visit::new(&kiosk, phone.store.user()))
        .unwrap();

    let (admin_token, _) = login(&server.base, "root", PASSWORD);
    let response = agent()
        .post(format!(
            "{}/v1/admin/devices/{}/revoke",
            server.base, phone.device_id
        ))
        .header("authorization", &format!("Bearer {admin_token}"))
        .send_empty()
        .unwrap();
    assert_eq!(response.status(), 200);

    let err = phone.sync().unwrap_err();
    assert!(err.is_device_revoked(), "{err}");
    assert_eq!(err.code(), DEVICE_REVOKED);
    phone.assert_wiped();
    assert!(phone.store.get_any(&visit.meta.id).unwrap().is_none());

    // The user's other device is untouched and the visit never reached the server.
    tablet.sync().unwrap();
    assert_eq!(tablet.customers(), std::slice::from_ref(&kiosk));
    assert!(tablet.store.get_any(&visit.meta.id).unwrap().is_none());
}

#[test]
fn a_disabled_user_is_told_to_wipe_on_every_device_and_cannot_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = organisation(dir.path());
    let server = start(&db);
    let phone = device(&server.base, "ana", PASSWORD);
    let tablet = device(&server.base, "ana", PASSWORD);
    let colleague = device(&server.base, "ben", PASSWORD);
    seed_customer(&phone, &tablet);

    // The admin command, against the running server's database.
    admin(&db, &["user", "disable", "--username", "ana"]);

    for device in [&phone, &tablet] {
        let err = device.sync().unwrap_err();
        assert!(err.is_device_revoked(), "{err}");
        device.assert_wiped();
    }
    let refused = agent()
        .post(format!("{}/v1/auth/login", server.base))
        .send_json(json!({"username": "ana", "password": PASSWORD}))
        .unwrap();
    assert_eq!(refused.status(), 401);
    colleague.sync().unwrap();
    assert_eq!(colleague.customers().len(), 1);
}

#[test]
fn the_revoke_command_refuses_the_phone_and_its_actor_cannot_push_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = organisation(dir.path());
    let server = start(&db);
    let phone = device(&server.base, "ana", PASSWORD);
    let actor = phone.store.actor_id();
    admin(&db, &["device", "revoke", "--device", &actor]);

    // A thief who kept a copy of the store logs in again: the old actor cannot be registered.
    let (token, _) = login(&server.base, "ana", PASSWORD);
    let response = agent()
        .post(format!("{}/v1/devices", server.base))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(json!({"actor_id": actor}))
        .unwrap();
    assert_eq!(response.status(), 401);
    // Nor can changes signed by it be pushed under the new session.
    let mut kiosk = Customer::new("Forged");
    kiosk.territory = Some("harbour".into());
    phone.store.create(kiosk).unwrap();
    let session = SyncSession::new(&phone.store).unwrap();
    let push = session.build_push().unwrap().unwrap();
    let response = HttpTransport::new(&server.base, &token)
        .push(push.body)
        .unwrap();
    let outcome = session.apply_push_response(&response, 1).unwrap();
    assert_eq!((outcome.acknowledged, outcome.rejected), (0, 1));

    let listed = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .args(["device", "list", "--username", "ana"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains(&actor) && listed.contains("revoked at"),
        "{listed}"
    );
}

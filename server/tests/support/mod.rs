//! Helpers shared by the server's end-to-end test binaries: the shared real-binary harness
//! (`fieldcrm_tests::server`) bound to this package's binary, and a device store signed in to
//! it.

// Each test binary uses a part of these helpers.
#![allow(dead_code, unused_imports)]

use std::path::Path;

pub mod receiver;

pub use fieldcrm_tests::server::{Launch, OrgServer, ServerProcess, agent, login};

/// This package's binary (`CARGO_BIN_EXE_*` is set only for its own tests and benches).
pub const BIN: &str = env!("CARGO_BIN_EXE_fieldcrm-server");

/// Runs an admin subcommand of the binary against `db`; fails the test if it fails.
pub fn admin(db: &Path, args: &[&str]) {
    fieldcrm_tests::server::admin(BIN, db, args);
}

/// [`admin`], returning what the command printed.
pub fn admin_output(db: &Path, args: &[&str]) -> String {
    fieldcrm_tests::server::admin(BIN, db, args)
}

/// Team north with territories harbour and hills, and `users` as (username, role, territory),
/// all with `password`.
pub fn seed_org(db: &Path, users: &[(&str, &str, Option<&str>)], password: &str) {
    fieldcrm_tests::server::seed_org(BIN, db, users, password);
}

/// A device store in its own folder, signed in, with its actor registered.
pub struct Device {
    pub store: fieldcrm_core::Store,
    pub transport: fieldcrm_core::HttpTransport,
    pub device_id: String,
    pub token: String,
    _dir: tempfile::TempDir,
}

/// A new device of `username`: logs in, opens a store for the user, registers its actor.
pub fn device(base: &str, username: &str, password: &str) -> Device {
    let (token, user_id) = login(base, username, password);
    let dir = tempfile::tempdir().unwrap();
    let store = fieldcrm_core::Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(&user_id).unwrap();
    let mut registered = agent()
        .post(format!("{base}/v1/devices"))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(serde_json::json!({"actor_id": store.actor_id()}))
        .unwrap();
    assert_eq!(registered.status(), 201);
    let registered: serde_json::Value = registered.body_mut().read_json().unwrap();
    Device {
        store,
        transport: fieldcrm_core::HttpTransport::new(base, &token),
        device_id: registered["id"].as_str().unwrap().to_owned(),
        token,
        _dir: dir,
    }
}

impl Device {
    /// One full sync round (the library's `sync`), at a fixed clock.
    pub fn sync(&self) -> Result<fieldcrm_core::SyncReport, fieldcrm_core::SyncError> {
        fieldcrm_core::sync(
            &self.store,
            &self.transport,
            &fieldcrm_core::RetryPolicy::default(),
            &mut |_| {},
            &|| 1_790_000_000_000,
        )
    }

    /// Pulls every page in protocol `version` (an app of that version), at the same clock;
    /// each answer must be in that version.
    pub fn pull_all_in(&self, version: u8) {
        use fieldcrm_core::Transport as _;
        let mut session = fieldcrm_core::SyncSession::new(&self.store).unwrap();
        session.protocol_version = version;
        loop {
            let body = self.transport.pull(session.build_pull().unwrap()).unwrap();
            assert_eq!(fieldcrm_core::protocol::version_of(&body).unwrap(), version);
            if !session
                .apply_pull_response(&body, 1_790_000_000_000)
                .unwrap()
                .has_more
            {
                return;
            }
        }
    }
}

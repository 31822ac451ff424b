//! The `fieldcrm` binary against a real server running in this process on a loopback port:
//! log in, add a customer, sync; a second device of another rep in the same territory syncs and
//! finds it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use clap::Parser;
use fieldcrm_server::auth::{PasswordParams, hash_password};
use fieldcrm_server::config::{Cli, Command as ServerCommand};
use fieldcrm_server::model::Role;
use fieldcrm_server::storage::{NewUser, SqliteStorage, Storage};

const BIN: &str = env!("CARGO_BIN_EXE_fieldcrm");
const PASSWORD: &str = "secret pass";

/// The server on its own runtime; dropping it stops the runtime and with it the server.
struct Server {
    base: String,
    storage: Arc<dyn Storage>,
    runtime: Option<tokio::runtime::Runtime>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Team north, territories harbour (reps ana and ben) and hills (rep cat).
fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("server.sqlite")).unwrap();
    let team = storage.create_team("north").unwrap();
    let harbour = storage.create_territory("harbour", &team.id).unwrap();
    let hills = storage.create_territory("hills", &team.id).unwrap();
    let hash = hash_password(&PasswordParams::fast_for_tests(), PASSWORD).unwrap();
    for (name, territory) in [("ana", &harbour), ("ben", &harbour), ("cat", &hills)] {
        let user = storage
            .create_user(NewUser {
                username: name,
                password_hash: Some(&hash),
                role: Role::Rep,
                team_id: Some(&team.id),
            })
            .unwrap();
        storage
            .assign_user_territory(&user.id, &territory.id)
            .unwrap();
    }
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let args = match Cli::try_parse_from(["fieldcrm-server", "serve"])
        .unwrap()
        .command
    {
        ServerCommand::Serve(args) => args,
        other => panic!("not serve: {other:?}"),
    };
    let state = fieldcrm_server::serve::state(&args, storage.clone()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(fieldcrm_server::serve::serve_on(
        listener,
        state,
        std::future::pending(),
    ));
    Server {
        base,
        storage,
        runtime: Some(runtime),
        _dir: dir,
    }
}

/// One device: a store file in its own folder.
struct Device {
    store: PathBuf,
    _dir: tempfile::TempDir,
}

impl Device {
    fn new() -> Device {
        let dir = tempfile::tempdir().unwrap();
        Device {
            store: dir.path().join("device.sqlite"),
            _dir: dir,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--store")
            .arg(&self.store)
            .args(args)
            .env_remove("FIELDCRM_PASSWORD")
            .env_remove("FIELDCRM_STORE")
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "fieldcrm {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a command that must fail cleanly (an error message, no panic); returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "fieldcrm {args:?} succeeded");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    fn login(&self, server: &Server, username: &str) {
        let out = self.ok(&[
            "login",
            "--server",
            &server.base,
            "--username",
            username,
            "--password",
            PASSWORD,
        ]);
        assert!(
            out.contains(&format!("logged in to {}", server.base)),
            "{out}"
        );
    }
}

fn session_file(store: &Path) -> PathBuf {
    store.with_file_name("device.session.json")
}

#[test]
fn two_reps_of_a_territory_share_a_customer_through_the_server() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    assert!(session_file(&ana.store).exists());

    let out = ana.ok(&[
        "customer",
        "add",
        "--name",
        "Fischhalle Altona",
        "--city",
        "Hamburg",
        "--phone",
        "+49 40 1234567",
        "--territory",
        "harbour",
        "--lat",
        "53.5450",
        "--lon",
        "9.9380",
        "--grade",
        "a",
    ]);
    let id = out
        .strip_prefix("customer ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert!(ana.ok(&["pending"]).contains(&id));
    assert!(ana.ok(&["status"]).contains("pending:        1 changes"));
    let synced = ana.ok(&["sync"]);
    assert!(synced.contains("1 changes pushed, 0 rejected"), "{synced}");
    assert!(ana.ok(&["pending"]).contains("no pending changes"));

    // Ben, the other rep of the harbour territory, gets it with his first sync.
    let ben = Device::new();
    ben.login(&server, "ben");
    assert!(ben.ok(&["search", "fisch"]).contains("no customers"));
    ben.ok(&["sync"]);
    let found = ben.ok(&["search", "fisch"]);
    assert!(
        found.contains(&id) && found.contains("Fischhalle Altona"),
        "{found}"
    );
    let near = ben.ok(&[
        "nearby", "--lat", "53.5451", "--lon", "9.9381", "--limit", "3",
    ]);
    assert!(near.contains(&id), "{near}");

    // Ben edits it and checks in there; ana sees the edit after syncing.
    ben.ok(&["customer", "edit", &id, "--phone-add", "+49 40 7654321"]);
    let checkin = ben.ok(&[
        "checkin",
        &id,
        "--lat",
        "53.5451",
        "--lon",
        "9.9381",
        "--accuracy",
        "8",
    ]);
    assert!(checkin.contains("verified"), "{checkin}");
    let synced = ben.ok(&["sync"]);
    // The edit, the visit started at the customer, and its check-in.
    assert!(synced.contains("3 changes pushed, 0 rejected"), "{synced}");
    ana.ok(&["sync"]);
    let shown = ana.ok(&["customer", "show", &id]);
    assert!(shown.contains("+49 40 7654321"), "{shown}");

    // Cat works the hills territory: she never sees it, and a customer she files under
    // harbour is refused by the server and shown as rejected with the reason.
    let cat = Device::new();
    cat.login(&server, "cat");
    cat.ok(&["sync"]);
    assert!(cat.ok(&["search", "fisch"]).contains("no customers"));
    cat.ok(&[
        "customer",
        "add",
        "--name",
        "Hafenkiosk",
        "--territory",
        "harbour",
    ]);
    let synced = cat.ok(&["sync"]);
    assert!(synced.contains("1 rejected"), "{synced}");
    let status = cat.ok(&["status"]);
    assert!(status.contains("rejected:       1 changes"), "{status}");
    assert!(status.contains("forbidden"), "{status}");
}

#[test]
fn errors_are_messages_not_panics() {
    let server = server();
    let device = Device::new();
    // Not logged in yet.
    let err = device.fails(&["sync"]);
    assert!(err.contains("not logged in"), "{err}");
    let err = device.fails(&["checkin", "x", "--lat", "1", "--lon", "1"]);
    assert!(err.contains("not logged in"), "{err}");
    // Wrong password, no password, unreachable server.
    let err = device.fails(&[
        "login",
        "--server",
        &server.base,
        "--username",
        "ana",
        "--password",
        "wrong",
    ]);
    assert!(err.contains("refused the login"), "{err}");
    let err = device.fails(&["login", "--server", &server.base, "--username", "ana"]);
    assert!(err.contains("FIELDCRM_PASSWORD"), "{err}");
    let err = device.fails(&[
        "login",
        "--server",
        "http://127.0.0.1:9",
        "--username",
        "ana",
        "--password",
        PASSWORD,
    ]);
    assert!(err.contains("cannot reach"), "{err}");
    // Bad input.
    device.fails(&["customer", "add", "--name", " "]);
    device.fails(&["customer", "edit", "no-such-id", "--name", "x"]);
    device.fails(&["nearby", "--lat", "91", "--lon", "0"]);
    // clap refuses a bad grade with its own message and exit code 2.
    let output = device.run(&["customer", "add", "--name", "x", "--grade", "Z"]);
    assert_eq!(output.status.code(), Some(2));
    // A store of one user cannot be logged in as another.
    device.login(&server, "ana");
    let err = device.fails(&[
        "login",
        "--server",
        &server.base,
        "--username",
        "ben",
        "--password",
        PASSWORD,
    ]);
    assert!(err.contains("belongs to another user"), "{err}");
    // A file that is not a store.
    let bogus = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bogus.path(), b"definitely not sqlite, just some bytes here").unwrap();
    let output = Command::new(BIN)
        .arg("--store")
        .arg(bogus.path())
        .arg("status")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot open the store"));
}

#[test]
fn a_revoked_device_wipes_its_store_and_says_so() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    ana.ok(&[
        "customer",
        "add",
        "--name",
        "Fischhalle Altona",
        "--territory",
        "harbour",
    ]);
    assert!(ana.ok(&["sync"]).contains("1 changes pushed"));
    ana.ok(&[
        "customer",
        "add",
        "--name",
        "Not yet sent",
        "--territory",
        "harbour",
    ]);
    let user = server.storage.user_by_username("ana").unwrap().unwrap();
    let actor = server.storage.device_statuses(&user.id).unwrap()[0]
        .device
        .actor_id
        .clone();
    assert!(
        server.storage.revoke_device(&actor, 1).unwrap().is_some(),
        "{actor}"
    );

    let err = ana.fails(&["sync"]);
    assert!(err.contains("revoked") && err.contains("wiped"), "{err}");
    assert!(!session_file(&ana.store).exists(), "the dead token is gone");
    assert!(ana.ok(&["search", "fisch"]).contains("no customers"));
    assert!(ana.ok(&["pending"]).contains("no pending changes"));
    assert!(ana.ok(&["status"]).contains("device_revoked"));
    // A new login starts the wiped store afresh as a new device.
    ana.login(&server, "ana");
    ana.ok(&["sync"]);
    assert!(ana.ok(&["search", "fisch"]).contains("Fischhalle Altona"));
}

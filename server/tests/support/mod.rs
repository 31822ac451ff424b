//! Helpers shared by the server's end-to-end test binaries: admin commands on a server
//! database, the demo-free test organisation, and an HTTP agent.

// Each test binary uses a part of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_fieldcrm-server");

/// Runs an admin subcommand of the real binary against `db`; fails the test if it fails.
pub fn admin(db: &Path, args: &[&str]) {
    let output = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Team north with territories harbour and hills, and `users` as (username, role, territory),
/// all with `password`.
pub fn seed_org(db: &Path, users: &[(&str, &str, Option<&str>)], password: &str) {
    admin(db, &["team", "add", "--name", "north"]);
    for territory in ["harbour", "hills"] {
        admin(
            db,
            &["territory", "add", "--name", territory, "--team", "north"],
        );
    }
    for (user, role, territory) in users {
        admin(
            db,
            &[
                "user",
                "add",
                "--username",
                user,
                "--password",
                password,
                "--role",
                role,
                "--team",
                "north",
            ],
        );
        if let Some(territory) = territory {
            admin(
                db,
                &[
                    "territory",
                    "assign-user",
                    "--username",
                    user,
                    "--territory",
                    territory,
                ],
            );
        }
    }
}

/// A seeded organisation (see [`seed_org`]) in a temporary folder and the real binary serving
/// it; the server is killed before the folder is removed (fields drop in order).
pub struct OrgServer {
    pub process: ServerProcess,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub db: PathBuf,
    _dir: tempfile::TempDir,
}

impl OrgServer {
    pub fn start(
        users: &[(&str, &str, Option<&str>)],
        password: &str,
        launch: Launch<'_>,
    ) -> OrgServer {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("server.sqlite");
        seed_org(&db, users, password);
        let process = ServerProcess::start(&db, launch);
        OrgServer {
            base: process.base.clone(),
            process,
            db,
            _dir: dir,
        }
    }

    /// Still running, and answering `/healthz`.
    pub fn assert_up(&mut self) {
        assert!(
            self.process.child.try_wait().unwrap().is_none(),
            "the server died"
        );
        let health = agent()
            .get(format!("{}/healthz", self.base))
            .call()
            .unwrap();
        assert_eq!(health.status(), 200);
    }
}

/// Logs `username` in; returns the token and the user's id.
pub fn login(base: &str, username: &str, password: &str) -> (String, String) {
    let mut response = agent()
        .post(format!("{base}/v1/auth/login"))
        .send_json(serde_json::json!({"username": username, "password": password}))
        .unwrap();
    assert_eq!(response.status(), 200, "login {username}");
    let body: serde_json::Value = response.body_mut().read_json().unwrap();
    (
        body["token"].as_str().unwrap().to_owned(),
        body["user"]["id"].as_str().unwrap().to_owned(),
    )
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
}

/// An HTTP client that returns error statuses as responses.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// The real server binary serving a database on a loopback port. Killed (and reaped) when
/// dropped, so a failing test leaves no server behind.
pub struct ServerProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`, from the binary's "listening" line.
    pub base: String,
}

/// How a [`ServerProcess`] starts, beyond `serve --listen 127.0.0.1:0`.
#[derive(Default)]
pub struct Launch<'a> {
    /// `RUST_LOG` (default `warn`).
    pub log: Option<&'a str>,
    /// Extra environment, set after the variables named in `unset` are removed.
    pub env: &'a [(&'a str, &'a str)],
    pub unset: &'a [&'a str],
    /// An address-space limit for the process (`ulimit -v`, in KB).
    pub address_space_kb: Option<u64>,
}

impl ServerProcess {
    /// Starts the binary on `db` and waits for its "listening" line.
    pub fn start(db: &Path, launch: Launch<'_>) -> ServerProcess {
        let mut command = match launch.address_space_kb {
            Some(kb) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -v {kb} && exec \"$0\" \"$@\""))
                    .arg(BIN);
                sh
            }
            None => Command::new(BIN),
        };
        command
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", launch.log.unwrap_or("warn"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for name in launch.unset {
            command.env_remove(name);
        }
        for (name, value) in launch.env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("fieldcrm-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        ServerProcess { child, base }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The real `fieldcrm-server` binary for the bindings' end-to-end tests: built on demand (as
//! `server/benches/load.rs` does), started on a loopback port with a small organisation, and
//! devices signed in to it; `HostHttp` is the transport a host app would write.

#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldcrm_ffi::*;
use serde_json::{Value, json};

/// The server binary beside this test's target folder; built first (a no-op when up to date).
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/ffi-<hash> -> target/<profile>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let profile = profile_dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "-p", "fieldcrm-server", "--bin", "fieldcrm-server"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile == "release" {
        build.arg("--release");
    }
    let status = build.status().unwrap();
    assert!(status.success(), "cargo build -p fieldcrm-server failed");
    let binary = profile_dir.join(format!("fieldcrm-server{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "{} missing", binary.display());
    binary
}

pub struct Server {
    child: Child,
    pub base: String,
    pub bin: PathBuf,
    pub db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn admin(bin: &Path, db: &Path, args: &[&str]) {
    let output = Command::new(bin)
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

/// Team north, territories harbour and hills; reps ana and ben in harbour.
pub fn start_server() -> Server {
    let bin = server_binary();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite");
    admin(&bin, &db, &["team", "add", "--name", "north"]);
    for territory in ["harbour", "hills"] {
        admin(
            &bin,
            &db,
            &["territory", "add", "--name", territory, "--team", "north"],
        );
    }
    for user in ["ana", "ben"] {
        admin(
            &bin,
            &db,
            &[
                "user",
                "add",
                "--username",
                user,
                "--password",
                "secret pass",
                "--role",
                "rep",
                "--team",
                "north",
            ],
        );
        admin(
            &bin,
            &db,
            &[
                "territory",
                "assign-user",
                "--username",
                user,
                "--territory",
                "harbour",
            ],
        );
    }
    let mut child = Command::new(&bin)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("fieldcrm-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Server {
        child,
        base,
        bin,
        db,
        _dir: dir,
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A store signed in as `username`, its actor registered as the user's device.
pub fn device(
    server: &Server,
    dir: &tempfile::TempDir,
    username: &str,
) -> (Arc<FieldStore>, String) {
    let agent = agent();
    let mut login = agent
        .post(format!("{}/v1/auth/login", server.base))
        .send_json(json!({"username": username, "password": "secret pass"}))
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.body_mut().read_json().unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let store = FieldStore::open(
        dir.path()
            .join(format!("{username}.sqlite"))
            .display()
            .to_string(),
    )
    .unwrap();
    store
        .set_user(login["user"]["id"].as_str().unwrap().to_owned())
        .unwrap();
    let registered = agent
        .post(format!("{}/v1/devices", server.base))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(json!({"actor_id": store.actor_id().unwrap()}))
        .unwrap();
    assert_eq!(registered.status(), 201);
    (store, token)
}

/// What a host app writes: `SyncTransport` over its own HTTP client (here ureq, in Kotlin
/// OkHttp), following the contract documented on the trait.
pub struct HostHttp {
    pub agent: ureq::Agent,
    pub base: String,
    pub token: String,
    pub requests: Mutex<u32>,
}

impl HostHttp {
    fn post(&self, path: &str, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        *self.requests.lock().unwrap() += 1;
        let mut response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("authorization", &format!("Bearer {}", self.token))
            .header("content-type", "application/vnd.fieldcrm.sync")
            .send(&body[..])
            .map_err(|e| FieldCrmError::Offline {
                reason: e.to_string(),
            })?;
        let status = response.status().as_u16();
        let retry_after_secs = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let bytes = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|e| FieldCrmError::Offline {
                reason: e.to_string(),
            })?;
        if status == 200 {
            return Ok(bytes);
        }
        let code = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        Err(FieldCrmError::ServerRefused {
            status,
            code,
            retry_after_secs,
        })
    }
}

impl SyncTransport for HostHttp {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        self.post("/v1/sync/push", body)
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        self.post("/v1/sync/pull", body)
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        self.post("/v1/sync/pings", body)
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        self.post("/v1/sync/refetch", body)
    }
}

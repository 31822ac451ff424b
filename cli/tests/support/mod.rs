//! What the CLI's end-to-end tests share: the server in this process on a loopback port (team
//! north, territories harbour with reps ana and ben, hills with rep cat), and devices (a store
//! file each) running the `fieldcrm` binary.

#![allow(dead_code)] // each test binary uses its part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use clap::Parser;
use fieldcrm_server::auth::{PasswordParams, hash_password};
use fieldcrm_server::config::{Cli, Command as ServerCommand};
use fieldcrm_server::model::Role;
use fieldcrm_server::storage::{NewUser, SqliteStorage, Storage};

pub const BIN: &str = env!("CARGO_BIN_EXE_fieldcrm");
pub const PASSWORD: &str = "secret pass";

/// The server on its own runtime; dropping it stops the runtime and with it the server.
pub struct Server {
    pub base: String,
    pub storage: Arc<dyn Storage>,
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
pub fn server() -> Server {
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
pub struct Device {
    pub store: PathBuf,
    _dir: tempfile::TempDir,
}

impl Device {
    pub fn new() -> Device {
        let dir = tempfile::tempdir().unwrap();
        Device {
            store: dir.path().join("device.sqlite"),
            _dir: dir,
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// As [`Device::run`], with these environment variables set (e.g. `TZ`).
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        command.envs(env.iter().copied()).output().unwrap()
    }

    /// The command line for this device's store, not started (for tests that wire its pipes).
    #[allow(dead_code)] // not every test file uses it
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--store")
            .arg(&self.store)
            .args(args)
            .env_remove("FIELDCRM_PASSWORD")
            .env_remove("FIELDCRM_STORE")
            .env_remove("FIELDCRM_SERVER");
        command
    }

    /// The files in the device's folder (the store, its session, SQLite's side files).
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.store.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Runs a command that must be refused as a wrong argument: a one-line error, then the
    /// usage, exit code 2, nothing on stdout. Returns the error line.
    pub fn wrong(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "fieldcrm {args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "fieldcrm {args:?} printed output");
        let mut lines = stderr.lines();
        let error = lines.next().unwrap_or_default().to_owned();
        assert!(error.starts_with("error: "), "{stderr}");
        assert_eq!(lines.next(), Some(""), "a one-line error: {stderr}");
        assert!(
            lines
                .next()
                .unwrap_or_default()
                .starts_with("Usage: fieldcrm"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        error
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
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
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "fieldcrm {args:?} succeeded");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    pub fn login(&self, server: &Server, username: &str) {
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

pub fn session_file(store: &Path) -> PathBuf {
    store.with_file_name("device.session.json")
}

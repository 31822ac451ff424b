//! Robustness end to end: the real server binary on a loopback port, killed in the middle of a
//! push, restarted on the same database; a device offline for the whole run syncing thousands of
//! changes in pages; and a property test of random offline work, random sync orders and dropped
//! responses across three devices. Nothing acknowledged may be lost, nothing duplicated, and
//! every device must converge.
//!
//! The crash points inside a push are the server's test hooks `FIELDCRM_FAULT_EXIT_AFTER_COMMIT`
//! and `FIELDCRM_FAULT_EXIT_BEFORE_COMMIT` (see `fieldcrm_server::storage::FaultInjection`).
//!
//! This file holds the organisation, the server process, its change log and the devices;
//! `crash.rs` the server dying inside a push, `offline_pages.rs` the long-offline device and
//! `dropped_responses.rs` the property test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fieldcrm_core::*;
use fieldcrm_server::storage::FAULT_EXIT_CODE;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};

#[path = "../support/mod.rs"]
mod support;
use support::{BIN, Launch, ServerProcess, agent, seed_org};
const NOW: i64 = 1_790_000_000_000;
const PASSWORD: &str = "secret pass";

// ---------------------------------------------------------------------------------------------
// The organisation, the server process and its database
// ---------------------------------------------------------------------------------------------

/// A server database with team north, territories harbour and hills, and the given users
/// (username, role, territory).
struct Org {
    db: PathBuf,
    _dir: tempfile::TempDir,
}

fn org(users: &[(&str, &str, Option<&str>)]) -> Org {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite");
    seed_org(&db, users, PASSWORD);
    Org { db, _dir: dir }
}

/// A running server process; killed (SIGKILL) and reaped when dropped.
struct Server {
    process: ServerProcess,
    base: String,
}

/// Which crash point of a push the server is started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    BeforeCommit,
    AfterCommit,
}

impl Fault {
    fn env(self) -> &'static str {
        match self {
            Fault::BeforeCommit => "FIELDCRM_FAULT_EXIT_BEFORE_COMMIT",
            Fault::AfterCommit => "FIELDCRM_FAULT_EXIT_AFTER_COMMIT",
        }
    }
}

fn start(db: &Path, fault: Option<Fault>) -> Server {
    let faults = [Fault::BeforeCommit.env(), Fault::AfterCommit.env()];
    let mut env = vec![
        // Every random case registers fresh devices for the same few users.
        ("FIELDCRM_MAX_DEVICES_PER_USER", "10000"),
    ];
    if let Some(fault) = fault {
        env.push((fault.env(), "1"));
    }
    let process = ServerProcess::start(
        BIN,
        db,
        Launch {
            log: Some("error"),
            env: &env,
            unset: &faults,
            ..Launch::default()
        },
    );
    Server {
        base: process.base.clone(),
        process,
    }
}

impl Server {
    /// SIGKILL, then reap.
    fn kill(mut self) {
        self.process.kill().unwrap();
    }

    /// Waits (at most 20 s) for the process to end by itself.
    fn exit_status(mut self) -> ExitStatus {
        self.process
            .wait_for_exit(Duration::from_secs(20))
            .expect("the server did not exit")
    }
}

/// The server's change log, read from its database file (read-only; the server may run).
#[derive(Debug)]
struct ChangeLog {
    rows: i64,
    hashes: BTreeSet<String>,
    max_seq: i64,
    head: i64,
    /// Sequence numbers taken by scope events rather than changes: a user gaining or losing
    /// a territory, a customer moved without a change of its own.
    scope_events: i64,
}

fn change_log(db: &Path) -> ChangeLog {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    let max_seq: i64 = conn
        .query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| {
            r.get(0)
        })
        .unwrap();
    let head: i64 = conn
        .query_row("SELECT seq FROM log_head WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    let hashes = conn
        .prepare("SELECT hash FROM changes")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<BTreeSet<String>>>()
        .unwrap();
    let scope_events: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM user_scope_history WHERE seq > 0)
                  + (SELECT count(*) FROM scope_history WHERE seq NOT IN (SELECT seq FROM changes))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    ChangeLog {
        rows,
        hashes,
        max_seq,
        head,
        scope_events,
    }
}

impl ChangeLog {
    /// Every change exactly once; every sequence number up to the head taken by exactly one
    /// change or scope event (none allocated by a transaction that did not commit).
    fn assert_exactly(&self, expected: &BTreeSet<String>) {
        assert_eq!(
            self.rows as usize,
            self.hashes.len(),
            "a change stored twice"
        );
        assert_eq!(&self.hashes, expected, "the server's change log");
        assert!(self.max_seq <= self.head);
        assert_eq!(self.head, self.rows + self.scope_events, "{self:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

/// A logged-in user: one password login (argon2) serves every device of the user.
#[derive(Debug, Clone)]
struct Account {
    token: String,
    user_id: String,
}

fn login(base: &str, username: &str) -> Account {
    let mut response = agent()
        .post(format!("{base}/v1/auth/login"))
        .send_json(json!({"username": username, "password": PASSWORD}))
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.body_mut().read_json().unwrap();
    Account {
        token: body["token"].as_str().unwrap().to_owned(),
        user_id: body["user"]["id"].as_str().unwrap().to_owned(),
    }
}

struct Device {
    store: Store,
    account: Account,
    _dir: tempfile::TempDir,
}

/// A new device store of `account`, registered with the server.
fn device(base: &str, account: &Account) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(&account.user_id).unwrap();
    let registered = agent()
        .post(format!("{base}/v1/devices"))
        .header("authorization", &format!("Bearer {}", account.token))
        .send_json(json!({"actor_id": store.actor_id()}))
        .unwrap();
    assert_eq!(registered.status(), 201);
    Device {
        store,
        account: account.clone(),
        _dir: dir,
    }
}

fn no_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 1,
        ..RetryPolicy::default()
    }
}

impl Device {
    /// The server moves when restarted (a new port): the transport is made per call.
    fn transport(&self, base: &str) -> HttpTransport {
        HttpTransport::new(base, &self.account.token)
    }

    fn try_sync(
        &self,
        transport: &dyn Transport,
        policy: &RetryPolicy,
    ) -> Result<SyncReport, SyncError> {
        sync(&self.store, transport, policy, &mut |_| {}, &|| NOW)
    }

    fn sync(&self, base: &str) -> SyncReport {
        self.try_sync(&self.transport(base), &RetryPolicy::default())
            .unwrap()
    }

    fn pending_hashes(&self) -> BTreeSet<String> {
        self.store
            .pending_changes(u32::MAX)
            .unwrap()
            .into_iter()
            .map(|c| c.hash)
            .collect()
    }

    fn customers(&self) -> BTreeMap<String, Customer> {
        self.store
            .document_ids(Kind::Customer)
            .unwrap()
            .into_iter()
            .map(|id| {
                let customer: Customer = self.store.get(&id).unwrap().unwrap();
                (id, customer)
            })
            .collect()
    }

    fn assert_settled(&self) {
        let status = self.store.sync_status().unwrap();
        assert_eq!(
            (
                status.pending_changes,
                status.rejected_changes,
                status.last_error
            ),
            (0, 0, None)
        );
    }
}

fn customer(name: &str) -> Customer {
    let mut c = Customer::new(name);
    c.territory = Some("harbour".to_owned());
    c.address.city = Some("Hamburg".into());
    c
}

/// Creates `customers` customers and edits each `edits` times: `customers * (1 + edits)`
/// changes in the upload queue.
fn offline_work(device: &Device, prefix: &str, customers: usize, edits: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(customers);
    for i in 0..customers {
        let mut c = device
            .store
            .create(customer(&format!("{prefix} {i:04}")))
            .unwrap();
        for edit in 1..=edits {
            c.custom_fields.insert("rev".into(), edit.to_string());
            c = device.store.update(c).unwrap();
        }
        ids.push(c.meta.id.clone());
    }
    ids
}

mod crash;
mod dropped_responses;
mod offline_pages;

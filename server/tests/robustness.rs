//! Robustness end to end: the real server binary on a loopback port, killed in the middle of a
//! push, restarted on the same database; a device offline for the whole run syncing thousands of
//! changes in pages; and a property test of random offline work, random sync orders and dropped
//! responses across three devices. Nothing acknowledged may be lost, nothing duplicated, and
//! every device must converge.
//!
//! The crash points inside a push are the server's test hooks `FIELDCRM_FAULT_EXIT_AFTER_COMMIT`
//! and `FIELDCRM_FAULT_EXIT_BEFORE_COMMIT` (see `fieldcrm_server::storage::FaultInjection`).

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

// ---------------------------------------------------------------------------------------------
// 1. The server dies inside a push
// ---------------------------------------------------------------------------------------------

/// Offline edits, a push that kills the server at `fault`, a restart on the same database, a
/// retry: every change is in the log exactly once and every device sees the same records.
fn server_dies_inside_a_push(fault: Fault) {
    let org = org(&[
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
    ]);
    let server = start(&org.db, None);
    let (ana_account, ben_account) = (login(&server.base, "ana"), login(&server.base, "ben"));
    let ana = device(&server.base, &ana_account);
    let ben = device(&server.base, &ben_account);
    let mut sent = BTreeSet::new();
    let shared = ana.store.create(customer("Fischhalle")).unwrap();
    sent.extend(ana.pending_hashes());
    ana.sync(&server.base);
    ben.sync(&server.base);
    server.kill();

    // Offline on both devices: new customers and edits, one customer edited on both.
    let server = start(&org.db, Some(fault));
    offline_work(&ana, "Ana", 12, 2);
    let mut on_ana: Customer = ana.store.get(&shared.meta.id).unwrap().unwrap();
    on_ana.grade = Some(Grade::A);
    on_ana.custom_fields.insert("ana".into(), "1".into());
    ana.store.update(on_ana).unwrap();
    let mut on_ben: Customer = ben.store.get(&shared.meta.id).unwrap().unwrap();
    on_ben.phones.insert("+49 40 123".into());
    on_ben.custom_fields.insert("ben".into(), "1".into());
    ben.store.update(on_ben).unwrap();
    let queued = ana.pending_hashes();
    assert_eq!(queued.len(), 12 * 3 + 1);

    let err = ana
        .try_sync(&ana.transport(&server.base), &no_retry())
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Transport(TransportError::Offline(_))),
        "the connection drops without an answer: {err}"
    );
    assert_eq!(server.exit_status().code(), Some(FAULT_EXIT_CODE));
    assert_eq!(ana.pending_hashes(), queued, "nothing left the queue");
    assert!(ana.store.sync_status().unwrap().last_error.is_some());
    let log = change_log(&org.db);
    match fault {
        Fault::AfterCommit => assert!(log.hashes.is_superset(&queued), "committed"),
        Fault::BeforeCommit => {
            assert!(log.hashes.is_disjoint(&queued), "rolled back");
            log.assert_exactly(&sent);
        }
    }

    // Restarted without the fault: the retry is acknowledged (again, for after-commit).
    let server = start(&org.db, None);
    let report = ana.sync(&server.base);
    assert_eq!((report.pushed, report.rejected), (queued.len(), 0));
    sent.extend(queued);
    sent.extend(ben.pending_hashes());
    ben.sync(&server.base);
    ana.sync(&server.base);
    let fresh = device(&server.base, &ben_account);
    fresh.sync(&server.base);
    for device in [&ana, &ben, &fresh] {
        device.assert_settled();
    }
    let records = ana.customers();
    assert_eq!(records.len(), 13);
    assert_eq!(ben.customers(), records);
    assert_eq!(fresh.customers(), records);
    let merged = &records[&shared.meta.id];
    assert_eq!(merged.grade, Some(Grade::A));
    assert!(merged.phones.contains("+49 40 123"));
    assert_eq!(merged.custom_fields.len(), 2, "{merged:?}");
    assert!(records.values().all(|c| c.meta.id == shared.meta.id
        || c.custom_fields.get("rev").map(String::as_str) == Some("2")));
    server.kill();
    change_log(&org.db).assert_exactly(&sent);
}

#[test]
fn server_exits_after_commit_before_answering_a_push() {
    server_dies_inside_a_push(Fault::AfterCommit);
}

#[test]
fn server_exits_inside_a_push_before_commit() {
    server_dies_inside_a_push(Fault::BeforeCommit);
}

/// A real SIGKILL while a device pushes a large queue in several requests.
#[test]
fn server_killed_in_the_middle_of_a_large_sync() {
    let org = org(&[
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
    ]);
    let server = start(&org.db, None);
    let (ana_account, ben_account) = (login(&server.base, "ana"), login(&server.base, "ben"));
    let ana = device(&server.base, &ana_account);
    let ben = device(&server.base, &ben_account);
    // 1,600 changes: four push requests of 500 (the `sync` default).
    offline_work(&ana, "Big", 200, 7);
    let queued = ana.pending_hashes();
    assert_eq!(queued.len(), 1_600);

    let transport = ana.transport(&server.base);
    let interrupted = std::thread::scope(|scope| {
        let syncing = scope.spawn(|| ana.try_sync(&transport, &no_retry()));
        // Kill as soon as the first push is acknowledged: later pushes are in flight.
        let deadline = Instant::now() + Duration::from_secs(30);
        while ana.store.sync_status().unwrap().pending_changes == queued.len() as u64 {
            assert!(Instant::now() < deadline, "the first push never finished");
            assert!(!syncing.is_finished(), "the sync stopped early");
            std::thread::sleep(Duration::from_millis(1));
        }
        server.kill();
        syncing.join().unwrap()
    });
    let left = ana.store.sync_status().unwrap().pending_changes;
    assert!(
        interrupted.is_err() && left > 0 && left < queued.len() as u64,
        "the kill should land mid-sync: {interrupted:?}, {left} pending"
    );

    let server = start(&org.db, None);
    ana.sync(&server.base);
    ben.sync(&server.base);
    ana.assert_settled();
    ben.assert_settled();
    let records = ana.customers();
    assert_eq!(records.len(), 200);
    assert_eq!(ben.customers(), records);
    assert!(
        records
            .values()
            .all(|c| c.custom_fields.get("rev").map(String::as_str) == Some("7"))
    );
    server.kill();
    change_log(&org.db).assert_exactly(&queued);
}

// ---------------------------------------------------------------------------------------------
// 2. A device offline for the whole run
// ---------------------------------------------------------------------------------------------

/// Pushes everything pending in requests of `batch` changes; returns how many requests.
fn push_all(session: &SyncSession<'_>, transport: &dyn Transport) -> usize {
    let mut requests = 0;
    while let Some(push) = session.build_push().unwrap() {
        let body = transport.push(push.body).unwrap();
        let outcome = session.apply_push_response(&body, NOW).unwrap();
        assert_eq!(
            (outcome.acknowledged, outcome.rejected),
            (push.hashes.len(), 0)
        );
        requests += 1;
    }
    requests
}

/// Pulls every page; returns how many pages, checking that only the last has no more.
fn pull_all(session: &SyncSession<'_>, transport: &dyn Transport) -> usize {
    let mut pages = 0;
    loop {
        let body = transport.pull(session.build_pull().unwrap()).unwrap();
        let outcome = session.apply_pull_response(&body, NOW).unwrap();
        pages += 1;
        assert!(pages < 1_000, "pulling never ends");
        if !outcome.has_more {
            return pages;
        }
    }
}

#[test]
fn a_device_offline_for_the_whole_run_syncs_thousands_of_changes_in_pages() {
    let org = org(&[
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
        ("maya", "manager", None),
    ]);
    let server = start(&org.db, None);
    let offline = device(&server.base, &login(&server.base, "ana"));
    let online = device(&server.base, &login(&server.base, "ben"));
    let manager = device(&server.base, &login(&server.base, "maya"));

    // While the offline device works, the others keep syncing.
    let mut offline_ids = Vec::new();
    for round in 0..3 {
        offline_ids.extend(offline_work(&offline, &format!("Offline {round}"), 100, 9));
        offline_work(&online, &format!("Online {round}"), 10, 1);
        online.sync(&server.base);
        manager.sync(&server.base);
    }
    assert_eq!(offline.store.sync_status().unwrap().pending_changes, 3_000);

    let transport = offline.transport(&server.base);
    let mut session = SyncSession::new(&offline.store).unwrap();
    session.push_batch = 400;
    session.page_size = 64;
    assert_eq!(push_all(&session, &transport), 8);
    // Its own 300 documents come back as snapshots, with the online device's 30.
    assert_eq!(pull_all(&session, &transport), 6);

    let transport = manager.transport(&server.base);
    let mut session = SyncSession::new(&manager.store).unwrap();
    session.page_size = 50;
    assert_eq!(pull_all(&session, &transport), 6, "300 new documents");
    online.sync(&server.base);

    let log = change_log(&org.db);
    assert_eq!(log.rows, 3_000 + 60);
    let head = log.head;
    for device in [&offline, &online, &manager] {
        device.assert_settled();
        let cursor = u64::try_from(device.store.sync_status().unwrap().cursor).unwrap();
        assert_eq!(fieldcrm_server::storage::cursor_position(cursor), head);
    }
    let records = offline.customers();
    assert_eq!(records.len(), 330);
    assert_eq!(online.customers(), records);
    assert_eq!(manager.customers(), records);
    for id in &offline_ids {
        assert_eq!(records[id].custom_fields["rev"], "9");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Random offline work, sync orders and dropped responses
// ---------------------------------------------------------------------------------------------

/// Performs every request, but drops the response of those its plan says to drop: the server
/// did the work, the device never hears of it.
struct DroppingTransport {
    inner: HttpTransport,
    /// One entry per request, consumed in order; `true` drops the response. Empty: keep all.
    plan: RefCell<Vec<bool>>,
    dropped: Cell<usize>,
}

impl DroppingTransport {
    fn call(
        &self,
        request: impl FnOnce() -> Result<Vec<u8>, TransportError>,
    ) -> Result<Vec<u8>, TransportError> {
        let response = request()?;
        let drop = {
            let mut plan = self.plan.borrow_mut();
            if plan.is_empty() {
                false
            } else {
                plan.remove(0)
            }
        };
        if drop {
            self.dropped.set(self.dropped.get() + 1);
            return Err(TransportError::Offline("response lost".into()));
        }
        Ok(response)
    }
}

impl Transport for DroppingTransport {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.call(|| self.inner.push(body))
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.call(|| self.inner.pull(body))
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.call(|| self.inner.upload_pings(body))
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.call(|| self.inner.refetch(body))
    }

    fn analytics(&self, query: &str) -> Result<Vec<u8>, TransportError> {
        self.inner.analytics(query)
    }
}

/// Devices: 0 = rep ana, 1 = rep ben (both harbour), 2 = manager maya.
const DEVICES: usize = 3;
const MANAGER: usize = 2;

#[derive(Debug, Clone)]
enum Op {
    /// A new customer in harbour.
    Create { dev: usize },
    /// Sets the device's own custom field of one of its customers (a value to check at the end).
    Edit { dev: usize, pick: usize, value: u8 },
    /// Rewrites a customer's notes (all devices write the same text: merged, not checked).
    Note { dev: usize, pick: usize, value: u8 },
    /// A rep plans a visit at one of its customers.
    Visit { rep: usize, pick: usize },
    /// A rep writes the notes of one of its own visits.
    VisitNote { rep: usize, pick: usize, value: u8 },
    /// A sync round; `drops[i]` drops the response of the round's i-th request.
    Sync { dev: usize, drops: Vec<bool> },
}

fn op() -> impl Strategy<Value = Op> {
    let dev = 0..DEVICES;
    let rep = 0..MANAGER;
    prop_oneof![
        2 => dev.clone().prop_map(|dev| Op::Create { dev }),
        3 => (dev.clone(), any::<usize>(), any::<u8>())
            .prop_map(|(dev, pick, value)| Op::Edit { dev, pick, value }),
        1 => (dev.clone(), any::<usize>(), any::<u8>())
            .prop_map(|(dev, pick, value)| Op::Note { dev, pick, value }),
        1 => (rep.clone(), any::<usize>()).prop_map(|(rep, pick)| Op::Visit { rep, pick }),
        1 => (rep, any::<usize>(), any::<u8>())
            .prop_map(|(rep, pick, value)| Op::VisitNote { rep, pick, value }),
        3 => (dev, proptest::collection::vec(proptest::bool::weighted(0.3), 0..4))
            .prop_map(|(dev, drops)| Op::Sync { dev, drops }),
    ]
}

/// What the test expects at the end of a case.
#[derive(Default)]
struct Expected {
    /// (customer id, device) -> the last value the device wrote to its own field.
    fields: BTreeMap<(String, usize), String>,
    /// Visit id -> (rep device, the last notes written).
    visits: BTreeMap<String, (usize, String)>,
}

const FIELD_KEYS: [&str; DEVICES] = ["by_ana", "by_ben", "by_maya"];

/// The case's customers present on a device, by id.
fn case_customers(device: &Device, prefix: &str) -> Vec<Customer> {
    device
        .customers()
        .into_values()
        .filter(|c| c.name.starts_with(prefix))
        .collect()
}

fn run_case(
    base: &str,
    accounts: &[Account; DEVICES],
    case: usize,
    ops: &[Op],
    dropped: &AtomicUsize,
) -> Result<(), TestCaseError> {
    let prefix = format!("case{case:03} ");
    let devices: Vec<Device> = accounts.iter().map(|a| device(base, a)).collect();
    let mut expected = Expected::default();
    let mut created = 0;
    for op in ops {
        match op {
            Op::Create { dev } => {
                devices[*dev]
                    .store
                    .create(customer(&format!("{prefix}{dev}-{created}")))
                    .unwrap();
                created += 1;
            }
            Op::Edit { dev, pick, value } => {
                let customers = case_customers(&devices[*dev], &prefix);
                if customers.is_empty() {
                    continue;
                }
                let mut c = customers[pick % customers.len()].clone();
                let value = format!("v{value}");
                c.custom_fields
                    .insert(FIELD_KEYS[*dev].into(), value.clone());
                devices[*dev].store.update(c.clone()).unwrap();
                expected.fields.insert((c.meta.id, *dev), value);
            }
            Op::Note { dev, pick, value } => {
                let customers = case_customers(&devices[*dev], &prefix);
                if customers.is_empty() {
                    continue;
                }
                let mut c = customers[pick % customers.len()].clone();
                c.notes = format!("note {value} from device {dev}");
                devices[*dev].store.update(c).unwrap();
            }
            Op::Visit { rep, pick } => {
                let customers = case_customers(&devices[*rep], &prefix);
                if customers.is_empty() {
                    continue;
                }
                let at = &customers[pick % customers.len()];
                let mut visit = Visit::new(&at.meta.id, &accounts[*rep].user_id);
                visit.planned_start = Some(NOW);
                let visit = devices[*rep].store.create(visit).unwrap();
                expected.visits.insert(visit.meta.id, (*rep, String::new()));
            }
            Op::VisitNote { rep, pick, value } => {
                let own: Vec<String> = expected
                    .visits
                    .iter()
                    .filter(|(_, (by, _))| by == rep)
                    .map(|(id, _)| id.clone())
                    .collect();
                if own.is_empty() {
                    continue;
                }
                let id = &own[pick % own.len()];
                let mut visit: Visit = devices[*rep].store.get(id).unwrap().unwrap();
                visit.notes = format!("visit note {value}");
                devices[*rep].store.update(visit.clone()).unwrap();
                expected.visits.insert(id.clone(), (*rep, visit.notes));
            }
            Op::Sync { dev, drops } => {
                let device = &devices[*dev];
                let transport = DroppingTransport {
                    inner: device.transport(base),
                    plan: RefCell::new(drops.clone()),
                    dropped: Cell::new(0),
                };
                // One attempt per request: a dropped response fails the round, and the device
                // must retry in a later one.
                let result = device.try_sync(&transport, &no_retry());
                let lost = transport.dropped.get();
                dropped.fetch_add(lost, Ordering::Relaxed);
                prop_assert!(
                    result.is_ok() || lost > 0,
                    "a sync failed without a dropped response: {result:?}"
                );
            }
        }
    }

    // Everyone syncs, without losses, until nothing is pending anywhere; then once more so
    // every device has pulled the last pushes.
    let mut rounds = 0;
    loop {
        for device in &devices {
            let report = device.try_sync(&device.transport(base), &RetryPolicy::default());
            prop_assert!(report.is_ok(), "final sync failed: {report:?}");
            prop_assert_eq!(report.unwrap().rejected, 0);
        }
        rounds += 1;
        let pending: u64 = devices
            .iter()
            .map(|d| d.store.sync_status().unwrap().pending_changes)
            .sum();
        if pending == 0 {
            break;
        }
        prop_assert!(rounds < 5, "{} changes still pending", pending);
    }
    for device in &devices {
        device.sync(base);
        device.assert_settled();
    }

    // Identical customers everywhere (this case's and earlier cases').
    let records = devices[0].customers();
    for device in &devices[1..] {
        prop_assert_eq!(&device.customers(), &records);
    }
    let ours = case_customers(&devices[0], &prefix);
    prop_assert_eq!(ours.len(), created);
    for c in &ours {
        for device in &devices[1..] {
            prop_assert_eq!(
                device.store.conflicts(&c.meta.id).unwrap(),
                devices[0].store.conflicts(&c.meta.id).unwrap()
            );
        }
    }
    // Nothing acknowledged is lost: every device's last write of its own field is there.
    for ((id, dev), value) in &expected.fields {
        prop_assert_eq!(
            records[id].custom_fields.get(FIELD_KEYS[*dev]),
            Some(value),
            "device {}'s last edit of {}",
            dev,
            id
        );
    }
    prop_assert_eq!(
        records
            .values()
            .filter(|c| c.name.starts_with(&prefix))
            .map(|c| c.custom_fields.len())
            .sum::<usize>(),
        expected.fields.len(),
        "no field written that the test did not write"
    );
    // Visits: the rep's own and the manager's copy agree; the other rep never sees them.
    for (id, (rep, notes)) in &expected.visits {
        let own: Visit = devices[*rep].store.get(id).unwrap().unwrap();
        prop_assert_eq!(&own.notes, notes);
        let managers: Option<Visit> = devices[MANAGER].store.get(id).unwrap();
        prop_assert_eq!(managers.as_ref(), Some(&own));
        prop_assert!(devices[1 - rep].store.get_any(id).unwrap().is_none());
    }
    Ok(())
}

#[test]
fn random_offline_work_sync_orders_and_dropped_responses_converge() {
    let org = org(&[
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
        ("maya", "manager", None),
    ]);
    // One server for every case: cases tell their customers apart by a name prefix.
    let server = start(&org.db, None);
    let accounts = [
        login(&server.base, "ana"),
        login(&server.base, "ben"),
        login(&server.base, "maya"),
    ];
    let (cases, dropped) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(Config {
        cases: 12,
        max_shrink_iters: 32,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 5..40), |ops| {
            let case = cases.fetch_add(1, Ordering::Relaxed);
            run_case(&server.base, &accounts, case, &ops, &dropped)
        })
        .unwrap();
    let dropped = dropped.into_inner();
    eprintln!("{} cases, {dropped} responses dropped", cases.into_inner());
    assert!(
        dropped > 0,
        "no response was ever dropped: the test tested nothing"
    );
    // Every case pushed to the same log: it holds each change once, and every sequence number
    // belongs to one change or scope event.
    let log = change_log(&org.db);
    assert_eq!(log.rows as usize, log.hashes.len());
    assert_eq!(log.head, log.rows + log.scope_events, "{log:?}");
}

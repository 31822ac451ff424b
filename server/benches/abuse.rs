//! The server under attack: the real binary on a loopback port, abusive reps sending the worst
//! requests the security review and our own search found, and honest devices beside them.
//!
//! Run with `cargo bench -p fieldcrm-server --bench abuse`; `FIELDCRM_BENCH_SCALE` (default 1.0)
//! scales the request counts (CI runs 0.02 as a smoke run). Figures are printed as
//! `bench: <name> = <value> <unit>`; nothing here asserts on timing.
//!
//! - `push_decode_peak_rss_mb`: how far the server process's peak resident memory (`VmHWM`)
//!   rose above the idle server's while three clients sent the worst 64 KB push bodies at full
//!   speed: a deflate bomb inflating past the decompression limit, one inflating to just under it
//!   (decoded in full, then refused per document), and a body declaring a million documents.
//!   The process's total peak is printed beside it.
//! - `honest_push_p99_under_abuse_ms`: p99 of an honest device's 50-change pushes (round trip,
//!   one every 200 ms) while three abusive reps, each with a registered device, send at full
//!   speed: the two bodies above, and pushes naming each of their 300 customers with a change
//!   crafted to make Automerge panic (contained, refused per document, each costing a load).
//! - `login_attempts_allowed_per_min_per_user`: wrong passwords sent for one user as fast as the
//!   server answers, for up to a minute: how many were checked (not refused with 429).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails by panicking

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use fieldcrm_bench_support::{comment, emit, quantile, scale, scaled};
use fieldcrm_core::authority::{self, Current, Writer};
use fieldcrm_core::protocol::{self, DocChanges, PushRequest, PushResponse};
use fieldcrm_core::{Customer, Kind, Store};
use serde_json::{Value, json};

#[path = "../tests/support/attacks.rs"]
mod attacks;
#[path = "../tests/support/mod.rs"]
mod support;
use attacks::{deflate_bomb, million_entries, reseal};
use support::{BIN, Launch, OrgServer, agent};

const PASSWORD: &str = "bench password";
const ABUSERS: [&str; 3] = ["eve", "mallory", "trudy"];
const ABUSER_CUSTOMERS: usize = 300;
const HONEST_CUSTOMERS: usize = 50;
const HONEST_PUSHES: usize = 150;
const HONEST_EVERY: Duration = Duration::from_millis(200);
const WORST_BODY_BYTES: usize = 64 * 1024;

type Server = OrgServer;

/// Honest reps ana and fay (harbour), the abusers (hills).
fn start_server() -> Server {
    let mut users = vec![
        ("ana", "rep", Some("harbour")),
        ("fay", "rep", Some("harbour")),
    ];
    users.extend(ABUSERS.iter().map(|name| (*name, "rep", Some("hills"))));
    OrgServer::start(
        BIN,
        &users,
        PASSWORD,
        Launch {
            log: Some("error"),
            ..Launch::default()
        },
    )
}

/// Peak resident memory of the server process so far, in MB.
fn peak_rss_mb(server: &Server) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.process.pid())).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

struct Device {
    store: Store,
    token: String,
    user_id: String,
}

fn device(server: &Server, username: &str) -> Device {
    let mut login = agent()
        .post(format!("{}/v1/auth/login", server.base))
        .send_json(json!({"username": username, "password": PASSWORD}))
        .unwrap();
    assert_eq!(login.status(), 200, "login of {username}");
    let login: Value = login.body_mut().read_json().unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let user_id = login["user"]["id"].as_str().unwrap().to_owned();
    let store = Store::open(":memory:").unwrap();
    store.set_user(&user_id).unwrap();
    let registered = agent()
        .post(format!("{}/v1/devices", server.base))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(json!({"actor_id": store.actor_id()}))
        .unwrap();
    assert_eq!(registered.status(), 201);
    Device {
        store,
        token,
        user_id,
    }
}

impl Device {
    /// Sends a push body; returns the HTTP status (retrying a 429 after its Retry-After when
    /// `honest`).
    fn send(&self, server: &Server, body: &[u8], honest: bool) -> (u16, Option<PushResponse>) {
        loop {
            let mut response = agent()
                .post(format!("{}/v1/sync/push", server.base))
                .header("authorization", &format!("Bearer {}", self.token))
                .header("content-type", protocol::CONTENT_TYPE)
                .send(body)
                .unwrap();
            let status = response.status().as_u16();
            if honest && status == 429 {
                let wait: u64 = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                thread::sleep(Duration::from_secs(wait));
                continue;
            }
            let bytes = response.body_mut().read_to_vec().unwrap();
            let decoded = (status == 200).then(|| protocol::decode(&bytes, 64 << 20).unwrap());
            return (status, decoded);
        }
    }

    /// Pushes everything pending (honestly) and acknowledges it.
    fn push_pending(&self, server: &Server) {
        while let Some((request, _)) = self.store.push_request(500).unwrap() {
            let (status, response) = self.send(server, &protocol::encode(&request).unwrap(), true);
            assert_eq!(status, 200);
            let response = response.unwrap();
            assert!(response.rejected.is_empty(), "{:?}", response.rejected);
            self.store.acknowledge(&response.acknowledged).unwrap();
        }
    }
}

fn customer(name: String, territory: &str) -> Customer {
    let mut c = Customer::new(name);
    c.territory = Some(territory.to_owned());
    c
}

/// An abuser's push naming each of their customers with a change that makes Automerge panic
/// (found by a seeded mutation search against the customer's own document).
fn panicking_push(abuser: &Device, customers: &[Customer], history: &[u8]) -> Option<Vec<u8>> {
    let first = &customers[0];
    let mut edited = first.clone();
    edited.notes = "Rampe hinten, Lieferung dienstags".into();
    edited.phones.insert("+49 40 555".into());
    abuser.store.update(edited).ok()?;
    let pending = abuser.store.pending_changes(10).ok()?;
    let edit = pending
        .iter()
        .find(|p| p.doc_id == first.meta.id)?
        .bytes
        .clone();
    let base = Current::load(history).ok()?;
    let actor = fieldcrm_core::authority::ActorId::from(hex::decode(abuser.store.actor_id()).ok()?);
    let writer = Writer {
        user_id: &abuser.user_id,
        actor_allowed: &|a| *a == actor,
    };
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    // Contained panics would each print a message and a backtrace through the default hook.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let found = search_mutant(&edit, &base, &writer, &mut state, customers, &first.meta.id);
    std::panic::set_hook(hook);
    found
}

/// Mutants of `edit` with their checksum re-sealed, until one makes Automerge panic on `base`;
/// then the push naming every customer with it.
fn search_mutant(
    edit: &[u8],
    base: &Current,
    writer: &Writer<'_>,
    state: &mut u64,
    customers: &[Customer],
    first_id: &str,
) -> Option<Vec<u8>> {
    for _ in 0..20_000 {
        let mut mutant = edit.to_vec();
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let at = 12 + (*state as usize) % (mutant.len() - 12);
        mutant[at] = (*state >> 32) as u8;
        reseal(&mut mutant);
        let contained = authority::check_changes(std::slice::from_ref(&mutant), writer)
            .and_then(|checked| {
                authority::apply_push(
                    Some(base.clone()),
                    first_id,
                    Kind::Customer,
                    checked,
                    writer,
                )
            })
            .is_err_and(|refusal| refusal.contained_panic);
        if contained {
            let docs = customers
                .iter()
                .map(|c| DocChanges {
                    doc_id: c.meta.id.clone(),
                    kind: Kind::Customer,
                    changes: vec![mutant.clone()],
                })
                .collect();
            return Some(protocol::encode(&PushRequest { docs }).unwrap());
        }
    }
    None
}

fn login_attempts_allowed(server: &Server, attempts: usize) -> usize {
    let started = Instant::now();
    let mut allowed = 0;
    for _ in 0..attempts {
        if started.elapsed() >= Duration::from_secs(60) {
            break;
        }
        let response = agent()
            .post(format!("{}/v1/auth/login", server.base))
            .send_json(json!({"username": "fay", "password": "wrong password"}))
            .unwrap();
        if response.status() != 429 {
            allowed += 1;
        }
    }
    allowed
}

fn main() {
    let scale = scale();
    let server = start_server();
    let base_rss = peak_rss_mb(&server);

    // The worst 64 KB bodies, from three reps at once: one inflating past the server's
    // decompression limit (4 MiB by default), one inflating to just under it (decoded in full,
    // then its change refused), one declaring a million entries.
    let bomb = deflate_bomb(60 << 20);
    let under = deflate_bomb((4 << 20) - 1024);
    let million = million_entries();
    for body in [&bomb, &under, &million] {
        assert!(body.len() <= WORST_BODY_BYTES, "{}", body.len());
    }
    comment(&format!(
        "worst bodies: deflate bomb {} bytes, bomb under the limit {} bytes, million entries {} bytes",
        bomb.len(),
        under.len(),
        million.len()
    ));
    let abusers: Vec<Device> = ABUSERS.iter().map(|name| device(&server, name)).collect();
    let rounds = scaled(40, scale).max(2);
    thread::scope(|s| {
        for abuser in &abusers {
            let (server, bomb, under, million) = (&server, &bomb, &under, &million);
            s.spawn(move || {
                for _ in 0..rounds {
                    let (status, _) = abuser.send(server, bomb, false);
                    assert!((400..500).contains(&status), "bomb answered {status}");
                    let (status, response) = abuser.send(server, under, false);
                    assert!(
                        status == 429 || response.is_some_and(|r| r.acknowledged.is_empty()),
                        "bomb under the limit answered {status}"
                    );
                    let (status, _) = abuser.send(server, million, false);
                    assert!((400..500).contains(&status), "million answered {status}");
                }
            });
        }
    });
    let peak = peak_rss_mb(&server);
    comment(&format!(
        "server peak resident memory: {peak:.1} MB in all, {base_rss:.1} MB before the bodies"
    ));
    emit("push_decode_peak_rss_mb", peak - base_rss, "MB");

    // The abusers' own customers, pushed honestly, then the panicking pushes over them.
    let per_abuser = scaled(ABUSER_CUSTOMERS, scale).max(2);
    let mut attacks = Vec::new();
    for abuser in &abusers {
        let customers: Vec<Customer> = (0..per_abuser)
            .map(|n| {
                abuser
                    .store
                    .create(customer(format!("{} {n}", abuser.user_id), "hills"))
                    .unwrap()
            })
            .collect();
        // The first customer's history as the server holds it, for the mutation search.
        let history: Vec<u8> = abuser
            .store
            .pending_changes(10_000)
            .unwrap()
            .into_iter()
            .filter(|p| p.doc_id == customers[0].meta.id)
            .flat_map(|p| p.bytes)
            .collect();
        abuser.push_pending(&server);
        attacks.push(panicking_push(abuser, &customers, &history).expect("a panicking mutant"));
    }

    let honest = device(&server, "ana");
    let honest_customers: Vec<Customer> = (0..HONEST_CUSTOMERS)
        .map(|n| {
            honest
                .store
                .create(customer(format!("Kiosk {n}"), "harbour"))
                .unwrap()
        })
        .collect();
    honest.push_pending(&server);

    let done = AtomicBool::new(false);
    let abusive_requests = AtomicU64::new(0);
    let refused = AtomicU64::new(0);
    let pushes = scaled(HONEST_PUSHES, scale).max(5);
    let mut latencies = Vec::with_capacity(pushes);
    thread::scope(|s| {
        for (abuser, attack) in abusers.iter().zip(&attacks) {
            let (server, bomb, million, done) = (&server, &under, &million, &done);
            let (abusive_requests, refused) = (&abusive_requests, &refused);
            s.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    for body in [attack, bomb, million] {
                        let (status, _) = abuser.send(server, body, false);
                        abusive_requests.fetch_add(1, Ordering::Relaxed);
                        if status != 200 {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        let mut next = Instant::now();
        for round in 0..pushes {
            for known in &honest_customers {
                let mut c: Customer = honest.store.get(&known.meta.id).unwrap().unwrap();
                c.notes = format!("Besuch {round}");
                honest.store.update(c).unwrap();
            }
            let (request, _) = honest.store.push_request(500).unwrap().unwrap();
            let body = protocol::encode(&request).unwrap();
            let started = Instant::now();
            let (status, response) = honest.send(&server, &body, true);
            latencies.push(started.elapsed());
            assert_eq!(status, 200);
            let response = response.unwrap();
            assert!(response.rejected.is_empty(), "{:?}", response.rejected);
            honest.store.acknowledge(&response.acknowledged).unwrap();
            next += HONEST_EVERY;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
        }
        done.store(true, Ordering::Relaxed);
    });
    comment(&format!(
        "{} honest 50-change pushes; {} abusive requests beside them ({} refused whole)",
        pushes,
        abusive_requests.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    ));
    emit(
        "honest_push_p99_under_abuse_ms",
        quantile(&mut latencies, 0.99),
        "ms",
    );

    let attempts = scaled(100, scale).max(15);
    emit(
        "login_attempts_allowed_per_min_per_user",
        login_attempts_allowed(&server, attempts) as f64,
        "attempts",
    );
}

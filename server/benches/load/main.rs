//! Load generator: the real `fieldcrm-server` binary on a loopback port, driven by device stores
//! and simulated devices through the core library's HTTP transport.
//!
//! Run with `cargo bench -p fieldcrm-server --bench load`. `FIELDCRM_BENCH_SCALE` (default 1.0)
//! multiplies the dataset sizes, the device count and the load duration; CI runs it at 0.02 as
//! a smoke run.
//!
//! Every figure is printed as one line `bench: <name> = <value> <unit>`; everything else on
//! stdout starts with `#`. Nothing here asserts on timing.
//!
//! What runs, in order:
//! 1. Setup (not measured): a fresh server database, the organisation made with the admin CLI
//!    (team `berlin` with seven territories, one rep each, and a manager; team `field` with the
//!    load territories and reps), the server started on `127.0.0.1:0`.
//! 2. Seed (not measured): each Berlin rep creates the customers of their territory and the
//!    visits to them in their own device store and pushes them, in batches, through real pushes.
//! 3. `bootstrap_60k_docs_s`: a fresh device of the manager (who sees the whole team) pulls
//!    every page into its store; `bootstrap_wire_bytes_ratio` compares the request and response
//!    bodies with the sum of the documents' compacted snapshots (`Store::document_bytes`).
//! 4. `push_100_changes_median_ms`: a rep's device edits 50 of its customers and checks in 50
//!    visits, then pushes the 100 changes and applies the acknowledgement; median of the rounds.
//! 5. Load: simulated devices (one thread each; a rep carries two devices, a phone and a
//!    tablet) push pre-built batches of 50 changes, a rep's working session: 20 visits planned,
//!    20 earlier planned visits checked in and out (GPS stamps, verification, outcome, notes,
//!    orders), 10 edits of customers of the rep's territory (200 customers, which the rep's
//!    other device edits too). Each device pushes on a fixed schedule of one push every 0.9 s
//!    (staggered across devices) and pulls to the head after every push, for a bounded time.
//!    `merged_changes_per_s` is the server's
//!    `fieldcrm_changes_merged_total` over the window; `push_p99_ms` is measured from each
//!    push's *scheduled* time to its acknowledgement, so a server that falls behind shows it
//!    (a device that is late sends at once, and the lateness counts); `server_rss_mb` is the
//!    peak VmRSS of the server process sampled during the window.
//!
//! The server process is killed when the benchmark ends, on success or error.
//!
//! The word lists and the seeded dataset are in `dataset.rs`, the server process, logins and
//! the counting transport in `client.rs`, the load phase's simulated devices in `load_phase.rs`.

use std::collections::BTreeSet;
use std::error::Error;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fieldcrm_bench_support::{comment, emit, median, ms, quantile, scale, scaled};
use fieldcrm_core::protocol::{self, PullRequest, PullResponse, PulledPayload, PushResponse};
use fieldcrm_core::{
    Address, Customer, CustomerKind, DAY_MS, GeoLocation, GpsStamp, Grade, HttpTransport, Kind,
    LocationSource, MAX_RESPONSE_BYTES, Millis, Store, SyncSession, Transport, TransportError,
    Visit, VisitOrderLine, VisitStatus, distance_m,
};
use fieldcrm_tests::server::{Launch, ServerProcess, try_admin};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

type BenchError = Box<dyn Error + Send + Sync>;
type BenchResult<T> = Result<T, BenchError>;

const SEED: u64 = 0x000F_1E1D_C7A1;

/// Fixed "now" of the dataset (2026-09-21T10:13:20Z); never the wall clock.
const BASE_MS: Millis = 1_790_000_000_000;
const MINUTE_MS: Millis = 60_000;
const HOUR_MS: Millis = 3_600_000;

const PASSWORD: &str = "bench password";

const CUSTOMERS: usize = 10_000;
const VISITS: usize = 50_000;
/// Changes per push while seeding (the server takes up to its body limit).
const SEED_PUSH_BATCH: u32 = 2_000;

const PUSH_ROUNDS: usize = 30;
const PUSH_EDITS: usize = 50;
const PUSH_VISITS: usize = 50;

const LOAD_DEVICES: usize = 100;
/// A rep carries a phone and a tablet: both push, and both edit the territory's customers.
const DEVICES_PER_REP: usize = 2;
const LOAD_SECONDS: f64 = 10.0;
/// Customers per load territory, created before the window.
const LOAD_CUSTOMERS: usize = 200;
/// Changes per push of a simulated device: a field rep's working session.
const LOAD_BATCH: usize = 50;
/// Of those: visits planned, earlier planned visits checked in and out, customers edited.
const LOAD_PLANNED: usize = 20;
const LOAD_COMPLETED: usize = 20;
const LOAD_CUSTOMER_EDITS: usize = LOAD_BATCH - LOAD_PLANNED - LOAD_COMPLETED;
/// Each simulated device pushes on a fixed schedule, one push per period: 100 devices of 50
/// changes every 0.9 s offer 5,556 changes/s, a tenth above the 5,000 target.
const LOAD_PERIOD_S: f64 = 0.9;
const LOAD_PULL_LIMIT: u32 = 1_000;

mod client;
mod dataset;
mod load_phase;

use client::*;
use dataset::*;
use load_phase::*;

// ---------------------------------------------------------------------------------------------

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> BenchResult<()> {
    let scale = scale();
    let binary = Path::new(BIN);
    let dir = tempfile::TempDir::new()?;
    let db = dir.path().join("server.sqlite");

    // ---- Setup: the organisation, through the admin CLI.
    let started = Instant::now();
    let devices = scaled(LOAD_DEVICES, scale).max(2);
    let load_reps = (devices / DEVICES_PER_REP).max(1);
    admin(binary, &db, &["team", "add", "--name", "berlin"])?;
    admin(binary, &db, &["team", "add", "--name", "field"])?;
    for territory in TERRITORIES {
        admin(
            binary,
            &db,
            &["territory", "add", "--name", territory, "--team", "berlin"],
        )?;
    }
    for i in 0..load_reps {
        let territory = format!("load-{i:02}");
        admin(
            binary,
            &db,
            &["territory", "add", "--name", &territory, "--team", "field"],
        )?;
    }
    for (i, territory) in TERRITORIES.iter().enumerate() {
        add_user(
            binary,
            &db,
            &format!("rep-{i}"),
            "rep",
            "berlin",
            Some(territory),
        )?;
    }
    add_user(binary, &db, "manager", "manager", "berlin", None)?;
    for i in 0..load_reps {
        add_user(
            binary,
            &db,
            &format!("load-rep-{i:02}"),
            "rep",
            "field",
            Some(&format!("load-{i:02}")),
        )?;
    }
    comment(&format!(
        "setup: organisation via the admin CLI ({} territories, {} users) in {:.1} s",
        TERRITORIES.len() + load_reps,
        TERRITORIES.len() + 1 + load_reps,
        started.elapsed().as_secs_f64()
    ));
    let server = Server::start(binary, &db)?;
    let base = server.base.clone();
    let http = agent();
    comment(&format!(
        "server {} (pid {}) at {base}; client and server share {} CPUs",
        binary.display(),
        server.pid(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));

    seed(&http, &base, dir.path(), scale)?;
    bootstrap(&http, &server, dir.path(), scale)?;
    push_rounds(&http, &base, dir.path())?;
    load(&http, &server, dir.path(), scale, devices, load_reps)?;
    paged_check(
        &http,
        &base,
        dir.path(),
        scaled(LOAD_CUSTOMERS, scale).max(10),
    )?;

    if let Some((rss, hwm)) = process_memory_kb(server.pid()) {
        comment(&format!(
            "server at the end: VmRSS {:.1} MB, peak over the whole run (VmHWM) {:.1} MB",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        ));
    }
    comment(&format!(
        "server database {:.1} MB (+ WAL {:.1} MB)",
        mb(std::fs::metadata(&db).map_or(0, |m| m.len())),
        mb(std::fs::metadata(dir.path().join("server.sqlite-wal")).map_or(0, |m| m.len()))
    ));
    drop(server);
    Ok(())
}

/// Each Berlin rep creates their territory's customers and visits on a device and pushes them.
fn seed(http: &ureq::Agent, base: &str, dir: &Path, scale: f64) -> BenchResult<()> {
    let started = Instant::now();
    let mut rng = SmallRng::seed_from_u64(SEED);
    let total_customers = scaled(CUSTOMERS, scale);
    let total_visits = scaled(VISITS, scale);
    let mut by_territory: Vec<Vec<Customer>> = vec![Vec::new(); TERRITORIES.len()];
    for _ in 0..total_customers {
        let (customer, territory) = gen_customer(&mut rng);
        by_territory[territory].push(customer);
    }
    // Visits per territory in proportion to its customers; the rest to the largest.
    let mut visits: Vec<usize> = by_territory
        .iter()
        .map(|c| total_visits * c.len() / total_customers)
        .collect();
    let largest = (0..visits.len())
        .max_by_key(|&t| by_territory[t].len())
        .unwrap_or(0);
    visits[largest] += total_visits - visits.iter().sum::<usize>();
    let mut reps = Vec::new();
    for i in 0..TERRITORIES.len() {
        reps.push(login(http, base, &format!("rep-{i}"))?);
    }
    comment(&format!(
        "seed: {total_customers} customers and {total_visits} visits over {} territories ({:?} customers)",
        TERRITORIES.len(),
        by_territory.iter().map(Vec::len).collect::<Vec<_>>()
    ));

    let create_us = AtomicU64::new(0);
    let push_us = AtomicU64::new(0);
    let pushed = AtomicUsize::new(0);
    std::thread::scope(|scope| -> BenchResult<()> {
        let mut handles = Vec::new();
        for (t, customers) in by_territory.into_iter().enumerate() {
            let (login, visits) = (&reps[t], visits[t]);
            let (create_us, push_us, pushed) = (&create_us, &push_us, &pushed);
            handles.push(scope.spawn(move || -> BenchResult<()> {
                let store = device_store(http, base, login, &dir.join(format!("seed-{t}.sqlite")))?;
                let mut rng = SmallRng::seed_from_u64(SEED ^ (t as u64 + 1));
                let started = Instant::now();
                let mut created = Vec::with_capacity(customers.len());
                for mut customer in customers {
                    customer.owner = Some(login.user_id.clone());
                    customer.territory = Some(TERRITORIES[t].to_owned());
                    created.push(store.create(customer)?);
                }
                let weights = grade_weights(&created);
                for _ in 0..visits {
                    if created.is_empty() {
                        break;
                    }
                    let customer = &created[weighted_pick(&mut rng, &weights)];
                    store.create(gen_visit(&mut rng, customer, &login.user_id))?;
                }
                create_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                let transport = HttpTransport::new(base, &login.token);
                let started = Instant::now();
                pushed.fetch_add(
                    push_all(&store, &transport, SEED_PUSH_BATCH)?,
                    Ordering::Relaxed,
                );
                push_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                Ok(())
            }));
        }
        for handle in handles {
            handle.join().map_err(|_| "a seeding thread panicked")??;
        }
        Ok(())
    })?;
    comment(&format!(
        "seed: {} changes pushed in {:.1} s (device writes {:.1} s, pushes {:.1} s, summed over {} threads)",
        pushed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        create_us.load(Ordering::Relaxed) as f64 / 1e6,
        push_us.load(Ordering::Relaxed) as f64 / 1e6,
        TERRITORIES.len()
    ));
    Ok(())
}

/// A fresh device of the manager pulls everything; wire bytes against snapshot sizes.
fn bootstrap(http: &ureq::Agent, server: &Server, dir: &Path, scale: f64) -> BenchResult<()> {
    let base = &server.base;
    let manager = login(http, base, "manager")?;
    let store = device_store(http, base, &manager, &dir.join("bootstrap.sqlite"))?;
    let inner = HttpTransport::new(base, &manager.token);
    let transport = Counting::new(&inner);
    let session = SyncSession::new(&store)?;
    let pull_route = "fieldcrm_http_request_seconds_sum{method=\"POST\",route=\"/v1/sync/pull\"}";
    let server_pull_before = server.metric(http, pull_route)?;

    let mut bodies = Vec::new();
    let mut apply = Duration::ZERO;
    let mut applied = 0u64;
    let started = Instant::now();
    loop {
        let request = session.build_pull()?;
        let response = transport.pull(request)?;
        let t = Instant::now();
        let outcome = session.apply_pull_response(&response, BASE_MS)?;
        apply += t.elapsed();
        applied += u64::from(outcome.import.applied);
        if !outcome.import.refused.is_empty() {
            return Err(format!(
                "bootstrap: {} documents refused",
                outcome.import.refused.len()
            )
            .into());
        }
        bodies.push(response);
        if !outcome.has_more {
            break;
        }
    }
    let elapsed = started.elapsed();
    let server_pull = server.metric(http, pull_route)? - server_pull_before;

    let customers = store.document_ids(Kind::Customer)?;
    let visits = store.document_ids(Kind::Visit)?;
    let expected = (scaled(CUSTOMERS, scale), scaled(VISITS, scale));
    if (customers.len(), visits.len()) != expected {
        return Err(format!(
            "bootstrap: {} customers and {} visits arrived, {expected:?} expected",
            customers.len(),
            visits.len()
        )
        .into());
    }
    emit("bootstrap_60k_docs_s", elapsed.as_secs_f64(), "s");
    let waited = Duration::from_micros(transport.waited_us.load(Ordering::Relaxed));
    comment(&format!(
        "bootstrap: {applied} documents ({} customers, {} visits) in {} pages of {}, {:.0} docs/s",
        customers.len(),
        visits.len(),
        bodies.len(),
        session.page_size,
        applied as f64 / elapsed.as_secs_f64().max(1e-9)
    ));
    let mut decode = Duration::ZERO;
    // (postcard payload, snapshot bytes, records) before deflate.
    let mut sizes = (0u64, 0u64, 0u64);
    for body in &bodies {
        let t = Instant::now();
        let page: PullResponse = protocol::decode_pull_response(body, MAX_RESPONSE_BYTES)?;
        decode += t.elapsed();
        sizes.0 += postcard::to_stdvec(&page).map_or(0, |v| v.len() as u64);
        for doc in &page.docs {
            if let PulledPayload::Snapshot { bytes, record } = &doc.payload {
                sizes.1 += bytes.len() as u64;
                sizes.2 += record.bytes.len() as u64;
            }
        }
    }
    comment(&format!(
        "bootstrap time: waiting for responses {:.2} s (server handler {server_pull:.2} s), \
         device decode {:.2} s + import {:.2} s",
        waited.as_secs_f64(),
        decode.as_secs_f64(),
        (apply.saturating_sub(decode)).as_secs_f64()
    ));

    let mut snapshot_bytes = 0u64;
    for id in customers.iter().chain(&visits) {
        let bytes = store
            .document_bytes(id)?
            .ok_or_else(|| format!("document {id} vanished"))?;
        snapshot_bytes += bytes.len() as u64;
    }
    let wire = transport.wire_bytes();
    emit(
        "bootstrap_wire_bytes_ratio",
        wire as f64 / snapshot_bytes.max(1) as f64,
        "ratio",
    );
    comment(&format!(
        "bootstrap wire: {:.1} MB sent + {:.1} MB received, snapshots {:.1} MB ({:.0} B/doc)",
        mb(transport.sent.load(Ordering::Relaxed)),
        mb(transport.received.load(Ordering::Relaxed)),
        mb(snapshot_bytes),
        snapshot_bytes as f64 / applied.max(1) as f64
    ));
    comment(&format!(
        "bootstrap payloads before deflate: {:.1} MB ({:.1} MB of snapshot bytes, {:.1} MB of \
         records read by the server, the rest framing and ids)",
        mb(sizes.0),
        mb(sizes.1),
        mb(sizes.2)
    ));

    let started = Instant::now();
    let mut verified = 0u64;
    loop {
        let report = store.verify_documents(2_000)?;
        if let Some(failed) = report.failed.first() {
            return Err(format!(
                "verification failed for {}: {}",
                failed.doc_id, failed.error
            )
            .into());
        }
        verified += u64::from(report.verified);
        if report.remaining == 0 {
            break;
        }
    }
    comment(&format!(
        "bootstrap: background verification of {verified} documents afterwards {:.2} s (not in the figure)",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// A rep's device pushes 100 changes (50 customer edits, 50 new visits) per round.
fn push_rounds(http: &ureq::Agent, base: &str, dir: &Path) -> BenchResult<()> {
    let rep = login(http, base, "rep-1")?;
    let store = device_store(http, base, &rep, &dir.join("push.sqlite"))?;
    let transport = HttpTransport::new(base, &rep.token);
    let started = Instant::now();
    let (pages, docs) = pull_all(&store, &transport)?;
    let customers = customers_in(&store)?;
    if customers.is_empty() {
        return Err("the rep sees no customers".into());
    }
    comment(&format!(
        "push: rep-1's device synced {docs} documents ({} customers) in {pages} pages, {:.2} s",
        customers.len(),
        started.elapsed().as_secs_f64()
    ));
    let mut rng = SmallRng::seed_from_u64(SEED ^ 0x0100);
    let session = SyncSession::new(&store)?;
    let (mut rounds, mut transport_only) = (Vec::new(), Vec::new());
    for round in 0..PUSH_ROUNDS {
        for i in 0..PUSH_EDITS {
            let id = &customers[(round * PUSH_EDITS + i) % customers.len()]
                .meta
                .id;
            let mut customer: Customer = store.get(id)?.ok_or("customer vanished")?;
            edit_customer(&mut rng, &mut customer, round * PUSH_EDITS + i);
            store.update(customer)?;
        }
        for _ in 0..PUSH_VISITS {
            let customer = pick(&mut rng, &customers);
            store.create(gen_visit(&mut rng, customer, &rep.user_id))?;
        }
        let started = Instant::now();
        let push = session.build_push()?.ok_or("nothing to push")?;
        let count = push.hashes.len();
        let t = Instant::now();
        let response = transport.push(push.body)?;
        transport_only.push(t.elapsed());
        let outcome = session.apply_push_response(&response, BASE_MS)?;
        rounds.push(started.elapsed());
        if (count, outcome.acknowledged) != (PUSH_EDITS + PUSH_VISITS, count) {
            return Err(format!(
                "push round {round}: {count} changes sent, {} acknowledged, {} rejected",
                outcome.acknowledged, outcome.rejected
            )
            .into());
        }
    }
    let p90 = quantile(&mut rounds.clone(), 0.9);
    emit("push_100_changes_median_ms", median(&mut rounds), "ms");
    comment(&format!(
        "push_100: {PUSH_ROUNDS} rounds, p90 {p90:.1} ms; HTTP round trip alone median {:.1} ms \
         (the rest is building the push and applying the acknowledgement on the device)",
        median(&mut transport_only)
    ));
    Ok(())
}

/// Not a figure: a fresh device of a load rep pulls in small pages after the load (documents
/// created early and edited late), and counts the documents that arrived complete.
fn paged_check(http: &ureq::Agent, base: &str, dir: &Path, customers: usize) -> BenchResult<()> {
    let rep = login(http, base, "load-rep-00")?;
    let store = device_store(http, base, &rep, &dir.join("paged.sqlite"))?;
    let transport = HttpTransport::new(base, &rep.token);
    let mut session = SyncSession::new(&store)?;
    session.page_size = 100;
    let mut pages = 0;
    loop {
        let response = transport.pull(session.build_pull()?)?;
        pages += 1;
        if !session.apply_pull_response(&response, BASE_MS)?.has_more {
            break;
        }
    }
    let mut complete = [0usize; 2];
    let mut total = [0usize; 2];
    for (i, kind) in [Kind::Customer, Kind::Visit].into_iter().enumerate() {
        for id in store.document_ids(kind)? {
            total[i] += 1;
            if store.get_any(&id)?.is_some() {
                complete[i] += 1;
            }
        }
    }
    comment(&format!(
        "check: a fresh device of load-rep-00 pulling in {pages} pages of 100 holds {} of {} customers \
         and {} of {} visits complete (readable); the territory has {customers} customers",
        complete[0], total[0], complete[1], total[1]
    ));
    Ok(())
}

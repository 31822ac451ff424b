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

// ---------------------------------------------------------------------------------------------
// Word lists (a subset of core/benches/store.rs)

const SURNAMES: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Yılmaz",
    "Kowalski",
    "Nguyen",
    "Demir",
];

const FIRST_NAMES: &[&str] = &[
    "Anna", "Lena", "Marie", "Sophie", "Laura", "Julia", "Paul", "Lukas", "Jonas", "Felix", "Leon",
    "Emre", "Piotr", "Minh", "Olga",
];

const BUSINESSES: &[&str] = &[
    "Bäckerei",
    "Apotheke",
    "Café",
    "Kiosk",
    "Autohaus",
    "Blumen",
    "Friseursalon",
    "Getränkehandel",
    "Hotel",
    "Restaurant",
    "Praxis Dr.",
    "Optik",
    "Buchhandlung",
    "Spätkauf",
    "Fleischerei",
    "Weinhandlung",
    "Fahrradladen",
    "Eisdiele",
    "Feinkost",
    "Zahnarztpraxis",
];

const NAME_SUFFIXES: &[&str] = &["", "", "", " GmbH", " KG", " & Söhne", " e.K.", " OHG"];

const STREETS: &[&str] = &[
    "Hauptstraße",
    "Friedrichstraße",
    "Karl-Marx-Straße",
    "Kantstraße",
    "Schönhauser Allee",
    "Sonnenallee",
    "Bahnhofstraße",
    "Gartenstraße",
    "Berliner Straße",
    "Frankfurter Allee",
    "Torstraße",
    "Schloßstraße",
];

const TOWNS: &[(&str, f64, f64)] = &[
    ("Potsdam", 52.391, 13.065),
    ("Teltow", 52.402, 13.270),
    ("Falkensee", 52.560, 13.092),
    ("Hennigsdorf", 52.637, 13.204),
    ("Bernau bei Berlin", 52.679, 13.587),
    ("Hoppegarten", 52.518, 13.673),
    ("Erkner", 52.423, 13.752),
    ("Schönefeld", 52.389, 13.505),
    ("Blankenfelde-Mahlow", 52.352, 13.410),
];

const DISTRICT_CENTRES: &[(f64, f64)] = &[
    (52.5200, 13.4050),
    (52.5050, 13.3000),
    (52.4800, 13.4350),
    (52.5400, 13.4200),
    (52.5350, 13.2000),
    (52.4450, 13.5750),
    (52.4570, 13.3200),
    (52.5450, 13.5600),
    (52.5900, 13.3300),
    (52.5000, 13.4600),
];

const LAT_MIN: f64 = 52.35;
const LAT_MAX: f64 = 52.68;
const LON_MIN: f64 = 13.08;
const LON_MAX: f64 = 13.76;
const BERLIN_CENTRE: (f64, f64) = (52.5200, 13.4050);

const SEGMENTS: &[&str] = &[
    "retail",
    "gastro",
    "health",
    "automotive",
    "services",
    "wholesale",
];

/// The seeded team's territories; one rep each (`rep-<index>`).
const TERRITORIES: &[&str] = &[
    "berlin-mitte",
    "berlin-nord",
    "berlin-ost",
    "berlin-sued",
    "berlin-west",
    "brandenburg-nord",
    "brandenburg-sued",
];

const OUTCOMES: &[&str] = &[
    "Bestellung aufgenommen",
    "Kein Bedarf",
    "Nachfassen in zwei Wochen",
    "Angebot übergeben",
    "Neue Produkte vorgestellt",
];

const NOTES: &[&str] = &[
    "Inhaber möchte Lieferung nur vormittags.",
    "Lager fast leer, nächste Woche erneut anfragen.",
    "Interesse an der neuen Kaffeemaschine, Preisliste geschickt.",
    "Parken schwierig, besser mit dem Rad.",
    "Zufrieden mit der letzten Lieferung.",
];

const PRODUCTS: &[(&str, i64)] = &[
    ("Kaffee Crema 1 kg", 1_890),
    ("Espresso Bohnen 1 kg", 2_150),
    ("Filtertüten 500 St.", 590),
    ("Milchschäumer", 4_990),
    ("Becher to go 1000 St.", 6_900),
];

// ---------------------------------------------------------------------------------------------
// Helpers

fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn gaussian(rng: &mut SmallRng, sd: f64) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn offset(lat: f64, lon: f64, north_m: f64, east_m: f64) -> (f64, f64) {
    let dlat = north_m / 111_320.0;
    let dlon = east_m / (111_320.0 * lat.to_radians().cos());
    (lat + dlat, lon + dlon)
}

fn random_point(rng: &mut SmallRng) -> (f64, f64) {
    (
        rng.random_range(LAT_MIN..LAT_MAX),
        rng.random_range(LON_MIN..LON_MAX),
    )
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn day_time(rng: &mut SmallRng, days_ago: std::ops::Range<i64>) -> Millis {
    let days_ago = rng.random_range(days_ago);
    let day_start = (BASE_MS / DAY_MS - days_ago) * DAY_MS;
    day_start + 7 * HOUR_MS + 30 * MINUTE_MS + rng.random_range(0..(10 * HOUR_MS + 30 * MINUTE_MS))
}

// ---------------------------------------------------------------------------------------------
// Dataset

fn customer_location(rng: &mut SmallRng) -> (f64, f64) {
    if rng.random_bool(0.65) {
        let &(lat, lon) = pick(rng, DISTRICT_CENTRES);
        let (lat, lon) = offset(lat, lon, gaussian(rng, 1_800.0), gaussian(rng, 2_200.0));
        (lat.clamp(LAT_MIN, LAT_MAX), lon.clamp(LON_MIN, LON_MAX))
    } else {
        random_point(rng)
    }
}

/// City, region and territory index of a location.
fn place_of(lat: f64, lon: f64) -> (&'static str, &'static str, usize) {
    let (clat, clon) = BERLIN_CENTRE;
    let from_centre = distance_m(clat, clon, lat, lon);
    if from_centre < 16_000.0 {
        let territory = if from_centre < 4_000.0 {
            0
        } else {
            let north = (lat - clat) * 111_320.0;
            let east = (lon - clon) * 111_320.0 * clat.to_radians().cos();
            if north.abs() >= east.abs() {
                if north > 0.0 { 1 } else { 3 }
            } else if east > 0.0 {
                2
            } else {
                4
            }
        };
        return ("Berlin", "Berlin", territory);
    }
    let mut best = ("Berlin", f64::MAX);
    for &(town, tlat, tlon) in TOWNS {
        let d = distance_m(tlat, tlon, lat, lon);
        if d < best.1 {
            best = (town, d);
        }
    }
    (best.0, "Brandenburg", if lat > clat { 5 } else { 6 })
}

fn phone(rng: &mut SmallRng, town: &str) -> String {
    if rng.random_bool(0.25) {
        format!(
            "+49 1{} {}",
            pick(rng, &["51", "52", "60", "70", "76"]),
            rng.random_range(1_000_000..99_999_999)
        )
    } else {
        let area = if town == "Berlin" { "30" } else { "33" };
        format!("+49 {area} {}", rng.random_range(1_000_000..9_999_999))
    }
}

fn slug(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A customer somewhere in greater Berlin and the index of its territory; owner and territory
/// are filled in by the caller.
fn gen_customer(rng: &mut SmallRng) -> (Customer, usize) {
    let person = rng.random_bool(0.15);
    let name = if person {
        format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, SURNAMES))
    } else {
        format!(
            "{} {}{}",
            pick(rng, BUSINESSES),
            pick(rng, SURNAMES),
            pick(rng, NAME_SUFFIXES)
        )
    };
    let mut customer = Customer::new(name.clone());
    customer.customer_kind = if person {
        CustomerKind::Person
    } else {
        CustomerKind::Company
    };
    let (lat, lon) = customer_location(rng);
    let (city, region, territory) = place_of(lat, lon);
    customer.grade = match rng.random_range(0..100) {
        0..15 => Some(Grade::A),
        15..50 => Some(Grade::B),
        50..90 => Some(Grade::C),
        _ => None,
    };
    customer.visit_cadence_days = match customer.grade {
        Some(Grade::A) => Some(*pick(rng, &[7, 14])),
        Some(Grade::B) => Some(*pick(rng, &[14, 28])),
        Some(Grade::C) => Some(*pick(rng, &[28, 56, 90])),
        Some(Grade::Unknown(_)) | None => None,
    };
    customer.segments = (0..rng.random_range(1..=2))
        .map(|_| (*pick(rng, SEGMENTS)).to_owned())
        .collect();
    let phones = if rng.random_bool(0.3) { 2 } else { 1 };
    customer.phones = (0..phones).map(|_| phone(rng, city)).collect();
    if !person && rng.random_bool(0.6) {
        customer.emails = BTreeSet::from([format!("info@{}.de", slug(&name))]);
    }
    let postal_code = if region == "Berlin" {
        rng.random_range(10_115..14_200)
    } else {
        rng.random_range(14_400..16_400)
    };
    customer.address = Address {
        line: Some(format!(
            "{} {}",
            pick(rng, STREETS),
            rng.random_range(1..180)
        )),
        city: Some(city.to_owned()),
        region: Some(region.to_owned()),
        postal_code: Some(postal_code.to_string()),
        country: Some("DE".to_owned()),
    };
    if rng.random_bool(0.98) {
        customer.location = Some(GeoLocation {
            lat,
            lon,
            source: if rng.random_bool(0.8) {
                LocationSource::Geocoded
            } else {
                LocationSource::Gps
            },
            at: BASE_MS - rng.random_range(30..1_500) * DAY_MS,
        });
    }
    customer.visit_radius_m = *pick(rng, &[100, 150, 150, 150, 200, 300]);
    if rng.random_bool(0.3) {
        customer.notes = (*pick(rng, NOTES)).to_owned();
    }
    (customer, territory)
}

/// A visit by `rep` to `customer`: mostly done with a GPS check-in, some planned or cancelled.
fn gen_visit(rng: &mut SmallRng, customer: &Customer, rep: &str) -> Visit {
    let mut visit = Visit::new(&customer.meta.id, rep);
    let roll = rng.random_range(0..100);
    if roll < 8 {
        let start = day_time(rng, -14..2) / (30 * MINUTE_MS) * (30 * MINUTE_MS);
        visit.planned_start = Some(start);
        visit.planned_end = Some(start + *pick(rng, &[30, 45, 60]) * MINUTE_MS);
        return visit;
    }
    if roll < 12 {
        let start = day_time(rng, 2..180) / (30 * MINUTE_MS) * (30 * MINUTE_MS);
        visit.planned_start = Some(start);
        visit.planned_end = Some(start + 45 * MINUTE_MS);
        visit.status = if rng.random_bool(0.6) {
            VisitStatus::Cancelled
        } else {
            VisitStatus::Skipped
        };
        return visit;
    }
    let at = day_time(rng, 0..180);
    if rng.random_bool(0.6) {
        let start = at / (30 * MINUTE_MS) * (30 * MINUTE_MS);
        visit.planned_start = Some(start);
        visit.planned_end = Some(start + 45 * MINUTE_MS);
    }
    record_outcome(rng, &mut visit, customer, at);
    visit
}

/// A planned visit for later today or the coming days.
fn plan_visit(rng: &mut SmallRng, customer: &Customer, rep: &str) -> Visit {
    let mut visit = Visit::new(&customer.meta.id, rep);
    let start =
        (BASE_MS + rng.random_range(1..96) * 30 * MINUTE_MS) / (30 * MINUTE_MS) * (30 * MINUTE_MS);
    visit.planned_start = Some(start);
    visit.planned_end = Some(start + *pick(rng, &[30, 45, 60]) * MINUTE_MS);
    visit
}

/// Check-in and check-out with GPS stamps near the customer, verification, outcome, notes and
/// sometimes an order: what the rep's device writes when the visit happens.
fn record_outcome(rng: &mut SmallRng, visit: &mut Visit, customer: &Customer, at: Millis) {
    let (clat, clon) = match &customer.location {
        Some(l) => (l.lat, l.lon),
        None => random_point(rng),
    };
    let spread = if rng.random_bool(0.03) { 1_500.0 } else { 25.0 };
    let (lat, lon) = offset(clat, clon, gaussian(rng, spread), gaussian(rng, spread));
    let accuracy_m = rng.random_range(3.0..45.0);
    let check_in = GpsStamp {
        at,
        lat,
        lon,
        accuracy_m,
        fix_at: at - rng.random_range(0..20_000),
        mock: false,
    };
    visit.verification = Some(customer.verify_check_in(&check_in));
    visit.check_in = Some(check_in);
    if rng.random_bool(0.9) {
        let out = at + rng.random_range(10..75) * MINUTE_MS;
        let (olat, olon) = offset(lat, lon, gaussian(rng, 10.0), gaussian(rng, 10.0));
        visit.check_out = Some(GpsStamp {
            at: out,
            lat: olat,
            lon: olon,
            accuracy_m: rng.random_range(3.0..45.0),
            fix_at: out - rng.random_range(0..20_000),
            mock: false,
        });
    }
    visit.status = VisitStatus::Done;
    visit.outcome = Some((*pick(rng, OUTCOMES)).to_owned());
    if rng.random_bool(0.4) {
        visit.notes = (*pick(rng, NOTES)).to_owned();
    }
    if rng.random_bool(0.3) {
        visit.order_lines = (0..rng.random_range(1..=4))
            .map(|_| {
                let &(product, price) = pick(rng, PRODUCTS);
                VisitOrderLine {
                    product: product.to_owned(),
                    quantity: rng.random_range(1..25),
                    unit_price_minor: price,
                }
            })
            .collect();
    }
}

/// A small edit a rep makes on a customer's page.
/// Always changes something (an unchanged save writes no change).
fn edit_customer(rng: &mut SmallRng, customer: &mut Customer, serial: usize) {
    customer.notes = format!("Besuch {serial}: {}", pick(rng, NOTES));
    match serial % 3 {
        0 => customer.grade = Some(pick(rng, &[Grade::A, Grade::B, Grade::C]).clone()),
        1 => {
            customer.phones.insert(phone(rng, "Berlin"));
        }
        _ => customer.visit_cadence_days = Some(7 + (serial % 50) as u32),
    }
}

/// Picks customers weighted by grade: A customers are visited most.
fn weighted_pick(rng: &mut SmallRng, cumulative: &[u32]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0);
    if total == 0 {
        return 0;
    }
    let x = rng.random_range(0..total);
    cumulative.partition_point(|&c| c <= x)
}

fn grade_weights(customers: &[Customer]) -> Vec<u32> {
    let mut total = 0;
    customers
        .iter()
        .map(|c| {
            total += match c.grade {
                Some(Grade::A) => 6,
                Some(Grade::B) => 3,
                _ => 1,
            };
            total
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The server process

/// This package's server binary, built by cargo before the bench (release, as the bench).
const BIN: &str = env!("CARGO_BIN_EXE_fieldcrm-server");

/// The scrape token the benchmark's server accepts for `/metrics`.
const METRICS_TOKEN: &str = "load-bench-scrape";

/// The running server; killed when dropped (also on every error path).
struct Server {
    process: ServerProcess,
    base: String,
}

impl Server {
    fn start(binary: &Path, db: &Path) -> BenchResult<Server> {
        let process = ServerProcess::try_start(
            binary,
            db,
            Launch {
                env: &[("FIELDCRM_METRICS_TOKEN", METRICS_TOKEN)],
                ..Launch::default()
            },
        )?;
        Ok(Server {
            base: process.base.clone(),
            process,
        })
    }

    fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// A counter or histogram sum from `/metrics`: the sum of every sample whose line starts
    /// with `prefix` (labels included in the prefix if given).
    fn metric(&self, agent: &ureq::Agent, prefix: &str) -> BenchResult<f64> {
        let mut response = agent
            .get(format!("{}/metrics", self.base))
            .header("authorization", &format!("Bearer {METRICS_TOKEN}"))
            .call()?;
        let text = response.body_mut().read_to_string()?;
        let mut total = 0.0;
        for line in text.lines().filter(|l| l.starts_with(prefix)) {
            if let Some(value) = line.rsplit(' ').next() {
                total += value.parse::<f64>().unwrap_or(0.0);
            }
        }
        Ok(total)
    }
}

/// Runs an admin command of the server binary against the database.
fn admin(binary: &Path, db: &Path, args: &[&str]) -> BenchResult<()> {
    try_admin(binary, db, args)?;
    Ok(())
}

fn add_user(
    binary: &Path,
    db: &Path,
    username: &str,
    role: &str,
    team: &str,
    territory: Option<&str>,
) -> BenchResult<()> {
    admin(
        binary,
        db,
        &[
            "user",
            "add",
            "--username",
            username,
            "--password",
            PASSWORD,
            "--role",
            role,
            "--team",
            team,
        ],
    )?;
    if let Some(territory) = territory {
        admin(
            binary,
            db,
            &[
                "territory",
                "assign-user",
                "--username",
                username,
                "--territory",
                territory,
            ],
        )?;
    }
    Ok(())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// A signed-in user: token and user id.
#[derive(Clone)]
struct Login {
    token: String,
    user_id: String,
}

fn login(agent: &ureq::Agent, base: &str, username: &str) -> BenchResult<Login> {
    let mut response = agent
        .post(format!("{base}/v1/auth/login"))
        .send_json(json!({"username": username, "password": PASSWORD}))?;
    if response.status() != 200 {
        return Err(format!("login {username}: HTTP {}", response.status()).into());
    }
    let body: Value = response.body_mut().read_json()?;
    let token = body["token"].as_str().ok_or("login: no token")?.to_owned();
    let user_id = body["user"]["id"]
        .as_str()
        .ok_or("login: no user id")?
        .to_owned();
    Ok(Login { token, user_id })
}

/// A device store of `login`'s user with its actor registered at the server.
fn device_store(agent: &ureq::Agent, base: &str, login: &Login, path: &Path) -> BenchResult<Store> {
    let store = Store::open(path)?;
    store.set_user(&login.user_id)?;
    let response = agent
        .post(format!("{base}/v1/devices"))
        .header("authorization", &format!("Bearer {}", login.token))
        .send_json(json!({"actor_id": store.actor_id()}))?;
    if !matches!(response.status().as_u16(), 200 | 201) {
        return Err(format!("device registration: HTTP {}", response.status()).into());
    }
    Ok(store)
}

/// Counts the bodies that cross the wire (request and response) and the time spent waiting.
struct Counting<'a> {
    inner: &'a dyn Transport,
    sent: AtomicU64,
    received: AtomicU64,
    waited_us: AtomicU64,
}

impl<'a> Counting<'a> {
    fn new(inner: &'a dyn Transport) -> Self {
        Counting {
            inner,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            waited_us: AtomicU64::new(0),
        }
    }

    fn exchange(
        &self,
        body: Vec<u8>,
        send: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, TransportError>,
    ) -> Result<Vec<u8>, TransportError> {
        self.sent.fetch_add(body.len() as u64, Ordering::Relaxed);
        let started = Instant::now();
        let response = send(body);
        self.waited_us
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if let Ok(bytes) = &response {
            self.received
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        response
    }

    fn wire_bytes(&self) -> u64 {
        self.sent.load(Ordering::Relaxed) + self.received.load(Ordering::Relaxed)
    }
}

impl Transport for Counting<'_> {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.exchange(body, |b| self.inner.push(b))
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.exchange(body, |b| self.inner.pull(b))
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.exchange(body, |b| self.inner.upload_pings(b))
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.exchange(body, |b| self.inner.refetch(b))
    }
}

/// Pushes everything pending in `store`, `batch` changes per request. Returns the count.
fn push_all(store: &Store, transport: &dyn Transport, batch: u32) -> BenchResult<usize> {
    let mut session = SyncSession::new(store)?;
    session.push_batch = batch;
    let mut pushed = 0;
    while let Some(push) = session.build_push()? {
        let response = transport.push(push.body)?;
        let outcome = session.apply_push_response(&response, BASE_MS)?;
        if outcome.rejected > 0 {
            let first = store.rejected_changes()?;
            return Err(format!(
                "the server rejected {} changes, first: {:?}",
                outcome.rejected,
                first.first().map(|r| (&r.code, &r.reason))
            )
            .into());
        }
        if outcome.acknowledged == 0 {
            return Err("a push was neither acknowledged nor rejected".into());
        }
        pushed += outcome.acknowledged;
    }
    Ok(pushed)
}

/// Pulls every page into `store`; returns (pages, documents applied).
fn pull_all(store: &Store, transport: &dyn Transport) -> BenchResult<(u32, u32)> {
    let session = SyncSession::new(store)?;
    let (mut pages, mut docs) = (0, 0);
    loop {
        let response = transport.pull(session.build_pull()?)?;
        let outcome = session.apply_pull_response(&response, BASE_MS)?;
        pages += 1;
        docs += outcome.import.applied;
        if !outcome.has_more {
            return Ok((pages, docs));
        }
    }
}

fn customers_in(store: &Store) -> BenchResult<Vec<Customer>> {
    let mut customers = Vec::new();
    for id in store.document_ids(Kind::Customer)? {
        if let Some(customer) = store.get::<Customer>(&id)? {
            customers.push(customer);
        }
    }
    Ok(customers)
}

/// VmRSS and VmHWM of a process, in kB.
fn process_memory_kb(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) a process has used so far, in seconds; with the window's length it
/// shows whether the server had cores left over (waiting) or none (saturated).
fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux for every architecture this runs on.
    Some(ticks as f64 / 100.0)
}

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

/// What one simulated device did in the window.
#[derive(Default)]
struct DeviceStats {
    push_latencies: Vec<Duration>,
    pull_latencies: Vec<Duration>,
    acknowledged: u64,
    rejected: u64,
    pulled_docs: u64,
    errors: u64,
    exhausted: bool,
}

/// A simulated device: its pre-built push bodies, its cursor and its transport.
struct LoadDevice {
    transport: HttpTransport,
    bodies: Vec<Vec<u8>>,
    cursor: u64,
}

fn load(
    http: &ureq::Agent,
    server: &Server,
    dir: &Path,
    scale: f64,
    devices: usize,
    reps: usize,
) -> BenchResult<()> {
    let base = &server.base;
    let started = Instant::now();
    let logins: Vec<Login> = (0..reps)
        .map(|i| login(http, base, &format!("load-rep-{i:02}")))
        .collect::<BenchResult<_>>()?;
    let window = Duration::from_secs_f64((LOAD_SECONDS * scale).max(1.0));
    let period = Duration::from_secs_f64(LOAD_PERIOD_S);
    let batches = (window.as_secs_f64() / LOAD_PERIOD_S).ceil() as usize + 2;
    let customers_per_territory = scaled(LOAD_CUSTOMERS, scale).max(10);
    // Every rep's first device creates the territory's customers.
    let stores: Vec<Store> = (0..devices)
        .map(|d| {
            device_store(
                http,
                base,
                &logins[d % reps],
                &dir.join(format!("load-{d:03}.sqlite")),
            )
        })
        .collect::<BenchResult<_>>()?;
    let mut rng = SmallRng::seed_from_u64(SEED ^ 0x0200);
    for (r, login) in logins.iter().enumerate() {
        let store = &stores[r];
        for _ in 0..customers_per_territory {
            let (mut customer, _) = gen_customer(&mut rng);
            customer.owner = Some(login.user_id.clone());
            customer.territory = Some(format!("load-{r:02}"));
            store.create(customer)?;
        }
        push_all(store, &HttpTransport::new(base, &login.token), 500)?;
    }
    // Then every device pulls (all cursors end at the same head) and prepares its pushes.
    let next = AtomicUsize::new(0);
    let prepared: Mutex<Vec<Option<LoadDevice>>> = Mutex::new((0..devices).map(|_| None).collect());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| -> BenchResult<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| -> BenchResult<()> {
                    loop {
                        let d = next.fetch_add(1, Ordering::Relaxed);
                        if d >= devices {
                            return Ok(());
                        }
                        let login = &logins[d % reps];
                        let device = prepare_device(&stores[d], base, login, d as u64, batches)?;
                        lock(&prepared)[d] = Some(device);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().map_err(|_| "a preparing thread panicked")??;
        }
        Ok(())
    })?;
    drop(stores);
    let prepared: Vec<LoadDevice> = prepared
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .collect::<Option<_>>()
        .ok_or("a device was not prepared")?;
    let ready: usize = prepared.iter().map(|d| d.bodies.len()).sum();
    comment(&format!(
        "load: {devices} devices of {reps} reps, {customers_per_territory} customers per territory, \
         {ready} pushes of {LOAD_BATCH} changes ready ({} changes), prepared in {:.1} s",
        ready * LOAD_BATCH,
        started.elapsed().as_secs_f64()
    ));

    // The window.
    let merged_metric = "fieldcrm_changes_merged_total";
    let merged_before = server.metric(http, merged_metric)?;
    let route = |r: &str, what: &str| {
        format!("fieldcrm_http_request_seconds_{what}{{method=\"POST\",route=\"/v1/sync/{r}\"}}")
    };
    let server_before: Vec<f64> = ["push", "pull"]
        .iter()
        .flat_map(|r| [route(r, "sum"), route(r, "count")])
        .map(|m| server.metric(http, &m))
        .collect::<BenchResult<_>>()?;
    let baseline_rss = process_memory_kb(server.pid()).map_or(0, |(rss, _)| rss);
    let cpu_before = process_cpu_s(server.pid()).unwrap_or(0.0);
    let stop = AtomicBool::new(false);
    let peak_rss = AtomicU64::new(baseline_rss);
    let barrier = Barrier::new(devices + 1);
    let pid = server.pid();
    let (stats, elapsed) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                if let Some((rss, _)) = process_memory_kb(pid) {
                    peak_rss.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let handles: Vec<_> = prepared
            .into_iter()
            .enumerate()
            .map(|(d, device)| {
                let barrier = &barrier;
                // Devices are spread evenly over the period.
                let offset = period.mul_f64(d as f64 / devices as f64);
                scope.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    run_device(device, start + offset, period, start + window)
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let stats: Vec<DeviceStats> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect();
        let elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        (stats, elapsed)
    });
    let merged = server.metric(http, merged_metric)? - merged_before;
    let server_cpu = process_cpu_s(server.pid()).unwrap_or(0.0) - cpu_before;
    let server_after: Vec<f64> = ["push", "pull"]
        .iter()
        .flat_map(|r| [route(r, "sum"), route(r, "count")])
        .map(|m| server.metric(http, &m))
        .collect::<BenchResult<_>>()?;
    let delta: Vec<f64> = server_after
        .iter()
        .zip(&server_before)
        .map(|(a, b)| a - b)
        .collect();

    let mut pushes: Vec<Duration> = stats
        .iter()
        .flat_map(|s| s.push_latencies.iter().copied())
        .collect();
    let mut pulls: Vec<Duration> = stats
        .iter()
        .flat_map(|s| s.pull_latencies.iter().copied())
        .collect();
    let acknowledged: u64 = stats.iter().map(|s| s.acknowledged).sum();
    let rejected: u64 = stats.iter().map(|s| s.rejected).sum();
    let pulled: u64 = stats.iter().map(|s| s.pulled_docs).sum();
    let errors: u64 = stats.iter().map(|s| s.errors).sum();
    let exhausted = stats.iter().filter(|s| s.exhausted).count();

    emit(
        "merged_changes_per_s",
        merged / elapsed.as_secs_f64().max(1e-9),
        "changes/s",
    );
    let push_p50 = quantile(&mut pushes, 0.5);
    let pull_p50 = quantile(&mut pulls, 0.5);
    let pull_p99 = quantile(&mut pulls, 0.99);
    emit("push_p99_ms", quantile(&mut pushes, 0.99), "ms");
    emit(
        "server_rss_mb",
        peak_rss.load(Ordering::Relaxed) as f64 / 1024.0,
        "MB",
    );
    comment(&format!(
        "load: {:.1} s window ({:.1} s until the last device stopped), {} pushes ({acknowledged} \
         changes acknowledged, {rejected} rejected, {merged:.0} merged), {} pulls ({pulled} documents), \
         {errors} failed requests, {exhausted} devices ran out of prepared pushes",
        window.as_secs_f64(),
        elapsed.as_secs_f64(),
        pushes.len(),
        pulls.len()
    ));
    comment(&format!(
        "load latencies: push p50 {push_p50:.1} ms, max {:.1} ms; pull p50 {pull_p50:.1} ms, p99 {pull_p99:.1} ms",
        pushes.last().map_or(0.0, |d| ms(*d)),
    ));
    let per = |sum: f64, count: f64| if count > 0.0 { sum / count * 1e3 } else { 0.0 };
    comment(&format!(
        "load, server side: push handler mean {:.1} ms ({:.1} s busy over the window), pull handler \
         mean {:.1} ms ({:.1} s busy); server RSS before the window {:.1} MB; server CPU {:.2} \
         cores on average of {} ({:.0} us per merged change)",
        per(delta[0], delta[1]),
        delta[0],
        per(delta[2], delta[3]),
        delta[2],
        baseline_rss as f64 / 1024.0,
        server_cpu / elapsed.as_secs_f64().max(1e-9),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        server_cpu * 1e6 / merged.max(1.0),
    ));
    Ok(())
}

/// Syncs a load device to the head, then writes its batches (visits and customer edits) and
/// turns them into push bodies, acknowledged locally so each body is built once.
fn prepare_device(
    store: &Store,
    base: &str,
    login: &Login,
    serial: u64,
    batches: usize,
) -> BenchResult<LoadDevice> {
    let transport = HttpTransport::new(base, &login.token);
    pull_all(store, &transport)?;
    let customers = customers_in(store)?;
    if customers.is_empty() {
        return Err("a load device sees no customers".into());
    }
    let mut rng = SmallRng::seed_from_u64(SEED ^ (0x1000 + serial));
    // The visits the first batch completes were planned (and synced) before the window.
    let mut planned: Vec<(String, usize)> = Vec::new();
    let plan = |rng: &mut SmallRng, planned: &mut Vec<(String, usize)>| -> BenchResult<()> {
        for _ in 0..LOAD_PLANNED {
            let c = rng.random_range(0..customers.len());
            let visit = store.create(plan_visit(rng, &customers[c], &login.user_id))?;
            planned.push((visit.meta.id, c));
        }
        Ok(())
    };
    plan(&mut rng, &mut planned)?;
    push_all(store, &transport, 500)?;
    pull_all(store, &transport)?;
    let cursor = u64::try_from(store.sync_status()?.cursor).unwrap_or(0);
    for batch in 0..batches {
        let due: Vec<(String, usize)> =
            planned.drain(..LOAD_COMPLETED.min(planned.len())).collect();
        plan(&mut rng, &mut planned)?;
        for (id, c) in due {
            let mut visit: Visit = store.get(&id)?.ok_or("visit vanished")?;
            let at = visit.planned_start.unwrap_or(BASE_MS) + rng.random_range(-10..15) * MINUTE_MS;
            record_outcome(&mut rng, &mut visit, &customers[c], at);
            store.update(visit)?;
        }
        for i in 0..LOAD_CUSTOMER_EDITS {
            let id = &pick(&mut rng, &customers).meta.id;
            let mut edited: Customer = store.get(id)?.ok_or("customer vanished")?;
            edit_customer(&mut rng, &mut edited, batch * LOAD_BATCH + i);
            store.update(edited)?;
        }
    }
    let mut session = SyncSession::new(store)?;
    session.push_batch = LOAD_BATCH as u32;
    let mut bodies = Vec::with_capacity(batches);
    while let Some(push) = session.build_push()? {
        store.acknowledge(&push.hashes)?;
        bodies.push(push.body);
    }
    Ok(LoadDevice {
        transport,
        bodies,
        cursor,
    })
}

/// One push per `period` from `first` on (then a pull to the head), until the deadline or the
/// prepared pushes run out. Latency counts from the scheduled time. A failed push is retried
/// with the same body.
fn run_device(
    device: LoadDevice,
    first: Instant,
    period: Duration,
    deadline: Instant,
) -> DeviceStats {
    let LoadDevice {
        transport,
        bodies,
        mut cursor,
    } = device;
    let mut stats = DeviceStats::default();
    let mut next = 0;
    let mut scheduled = first;
    // A server that falls far behind still gets the window's pushes, but not forever.
    let hard_stop = deadline + deadline.saturating_duration_since(first) + period;
    while scheduled < deadline && Instant::now() < hard_stop {
        let Some(body) = bodies.get(next) else {
            stats.exhausted = true;
            break;
        };
        if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        match transport.push(body.clone()) {
            Ok(response) => {
                stats.push_latencies.push(scheduled.elapsed());
                match protocol::decode::<PushResponse>(&response, MAX_RESPONSE_BYTES) {
                    Ok(ack) => {
                        stats.acknowledged += ack.acknowledged.len() as u64;
                        stats.rejected += ack
                            .rejected
                            .iter()
                            .map(|r| r.hashes.len() as u64)
                            .sum::<u64>();
                        next += 1;
                        scheduled += period;
                    }
                    Err(_) => stats.errors += 1,
                }
            }
            Err(_) => {
                stats.errors += 1;
                continue;
            }
        }
        loop {
            let Ok(request) = protocol::encode(&PullRequest {
                cursor,
                limit: LOAD_PULL_LIMIT,
            }) else {
                stats.errors += 1;
                break;
            };
            let started = Instant::now();
            let page = transport
                .pull(request)
                .ok()
                .and_then(|body| protocol::decode_pull_response(&body, MAX_RESPONSE_BYTES).ok());
            stats.pull_latencies.push(started.elapsed());
            let Some(page) = page else {
                stats.errors += 1;
                break;
            };
            stats.pulled_docs += page.docs.len() as u64;
            cursor = page.next_cursor;
            if !page.has_more || Instant::now() >= deadline {
                break;
            }
        }
    }
    stats
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

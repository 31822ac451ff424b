//! End-to-end performance figures of the core store on a realistic device dataset.
//!
//! Run with `cargo bench -p fieldcrm-core --bench store --features encryption`.
//! `FIELDCRM_BENCH_SCALE` (default 1.0) multiplies the dataset sizes; CI runs it at 0.02 as a
//! smoke run.
//!
//! Every figure is printed as one line `bench: <name> = <value> <unit>`; everything else on
//! stdout starts with `#`. Nothing here asserts on timing.
//!
//! The dataset is generated from a fixed seed: customers spread over the Berlin metropolitan
//! area, visits over the past 180 days and opportunities, all with timestamps relative to a fixed
//! base time (record ids and `created_at` are assigned by the store, as on a device).
//!
//! With `--features encryption` the same figures are taken again on the store encrypted at
//! rest (SQLCipher), from a copy of the same dataset and with the same queries and writes, and
//! the overhead is printed as ratios (`store_encrypted_*`; `benches/store/encrypted.rs`).
//!
//! Memory is measured in a child process (this binary re-executed with
//! `FIELDCRM_BENCH_RSS_CHILD=<db path>`), which only opens the store and runs queries, so the
//! dataset this process generated does not count.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fieldcrm_bench_support::{comment, emit, median, ms, scale, scaled};
use fieldcrm_core::{
    Address, Customer, CustomerFilter, CustomerKind, GeoLocation, GpsStamp, Grade, IncomingDoc,
    IncomingPayload, LocationSource, Millis, Money, Opportunity, Query, Stage, Store, Visit,
    VisitOrderLine, VisitStatus, distance_m,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

#[cfg(feature = "encryption")]
#[path = "store/encrypted.rs"]
mod encrypted;

type BenchResult<T> = Result<T, Box<dyn Error>>;

const SEED: u64 = 0x000F_1E1D_C7A1;
const RSS_CHILD_ENV: &str = "FIELDCRM_BENCH_RSS_CHILD";
/// Set (to any value) for a memory child that opens the store with the benchmark's key.
const RSS_KEYED_ENV: &str = "FIELDCRM_BENCH_RSS_KEYED";

/// Fixed "now" of the dataset (2026-09-21T10:13:20Z); never the wall clock.
const BASE_MS: Millis = 1_790_000_000_000;
const MINUTE_MS: Millis = 60_000;
const HOUR_MS: Millis = 3_600_000;
const DAY_MS: Millis = 86_400_000;

const CUSTOMERS: usize = 10_000;
const VISITS: usize = 50_000;
const OPPORTUNITIES: usize = 5_000;

const SEARCHES: usize = 200;
const NEARBY_QUERIES: usize = 200;
const WRITES: usize = 300;
const IMPORT_BATCH: usize = 1_000;
const RSS_QUERIES: usize = 100;

const LAT_MIN: f64 = 52.35;
const LAT_MAX: f64 = 52.68;
const LON_MIN: f64 = 13.08;
const LON_MAX: f64 = 13.76;
const BERLIN_CENTRE: (f64, f64) = (52.5200, 13.4050);

// ---------------------------------------------------------------------------------------------
// Word lists

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
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Simon",
    "Ludwig",
    "Böhm",
    "Winter",
    "Kraus",
    "Martin",
    "Schumacher",
    "Krämer",
    "Vogt",
    "Stein",
    "Jäger",
    "Otto",
    "Sommer",
    "Groß",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Yılmaz",
    "Kaya",
    "Nowak",
    "Kowalski",
    "Nguyen",
    "Demir",
];

const FIRST_NAMES: &[&str] = &[
    "Anna",
    "Lena",
    "Marie",
    "Sophie",
    "Laura",
    "Julia",
    "Sarah",
    "Katharina",
    "Lisa",
    "Hannah",
    "Paul",
    "Lukas",
    "Jonas",
    "Felix",
    "Maximilian",
    "Leon",
    "Tim",
    "David",
    "Jan",
    "Tobias",
    "Emre",
    "Mehmet",
    "Agnieszka",
    "Piotr",
    "Minh",
    "Olga",
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
    "Elektro",
    "Malerbetrieb",
    "Spätkauf",
    "Fleischerei",
    "Weinhandlung",
    "Reisebüro",
    "Fahrradladen",
    "Tischlerei",
    "Sanitätshaus",
    "Eisdiele",
    "Feinkost",
    "Zahnarztpraxis",
    "Pension",
    "Kita",
    "Schreibwaren",
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
    "Lindenstraße",
    "Berliner Straße",
    "Potsdamer Straße",
    "Frankfurter Allee",
    "Torstraße",
    "Wilmersdorfer Straße",
    "Schloßstraße",
    "Dorfstraße",
];

/// Towns around Berlin; customers outside Berlin get the nearest one as their city.
const TOWNS: &[(&str, f64, f64)] = &[
    ("Potsdam", 52.391, 13.065),
    ("Teltow", 52.402, 13.270),
    ("Kleinmachnow", 52.407, 13.220),
    ("Stahnsdorf", 52.383, 13.215),
    ("Falkensee", 52.560, 13.092),
    ("Dallgow-Döberitz", 52.535, 13.050),
    ("Hennigsdorf", 52.637, 13.204),
    ("Glienicke/Nordbahn", 52.635, 13.320),
    ("Mühlenbecker Land", 52.665, 13.380),
    ("Panketal", 52.660, 13.530),
    ("Bernau bei Berlin", 52.679, 13.587),
    ("Ahrensfelde", 52.577, 13.585),
    ("Hoppegarten", 52.518, 13.673),
    ("Neuenhagen", 52.529, 13.689),
    ("Schöneiche", 52.473, 13.690),
    ("Erkner", 52.423, 13.752),
    ("Schönefeld", 52.389, 13.505),
    ("Blankenfelde-Mahlow", 52.352, 13.410),
    ("Eichwalde", 52.371, 13.613),
    ("Zeuthen", 52.349, 13.622),
];

/// Berlin districts used as clustering centres for customer locations.
const DISTRICT_CENTRES: &[(f64, f64)] = &[
    (52.5200, 13.4050), // Mitte
    (52.5050, 13.3000), // Charlottenburg
    (52.4800, 13.4350), // Neukölln
    (52.5400, 13.4200), // Prenzlauer Berg
    (52.5350, 13.2000), // Spandau
    (52.4450, 13.5750), // Köpenick
    (52.4570, 13.3200), // Steglitz
    (52.5450, 13.5600), // Marzahn
    (52.5900, 13.3300), // Reinickendorf
    (52.5000, 13.4600), // Friedrichshain
];

const SEGMENTS: &[&str] = &[
    "retail",
    "gastro",
    "health",
    "automotive",
    "services",
    "wholesale",
    "hospitality",
    "craft",
];

const TERRITORIES: &[&str] = &[
    "berlin-mitte",
    "berlin-nord",
    "berlin-ost",
    "berlin-sued",
    "berlin-west",
    "brandenburg-nord",
    "brandenburg-sued",
];

/// Reps per territory; owners are `rep-<territory index><n>`.
const REPS_PER_TERRITORY: usize = 3;

const OUTCOMES: &[&str] = &[
    "Bestellung aufgenommen",
    "Kein Bedarf",
    "Nachfassen in zwei Wochen",
    "Ansprechpartner nicht angetroffen",
    "Angebot übergeben",
    "Reklamation besprochen",
    "Neue Produkte vorgestellt",
];

const NOTES: &[&str] = &[
    "Inhaber möchte Lieferung nur vormittags.",
    "Lager fast leer, nächste Woche erneut anfragen.",
    "Interesse an der neuen Kaffeemaschine, Preisliste geschickt.",
    "Parken schwierig, besser mit dem Rad.",
    "Filialleiterin wechselt im nächsten Monat.",
    "Zufrieden mit der letzten Lieferung.",
];

const NEXT_STEPS: &[&str] = &[
    "Angebot schicken",
    "Muster vorbeibringen",
    "Termin mit Inhaber vereinbaren",
    "Rückruf",
];

const PRODUCTS: &[(&str, i64)] = &[
    ("Kaffee Crema 1 kg", 1_890),
    ("Espresso Bohnen 1 kg", 2_150),
    ("Filtertüten 500 St.", 590),
    ("Milchschäumer", 4_990),
    ("Kassenrolle 50 St.", 2_490),
    ("Reinigungstabletten", 1_290),
    ("Becher to go 1000 St.", 6_900),
    ("Zuckersticks 1000 St.", 1_450),
];

const DEALS: &[&str] = &[
    "Kaffeemaschine Miete",
    "Jahresvertrag Kaffee",
    "Kassensystem",
    "Wartungsvertrag",
    "Erstausstattung",
    "Rahmenvertrag Verbrauchsmaterial",
];

const LOST_REASONS: &[&str] = &[
    "Preis",
    "Wettbewerber",
    "Kein Budget",
    "Betrieb geschlossen",
];

// ---------------------------------------------------------------------------------------------
// Helpers

fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A normally distributed value (Box-Muller).
fn gaussian(rng: &mut SmallRng, sd: f64) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Moves (lat, lon) by (north, east) metres.
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

/// Median, 90th percentile and maximum of `samples`, in milliseconds. The 90th percentile is
/// the sample at index `9n/10` of the sorted samples (not `quantile`'s nearest rank).
fn stats(samples: &mut [Duration]) -> (f64, f64, f64) {
    let median = median(samples);
    let n = samples.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let p90 = ms(samples[((n * 9) / 10).min(n - 1)]);
    (median, p90, ms(samples[n - 1]))
}

fn day_time(rng: &mut SmallRng, days_ago: std::ops::Range<i64>) -> Millis {
    // Working hours, 07:30 to 18:00, on a day `days_ago` before the base time.
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

/// City, region, territory index for a location.
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
    let territory = if lat > clat { 5 } else { 6 };
    (best.0, "Brandenburg", territory)
}

fn rep_name(territory: usize, n: usize) -> String {
    format!("rep-{territory}{n}")
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

fn gen_customer(rng: &mut SmallRng, serial: usize) -> Customer {
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
    let segment_count = rng.random_range(1..=2);
    customer.segments = (0..segment_count)
        .map(|_| (*pick(rng, SEGMENTS)).to_owned())
        .collect();
    let phone_count = if rng.random_bool(0.3) { 2 } else { 1 };
    customer.phones = (0..phone_count).map(|_| phone(rng, city)).collect();
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
    // A few customers were never geocoded.
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
    if rng.random_bool(0.95) {
        customer.owner = Some(rep_name(territory, rng.random_range(0..REPS_PER_TERRITORY)));
    }
    customer.territory = Some(TERRITORIES[territory].to_owned());
    if rng.random_bool(0.3) {
        customer.notes = (*pick(rng, NOTES)).to_owned();
    }
    if rng.random_bool(0.4) {
        customer.custom_fields = BTreeMap::from([(
            "customer_no".to_owned(),
            format!("K-{:06}", 100_000 + serial),
        )]);
    }
    customer
}

/// Picks customers with a weight by grade: A customers are visited most.
struct WeightedCustomers {
    cumulative: Vec<u32>,
}

impl WeightedCustomers {
    fn new(customers: &[Customer]) -> Self {
        let mut total = 0;
        let cumulative = customers
            .iter()
            .map(|c| {
                total += match c.grade {
                    Some(Grade::A) => 6,
                    Some(Grade::B) => 3,
                    _ => 1,
                };
                total
            })
            .collect();
        WeightedCustomers { cumulative }
    }

    fn pick(&self, rng: &mut SmallRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        if total == 0 {
            return 0;
        }
        let x = rng.random_range(0..total);
        self.cumulative.partition_point(|&c| c <= x)
    }
}

fn all_reps() -> Vec<String> {
    (0..TERRITORIES.len())
        .flat_map(|t| (0..REPS_PER_TERRITORY).map(move |n| rep_name(t, n)))
        .collect()
}

fn gen_visit(rng: &mut SmallRng, customer: &Customer, reps: &[String]) -> Visit {
    let rep = match &customer.owner {
        Some(owner) if rng.random_bool(0.9) => owner.clone(),
        _ => pick(rng, reps).clone(),
    };
    let mut visit = Visit::new(&customer.meta.id, rep);
    let roll = rng.random_range(0..100);
    if roll < 8 {
        // Planned: from yesterday to two weeks ahead.
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
    // Done, with a GPS check-in and usually a check-out.
    let at = day_time(rng, 0..180);
    if rng.random_bool(0.6) {
        let start = at / (30 * MINUTE_MS) * (30 * MINUTE_MS);
        visit.planned_start = Some(start);
        visit.planned_end = Some(start + 45 * MINUTE_MS);
    }
    let (clat, clon) = match &customer.location {
        Some(l) => (l.lat, l.lon),
        None => random_point(rng),
    };
    let far = rng.random_bool(0.03);
    let spread = if far { 1_500.0 } else { 25.0 };
    let (lat, lon) = offset(clat, clon, gaussian(rng, spread), gaussian(rng, spread));
    let accuracy_m = rng.random_range(3.0..45.0);
    let check_in = GpsStamp {
        at,
        lat,
        lon,
        accuracy_m,
        fix_at: at - rng.random_range(0..20_000),
        mock: rng.random_bool(0.002),
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
        visit.next_step = Some((*pick(rng, NEXT_STEPS)).to_owned());
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
    visit
}

fn gen_opportunity(rng: &mut SmallRng, customer: &Customer) -> Opportunity {
    let euros = (500.0 * 500f64.powf(rng.random::<f64>())).round() as i64;
    let currency = match rng.random_range(0..100) {
        0..97 => "EUR",
        97..99 => "CHF",
        _ => "PLN",
    };
    let title = format!("{} {}", pick(rng, DEALS), customer.name);
    let mut opportunity = Opportunity::new(
        &customer.meta.id,
        title.chars().take(200).collect::<String>(),
        Money {
            minor: euros * 100,
            currency: currency.to_owned(),
        },
    );
    let (stage, probability) = match rng.random_range(0..100) {
        0..25 => (Stage::Lead, 10),
        25..45 => (Stage::Qualified, 25),
        45..65 => (Stage::Proposal, 50),
        65..75 => (Stage::Negotiation, 75),
        75..90 => (Stage::Won, 100),
        _ => (Stage::Lost, 0),
    };
    opportunity.stage = stage.clone();
    opportunity.probability = Some(probability);
    opportunity.expected_close_at = Some(BASE_MS + rng.random_range(-90..180) * DAY_MS);
    opportunity.owner = customer.owner.clone();
    if stage == Stage::Lost {
        opportunity.lost_reason = Some((*pick(rng, LOST_REASONS)).to_owned());
    }
    opportunity
}

struct Dataset {
    customers: Vec<Customer>,
    visit_ids: Vec<String>,
    opportunities: usize,
}

fn populate(store: &Store, rng: &mut SmallRng, scale: f64) -> BenchResult<Dataset> {
    let reps = all_reps();
    let started = Instant::now();
    let mut customers = Vec::with_capacity(scaled(CUSTOMERS, scale));
    for serial in 0..scaled(CUSTOMERS, scale) {
        let customer = gen_customer(rng, serial);
        customers.push(store.create(customer)?);
    }
    comment(&format!(
        "setup: {} customers created in {:.1} s",
        customers.len(),
        started.elapsed().as_secs_f64()
    ));

    let started = Instant::now();
    let weights = WeightedCustomers::new(&customers);
    let mut visit_ids = Vec::with_capacity(scaled(VISITS, scale));
    for _ in 0..scaled(VISITS, scale) {
        let customer = &customers[weights.pick(rng)];
        let visit = gen_visit(rng, customer, &reps);
        visit_ids.push(store.create(visit)?.meta.id);
    }
    comment(&format!(
        "setup: {} visits created in {:.1} s",
        visit_ids.len(),
        started.elapsed().as_secs_f64()
    ));

    let started = Instant::now();
    let opportunities = scaled(OPPORTUNITIES, scale);
    for _ in 0..opportunities {
        let customer = &customers[weights.pick(rng)];
        store.create(gen_opportunity(rng, customer))?;
    }
    comment(&format!(
        "setup: {opportunities} opportunities created in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(Dataset {
        customers,
        visit_ids,
        opportunities,
    })
}

/// A 2 to 4 letter prefix of a word of the name (70 %) or of the city (30 %).
fn search_prefix(rng: &mut SmallRng, name: &str, city: Option<&str>) -> String {
    let source = match city {
        Some(city) if rng.random_bool(0.3) => city,
        _ => name,
    };
    let words: Vec<&str> = source
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .collect();
    let word = if words.is_empty() {
        source
    } else {
        *pick(rng, &words)
    };
    let len = rng.random_range(2..=4);
    word.chars().take(len).collect()
}

/// The `i`th of a mix of the queries an app runs on its main screens.
fn mixed_query(i: usize, rng: &mut SmallRng, reps: &[String]) -> Query {
    match i % 6 {
        0 => {
            let name = if rng.random_bool(0.5) {
                *pick(rng, SURNAMES)
            } else {
                *pick(rng, BUSINESSES)
            };
            let town = pick(rng, TOWNS).0;
            Query::SearchCustomers {
                text: search_prefix(rng, name, Some(town)),
                limit: 20,
            }
        }
        1 => {
            let (lat, lon) = random_point(rng);
            Query::NearbyCustomers {
                lat,
                lon,
                max_distance_m: None,
                limit: 20,
            }
        }
        2 => Query::Customers(CustomerFilter {
            owner: Some(pick(rng, reps).clone()),
            grade: rng.random_bool(0.5).then_some(Grade::A),
            limit: 50,
            ..CustomerFilter::default()
        }),
        3 => Query::OverdueCustomers {
            now: BASE_MS,
            owner: Some(pick(rng, reps).clone()),
            limit: 50,
        },
        4 => Query::VisitsForRep {
            rep: pick(rng, reps).clone(),
            from: BASE_MS - 7 * DAY_MS,
            to: BASE_MS + 7 * DAY_MS,
        },
        _ => Query::Pipeline {
            owner: rng.random_bool(0.5).then(|| pick(rng, reps).clone()),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Memory

/// (VmRSS, VmHWM) of this process, in kB.
fn proc_memory_kb() -> BenchResult<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |key: &str| -> BenchResult<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .ok_or_else(|| format!("{key} missing from /proc/self/status"))?;
        let value = line
            .trim_start_matches(key)
            .trim()
            .trim_end_matches("kB")
            .trim();
        Ok(value.parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Child mode: open the store, run the queries, report memory on stdout.
fn rss_child(path: &Path) -> BenchResult<()> {
    let store = match std::env::var_os(RSS_KEYED_ENV) {
        #[cfg(feature = "encryption")]
        Some(_) => Store::open_encrypted(path, &encrypted::key()?)?,
        _ => Store::open(path)?,
    };
    let reps = all_reps();
    let mut rng = SmallRng::seed_from_u64(SEED ^ 0x5555);
    for i in 0..RSS_QUERIES {
        let query = mixed_query(i, &mut rng, &reps);
        black_box(store.query(&query)?);
    }
    let (rss, hwm) = proc_memory_kb()?;
    println!("vmrss_kb={rss}");
    println!("vmhwm_kb={hwm}");
    drop(store);
    Ok(())
}

fn measure_rss(path: &Path, keyed: bool) -> BenchResult<(u64, u64)> {
    let mut child = Command::new(std::env::current_exe()?);
    child.env(RSS_CHILD_ENV, path);
    if keyed {
        child.env(RSS_KEYED_ENV, "1");
    }
    let output = child.output()?;
    if !output.status.success() {
        return Err(format!(
            "memory child failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| -> BenchResult<u64> {
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .ok_or_else(|| format!("memory child printed no {key}: {stdout:?}"))?;
        Ok(line.trim().parse()?)
    };
    Ok((value("vmrss_kb=")?, value("vmhwm_kb=")?))
}

// ---------------------------------------------------------------------------------------------
// Single writes, kept so that the encrypted store gets exactly the same ones

enum Edit {
    Notes(String),
    Phone(String),
    Cadence(u32),
}

// Read back only by the encrypted replay.
#[cfg_attr(not(feature = "encryption"), allow(dead_code))]
enum WriteOp {
    Create(Box<Customer>),
    Update { id: String, edit: Edit },
}

fn apply(edit: &Edit, customer: &mut Customer) {
    match edit {
        Edit::Notes(notes) => customer.notes = notes.clone(),
        Edit::Phone(phone) => {
            customer.phones.insert(phone.clone());
        }
        Edit::Cadence(days) => customer.visit_cadence_days = Some(*days),
    }
}

// ---------------------------------------------------------------------------------------------

fn file_mb(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

fn main() -> BenchResult<()> {
    if let Some(path) = std::env::var_os(RSS_CHILD_ENV) {
        return rss_child(Path::new(&path));
    }

    let scale = scale();

    let dir = tempfile::TempDir::new()?;
    let source_path = dir.path().join("source.sqlite");
    let mut rng = SmallRng::seed_from_u64(SEED);

    // ---- Setup (not measured): populate the store and take snapshots of its documents.
    let setup_started = Instant::now();
    let store = Store::open(&source_path)?;
    store.set_user("rep-00")?;
    let data = populate(&store, &mut rng, scale)?;
    comment(&format!(
        "dataset: scale {scale}, {} customers, {} visits, {} opportunities",
        data.customers.len(),
        data.visit_ids.len(),
        data.opportunities
    ));

    let started = Instant::now();
    let mut snapshots = Vec::with_capacity(data.customers.len() + data.visit_ids.len());
    let ids = data
        .customers
        .iter()
        .map(|c| &c.meta.id)
        .chain(data.visit_ids.iter());
    let mut snapshot_bytes = 0usize;
    for id in ids {
        let bytes = store
            .document_bytes(id)?
            .ok_or_else(|| format!("document {id} vanished"))?;
        snapshot_bytes += bytes.len();
        let record = store
            .get_any(id)?
            .ok_or_else(|| format!("record {id} vanished"))?;
        snapshots.push((id.clone(), bytes, record));
    }
    comment(&format!(
        "setup: {} snapshots ({:.1} MB) taken in {:.1} s",
        snapshots.len(),
        snapshot_bytes as f64 / (1024.0 * 1024.0),
        started.elapsed().as_secs_f64()
    ));
    drop(store);
    comment(&format!(
        "setup: total {:.1} s; source store {:.1} MB on disk",
        setup_started.elapsed().as_secs_f64(),
        file_mb(&source_path)
    ));
    // The same dataset for the encrypted measurements, before anything below writes to it.
    #[cfg(feature = "encryption")]
    let encrypted_path = encrypted::copy_of(&source_path)?;

    let mut prefixes = Vec::with_capacity(SEARCHES);
    for _ in 0..SEARCHES {
        let c = pick(&mut rng, &data.customers);
        prefixes.push(search_prefix(&mut rng, &c.name, c.address.city.as_deref()));
    }

    // ---- Open and first query (the file is in the OS page cache: a warm start).
    let started = Instant::now();
    let store = Store::open(&source_path)?;
    black_box(store.query(&Query::SearchCustomers {
        text: prefixes[0].clone(),
        limit: 20,
    })?);
    let open_ms = ms(started.elapsed());
    emit("open_to_first_query_ms", open_ms, "ms");

    // ---- Prefix search.
    let mut samples = Vec::with_capacity(SEARCHES);
    for text in &prefixes {
        let query = Query::SearchCustomers {
            text: text.clone(),
            limit: 20,
        };
        let started = Instant::now();
        black_box(store.query(&query)?);
        samples.push(started.elapsed());
    }
    let (search_ms, p90, max) = stats(&mut samples);
    emit("search_prefix_median_ms", search_ms, "ms");
    comment(&format!("search_prefix: p90 {p90:.3} ms, max {max:.3} ms"));

    // ---- Nearby.
    let mut samples = Vec::with_capacity(NEARBY_QUERIES);
    let mut nearby_points = Vec::with_capacity(NEARBY_QUERIES);
    for _ in 0..NEARBY_QUERIES {
        let (lat, lon) = random_point(&mut rng);
        nearby_points.push((lat, lon));
        let query = Query::NearbyCustomers {
            lat,
            lon,
            max_distance_m: None,
            limit: 20,
        };
        let started = Instant::now();
        black_box(store.query(&query)?);
        samples.push(started.elapsed());
    }
    let (nearby_ms, p90, max) = stats(&mut samples);
    emit("nearby_20_median_ms", nearby_ms, "ms");
    comment(&format!("nearby_20: p90 {p90:.3} ms, max {max:.3} ms"));

    // ---- Single writes: a new customer, then an edit of an existing one, alternately. The
    // edited record is read first (as the edit screen does); only the save is timed.
    let mut creates = Vec::with_capacity(WRITES / 2 + 1);
    let mut updates = Vec::with_capacity(WRITES / 2 + 1);
    let mut writes = Vec::with_capacity(WRITES);
    for i in 0..WRITES {
        if i % 2 == 0 {
            let customer = gen_customer(&mut rng, data.customers.len() + i);
            writes.push(WriteOp::Create(Box::new(customer.clone())));
            let started = Instant::now();
            black_box(store.create(customer)?);
            creates.push(started.elapsed());
        } else {
            let id = &pick(&mut rng, &data.customers).meta.id;
            let mut customer: Customer = store
                .get(id)?
                .ok_or_else(|| format!("customer {id} vanished"))?;
            let edit = match i % 3 {
                0 => Edit::Notes(format!("Besuchsnotiz {i}: {}", pick(&mut rng, NOTES))),
                1 => Edit::Phone(phone(&mut rng, "Berlin")),
                _ => Edit::Cadence(7 + (i % 50) as u32),
            };
            apply(&edit, &mut customer);
            writes.push(WriteOp::Update {
                id: id.clone(),
                edit,
            });
            let started = Instant::now();
            black_box(store.update(customer)?);
            updates.push(started.elapsed());
        }
    }
    let mut samples: Vec<Duration> = creates.iter().chain(updates.iter()).copied().collect();
    let (write_ms, p90, max) = stats(&mut samples);
    emit("write_one_record_median_ms", write_ms, "ms");
    comment(&format!(
        "write_one_record: p90 {p90:.3} ms, max {max:.3} ms"
    ));
    let (create_median, _, _) = stats(&mut creates);
    let (update_median, _, _) = stats(&mut updates);
    comment(&format!(
        "write_one_record: create median {create_median:.3} ms, update median {update_median:.3} ms"
    ));
    drop(store);

    // ---- Bootstrap import of snapshots into an empty store. The bootstrap path carries the
    // record the server read from each snapshot (IncomingPayload::SnapshotWithRecord); the
    // device checks the documents afterwards in the background (verify_documents). For
    // comparison, the same snapshots are also imported with the device loading each one.
    let total = snapshots.len();
    let with_records: Vec<IncomingDoc> = snapshots
        .iter()
        .map(|(id, bytes, record)| IncomingDoc {
            doc_id: id.clone(),
            payload: IncomingPayload::SnapshotWithRecord {
                bytes: bytes.clone(),
                record: Box::new(record.clone()),
            },
        })
        .collect();
    let plain: Vec<IncomingDoc> = snapshots
        .into_iter()
        .map(|(id, bytes, _)| IncomingDoc {
            doc_id: id,
            payload: IncomingPayload::Snapshot(bytes),
        })
        .collect();

    #[cfg(feature = "encryption")]
    let encrypted_import = with_records.clone();
    let target = Store::open(dir.path().join("bootstrap.sqlite"))?;
    let import_time = time_import(&target, with_records)?;
    emit("import_60k_snapshots_s", import_time.as_secs_f64(), "s");
    comment(&format!(
        "import: {total} documents, {:.0} docs/s",
        total as f64 / import_time.as_secs_f64().max(1e-9)
    ));
    let started = Instant::now();
    let mut verified = 0u64;
    loop {
        let report = target.verify_documents(2_000)?;
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
        "background verification of {verified} documents after the bootstrap: {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    drop(target);

    let target = Store::open(dir.path().join("loaded.sqlite"))?;
    let loaded_time = time_import(&target, plain)?;
    comment(&format!(
        "import_60k_snapshots_loaded_s = {:.3} s (each snapshot loaded and read on the device)",
        loaded_time.as_secs_f64()
    ));
    drop(target);

    // ---- Memory of a fresh process that opens the store and runs 100 queries.
    let (rss_kb, hwm_kb) = measure_rss(&source_path, false)?;
    emit(
        "rss_after_open_and_100_queries_mb",
        rss_kb as f64 / 1024.0,
        "MB",
    );
    comment(&format!(
        "rss child: peak (VmHWM) {:.1} MB",
        hwm_kb as f64 / 1024.0
    ));

    // ---- The same on the store encrypted at rest (SQLCipher), in the same process and build.
    #[cfg(feature = "encryption")]
    encrypted::run(
        &encrypted_path,
        dir.path(),
        encrypted::Replay {
            prefixes,
            nearby: nearby_points,
            writes,
            import: encrypted_import,
        },
        &encrypted::Baseline {
            open_ms,
            search_ms,
            nearby_ms,
            write_ms,
            import_s: import_time.as_secs_f64(),
            rss_mb: rss_kb as f64 / 1024.0,
        },
    )?;
    #[cfg(not(feature = "encryption"))]
    {
        let _ = (
            open_ms,
            search_ms,
            nearby_ms,
            write_ms,
            nearby_points,
            writes,
        );
        comment("encrypted store: not measured (run with --features encryption)");
    }
    Ok(())
}

/// Imports `docs` into `target` in batches and returns the time the imports took.
fn time_import(target: &Store, docs: Vec<IncomingDoc>) -> BenchResult<Duration> {
    let total = docs.len();
    let mut batches = Vec::with_capacity(total.div_ceil(IMPORT_BATCH));
    let mut rest = docs.into_iter();
    loop {
        let batch: Vec<IncomingDoc> = rest.by_ref().take(IMPORT_BATCH).collect();
        if batch.is_empty() {
            break;
        }
        batches.push(batch);
    }
    let mut applied = 0usize;
    let started = Instant::now();
    for batch in batches {
        let report = target.import(batch)?;
        if let Some(refused) = report.refused.first() {
            return Err(format!(
                "import refused {} documents, first {}: {}",
                report.refused.len(),
                refused.doc_id,
                refused.error
            )
            .into());
        }
        applied += report.applied as usize;
    }
    let elapsed = started.elapsed();
    if applied != total {
        return Err(format!("import applied {applied} of {total} documents").into());
    }
    Ok(elapsed)
}

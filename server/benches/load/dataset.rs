//! Word lists and the seeded dataset: customers around Berlin, their visits and edits.

use super::*;

// ---------------------------------------------------------------------------------------------
// Word lists (a subset of core/benches/store.rs)

pub(crate) const SURNAMES: &[&str] = &[
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

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Anna", "Lena", "Marie", "Sophie", "Laura", "Julia", "Paul", "Lukas", "Jonas", "Felix", "Leon",
    "Emre", "Piotr", "Minh", "Olga",
];

pub(crate) const BUSINESSES: &[&str] = &[
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

pub(crate) const NAME_SUFFIXES: &[&str] =
    &["", "", "", " GmbH", " KG", " & Söhne", " e.K.", " OHG"];

pub(crate) const STREETS: &[&str] = &[
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

pub(crate) const TOWNS: &[(&str, f64, f64)] = &[
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

pub(crate) const DISTRICT_CENTRES: &[(f64, f64)] = &[
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

pub(crate) const LAT_MIN: f64 = 52.35;
pub(crate) const LAT_MAX: f64 = 52.68;
pub(crate) const LON_MIN: f64 = 13.08;
pub(crate) const LON_MAX: f64 = 13.76;
pub(crate) const BERLIN_CENTRE: (f64, f64) = (52.5200, 13.4050);

pub(crate) const SEGMENTS: &[&str] = &[
    "retail",
    "gastro",
    "health",
    "automotive",
    "services",
    "wholesale",
];

/// The seeded team's territories; one rep each (`rep-<index>`).
pub(crate) const TERRITORIES: &[&str] = &[
    "berlin-mitte",
    "berlin-nord",
    "berlin-ost",
    "berlin-sued",
    "berlin-west",
    "brandenburg-nord",
    "brandenburg-sued",
];

pub(crate) const OUTCOMES: &[&str] = &[
    "Bestellung aufgenommen",
    "Kein Bedarf",
    "Nachfassen in zwei Wochen",
    "Angebot übergeben",
    "Neue Produkte vorgestellt",
];

pub(crate) const NOTES: &[&str] = &[
    "Inhaber möchte Lieferung nur vormittags.",
    "Lager fast leer, nächste Woche erneut anfragen.",
    "Interesse an der neuen Kaffeemaschine, Preisliste geschickt.",
    "Parken schwierig, besser mit dem Rad.",
    "Zufrieden mit der letzten Lieferung.",
];

pub(crate) const PRODUCTS: &[(&str, i64)] = &[
    ("Kaffee Crema 1 kg", 1_890),
    ("Espresso Bohnen 1 kg", 2_150),
    ("Filtertüten 500 St.", 590),
    ("Milchschäumer", 4_990),
    ("Becher to go 1000 St.", 6_900),
];

// ---------------------------------------------------------------------------------------------
// Helpers

pub(crate) fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

pub(crate) fn gaussian(rng: &mut SmallRng, sd: f64) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

pub(crate) fn offset(lat: f64, lon: f64, north_m: f64, east_m: f64) -> (f64, f64) {
    let dlat = north_m / 111_320.0;
    let dlon = east_m / (111_320.0 * lat.to_radians().cos());
    (lat + dlat, lon + dlon)
}

pub(crate) fn random_point(rng: &mut SmallRng) -> (f64, f64) {
    (
        rng.random_range(LAT_MIN..LAT_MAX),
        rng.random_range(LON_MIN..LON_MAX),
    )
}

pub(crate) fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn day_time(rng: &mut SmallRng, days_ago: std::ops::Range<i64>) -> Millis {
    let days_ago = rng.random_range(days_ago);
    let day_start = (BASE_MS / DAY_MS - days_ago) * DAY_MS;
    day_start + 7 * HOUR_MS + 30 * MINUTE_MS + rng.random_range(0..(10 * HOUR_MS + 30 * MINUTE_MS))
}

// ---------------------------------------------------------------------------------------------
// Dataset

pub(crate) fn customer_location(rng: &mut SmallRng) -> (f64, f64) {
    if rng.random_bool(0.65) {
        let &(lat, lon) = pick(rng, DISTRICT_CENTRES);
        let (lat, lon) = offset(lat, lon, gaussian(rng, 1_800.0), gaussian(rng, 2_200.0));
        (lat.clamp(LAT_MIN, LAT_MAX), lon.clamp(LON_MIN, LON_MAX))
    } else {
        random_point(rng)
    }
}

/// City, region and territory index of a location.
pub(crate) fn place_of(lat: f64, lon: f64) -> (&'static str, &'static str, usize) {
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

pub(crate) fn phone(rng: &mut SmallRng, town: &str) -> String {
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

pub(crate) fn slug(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A customer somewhere in greater Berlin and the index of its territory; owner and territory
/// are filled in by the caller.
pub(crate) fn gen_customer(rng: &mut SmallRng) -> (Customer, usize) {
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
pub(crate) fn gen_visit(rng: &mut SmallRng, customer: &Customer, rep: &str) -> Visit {
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
pub(crate) fn plan_visit(rng: &mut SmallRng, customer: &Customer, rep: &str) -> Visit {
    let mut visit = Visit::new(&customer.meta.id, rep);
    let start =
        (BASE_MS + rng.random_range(1..96) * 30 * MINUTE_MS) / (30 * MINUTE_MS) * (30 * MINUTE_MS);
    visit.planned_start = Some(start);
    visit.planned_end = Some(start + *pick(rng, &[30, 45, 60]) * MINUTE_MS);
    visit
}

/// Check-in and check-out with GPS stamps near the customer, verification, outcome, notes and
/// sometimes an order: what the rep's device writes when the visit happens.
pub(crate) fn record_outcome(
    rng: &mut SmallRng,
    visit: &mut Visit,
    customer: &Customer,
    at: Millis,
) {
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
pub(crate) fn edit_customer(rng: &mut SmallRng, customer: &mut Customer, serial: usize) {
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
pub(crate) fn weighted_pick(rng: &mut SmallRng, cumulative: &[u32]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0);
    if total == 0 {
        return 0;
    }
    let x = rng.random_range(0..total);
    cumulative.partition_point(|&c| c <= x)
}

pub(crate) fn grade_weights(customers: &[Customer]) -> Vec<u32> {
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

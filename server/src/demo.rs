//! `serve --demo`: a demo organisation in Hamburg, seeded into a new database on first start.
//!
//! Team "north" works two territories, Altona (reps anna and ben) and Eppendorf (rep clara),
//! managed by mia; admin sees everything. 300 customers with German business names, addresses
//! and coordinates inside their territory, a week of visits per rep (done visits with GPS
//! check-in and check-out near the customer; planned ones today and tomorrow) and opportunities
//! at every stage.
//!
//! The data goes through the real path: each rep's records are written by a temporary
//! `fieldcrm_core::Store` signed in as that rep, its actor id is registered as the rep's device,
//! and its changes are applied with [`Storage::push_changes`] under the rep's [`Principal`], so
//! the demo data passes the same validation and authorization as any device's push.
//!
//! Seeding is deterministic: a fixed seed drives every name, coordinate and time (times are
//! relative to "now", so the week of visits is always the past week). The generator is a small
//! SplitMix64 rather than the `rand` crate, which the server does not otherwise need.

use std::collections::BTreeSet;

use fieldcrm_core::protocol::PingUpload;
use fieldcrm_core::route::Fix;
use fieldcrm_core::{
    Address, Customer, DAY_MS, GeoLocation, GpsStamp, Grade, LocationSource, Millis, Money,
    Opportunity, OrderLine, Record, Stage, Store, StoreError, Visit, VisitStatus,
};

use crate::auth::{self, AuthError, PasswordParams};
use crate::model::Role;
use crate::scope::Principal;
use crate::storage::{NewUser, Storage, StorageError};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "fieldcrm-demo";
/// The demo team.
pub const DEMO_TEAM: &str = "north";
/// Fixed seed of the generator: the same demo data on every machine.
pub const DEMO_SEED: u64 = 0x4643_524D_2026_0001;
/// Customers per territory.
const CUSTOMERS: [(&str, usize); 2] = [("altona", 180), ("eppendorf", 120)];

/// A demo user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoUser {
    pub username: &'static str,
    pub role: Role,
    pub territory: Option<&'static str>,
}

/// Every demo user. The admin comes last: it is created when everything else is in place, so
/// its presence marks a complete seeding.
pub const DEMO_USERS: [DemoUser; 5] = [
    DemoUser {
        username: "anna",
        role: Role::Rep,
        territory: Some("altona"),
    },
    DemoUser {
        username: "ben",
        role: Role::Rep,
        territory: Some("altona"),
    },
    DemoUser {
        username: "clara",
        role: Role::Rep,
        territory: Some("eppendorf"),
    },
    DemoUser {
        username: "mia",
        role: Role::Manager,
        territory: None,
    },
    DemoUser {
        username: "admin",
        role: Role::Admin,
        territory: None,
    },
];

const REPS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("demo store: {0}")]
    Store(#[from] StoreError),
    #[error("the server refused demo record {doc_id} ({code}): {reason}")]
    Rejected {
        doc_id: String,
        code: String,
        reason: String,
    },
    #[error("the server did not acknowledge {0} demo changes")]
    Unacknowledged(usize),
    #[error(
        "the database holds an incomplete demo organisation (an earlier seeding stopped); \
         delete the database file and start again"
    )]
    Incomplete,
}

/// What [`ensure_demo`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoOutcome {
    /// A new database: the demo organisation was created.
    Seeded(DemoSummary),
    /// The demo organisation was there from an earlier start.
    AlreadySeeded,
    /// The database holds other data; nothing was added.
    NotEmpty,
}

/// Counts of what seeding wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoSummary {
    pub customers: usize,
    pub visits: usize,
    pub opportunities: usize,
    /// Location pings stored.
    pub pings: usize,
    /// Automerge changes acknowledged by the push path.
    pub changes: usize,
}

/// Seeds the demo organisation into a new database; does nothing on later starts.
///
/// A database counts as new when it has no demo users, no team named [`DEMO_TEAM`] and no
/// records (the `Storage` trait has no "count users"; these cover every way a database gets
/// data: the admin commands need a team before any rep or manager, and devices push records).
pub fn ensure_demo(
    storage: &dyn Storage,
    params: &PasswordParams,
    now: Millis,
) -> Result<DemoOutcome, DemoError> {
    let mut present = 0;
    for user in DEMO_USERS {
        if storage.user_by_username(user.username)?.is_some() {
            present += 1;
        }
    }
    if present == DEMO_USERS.len() {
        return Ok(DemoOutcome::AlreadySeeded);
    }
    let mut documents = 0;
    for kind in fieldcrm_core::Kind::ALL {
        documents += storage.document_count(kind)?;
    }
    if present > 0 || documents > 0 || storage.team_by_name(DEMO_TEAM)?.is_some() {
        // Part of the demo but not its last user: a seeding was cut short.
        let admin = DEMO_USERS[DEMO_USERS.len() - 1].username;
        if present > 0 && storage.user_by_username(admin)?.is_none() {
            return Err(DemoError::Incomplete);
        }
        return Ok(DemoOutcome::NotEmpty);
    }
    seed(storage, params, now).map(DemoOutcome::Seeded)
}

/// How to log in, printed after the "listening" line.
pub fn login_hint(base_url: &str) -> String {
    let mut text = format!(
        "Demo organisation: team {DEMO_TEAM} in Hamburg. Every user's password is {DEMO_PASSWORD:?}.\n"
    );
    for user in DEMO_USERS {
        let place = match (user.role, user.territory) {
            (_, Some(territory)) => format!("territory {territory}"),
            (Role::Manager, None) => format!("team {DEMO_TEAM}"),
            _ => "everything".to_owned(),
        };
        text.push_str(&format!(
            "  {:<6} {:<8} {place}\n",
            user.username,
            user.role.as_str()
        ));
    }
    text.push_str(&format!(
        "Manager dashboard: {base_url}/dashboard (sign in as mia: routes, check-ins, team overview)\n"
    ));
    text.push_str(&format!(
        "Log in: POST {base_url}/v1/auth/login {{\"username\": \"anna\", \"password\": \"{DEMO_PASSWORD}\"}}\n\
         Or try sync from a terminal with the device CLI:\n  \
         FIELDCRM_PASSWORD={DEMO_PASSWORD} cargo run -p fieldcrm-cli -- login --server {base_url} --username anna\n  \
         cargo run -p fieldcrm-cli -- sync\n  \
         cargo run -p fieldcrm-cli -- nearby --lat 53.5530 --lon 9.9260 --limit 5"
    ));
    text
}

/// Creates the organisation and pushes the records through each rep's device store.
pub fn seed(
    storage: &dyn Storage,
    params: &PasswordParams,
    now: Millis,
) -> Result<DemoSummary, DemoError> {
    let team = storage.create_team(DEMO_TEAM)?;
    let mut territory_ids = Vec::new();
    for (name, _) in CUSTOMERS {
        territory_ids.push((name, storage.create_territory(name, &team.id)?.id));
    }
    let hash = auth::hash_password(params, DEMO_PASSWORD)?;
    let mut users = Vec::new();
    for demo in DEMO_USERS.iter().filter(|u| u.role != Role::Admin) {
        let user = storage.create_user(NewUser {
            username: demo.username,
            password_hash: Some(&hash),
            role: demo.role,
            team_id: Some(&team.id),
        })?;
        if let Some(territory) = demo.territory
            && let Some((_, id)) = territory_ids.iter().find(|(name, _)| *name == territory)
        {
            storage.assign_user_territory(&user.id, id)?;
        }
        users.push(user);
    }
    let rep_ids: Vec<String> = users
        .iter()
        .filter(|u| u.role == Role::Rep)
        .map(|u| u.id.clone())
        .collect();
    let rep_ids: [String; REPS] = match rep_ids.try_into() {
        Ok(ids) => ids,
        Err(_) => return Err(DemoError::Incomplete),
    };
    let plan = plan(&rep_ids, now);
    let mut summary = DemoSummary {
        customers: plan.customers.len(),
        visits: plan.visits.len(),
        opportunities: plan.opportunities.len(),
        pings: 0,
        changes: 0,
    };
    for (rep, user) in users.iter().filter(|u| u.role == Role::Rep).enumerate() {
        let store = Store::open(":memory:")?;
        store.set_user(&user.id)?;
        storage.register_device(&user.id, &store.actor_id())?;
        let principal = storage.principal(user)?;
        write_all(&store, plan.customers.iter(), rep)?;
        summary.changes += push(storage, &store, &principal)?;
        write_all(&store, plan.visits.iter(), rep)?;
        write_all(&store, plan.opportunities.iter(), rep)?;
        summary.changes += push(storage, &store, &principal)?;
        for (_, pings) in plan.pings.iter().filter(|(owner, _)| *owner == rep) {
            for (index, batch) in pings.chunks(1_000).enumerate() {
                let upload = PingUpload {
                    batch_id: format!("demo-{}-{index}", user.id),
                    pings: batch.to_vec(),
                };
                storage.store_pings(&user.id, &upload, now)?;
                summary.pings += batch.len();
            }
        }
    }
    storage.create_user(NewUser {
        username: DEMO_USERS[DEMO_USERS.len() - 1].username,
        password_hash: Some(&hash),
        role: Role::Admin,
        team_id: None,
    })?;
    Ok(summary)
}

fn write_all<'a, R: Record + Clone + 'a>(
    store: &Store,
    records: impl Iterator<Item = &'a (usize, R)>,
    rep: usize,
) -> Result<(), DemoError> {
    for (_, record) in records.filter(|(owner, _)| *owner == rep) {
        store.create(record.clone())?;
    }
    Ok(())
}

/// Pushes everything the store has queued, as a device would (in pushes within the protocol's
/// limits), and checks all of it was taken.
fn push(storage: &dyn Storage, store: &Store, principal: &Principal) -> Result<usize, DemoError> {
    let mut pushed = 0;
    while let Some((request, hashes)) = store.push_request(u32::MAX)? {
        let count = hashes.len();
        let (response, _) = storage.push_changes(principal, request)?;
        if let Some(rejection) = response.rejected.into_iter().next() {
            return Err(DemoError::Rejected {
                doc_id: rejection.doc_id,
                code: rejection.code.as_str().to_owned(),
                reason: rejection.reason,
            });
        }
        let acknowledged = store.acknowledge(&response.acknowledged)?;
        if acknowledged != count {
            return Err(DemoError::Unacknowledged(count - acknowledged));
        }
        pushed += count;
    }
    Ok(pushed)
}

// ---------------------------------------------------------------------------------------------
// The generated data

/// SplitMix64: tiny, fast, and the same sequence everywhere for a given seed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    fn int(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1).max(1) as usize) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A UUID v7 with `at` as its time and the rest from the generator.
    fn id(&mut self, at: Millis) -> String {
        let mut bytes = [0u8; 10];
        for chunk in bytes.chunks_mut(5) {
            let value = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
        uuid::Builder::from_unix_timestamp_millis(at.max(0) as u64, &bytes)
            .into_uuid()
            .to_string()
    }
}

/// A neighbourhood: centre, postal code and streets.
struct Quarter {
    name: &'static str,
    lat: f64,
    lon: f64,
    postal_code: &'static str,
    streets: &'static [&'static str],
}

const ALTONA: &[Quarter] = &[
    Quarter {
        name: "Ottensen",
        lat: 53.5535,
        lon: 9.9265,
        postal_code: "22765",
        streets: &[
            "Ottenser Hauptstraße",
            "Bahrenfelder Straße",
            "Friedensallee",
            "Große Rainstraße",
            "Eulenstraße",
            "Arnoldstraße",
        ],
    },
    Quarter {
        name: "Altona-Altstadt",
        lat: 53.5500,
        lon: 9.9480,
        postal_code: "22767",
        streets: &[
            "Große Bergstraße",
            "Max-Brauer-Allee",
            "Königstraße",
            "Palmaille",
            "Große Elbstraße",
            "Holstenstraße",
        ],
    },
    Quarter {
        name: "Altona-Nord",
        lat: 53.5625,
        lon: 9.9440,
        postal_code: "22769",
        streets: &[
            "Stresemannstraße",
            "Alsenstraße",
            "Harkortstraße",
            "Kieler Straße",
            "Augustenburger Straße",
        ],
    },
    Quarter {
        name: "Bahrenfeld",
        lat: 53.5650,
        lon: 9.9060,
        postal_code: "22761",
        streets: &[
            "Luruper Chaussee",
            "Schnackenburgallee",
            "Notkestraße",
            "Theodorstraße",
            "Bahrenfelder Chaussee",
        ],
    },
    Quarter {
        name: "Othmarschen",
        lat: 53.5505,
        lon: 9.8960,
        postal_code: "22763",
        streets: &[
            "Waitzstraße",
            "Elbchaussee",
            "Reventlowstraße",
            "Beselerstraße",
            "Walderseestraße",
        ],
    },
];

const EPPENDORF: &[Quarter] = &[
    Quarter {
        name: "Eppendorf",
        lat: 53.5905,
        lon: 9.9835,
        postal_code: "20249",
        streets: &[
            "Eppendorfer Landstraße",
            "Eppendorfer Baum",
            "Martinistraße",
            "Loogeplatz",
            "Tarpenbekstraße",
            "Kümmellstraße",
        ],
    },
    Quarter {
        name: "Hoheluft-Ost",
        lat: 53.5845,
        lon: 9.9750,
        postal_code: "20251",
        streets: &[
            "Hoheluftchaussee",
            "Lehmweg",
            "Eppendorfer Weg",
            "Hegestraße",
            "Löwenstraße",
        ],
    },
    Quarter {
        name: "Eppendorf-Nord",
        lat: 53.5960,
        lon: 9.9900,
        postal_code: "20251",
        streets: &[
            "Erikastraße",
            "Schedestraße",
            "Frickestraße",
            "Curschmannstraße",
            "Schrammsweg",
        ],
    },
];

/// A line of business: how it appears in names, and its segment.
const TRADES: &[(&str, &str)] = &[
    ("Bäckerei", "food"),
    ("Konditorei", "food"),
    ("Fleischerei", "food"),
    ("Feinkost", "food"),
    ("Fischhandel", "food"),
    ("Apotheke", "health"),
    ("Optik", "health"),
    ("Physiotherapie", "health"),
    ("Autohaus", "automotive"),
    ("Kfz-Werkstatt", "automotive"),
    ("Elektro", "craft"),
    ("Sanitär", "craft"),
    ("Malerbetrieb", "craft"),
    ("Tischlerei", "craft"),
    ("Dachdeckerei", "craft"),
    ("Friseursalon", "services"),
    ("Druckerei", "services"),
    ("Reinigung", "services"),
    ("Steuerbüro", "services"),
    ("Blumen", "retail"),
    ("Buchhandlung", "retail"),
    ("Eisenwaren", "retail"),
    ("Zweirad", "retail"),
    ("Getränkehandel", "wholesale"),
    ("Café", "hospitality"),
    ("Restaurant", "hospitality"),
    ("Hotel", "hospitality"),
];

const SURNAMES: &[&str] = &[
    "Hansen",
    "Petersen",
    "Jensen",
    "Schmidt",
    "Meyer",
    "Müller",
    "Schulz",
    "Krüger",
    "Wegner",
    "Möller",
    "Schröder",
    "Jansen",
    "Lange",
    "Brandt",
    "Vogt",
    "Lüdemann",
    "Claußen",
    "Thomsen",
    "Paulsen",
    "Köhler",
    "Behrens",
    "Hinz",
    "Ohlsen",
    "Wulf",
    "Rathje",
    "Sievers",
    "Harms",
    "Timm",
    "Böttcher",
    "Fischer",
    "Becker",
    "Hoffmann",
    "Koch",
    "Richter",
    "Wolf",
    "Neumann",
    "Zimmermann",
    "Dreyer",
];

const BRANDS: &[&str] = &[
    "Elbe",
    "Hansa",
    "Alster",
    "Nordlicht",
    "Hafen",
    "Anker",
    "Deich",
    "Fleet",
    "Möwe",
    "Leuchtturm",
];

const LEGAL_FORMS: &[&str] = &["GmbH", "KG", "GmbH & Co. KG", "e.K.", "OHG"];

const OUTCOMES: &[&str] = &[
    "Order placed",
    "Follow-up needed",
    "Samples left",
    "Decision maker absent",
    "Price negotiation",
    "Relationship visit",
];

const PRODUCTS: &[(&str, i64)] = &[
    ("Starter kit", 4_900),
    ("Display stand", 12_900),
    ("Refill pack", 1_990),
    ("Service plan (month)", 7_500),
    ("Premium bundle", 24_900),
];

const DEAL_TITLES: &[&str] = &[
    "Annual supply agreement",
    "Display refit",
    "Service contract",
    "Seasonal order",
    "Loyalty programme",
    "Delivery framework",
    "Second location fit-out",
];

/// Everything seeding writes, by the index of the rep whose device writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoPlan {
    pub customers: Vec<(usize, Customer)>,
    pub visits: Vec<(usize, Visit)>,
    pub opportunities: Vec<(usize, Opportunity)>,
    /// Location pings per rep along the routes of the days with visits.
    pub pings: Vec<(usize, Vec<Fix>)>,
}

const MINUTE: Millis = 60_000;

/// German to ASCII for e-mail domains.
fn ascii_slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' => out.push('e'),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {
                if !out.ends_with('-') && !out.is_empty() {
                    out.push('-');
                }
            }
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn business_name(rng: &mut Rng, trade: &str) -> String {
    let surname = rng.pick(SURNAMES);
    match rng.below(5) {
        0 | 1 => format!("{trade} {surname}"),
        2 => format!("{surname} {trade} {}", rng.pick(LEGAL_FORMS)),
        3 => format!("{} {trade} {}", rng.pick(BRANDS), rng.pick(LEGAL_FORMS)),
        _ => format!("{trade} {surname} & {}", rng.pick(SURNAMES)),
    }
}

fn phone(rng: &mut Rng) -> String {
    if rng.chance(0.2) {
        format!(
            "+49 1{} {:07}",
            rng.int(51, 79),
            rng.int(1_000_000, 9_999_999)
        )
    } else {
        format!("+49 40 {:08}", rng.int(20_000_000, 99_999_999))
    }
}

/// A point about `metres` from (lat, lon) in a random direction.
fn offset(rng: &mut Rng, lat: f64, lon: f64, metres: f64) -> (f64, f64) {
    let angle = rng.range(0.0, std::f64::consts::TAU);
    let dlat = metres * angle.cos() / 111_320.0;
    let dlon = metres * angle.sin() / (111_320.0 * lat.to_radians().cos());
    (lat + dlat, lon + dlon)
}

/// The demo data for reps `rep_ids` (altona, altona, eppendorf), relative to `now`. The same
/// inputs give the same plan.
pub fn plan(rep_ids: &[String; REPS], now: Millis) -> DemoPlan {
    let mut rng = Rng(DEMO_SEED);
    let mut names = BTreeSet::new();
    let mut customers = Vec::new();
    for (territory, count) in CUSTOMERS {
        let (quarters, reps): (&[Quarter], &[usize]) = if territory == "altona" {
            (ALTONA, &[0, 1])
        } else {
            (EPPENDORF, &[2])
        };
        for i in 0..count {
            let rep = reps[i % reps.len()];
            let &(trade, segment) = rng.pick(TRADES);
            let mut name = business_name(&mut rng, trade);
            while !names.insert(name.clone()) {
                name = business_name(&mut rng, trade);
            }
            let quarter = rng.pick(quarters);
            let lat = quarter.lat + rng.range(-0.004, 0.004);
            let lon = quarter.lon + rng.range(-0.007, 0.007);
            let mut customer = Customer::new(name.clone());
            customer.meta.id = rng.id(now);
            customer.grade = Some(match rng.below(20) {
                0..=2 => Grade::A,
                3..=9 => Grade::B,
                _ => Grade::C,
            });
            customer.segments.insert(segment.to_owned());
            if customer.grade == Some(Grade::A) {
                customer.segments.insert("key-account".to_owned());
            }
            customer.phones.insert(phone(&mut rng));
            if rng.chance(0.6) {
                customer
                    .emails
                    .insert(format!("info@{}.de", ascii_slug(&name)));
            }
            customer.address = Address {
                line: Some(format!("{} {}", rng.pick(quarter.streets), rng.int(1, 180))),
                city: Some("Hamburg".to_owned()),
                region: Some(quarter.name.to_owned()),
                postal_code: Some(quarter.postal_code.to_owned()),
                country: Some("DE".to_owned()),
            };
            customer.location = Some(GeoLocation {
                lat,
                lon,
                source: LocationSource::Geocoded,
                at: now,
            });
            customer.visit_radius_m = *rng.pick(&[100, 150, 150, 200]);
            customer.visit_cadence_days = Some(match customer.grade {
                Some(Grade::A) => 14,
                Some(Grade::B) => 30,
                _ => 60,
            });
            customer.owner = Some(rep_ids[rep].clone());
            customer.territory = Some(territory.to_owned());
            customers.push((rep, customer));
        }
    }

    let today = now - now.rem_euclid(DAY_MS);
    let mut visits = Vec::new();
    for (rep, rep_id) in rep_ids.iter().enumerate() {
        let own: Vec<&Customer> = customers
            .iter()
            .filter(|(owner, _)| *owner == rep)
            .map(|(_, c)| c)
            .collect();
        // The past week's working days, then today and tomorrow (planned).
        for days_ago in (-1..=7i64).rev() {
            let day = today - days_ago * DAY_MS;
            // 1970-01-01 was a Thursday: (days + 4) % 7 is 0 on Sundays, 6 on Saturdays.
            let weekday = (day.div_euclid(DAY_MS) + 4).rem_euclid(7);
            if days_ago > 0 && (weekday == 0 || weekday == 6) {
                continue;
            }
            // 07:30 UTC is 08:30 or 09:30 in Hamburg.
            let mut clock = day + 7 * 60 * MINUTE + 30 * MINUTE;
            let count = if days_ago > 0 { rng.int(4, 6) } else { 4 };
            for _ in 0..count {
                let customer = own[rng.below(own.len())];
                let dwell = rng.int(20, 50) * MINUTE;
                let mut visit = Visit::new(customer.meta.id.clone(), rep_id.clone());
                visit.meta.id = rng.id(now);
                visit.planned_start = Some(clock);
                visit.planned_end = Some(clock + 45 * MINUTE);
                if days_ago > 0 {
                    past_visit(&mut rng, &mut visit, customer, clock, dwell);
                }
                visits.push((rep, visit));
                clock += dwell + rng.int(15, 35) * MINUTE;
            }
        }
    }

    // What a manager should notice: one check-in from a mock-location app (the third rep's
    // first visit), one whose GPS fix was six minutes old (the second rep's third visit).
    for (rep, nth, mock) in [(2, 0, true), (1, 2, false)] {
        let stamp = visits
            .iter_mut()
            .filter(|(owner, v)| *owner == rep && v.check_in.is_some())
            .nth(nth)
            .and_then(|(_, v)| v.check_in.as_mut());
        if let Some(stamp) = stamp {
            if mock {
                stamp.mock = true;
            } else {
                stamp.fix_at = stamp.at - 6 * MINUTE;
            }
        }
    }

    let mut opportunities = Vec::new();
    let stages = [
        (Stage::Lead, 10),
        (Stage::Qualified, 25),
        (Stage::Proposal, 50),
        (Stage::Negotiation, 75),
        (Stage::Won, 100),
        (Stage::Lost, 0),
    ];
    for (rep, rep_id) in rep_ids.iter().enumerate() {
        let own: Vec<&Customer> = customers
            .iter()
            .filter(|(owner, _)| *owner == rep)
            .map(|(_, c)| c)
            .collect();
        for i in 0..10 {
            let customer = own[rng.below(own.len())];
            let (stage, probability) = stages[i % stages.len()].clone();
            let amount = Money {
                minor: rng.int(10, 800) * 10_000,
                currency: "EUR".to_owned(),
            };
            let mut deal = Opportunity::new(
                customer.meta.id.clone(),
                rng.pick(DEAL_TITLES).to_string(),
                amount,
            );
            deal.meta.id = rng.id(now);
            deal.stage = stage.clone();
            deal.probability = Some(probability);
            deal.owner = Some(rep_id.clone());
            deal.expected_close_at = Some(if stage.is_closed() {
                today - rng.int(2, 20) * DAY_MS
            } else {
                today + rng.int(7, 90) * DAY_MS
            });
            if stage == Stage::Lost {
                deal.lost_reason =
                    Some(rng.pick(&["Price", "Competitor", "No budget"]).to_string());
            }
            opportunities.push((rep, deal));
        }
    }
    let pings = (0..REPS)
        .map(|rep| (rep, route_pings(&mut rng, rep, &visits)))
        .collect();
    DemoPlan {
        customers,
        visits,
        opportunities,
        pings,
    }
}

/// A visit that happened: check-in and check-out near the customer (now and then not).
fn past_visit(rng: &mut Rng, visit: &mut Visit, customer: &Customer, start: Millis, dwell: Millis) {
    let Some(location) = &customer.location else {
        return;
    };
    if rng.chance(0.05) {
        visit.status = VisitStatus::Skipped;
        visit.outcome = Some("Closed for the day".to_owned());
        return;
    }
    // Mostly at the door; one in ten a few hundred metres off (parked elsewhere, bad fix).
    let metres = if rng.chance(0.1) {
        rng.range(200.0, 500.0)
    } else {
        rng.range(5.0, 60.0)
    };
    let accuracy = rng.range(4.0, 25.0);
    let (lat, lon) = offset(rng, location.lat, location.lon, metres);
    let at = start + rng.int(-5, 10) * MINUTE;
    visit.check_in = Some(GpsStamp {
        at,
        lat,
        lon,
        accuracy_m: accuracy.round(),
        fix_at: at - rng.int(0, 20) * 1_000,
        mock: false,
    });
    let out_metres = rng.range(5.0, 40.0);
    let (out_lat, out_lon) = offset(rng, location.lat, location.lon, out_metres);
    let out_at = at + dwell;
    visit.check_out = Some(GpsStamp {
        at: out_at,
        lat: out_lat,
        lon: out_lon,
        accuracy_m: rng.range(4.0, 20.0).round(),
        fix_at: out_at - rng.int(0, 20) * 1_000,
        mock: false,
    });
    if let Some(stamp) = &visit.check_in {
        visit.verification = Some(customer.verify_check_in(stamp));
    }
    visit.status = VisitStatus::Done;
    let outcome = *rng.pick(OUTCOMES);
    visit.outcome = Some(outcome.to_owned());
    if outcome == "Order placed" {
        for _ in 0..rng.int(1, 3) {
            let &(product, price) = rng.pick(PRODUCTS);
            visit.order_lines.push(OrderLine {
                product: product.to_owned(),
                quantity: rng.int(1, 12),
                unit_price_minor: price,
            });
        }
    }
    if rng.chance(0.4) {
        visit.next_step = Some(
            rng.pick(&[
                "Send offer",
                "Call back next week",
                "Bring new catalogue",
                "Check delivery date",
            ])
            .to_string(),
        );
    }
}

/// Pings every 30 s while driving and every 2 min while on site, along straight lines between
/// the day's check-ins, with GPS noise; the route starts 20 min before the first check-in and
/// ends 15 min after the last check-out. A few days carry what a route review must catch: the
/// first rep's phone is off for 25 minutes once (a gap), the second rep's GPS jumps 30 km
/// for one fix (implausible speed).
fn route_pings(rng: &mut Rng, rep: usize, visits: &[(usize, Visit)]) -> Vec<Fix> {
    let mut by_day: std::collections::BTreeMap<Millis, Vec<&Visit>> = Default::default();
    for (_, visit) in visits.iter().filter(|(owner, _)| *owner == rep) {
        if let Some(check_in) = &visit.check_in {
            by_day
                .entry(check_in.at.div_euclid(DAY_MS))
                .or_default()
                .push(visit);
        }
    }
    let mut pings = Vec::new();
    for (day_index, (_, mut day)) in by_day.into_iter().enumerate() {
        day.sort_by_key(|v| v.check_in.as_ref().map(|c| c.at));
        let Some(first) = day.first().and_then(|v| v.check_in.clone()) else {
            continue;
        };
        let home = offset(rng, first.lat, first.lon, 2_500.0);
        let mut position = (home.0, home.1, first.at - 20 * MINUTE);
        let gap_leg = (rep == 0 && day_index == 1).then_some(1);
        let jump_leg = (rep == 1 && day_index == 2).then_some(2);
        for (leg, visit) in day.iter().enumerate() {
            let (Some(check_in), Some(check_out)) = (&visit.check_in, &visit.check_out) else {
                continue;
            };
            let target = (check_in.lat, check_in.lon, check_in.at);
            let mut t = position.2;
            while t < target.2 {
                let f = (t - position.2) as f64 / (target.2 - position.2).max(1) as f64;
                let silent = gap_leg == Some(leg)
                    && f > 0.1
                    && f < 0.1 + 25.0 * MINUTE as f64 / (target.2 - position.2).max(1) as f64;
                if !silent {
                    let lat = position.0 + (target.0 - position.0) * f;
                    let lon = position.1 + (target.1 - position.1) * f;
                    let noise = rng.range(2.0, 12.0);
                    let (lat, lon) = offset(rng, lat, lon, noise);
                    pings.push(demo_fix(t, lat, lon, rng.range(4.0, 15.0)));
                }
                if jump_leg == Some(leg) && (f - 0.5).abs() < 0.02 {
                    pings.push(demo_fix(t + 5_000, position.0 + 0.27, position.1, 20.0));
                }
                t += 30_000;
            }
            let mut t = check_in.at + 60_000;
            while t < check_out.at {
                let noise = rng.range(2.0, 20.0);
                let (lat, lon) = offset(rng, check_in.lat, check_in.lon, noise);
                pings.push(demo_fix(t, lat, lon, rng.range(5.0, 25.0)));
                t += 2 * MINUTE;
            }
            position = (check_out.lat, check_out.lon, check_out.at + 30_000);
        }
        let away = offset(rng, position.0, position.1, 3_000.0);
        let mut t = position.2;
        while t < position.2 + 15 * MINUTE {
            let f = (t - position.2) as f64 / (15 * MINUTE) as f64;
            pings.push(demo_fix(
                t,
                position.0 + (away.0 - position.0) * f,
                position.1 + (away.1 - position.1) * f,
                8.0,
            ));
            t += 30_000;
        }
    }
    pings
}

fn demo_fix(at: Millis, lat: f64, lon: f64, accuracy_m: f64) -> Fix {
    Fix {
        at,
        lat,
        lon,
        accuracy_m: accuracy_m.round(),
        mock: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStorage;
    use fieldcrm_core::protocol::{PullRequest, PulledPayload};
    use fieldcrm_core::{AnyRecord, Kind};

    const NOW: Millis = 1_790_000_000_000;

    fn reps() -> [String; REPS] {
        ["rep-a".to_owned(), "rep-b".to_owned(), "rep-c".to_owned()]
    }

    /// Every record `username` pulls from a fresh cursor.
    fn pull_all(storage: &SqliteStorage, username: &str) -> Vec<AnyRecord> {
        let user = storage.user_by_username(username).unwrap().unwrap();
        let principal = storage.principal(&user).unwrap();
        let mut cursor = 0;
        let mut records = Vec::new();
        loop {
            let page = storage
                .pull_changes(
                    &principal,
                    &PullRequest {
                        cursor,
                        limit: 1_000,
                    },
                )
                .unwrap();
            for doc in page.docs {
                match doc.payload {
                    PulledPayload::Snapshot { record, .. } => {
                        records.push(record.read().expect("a record in this format"))
                    }
                    PulledPayload::Changes(_) => panic!("a fresh device gets snapshots"),
                }
            }
            cursor = page.next_cursor;
            if !page.has_more {
                return records;
            }
        }
    }

    #[test]
    fn the_plan_is_deterministic_and_realistic() {
        let first = plan(&reps(), NOW);
        assert_eq!(first, plan(&reps(), NOW));
        assert_eq!(first.customers.len(), 300);
        let names: BTreeSet<&str> = first
            .customers
            .iter()
            .map(|(_, c)| c.name.as_str())
            .collect();
        assert_eq!(names.len(), 300, "names are unique");
        // The store fills in the creation fields; give the plain plan some to validate it.
        let created = |mut meta: fieldcrm_core::RecordMeta| {
            meta.created_at = NOW;
            meta.updated_at = NOW;
            meta.created_by = "rep-a".into();
            meta
        };
        for (rep, customer) in &first.customers {
            let mut valid = customer.clone();
            valid.meta = created(valid.meta);
            valid.validate().unwrap();
            let location = customer.location.as_ref().unwrap();
            // Hamburg, west of the Alster (Altona) or north of it (Eppendorf).
            assert!((53.54..53.61).contains(&location.lat), "{location:?}");
            assert!((9.88..10.00).contains(&location.lon), "{location:?}");
            let altona = customer.territory.as_deref() == Some("altona");
            assert_eq!(altona, *rep < 2);
            assert_eq!(altona, location.lon < 9.96, "{location:?}");
        }
        let done = first
            .visits
            .iter()
            .filter(|(_, v)| v.status == VisitStatus::Done)
            .count();
        let planned = first
            .visits
            .iter()
            .filter(|(_, v)| v.status == VisitStatus::Planned)
            .count();
        assert!(
            done >= 3 * 4 * 4,
            "a working week of visits per rep: {done}"
        );
        assert_eq!(planned, 3 * 8, "four today and four tomorrow per rep");
        for (_, visit) in &first.visits {
            let mut valid = visit.clone();
            valid.meta = created(valid.meta);
            valid.validate().unwrap();
        }
        let stages: BTreeSet<Stage> = first
            .opportunities
            .iter()
            .map(|(_, o)| o.stage.clone())
            .collect();
        assert_eq!(stages.len(), 6, "every stage");
    }

    #[test]
    fn seeding_goes_through_the_push_path_and_respects_scopes() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let params = PasswordParams::fast_for_tests();
        let outcome = ensure_demo(&storage, &params, NOW).unwrap();
        let DemoOutcome::Seeded(summary) = outcome else {
            panic!("expected seeding, got {outcome:?}");
        };
        assert_eq!(summary.customers, 300);
        assert!(summary.visits > 60);
        assert_eq!(summary.opportunities, 30);
        assert!(summary.changes >= summary.customers + summary.visits + summary.opportunities);
        assert_eq!(storage.document_count(Kind::Customer).unwrap(), 300);
        assert_eq!(
            storage.document_count(Kind::Visit).unwrap(),
            summary.visits as i64
        );
        assert_eq!(storage.document_count(Kind::Opportunity).unwrap(), 30);
        for user in DEMO_USERS {
            let stored = storage.user_by_username(user.username).unwrap().unwrap();
            assert_eq!(stored.role, user.role);
            assert!(auth::verify_password(
                stored.password_hash.as_deref().unwrap(),
                DEMO_PASSWORD
            ));
        }
        let anna = storage.user_by_username("anna").unwrap().unwrap();
        assert_eq!(storage.devices_of_user(&anna.id).unwrap().len(), 1);

        // Reps see their territory's customers (and deals) and only their own visits.
        let customers_of = |records: &[AnyRecord]| -> Vec<Customer> {
            records
                .iter()
                .filter_map(|r| match r {
                    AnyRecord::Customer(c) => Some(c.clone()),
                    _ => None,
                })
                .collect()
        };
        for (username, territory, count) in [
            ("anna", "altona", 180),
            ("ben", "altona", 180),
            ("clara", "eppendorf", 120),
        ] {
            let user = storage.user_by_username(username).unwrap().unwrap();
            let records = pull_all(&storage, username);
            let customers = customers_of(&records);
            assert_eq!(customers.len(), count, "{username}");
            assert!(
                customers
                    .iter()
                    .all(|c| c.territory.as_deref() == Some(territory))
            );
            let visits: Vec<&Visit> = records
                .iter()
                .filter_map(|r| match r {
                    AnyRecord::Visit(v) => Some(v),
                    _ => None,
                })
                .collect();
            assert!(!visits.is_empty());
            assert!(visits.iter().all(|v| v.rep == user.id), "{username}");
        }
        // The manager sees the whole team, the admin everything.
        assert_eq!(customers_of(&pull_all(&storage, "mia")).len(), 300);
        let everything = pull_all(&storage, "admin");
        assert_eq!(
            everything.len(),
            summary.customers + summary.visits + summary.opportunities
        );

        // A second start adds nothing.
        assert_eq!(
            ensure_demo(&storage, &params, NOW + DAY_MS).unwrap(),
            DemoOutcome::AlreadySeeded
        );
        assert_eq!(storage.document_count(Kind::Customer).unwrap(), 300);
    }

    #[test]
    fn a_database_with_other_data_is_left_alone() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        storage.create_team("south").unwrap();
        storage.create_team(DEMO_TEAM).unwrap();
        let params = PasswordParams::fast_for_tests();
        assert_eq!(
            ensure_demo(&storage, &params, NOW).unwrap(),
            DemoOutcome::NotEmpty
        );
        assert!(storage.user_by_username("anna").unwrap().is_none());
    }

    #[test]
    fn the_login_hint_names_every_user() {
        let hint = login_hint("http://127.0.0.1:8080");
        for user in DEMO_USERS {
            assert!(hint.contains(user.username));
        }
        assert!(hint.contains(DEMO_PASSWORD));
        assert!(hint.contains("http://127.0.0.1:8080/v1/auth/login"));
        assert!(hint.contains("http://127.0.0.1:8080/dashboard"));
    }

    #[test]
    fn slugs_are_ascii() {
        assert_eq!(
            ascii_slug("Bäckerei Müller & Söhne GmbH"),
            "baeckerei-mueller-soehne-gmbh"
        );
    }
}

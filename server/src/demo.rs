//! `serve --demo`: a demo organisation in Hamburg, seeded into a new database on first start.
//!
//! Team "north" works two territories, Altona (reps anna and ben) and Eppendorf (rep clara),
//! managed by mia; admin sees everything. 300 customers with German business names, addresses
//! and coordinates inside their territory, a week of visits per rep (done visits with GPS
//! check-in and check-out near the customer; planned ones today and tomorrow), 40 deals per rep
//! with four months of stage history (won, lost and open), a catalog of about 200 products, and
//! an order at each visit of the past week that took one.
//!
//! The data goes through the real path: each rep's records are written by a temporary
//! `fieldcrm_core::Store` signed in as that rep (the catalog by one signed in as the admin), its actor id is registered as the rep's device,
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
    Opportunity, Order, Product, Record, Stage, StageChange, Store, StoreError, Visit, VisitStatus,
};

use crate::auth::{self, AuthError, PasswordParams};
use crate::model::Role;
use crate::scope::Principal;
use crate::storage::{NewUser, Storage, StorageError};

mod catalog;
mod customers;
mod deals;
mod names;
mod orders;
mod pings;
mod places;
mod plan;
mod rng;
mod seed;
mod visits;

use catalog::catalog;
use customers::customers;
use deals::deals;
use names::{TRADES, ascii_slug, business_name, phone};
use orders::orders;
use pings::route_pings;
use places::{ALTONA, EPPENDORF, Quarter, offset};
use rng::Rng;
use visits::{MINUTE, ORDER_PLACED, week_of_visits};

pub use plan::{DemoPlan, plan};
pub use seed::seed;

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

/// Every demo user. The manager is created last, when everything else is in place, so its
/// presence marks a complete seeding ([`COMPLETION_MARK`]); the admin comes before the records,
/// since the catalog is the admin's to write.
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

/// The user created last by seeding: present only when seeding finished.
const COMPLETION_MARK: &str = "mia";

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
    pub products: usize,
    pub orders: usize,
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
        if present > 0 && storage.user_by_username(COMPLETION_MARK)?.is_none() {
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
        "Manager dashboard: {base_url}/dashboard (sign in as mia: routes, check-ins, team overview, pipeline, targets, orders, analytics, campaigns)\n"
    ));
    text.push_str(&format!(
        "Log in: POST {base_url}/v1/auth/login {{\"username\": \"anna\", \"password\": \"{DEMO_PASSWORD}\"}}\n\
         Or try sync from a terminal with the device CLI:\n  \
         FIELDCRM_PASSWORD={DEMO_PASSWORD} cargo run -q --profile demo -p fieldcrm-cli -- login --server {base_url} --username anna\n  \
         cargo run -q --profile demo -p fieldcrm-cli -- sync\n  \
         cargo run -q --profile demo -p fieldcrm-cli -- nearby --lat 53.5530 --lon 9.9260 --limit 5\n\
         (the same commands as the README's `fieldcrm` alias: scripts/demo built the CLI with the server)"
    ));
    text
}

#[cfg(test)]
mod tests;

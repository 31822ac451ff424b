//! The field-work tables kept in step with accepted documents, inside the push's transaction:
//! `customer_places`, `visit_facts` with the server's own check-in verification, and the record
//! of pin moves.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use fieldcrm_core::route::FUTURE_TOLERANCE_MS;
use fieldcrm_core::{
    AnyRecord, Customer, GpsStamp, LatLon, Millis, Verification, Visit, verify_check_in,
};

use crate::model::{Role, now_ms};
use crate::scope::{Principal, Scope};
use crate::storage::Result;

/// Why a visit's fixes cannot be accepted now: a check-in or check-out time (or its fix time)
/// further in the future than clock drift explains. `None` when they can.
pub(crate) fn future_fix(record: &AnyRecord, now: Millis) -> Option<String> {
    let AnyRecord::Visit(visit) = record else {
        return None;
    };
    let limit = now.saturating_add(FUTURE_TOLERANCE_MS);
    for (name, stamp) in [
        ("check-in", &visit.check_in),
        ("check-out", &visit.check_out),
    ] {
        if let Some(stamp) = stamp
            && (stamp.at > limit || stamp.fix_at > limit)
        {
            return Some(format!(
                "the {name} time is in the future of the server's clock"
            ));
        }
    }
    None
}

/// Pin moves by a rep further than this (metres), in the push that carries one of their
/// check-ins at that customer, are flagged to the manager.
pub const DEFAULT_PIN_MOVE_FLAG_M: f64 = 200.0;

/// A rep's own pin moves this long before one of their check-ins at that customer flag it too
/// (30 days, in ms): moving the pin to where the rep will stand in one push and checking in in
/// the next must not launder the check-in. Older moves are corrections the manager already saw.
pub const PIN_MOVE_LOOKBACK_MS: Millis = 30 * 24 * 3_600_000;

/// Settings of the field-work projection (from the command line, see `config.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldworkSettings {
    pub pin_move_flag_m: f64,
}

impl Default for FieldworkSettings {
    fn default() -> Self {
        FieldworkSettings {
            pin_move_flag_m: DEFAULT_PIN_MOVE_FLAG_M,
        }
    }
}

/// A customer's location and visit radius as `customer_places` holds them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Place {
    location: Option<LatLon>,
    radius_m: f64,
}

/// The field-work projection of one push: created once per push, before its first document,
/// and given every accepted document in order.
///
/// A check-in is verified against its customer's place as the server held it when the push
/// began, so a push that moves the pin to the rep, checks in and moves it back verifies
/// against the pin before the push. Pin moves are recorded; a rep's move further than the
/// configured distance in the push of one of their check-ins at that customer, or in the
/// [`PIN_MOVE_LOOKBACK_MS`] before it, flags the check-in.
pub(crate) struct PushProjection<'p> {
    /// Who pushes (`None`: the migration's backfill, where nothing moves).
    writer: Option<&'p Principal>,
    now: Millis,
    settings: FieldworkSettings,
    /// Customers this push wrote, with their place before its first write (`None`: new).
    places_before: HashMap<String, Option<Place>>,
    /// Per customer, the largest move of its pin by the writer, a rep, in this push.
    rep_moves: HashMap<String, f64>,
    /// Per customer, the visits whose check-in arrived in this push, with their rep.
    check_ins: HashMap<String, Vec<(String, String)>>,
}

impl<'p> PushProjection<'p> {
    pub(crate) fn new(writer: &'p Principal, now: Millis, settings: FieldworkSettings) -> Self {
        PushProjection {
            writer: Some(writer),
            now,
            settings,
            places_before: HashMap::new(),
            rep_moves: HashMap::new(),
            check_ins: HashMap::new(),
        }
    }

    /// Keeps `customer_places` and `visit_facts` (and the sales tables, `sqlite_sales`) in
    /// step with an accepted document, inside the push's transaction.
    pub(crate) fn project(
        &mut self,
        tx: &Transaction<'_>,
        record: &AnyRecord,
        scope: &Scope,
    ) -> Result<()> {
        // Not in migration 7's backfill (no writer): the sales tables come later, with a
        // backfill of their own.
        if self.writer.is_some() {
            crate::storage::sqlite_sales::project(tx, record, scope, self.now)?;
        }
        match record {
            AnyRecord::Customer(customer) => self.project_customer(tx, customer, scope),
            AnyRecord::Visit(visit) => self.project_visit(tx, visit),
            AnyRecord::Contact(_)
            | AnyRecord::Opportunity(_)
            | AnyRecord::Task(_)
            | AnyRecord::Case(_)
            | AnyRecord::Product(_)
            | AnyRecord::Order(_)
            | AnyRecord::Activity(_) => Ok(()),
        }
    }

    fn project_customer(
        &mut self,
        tx: &Transaction<'_>,
        customer: &Customer,
        scope: &Scope,
    ) -> Result<()> {
        let id = customer.meta.id.as_str();
        let stored = place(tx, id)?;
        self.places_before.entry(id.to_owned()).or_insert(stored);
        let location = customer
            .location
            .as_ref()
            .map(|l| LatLon::new(l.lat, l.lon));
        tx.prepare_cached(
            "INSERT INTO customer_places (customer_id, name, lat, lon, radius_m, cadence_days, territory_id,
               team_id, deleted, known_since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (customer_id) DO UPDATE SET name = excluded.name, lat = excluded.lat,
               lon = excluded.lon, radius_m = excluded.radius_m, cadence_days = excluded.cadence_days,
               territory_id = excluded.territory_id, team_id = excluded.team_id, deleted = excluded.deleted",
        )?
        .execute(params![
            id,
            customer.name,
            location.map(|l| l.lat),
            location.map(|l| l.lon),
            customer.visit_radius_m,
            customer.visit_cadence_days,
            scope.territory_id,
            scope.team_id,
            customer.meta.deleted,
            self.now
        ])?;
        let pinned_anew = match stored {
            // A customer stored before whose pin changed: a move. Creating one is not.
            Some(stored) if stored.location != location => {
                self.record_move(tx, id, stored.location, location)?;
                true
            }
            Some(_) => false,
            None => location.is_some(),
        };
        if pinned_anew && let Some(location) = location {
            let skip = self
                .check_ins
                .get(id)
                .map(Vec::as_slice)
                .unwrap_or_default();
            reverify_unlocated(tx, id, location, f64::from(customer.visit_radius_m), skip)?;
        }
        Ok(())
    }

    /// Records a move of a stored customer's pin by the writer; a rep's move flags their
    /// check-ins at that customer in this push when it is far enough.
    fn record_move(
        &mut self,
        tx: &Transaction<'_>,
        customer_id: &str,
        from: Option<LatLon>,
        to: Option<LatLon>,
    ) -> Result<()> {
        let Some(writer) = self.writer else {
            return Ok(());
        };
        let distance = match (from, to) {
            (Some(from), Some(to)) => Some(from.distance_m(&to)),
            _ => None,
        };
        tx.prepare_cached(
            "INSERT INTO pin_moves (customer_id, moved_by, moved_at, from_lat, from_lon, to_lat, to_lon, distance_m)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            customer_id,
            writer.user_id,
            self.now,
            from.map(|l| l.lat),
            from.map(|l| l.lon),
            to.map(|l| l.lat),
            to.map(|l| l.lon),
            distance
        ])?;
        if writer.role == Role::Rep
            && let Some(distance) = distance
        {
            let largest = self.rep_moves.entry(customer_id.to_owned()).or_insert(0.0);
            *largest = largest.max(distance);
            let largest = *largest;
            for (visit_id, rep) in self.check_ins.get(customer_id).into_iter().flatten() {
                if *rep == writer.user_id {
                    self.flag_check_in(tx, visit_id, largest)?;
                }
            }
        }
        Ok(())
    }

    fn project_visit(&mut self, tx: &Transaction<'_>, visit: &Visit) -> Result<()> {
        let verified_before: Option<Option<String>> = tx
            .prepare_cached("SELECT verification FROM visit_facts WHERE visit_id = ?1")?
            .query_row([&visit.meta.id], |row| row.get(0))
            .optional()?;
        let new_check_in = visit.check_in.is_some() && verified_before.flatten().is_none();
        let verification = match &visit.check_in {
            Some(stamp) => {
                // The place when this push began, when the push wrote the customer too.
                let place = match self.places_before.get(&visit.customer_id) {
                    Some(before) => *before,
                    None => place(tx, &visit.customer_id)?,
                };
                let (location, radius) = place.map_or((None, 0.0), |p| (p.location, p.radius_m));
                Some(verify_check_in(location, radius, stamp))
            }
            None => None,
        };
        upsert_visit(tx, visit, verification)?;
        if new_check_in {
            self.check_ins
                .entry(visit.customer_id.clone())
                .or_default()
                .push((visit.meta.id.clone(), visit.rep.clone()));
            let writer_is_rep = self
                .writer
                .is_some_and(|w| w.role == Role::Rep && w.user_id == visit.rep);
            if writer_is_rep {
                // This push's moves (also those recorded after the check-in in it), and the
                // rep's earlier ones of this customer within the lookback.
                let earlier: Option<f64> = tx
                    .prepare_cached(
                        "SELECT max(distance_m) FROM pin_moves
                         WHERE customer_id = ?1 AND moved_at >= ?2 AND moved_by = ?3",
                    )?
                    .query_row(
                        params![
                            visit.customer_id,
                            self.now.saturating_sub(PIN_MOVE_LOOKBACK_MS),
                            visit.rep
                        ],
                        |row| row.get(0),
                    )?;
                let in_push = self.rep_moves.get(&visit.customer_id).copied();
                if let Some(moved) = earlier.into_iter().chain(in_push).reduce(f64::max) {
                    self.flag_check_in(tx, &visit.meta.id, moved)?;
                }
            }
        }
        Ok(())
    }

    /// Flags a check-in whose push moved its customer's pin by `moved_m`, when that is further
    /// than the configured distance.
    fn flag_check_in(&self, tx: &Transaction<'_>, visit_id: &str, moved_m: f64) -> Result<()> {
        if moved_m > self.settings.pin_move_flag_m {
            tx.prepare_cached(
                "UPDATE visit_facts SET pin_moved_m = max(coalesce(pin_moved_m, 0), ?2) WHERE visit_id = ?1",
            )?
            .execute(params![visit_id, moved_m])?;
        }
        Ok(())
    }
}

/// The customer's place as the server holds it now (`None`: not stored).
fn place(conn: &Connection, customer_id: &str) -> Result<Option<Place>> {
    let row: Option<(Option<f64>, Option<f64>, u32)> = conn
        .prepare_cached("SELECT lat, lon, radius_m FROM customer_places WHERE customer_id = ?1")?
        .query_row([customer_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    Ok(row.map(|(lat, lon, radius)| Place {
        location: match (lat, lon) {
            (Some(lat), Some(lon)) => Some(LatLon::new(lat, lon)),
            _ => None,
        },
        radius_m: f64::from(radius),
    }))
}

fn upsert_visit(
    tx: &Transaction<'_>,
    visit: &Visit,
    verification: Option<Verification>,
) -> Result<()> {
    let fix = |stamp: &Option<GpsStamp>| {
        stamp
            .as_ref()
            .map_or((None, None, None, None, None, None), |s| {
                (
                    Some(s.at),
                    Some(s.lat),
                    Some(s.lon),
                    Some(s.accuracy_m),
                    Some(s.fix_at),
                    Some(s.mock),
                )
            })
    };
    let (in_at, in_lat, in_lon, in_acc, in_fix, in_mock) = fix(&visit.check_in);
    let (out_at, out_lat, out_lon, out_acc, out_fix, out_mock) = fix(&visit.check_out);
    tx.prepare_cached(
        "INSERT INTO visit_facts (visit_id, rep_id, customer_id, status, planned_start,
           in_at, in_lat, in_lon, in_accuracy_m, in_fix_at, in_mock,
           out_at, out_lat, out_lon, out_accuracy_m, out_fix_at, out_mock, verification, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT (visit_id) DO UPDATE SET status = excluded.status, planned_start = excluded.planned_start,
           in_at = excluded.in_at, in_lat = excluded.in_lat, in_lon = excluded.in_lon,
           in_accuracy_m = excluded.in_accuracy_m, in_fix_at = excluded.in_fix_at, in_mock = excluded.in_mock,
           out_at = excluded.out_at, out_lat = excluded.out_lat, out_lon = excluded.out_lon,
           out_accuracy_m = excluded.out_accuracy_m, out_fix_at = excluded.out_fix_at,
           out_mock = excluded.out_mock,
           verification = coalesce(visit_facts.verification, excluded.verification),
           deleted = excluded.deleted",
    )?
    .execute(params![
        visit.meta.id,
        visit.rep,
        visit.customer_id,
        visit.status.as_str(),
        visit.planned_start,
        in_at,
        in_lat,
        in_lon,
        in_acc,
        in_fix,
        in_mock,
        out_at,
        out_lat,
        out_lon,
        out_acc,
        out_fix,
        out_mock,
        verification.as_ref().map(Verification::as_str),
        visit.meta.deleted
    ])?;
    Ok(())
}

/// A customer's pin changed to `location`: visits that had none to be compared with are
/// verified now, except those checked in by the same push (`skip`), which keep the place the
/// server held before it. Visits verified against an earlier location keep their result
/// (moving a customer's pin afterwards neither clears nor condemns a check-in).
fn reverify_unlocated(
    tx: &Transaction<'_>,
    customer_id: &str,
    location: LatLon,
    radius_m: f64,
    skip: &[(String, String)],
) -> Result<()> {
    let stamps: Vec<(String, GpsStamp)> = tx
        .prepare_cached(
            "SELECT visit_id, in_at, in_lat, in_lon, in_accuracy_m, in_fix_at, in_mock FROM visit_facts
             WHERE customer_id = ?1 AND verification = 'no_customer_location'",
        )?
        .query_map([customer_id], |row| {
            Ok((
                row.get(0)?,
                GpsStamp {
                    at: row.get(1)?,
                    lat: row.get(2)?,
                    lon: row.get(3)?,
                    accuracy_m: row.get(4)?,
                    fix_at: row.get(5)?,
                    mock: row.get(6)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (visit_id, stamp) in stamps {
        if skip.iter().any(|(id, _)| *id == visit_id) {
            continue;
        }
        let verification = verify_check_in(Some(location), radius_m, &stamp);
        tx.prepare_cached("UPDATE visit_facts SET verification = ?2 WHERE visit_id = ?1")?
            .execute(params![visit_id, verification.as_str()])?;
    }
    Ok(())
}

/// A customer moved to another territory (by an admin): its place follows.
pub(crate) fn move_place(
    tx: &Transaction<'_>,
    customer_id: &str,
    territory_id: &str,
    team_id: &str,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE customer_places SET territory_id = ?2, team_id = ?3 WHERE customer_id = ?1",
    )?
    .execute(params![customer_id, territory_id, team_id])?;
    Ok(())
}

/// Fills the tables from documents stored before they existed (customers first, so visits are
/// verified against them).
pub(crate) fn backfill(tx: &Transaction<'_>) -> Result<()> {
    let now = now_ms();
    for kind in ["customer", "visit"] {
        let rows: Vec<(Vec<u8>, Vec<u8>, Scope)> = tx
            .prepare(
                "SELECT record, bytes, territory_id, owner_id, team_id FROM documents WHERE kind = ?1",
            )?
            .query_map([kind], |row| {
                let scope = Scope {
                    territory_id: row.get(2)?,
                    owner_id: row.get(3)?,
                    team_id: row.get(4)?,
                    org_wide: false,
                };
                Ok((row.get(0)?, row.get(1)?, scope))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (stored, document, scope) in rows {
            // This runs in migration 7, before rows said their record's format (migration 10):
            // every row then held format 1.
            let record = crate::storage::stored_record::read(1, stored, &document)?;
            // Each document on its own, as if pushed alone by nobody: verified against its
            // customer as stored, and no pin moves.
            let mut projection = PushProjection {
                writer: None,
                now,
                settings: FieldworkSettings::default(),
                places_before: HashMap::new(),
                rep_moves: HashMap::new(),
                check_ins: HashMap::new(),
            };
            projection.project(tx, &record, &scope)?;
        }
    }
    Ok(())
}

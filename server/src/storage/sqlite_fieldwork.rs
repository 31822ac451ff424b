//! Work in the field as the server keeps it: customer places and visit facts projected from the
//! documents (with the server's own check-in verification), location pings stored from batches,
//! and the reads behind route review, the team overview and coverage.
//!
//! Writers take a `&Transaction`, readers a `&Connection`; `SqliteStorage` wraps them for the
//! [`crate::Storage`] trait.

use rusqlite::{Connection, OptionalExtension, Transaction, named_params, params};

use fieldcrm_core::overdue::{self, OverdueSql};
use fieldcrm_core::protocol::{self, PingAck, PingUpload, RefusedPing};
use fieldcrm_core::route::{StepKind, VisitFacts, classify_step};
use fieldcrm_core::{DAY_MS, Fix, GpsStamp, LatLon, Millis, Verification, VisitStatus, fix_row};

use super::sqlite_sight::{ScopeColumns, SightSql};
use super::{OverdueCustomer, PingBatchOutcome, RepDay, RepInfo, RepOverview, Result, corrupt};
use crate::scope::{self, Principal, Scope};

/// The schema version that adds these tables (its migration runs [`backfill`]).
pub(super) const SCHEMA_VERSION: usize = 7;

mod projection;
#[cfg(test)]
mod trust_tests;

pub use projection::{DEFAULT_PIN_MOVE_FLAG_M, FieldworkSettings, PIN_MOVE_LOOKBACK_MS};
pub(super) use projection::{PushProjection, backfill, future_fix, move_place};

// -- pings ------------------------------------------------------------------------------------

/// Stores a batch of `rep_id`'s pings: invalid ones are refused one by one with a reason, a
/// fix time already stored is a duplicate, and the steps around the new pings are recomputed.
pub(super) fn store_ping_batch(
    tx: &Transaction<'_>,
    rep_id: &str,
    upload: &PingUpload,
    now: Millis,
) -> Result<PingBatchOutcome> {
    let earlier: Option<(String, Vec<u8>)> = tx
        .prepare_cached("SELECT rep_id, ack FROM ping_batches WHERE batch_id = ?1")?
        .query_row([&upload.batch_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    if let Some((owner, ack)) = earlier {
        if owner != rep_id {
            return Ok(PingBatchOutcome::BatchIdTaken);
        }
        let ack = protocol::decode(&ack, usize::MAX).map_err(corrupt)?;
        return Ok(PingBatchOutcome::Acknowledged(ack));
    }
    let mut refused = Vec::new();
    let mut valid: Vec<Fix> = Vec::with_capacity(upload.pings.len());
    for ping in &upload.pings {
        match ping.validate("ping", now) {
            Ok(()) => valid.push(*ping),
            Err(e) => refused.push(RefusedPing {
                at: ping.at,
                reason: e.to_string(),
            }),
        }
    }
    valid.sort_by_key(|p| p.at);
    let mut stored = 0u32;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO pings (rep_id, fix_at, lat, lon, accuracy_m, mock) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (rep_id, fix_at) DO NOTHING",
        )?;
        for p in &valid {
            stored +=
                insert.execute(params![rep_id, p.at, p.lat, p.lon, p.accuracy_m, p.mock])? as u32;
        }
    }
    if let (Some(first), Some(last)) = (valid.first(), valid.last())
        && stored > 0
    {
        restep(tx, rep_id, first.at, last.at)?;
    }
    let ack = PingAck {
        batch_id: upload.batch_id.clone(),
        stored,
        duplicates: valid.len() as u32 - stored,
        refused,
    };
    tx.prepare_cached(
        "INSERT INTO ping_batches (batch_id, rep_id, received_at, ack) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        upload.batch_id,
        rep_id,
        now,
        protocol::encode(&ack).map_err(corrupt)?
    ])?;
    Ok(PingBatchOutcome::Acknowledged(ack))
}

/// Recomputes `prev_fix_at` and `step_m` of the rep's pings from `from` through the first ping
/// after `to` (the one whose predecessor may have changed). Appending a batch touches the batch
/// and one more row.
fn restep(tx: &Transaction<'_>, rep_id: &str, from: Millis, to: Millis) -> Result<()> {
    let mut previous: Option<Fix> = tx
        .prepare_cached(
            "SELECT fix_at, lat, lon, accuracy_m, mock FROM pings WHERE rep_id = ?1 AND fix_at < ?2
             ORDER BY fix_at DESC LIMIT 1",
        )?
        .query_row(params![rep_id, from], fix_row)
        .optional()?;
    let rows: Vec<(Fix, Option<Millis>, f64)> = tx
        .prepare_cached(
            "SELECT fix_at, lat, lon, accuracy_m, mock, prev_fix_at, step_m FROM pings
             WHERE rep_id = ?1 AND fix_at >= ?2 AND fix_at <= coalesce(
               (SELECT min(fix_at) FROM pings WHERE rep_id = ?1 AND fix_at > ?3), ?3)
             ORDER BY fix_at",
        )?
        .query_map(params![rep_id, from, to], |row| {
            Ok((fix_row(row)?, row.get(5)?, row.get(6)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = tx.prepare_cached(
        "UPDATE pings SET prev_fix_at = ?3, step_m = ?4 WHERE rep_id = ?1 AND fix_at = ?2",
    )?;
    for (fix, stored_prev, stored_step) in rows {
        let (prev_at, step) = match &previous {
            None => (None, 0.0),
            Some(p) => match classify_step(p, &fix) {
                (StepKind::Travel, distance) => (Some(p.at), distance),
                (StepKind::Gap | StepKind::Implausible, _) => (Some(p.at), 0.0),
            },
        };
        if prev_at != stored_prev || step != stored_step {
            update.execute(params![rep_id, fix.at, prev_at, step])?;
        }
        previous = Some(fix);
    }
    Ok(())
}

// -- reads ------------------------------------------------------------------------------------

/// The reps `principal` may review: those whose own records (a visit's scope: the rep as owner,
/// the rep's team) are in `principal`'s sight. A rep reviews themself, a manager their team's
/// reps (a manager without a team nobody), an admin every rep.
pub(super) fn reviewable_reps(conn: &Connection, principal: &Principal) -> Result<Vec<RepInfo>> {
    let sight = SightSql::new(
        principal.sight(),
        ScopeColumns {
            territory: None,
            owner: Some("u.id"),
            team: Some("u.team_id"),
            org_wide: None,
        },
    );
    let sql = format!(
        "SELECT u.id, u.username,
           (SELECT max(in_at) FROM visit_facts v WHERE v.rep_id = u.id AND v.deleted = 0)
         FROM users u WHERE u.role = 'rep' AND {} ORDER BY u.username",
        sight.condition()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(sight.params(&[]).as_slice(), |row| {
            Ok(RepInfo {
                id: row.get(0)?,
                username: row.get(1)?,
                last_check_in_at: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// `viewer` reviews the day: a visit's customer name and location (and the verification made
/// against that location) appear only when `viewer` may see the customer; otherwise the visit
/// shows without them.
pub(super) fn rep_day(
    conn: &Connection,
    viewer: &Principal,
    rep_id: &str,
    from: Millis,
    to: Millis,
) -> Result<RepDay> {
    let fixes = conn
        .prepare_cached(
            "SELECT fix_at, lat, lon, accuracy_m, mock FROM pings
             WHERE rep_id = ?1 AND fix_at >= ?2 AND fix_at < ?3 ORDER BY fix_at",
        )?
        .query_map(params![rep_id, from, to], fix_row)?
        .collect::<rusqlite::Result<_>>()?;
    const COLUMNS: &str =
        "v.visit_id, v.customer_id, c.name, c.lat, c.lon, v.planned_start, v.status,
        v.in_at, v.in_lat, v.in_lon, v.in_accuracy_m, v.in_fix_at, v.in_mock,
        v.out_at, v.out_lat, v.out_lon, v.out_accuracy_m, v.out_fix_at, v.out_mock, v.verification,
        v.pin_moved_m, c.territory_id, c.team_id
        FROM visit_facts v LEFT JOIN customer_places c ON c.customer_id = v.customer_id";
    let sql = format!(
        "SELECT {COLUMNS} WHERE v.rep_id = ?1 AND v.in_at >= ?2 AND v.in_at < ?3 AND v.deleted = 0
         UNION ALL
         SELECT {COLUMNS} WHERE v.rep_id = ?1 AND v.planned_start >= ?2 AND v.planned_start < ?3
           AND v.in_at IS NULL AND v.deleted = 0"
    );
    let visits = conn
        .prepare_cached(&sql)?
        .query_map(params![rep_id, from, to], |row| {
            let stamp = |base: usize| -> rusqlite::Result<Option<GpsStamp>> {
                let at: Option<Millis> = row.get(base)?;
                Ok(match at {
                    None => None,
                    Some(at) => Some(GpsStamp {
                        at,
                        lat: row.get(base + 1)?,
                        lon: row.get(base + 2)?,
                        accuracy_m: row.get(base + 3)?,
                        fix_at: row.get(base + 4)?,
                        mock: row.get(base + 5)?,
                    }),
                })
            };
            let customer = Scope {
                territory_id: row.get(21)?,
                owner_id: None,
                team_id: row.get(22)?,
                org_wide: false,
            };
            let seen = scope::visible(viewer, &customer);
            let location = match (row.get::<_, Option<f64>>(3)?, row.get::<_, Option<f64>>(4)?) {
                (Some(lat), Some(lon)) if seen => Some(LatLon::new(lat, lon)),
                _ => None,
            };
            Ok(VisitFacts {
                visit_id: row.get(0)?,
                customer_id: row.get(1)?,
                customer_name: if seen { row.get(2)? } else { None },
                customer_location: location,
                planned_start: row.get(5)?,
                status: VisitStatus::parse(&row.get::<_, String>(6)?),
                check_in: stamp(7)?,
                check_out: stamp(13)?,
                verification: if seen {
                    row.get::<_, Option<String>>(19)?
                        .as_deref()
                        .map(Verification::parse)
                } else {
                    None
                },
                pin_moved_m: row.get(20)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(RepDay { fixes, visits })
}

/// A check-in counts as verified only when `viewer` sees its customer (the verification was
/// made against that customer's location).
pub(super) fn team_overview(
    conn: &Connection,
    viewer: &Principal,
    reps: &[RepInfo],
    from: Millis,
    to: Millis,
) -> Result<Vec<RepOverview>> {
    let mut visits = conn.prepare_cached(
        "SELECT v.in_at, v.verification = 'verified', c.territory_id, c.team_id
         FROM visit_facts v LEFT JOIN customer_places c ON c.customer_id = v.customer_id
         WHERE v.rep_id = ?1 AND v.in_at >= ?2 AND v.in_at < ?3 AND v.deleted = 0",
    )?;
    let mut distance = conn.prepare_cached(
        "SELECT coalesce(sum(step_m), 0) FROM pings
         WHERE rep_id = ?1 AND fix_at >= ?2 AND fix_at < ?3 AND prev_fix_at >= ?2",
    )?;
    let mut out = Vec::with_capacity(reps.len());
    for rep in reps {
        let (mut count, mut verified) = (0u32, 0u32);
        let (mut first, mut last): (Option<Millis>, Option<Millis>) = (None, None);
        let mut rows = visits.query(params![rep.id, from, to])?;
        while let Some(row) = rows.next()? {
            let at: Millis = row.get(0)?;
            let is_verified: Option<bool> = row.get(1)?;
            let customer = Scope {
                territory_id: row.get(2)?,
                owner_id: None,
                team_id: row.get(3)?,
                org_wide: false,
            };
            count += 1;
            if is_verified == Some(true) && scope::visible(viewer, &customer) {
                verified += 1;
            }
            first = Some(first.map_or(at, |f| f.min(at)));
            last = Some(last.map_or(at, |l| l.max(at)));
        }
        let distance_m: f64 = distance.query_row(params![rep.id, from, to], |row| row.get(0))?;
        out.push(RepOverview {
            rep_id: rep.id.clone(),
            username: rep.username.clone(),
            visits: count,
            verified,
            verified_share: if count == 0 {
                0.0
            } else {
                f64::from(verified) / f64::from(count)
            },
            distance_m,
            first_check_in_at: first,
            last_check_in_at: last,
        });
    }
    Ok(out)
}

/// Customers in `principal`'s sight whose last done visit is older than their cadence, most
/// overdue first: the rule of `fieldcrm_core::overdue`, with customers never visited first, the
/// one the server has known longest first.
pub(super) fn overdue_customers(
    conn: &Connection,
    principal: &Principal,
    now: Millis,
    limit: u32,
) -> Result<Vec<OverdueCustomer>> {
    let sight = SightSql::new(
        principal.sight(),
        ScopeColumns {
            territory: Some("c.territory_id"),
            owner: None,
            team: Some("c.team_id"),
            org_wide: None,
        },
    );
    let rule = OverdueSql {
        last_visit: "last_visit",
        cadence_days: "cadence_days",
        known_order: "known_since",
        name: "name",
    };
    let sql = format!(
        "SELECT * FROM (
           SELECT c.customer_id, c.name AS name, t.name AS territory_name,
             c.cadence_days AS cadence_days, c.lat, c.lon, c.known_since AS known_since,
             (SELECT max(v.in_at) FROM visit_facts v
               WHERE v.customer_id = c.customer_id AND v.status = 'done' AND v.deleted = 0) AS last_visit
           FROM customer_places c LEFT JOIN territories t ON t.id = c.territory_id
           WHERE c.cadence_days IS NOT NULL AND c.deleted = 0 AND {})
         WHERE {}
         ORDER BY {}
         LIMIT :limit",
        sight.condition(),
        rule.condition(":now"),
        rule.order()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            sight
                .params(named_params! {":now": now, ":limit": limit})
                .as_slice(),
            |row| {
                let cadence_days: u32 = row.get(3)?;
                let known_since: Millis = row.get(6)?;
                let last_visit_at: Option<Millis> = row.get(7)?;
                // Never visited: due since the server first stored the customer.
                let due = overdue::due_at(last_visit_at, cadence_days).unwrap_or(known_since);
                Ok(OverdueCustomer {
                    customer_id: row.get(0)?,
                    name: row.get(1)?,
                    territory: row.get(2)?,
                    cadence_days,
                    last_visit_at,
                    overdue_days: (now.saturating_sub(due) / DAY_MS).max(0),
                    lat: row.get(4)?,
                    lon: row.get(5)?,
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, now_ms};
    use crate::storage::{NewUser, SqliteStorage, Storage};

    /// The overdue list follows `fieldcrm_core::overdue`: customers never visited come first,
    /// the one the server has known longest first, then the visited ones by due date, however
    /// long ago those fell due.
    #[test]
    fn overdue_customers_put_the_never_visited_first_longest_known_first() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let admin = storage
            .create_user(NewUser {
                username: "root",
                password_hash: None,
                role: Role::Admin,
                team_id: None,
            })
            .unwrap();
        let now = 1_790_000_000_000;
        {
            let conn = storage.write();
            let place = |id: &str, name: &str, known_since: Millis| {
                conn.execute(
                    "INSERT INTO customer_places (customer_id, name, radius_m, cadence_days, deleted, known_since)
                     VALUES (?1, ?2, 100, 7, 0, ?3)",
                    params![id, name, known_since],
                )
                .unwrap()
            };
            place("recent", "Alpha, never visited", now - 5 * DAY_MS);
            place("old", "Zeta, never visited", now - 40 * DAY_MS);
            place("visited", "Visited 100 days ago", now - 400 * DAY_MS);
            place("fine", "Visited yesterday", now - 400 * DAY_MS);
            for (visit, customer, days_ago) in [("v1", "visited", 100), ("v2", "fine", 1)] {
                conn.execute(
                    "INSERT INTO visit_facts (visit_id, rep_id, customer_id, status, in_at, deleted)
                     VALUES (?1, 'ana', ?2, 'done', ?3, 0)",
                    params![visit, customer, now - days_ago * DAY_MS],
                )
                .unwrap();
            }
        }
        let principal = storage.principal(&admin).unwrap();
        let overdue = storage.overdue_customers(&principal, now, 10).unwrap();
        assert_eq!(
            overdue
                .iter()
                .map(|c| (c.name.as_str(), c.overdue_days))
                .collect::<Vec<_>>(),
            [
                ("Zeta, never visited", 40),
                ("Alpha, never visited", 5),
                ("Visited 100 days ago", 93)
            ]
        );
    }
    use fieldcrm_core::{Customer, GeoLocation, LocationSource, Store, Visit};

    /// A database written before migration 0007 has documents but no places or visit facts:
    /// the migration's backfill derives them, with the server's verification.
    #[test]
    fn backfill_projects_documents_stored_before_the_tables_existed() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let team = storage.create_team("north").unwrap();
        let harbour = storage.create_territory("harbour", &team.id).unwrap();
        let rep = storage
            .create_user(NewUser {
                username: "ana",
                password_hash: None,
                role: Role::Rep,
                team_id: Some(&team.id),
            })
            .unwrap();
        storage.assign_user_territory(&rep.id, &harbour.id).unwrap();
        let device = Store::open(":memory:").unwrap();
        device.set_user(&rep.id).unwrap();
        storage
            .register_device(&rep.id, &device.actor_id())
            .unwrap();
        let mut customer = Customer::new("Kiosk");
        customer.territory = Some("harbour".into());
        customer.visit_cadence_days = Some(7);
        customer.location = Some(GeoLocation {
            lat: 53.55,
            lon: 9.93,
            source: LocationSource::Gps,
            at: now_ms(),
        });
        let customer = device.create(customer).unwrap();
        let mut visit = Visit::new(&customer.meta.id, &rep.id);
        visit.check_in = Some(GpsStamp {
            at: now_ms() - 1_000,
            lat: 53.56,
            lon: 9.93,
            accuracy_m: 10.0,
            fix_at: now_ms() - 2_000,
            mock: false,
        });
        visit.status = VisitStatus::Done;
        device.create(visit).unwrap();
        let (request, _) = device.push_request(100).unwrap().unwrap();
        let principal = storage.principal(&rep).unwrap();
        let (response, _) = storage.push_changes(&principal, request).unwrap();
        assert!(response.rejected.is_empty());

        let mut conn = storage.write();
        let tx = conn.transaction().unwrap();
        tx.execute_batch("DELETE FROM customer_places; DELETE FROM visit_facts;")
            .unwrap();
        backfill(&tx).unwrap();
        let (places, verification): (i64, String) = tx
            .query_row(
                "SELECT (SELECT count(*) FROM customer_places WHERE team_id IS NOT NULL),
                        (SELECT verification FROM visit_facts)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((places, verification.as_str()), (1, "out_of_range"));
    }
}

//! Targets as stored (one row per rep, period, metric and currency) and the actuals they are
//! measured against: visits and verified visits as the team overview counts them, deals won
//! from `opportunity_facts`, new customers from `customer_origins`, revenue from `order_facts`.

use std::collections::BTreeMap;

use rusqlite::{Connection, Transaction, params};

use fieldcrm_core::Millis;

use super::super::sales::{MAX_REPORT_GROUPS, MAX_TARGETS_PER_REP_PERIOD, TargetWrite};
use super::super::sqlite_fieldwork;
use super::super::{RepInfo, Result, corrupt};
use crate::sales::reports::minor_units;
use crate::sales::targets::{RepActuals, Target};
use crate::scope::Principal;

pub(super) fn set(
    tx: &Transaction<'_>,
    rep_id: &str,
    period: &str,
    target: &Target,
    set_by: &str,
    now: Millis,
) -> Result<TargetWrite> {
    let currency = target.currency.as_deref().unwrap_or_default();
    let others: i64 = tx
        .prepare_cached(
            "SELECT count(*) FROM targets WHERE rep_id = ?1 AND period = ?2
             AND NOT (metric = ?3 AND currency = ?4)",
        )?
        .query_row(
            params![rep_id, period, target.metric.as_str(), currency],
            |row| row.get(0),
        )?;
    if others >= i64::from(MAX_TARGETS_PER_REP_PERIOD) {
        return Ok(TargetWrite::TooMany);
    }
    tx.prepare_cached(
        "INSERT INTO targets (rep_id, period, metric, currency, target, set_by, set_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (rep_id, period, metric, currency) DO UPDATE SET target = excluded.target,
           set_by = excluded.set_by, set_at = excluded.set_at",
    )?
    .execute(params![
        rep_id,
        period,
        target.metric.as_str(),
        currency,
        target.value,
        set_by,
        now
    ])?;
    Ok(TargetWrite::Stored)
}

pub(super) fn of_reps(
    conn: &Connection,
    rep_ids: &[String],
    period: &str,
) -> Result<Vec<(String, Target)>> {
    let ids = serde_json::Value::from(rep_ids.to_vec()).to_string();
    let rows: Vec<(String, String, String, i64)> = conn
        .prepare_cached(
            "SELECT rep_id, metric, currency, target FROM targets
             WHERE rep_id IN (SELECT value FROM json_each(?1)) AND period = ?2",
        )?
        .query_map(params![ids, period], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(rep, metric, currency, value)| {
            let currency = (!currency.is_empty()).then_some(currency);
            let target = Target::new(&metric, currency.as_deref(), value).map_err(corrupt)?;
            Ok((rep, target))
        })
        .collect()
}

pub(super) fn actuals(
    conn: &Connection,
    viewer: &Principal,
    reps: &[RepInfo],
    from: Millis,
    to: Millis,
) -> Result<Vec<RepActuals>> {
    let overview = sqlite_fieldwork::team_overview(conn, viewer, reps, from, to)?;
    let mut won = conn.prepare_cached(
        "SELECT count(*) FROM opportunity_facts
         WHERE rep_id = ?1 AND deleted = 0 AND closed_at >= ?2 AND closed_at < ?3 AND stage = 'won'",
    )?;
    let mut created = conn.prepare_cached(
        "SELECT count(*) FROM customer_origins
         WHERE created_by = ?1 AND deleted = 0 AND first_stored_at >= ?2 AND first_stored_at < ?3",
    )?;
    // The rep's orders that count as revenue (`sales::orders::counts_as_revenue`), net amounts
    // per currency; bounded by the currencies there are.
    let mut revenue = conn.prepare_cached(
        "SELECT currency, total(net_minor) FROM order_facts
         WHERE rep_id = ?1 AND revenue = 1 AND deleted = 0 AND ordered_at >= ?2 AND ordered_at < ?3
         GROUP BY currency
         LIMIT ?4",
    )?;
    let mut out = Vec::with_capacity(reps.len());
    for (rep, seen) in reps.iter().zip(overview) {
        out.push(RepActuals {
            visits: i64::from(seen.visits),
            verified_visits: i64::from(seen.verified),
            new_customers: created.query_row(params![rep.id, from, to], |row| row.get(0))?,
            deals_won: won.query_row(params![rep.id, from, to], |row| row.get(0))?,
            revenue: Some(
                revenue
                    .query_map(params![rep.id, from, to, MAX_REPORT_GROUPS], |row| {
                        Ok((row.get::<_, String>(0)?, minor_units(row.get(1)?)))
                    })?
                    .collect::<rusqlite::Result<BTreeMap<_, _>>>()?,
            ),
        });
    }
    Ok(out)
}

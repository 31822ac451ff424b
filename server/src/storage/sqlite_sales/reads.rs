//! The reports' reads: every query keeps to the viewer's sight over the opportunity's scope
//! columns (`SightSql`), reads one covering index (migration 0011), groups in SQL before it
//! joins anything, and is bounded by a limit.

use rusqlite::{Connection, named_params};

use fieldcrm_core::Millis;

use super::super::sales::{FunnelRows, MAX_FUNNEL_STAYS, MAX_REPORT_GROUPS, PipelineFilter};
use super::super::sqlite_sight::SightSql;
use super::super::{Result, corrupt};
use super::count;
use crate::sales::reports::{BigDeal, MonthRow, PipelineRow, RepClosed, minor_units};
use crate::scope::Principal;

/// An opportunity's scope is its customer's: territory and team (no owner).
fn sight(viewer: &Principal) -> SightSql {
    super::customer_scope_sight(viewer, "o")
}

pub(super) fn pipeline(
    conn: &Connection,
    viewer: &Principal,
    filter: &PipelineFilter,
) -> Result<Vec<PipelineRow>> {
    let sight = sight(viewer);
    let sql = format!(
        "SELECT g.stage, g.currency, g.rep_id, u.username, g.deals, g.amount, g.weighted
         FROM (SELECT o.stage, o.currency, o.rep_id, count(*) AS deals,
                 total(o.amount_minor) AS amount, total(o.weighted_minor) AS weighted
               FROM opportunity_facts o
               WHERE o.open = 1 AND o.deleted = 0 AND {}
                 AND (:rep IS NULL OR o.rep_id = :rep)
                 AND (:currency IS NULL OR o.currency = :currency)
               GROUP BY o.stage, o.currency, o.rep_id
               LIMIT :limit) g
           LEFT JOIN users u ON u.id = g.rep_id",
        sight.condition()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            sight
                .params(named_params! {
                    ":rep": filter.rep_id,
                    ":currency": filter.currency,
                    ":limit": MAX_REPORT_GROUPS,
                })
                .as_slice(),
            |row| {
                Ok(PipelineRow {
                    stage: row.get(0)?,
                    currency: row.get(1)?,
                    rep_id: row.get(2)?,
                    username: row.get(3)?,
                    count: count(row.get(4)?),
                    amount_minor: minor_units(row.get(5)?),
                    weighted_minor: minor_units(row.get(6)?),
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn month_rows(
    conn: &Connection,
    sql: &str,
    sight: &SightSql,
    from: Millis,
    to: Millis,
    currency: Option<&str>,
) -> Result<Vec<MonthRow>> {
    let rows = conn
        .prepare_cached(sql)?
        .query_map(
            sight
                .params(named_params! {
                    ":from": from,
                    ":to": to,
                    ":currency": currency,
                    ":limit": MAX_REPORT_GROUPS,
                })
                .as_slice(),
            |row| {
                Ok(MonthRow {
                    month: row.get(0)?,
                    currency: row.get(1)?,
                    count: count(row.get(2)?),
                    amount_minor: minor_units(row.get(3)?),
                    weighted_minor: minor_units(row.get(4)?),
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(super) fn forecast(
    conn: &Connection,
    viewer: &Principal,
    from: Millis,
    to: Millis,
    currency: Option<&str>,
) -> Result<(Vec<MonthRow>, Vec<MonthRow>)> {
    let sight = sight(viewer);
    let open = format!(
        "SELECT strftime('%Y-%m', o.expected_close_at / 1000, 'unixepoch') AS month, o.currency,
           count(*), total(o.amount_minor), total(o.weighted_minor)
         FROM opportunity_facts o
         WHERE o.deleted = 0 AND o.open = 1 AND o.expected_close_at >= :from
           AND o.expected_close_at < :to AND {}
           AND (:currency IS NULL OR o.currency = :currency)
         GROUP BY month, o.currency
         LIMIT :limit",
        sight.condition()
    );
    let won = format!(
        "SELECT strftime('%Y-%m', o.closed_at / 1000, 'unixepoch') AS month, o.currency,
           count(*), total(o.amount_minor), total(o.weighted_minor)
         FROM opportunity_facts o
         WHERE o.deleted = 0 AND o.closed_at >= :from AND o.closed_at < :to AND o.stage = 'won'
           AND {} AND (:currency IS NULL OR o.currency = :currency)
         GROUP BY month, o.currency
         LIMIT :limit",
        sight.condition()
    );
    Ok((
        month_rows(conn, &open, &sight, from, to, currency)?,
        month_rows(conn, &won, &sight, from, to, currency)?,
    ))
}

pub(super) fn funnel(
    conn: &Connection,
    viewer: &Principal,
    from: Millis,
    to: Millis,
) -> Result<FunnelRows> {
    let sight = sight(viewer);
    let furthest_sql = format!(
        "SELECT o.furthest_rank, count(*) FROM opportunity_facts o
         WHERE o.deleted = 0 AND o.entered_at >= :from AND o.entered_at < :to AND {}
         GROUP BY o.furthest_rank",
        sight.condition()
    );
    let furthest = conn
        .prepare_cached(&furthest_sql)?
        .query_map(
            sight
                .params(named_params! {":from": from, ":to": to})
                .as_slice(),
            |row| {
                let rank: i64 = row.get(0)?;
                Ok((rank, count(row.get(1)?)))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(rank, n)| Ok((u8::try_from(rank).map_err(corrupt)?, n)))
        .collect::<Result<Vec<_>>>()?;
    // Each stage change carries its deal's scope, `deleted` and `entered_at`: one index range.
    let stays_sight = super::customer_scope_sight(viewer, "s");
    let stays_sql = format!(
        "SELECT s.stage, s.duration_ms
         FROM opportunity_stage_changes s
         WHERE s.deleted = 0 AND s.entered_at >= :from AND s.entered_at < :to AND {}
           AND s.duration_ms IS NOT NULL
         LIMIT :limit",
        stays_sight.condition()
    );
    let mut stays: Vec<(String, Millis)> = conn
        .prepare_cached(&stays_sql)?
        .query_map(
            stays_sight
                .params(named_params! {
                    ":from": from,
                    ":to": to,
                    ":limit": MAX_FUNNEL_STAYS + 1,
                })
                .as_slice(),
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    let sampled = stays.len() > MAX_FUNNEL_STAYS as usize;
    stays.truncate(MAX_FUNNEL_STAYS as usize);
    Ok(FunnelRows {
        furthest,
        stays,
        sampled,
    })
}

pub(super) fn win_rates(
    conn: &Connection,
    viewer: &Principal,
    from: Millis,
    to: Millis,
) -> Result<Vec<RepClosed>> {
    let sight = sight(viewer);
    let sql = format!(
        "SELECT g.rep_id, u.username, g.won, g.lost
         FROM (SELECT o.rep_id, sum(o.stage = 'won') AS won, sum(o.stage = 'lost') AS lost
               FROM opportunity_facts o
               WHERE o.deleted = 0 AND o.closed_at >= :from AND o.closed_at < :to AND {}
               GROUP BY o.rep_id
               LIMIT :limit) g
           LEFT JOIN users u ON u.id = g.rep_id",
        sight.condition()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            sight
                .params(named_params! {":from": from, ":to": to, ":limit": MAX_REPORT_GROUPS})
                .as_slice(),
            |row| {
                Ok(RepClosed {
                    rep_id: row.get(0)?,
                    username: row.get(1)?,
                    won: count(row.get(2)?),
                    lost: count(row.get(3)?),
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub(super) fn big_deals(
    conn: &Connection,
    viewer: &Principal,
    min_amount_minor: i64,
    currency: Option<&str>,
    limit: u32,
) -> Result<Vec<BigDeal>> {
    let sight = sight(viewer);
    let sql = format!(
        "SELECT o.opportunity_id, o.title, o.customer_id, c.name, o.rep_id, u.username, o.stage,
           o.amount_minor, o.currency, o.weight_percent, o.weighted_minor, o.expected_close_at
         FROM opportunity_facts o
           LEFT JOIN customer_places c ON c.customer_id = o.customer_id
           LEFT JOIN users u ON u.id = o.rep_id
         WHERE o.deleted = 0 AND o.open = 1 AND o.amount_minor >= :min AND {}
           AND (:currency IS NULL OR o.currency = :currency)
         ORDER BY o.amount_minor DESC, o.opportunity_id
         LIMIT :limit",
        sight.condition()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            sight
                .params(named_params! {
                    ":min": min_amount_minor,
                    ":currency": currency,
                    ":limit": limit,
                })
                .as_slice(),
            |row| {
                Ok(BigDeal {
                    opportunity_id: row.get(0)?,
                    title: row.get(1)?,
                    customer_id: row.get(2)?,
                    customer_name: row.get(3)?,
                    rep_id: row.get(4)?,
                    username: row.get(5)?,
                    stage: row.get(6)?,
                    amount_minor: row.get(7)?,
                    currency: row.get(8)?,
                    weight_percent: row.get(9)?,
                    weighted_minor: row.get(10)?,
                    expected_close_at: row.get(11)?,
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

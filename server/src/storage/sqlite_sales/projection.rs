//! `opportunity_facts`, `opportunity_stage_changes` and `customer_origins` (and the order facts,
//! `orders.rs`) kept in step with accepted documents, inside the push's transaction (called from
//! the field-work projection's entry point, so every accepted document passes here once).

use rusqlite::{OptionalExtension, Transaction, params};

use fieldcrm_core::{AnyRecord, Customer, Millis, Opportunity};

use crate::model::now_ms;
use crate::sales::deal;
use crate::scope::Scope;
use crate::storage::Result;
use fieldcrm_core::{weight_percent, weighted_minor};

/// Keeps the sales tables in step with an accepted document at `scope`; `now` is the server's
/// time of the push.
pub(crate) fn project(
    tx: &Transaction<'_>,
    record: &AnyRecord,
    scope: &Scope,
    now: Millis,
) -> Result<()> {
    match record {
        AnyRecord::Opportunity(deal) => project_opportunity(tx, deal, scope),
        AnyRecord::Customer(customer) => project_origin(tx, customer, now),
        AnyRecord::Order(order) => super::orders::project_order(tx, order, scope),
        AnyRecord::Product(product) => super::orders::project_product(tx, product),
        _ => Ok(()),
    }
}

/// A deal's or an order's rep: its owner when that names a user (a device may write any text
/// there), else its creator, whom the server checked when the record was created.
pub(super) fn rep_of(
    tx: &Transaction<'_>,
    owner: Option<&str>,
    created_by: &str,
) -> Result<String> {
    if let Some(owner) = owner {
        let known: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
            .query_row([owner], |row| row.get(0))
            .optional()?;
        if known.is_some() {
            return Ok(owner.to_owned());
        }
    }
    Ok(created_by.to_owned())
}

fn project_opportunity(tx: &Transaction<'_>, deal: &Opportunity, scope: &Scope) -> Result<()> {
    let id = deal.meta.id.as_str();
    let rep = rep_of(tx, deal.owner.as_deref(), &deal.meta.created_by)?;
    let history = deal::history(deal);
    let weight = weight_percent(&deal.stage, deal.probability);
    tx.prepare_cached(
        "INSERT INTO opportunity_facts (opportunity_id, customer_id, rep_id, title, stage, open,
           amount_minor, currency, probability, weight_percent, weighted_minor, expected_close_at,
           entered_at, furthest_rank, closed_at, territory_id, team_id, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
         ON CONFLICT (opportunity_id) DO UPDATE SET customer_id = excluded.customer_id,
           rep_id = excluded.rep_id, title = excluded.title, stage = excluded.stage,
           open = excluded.open, amount_minor = excluded.amount_minor, currency = excluded.currency,
           probability = excluded.probability, weight_percent = excluded.weight_percent,
           weighted_minor = excluded.weighted_minor, expected_close_at = excluded.expected_close_at,
           entered_at = excluded.entered_at, furthest_rank = excluded.furthest_rank,
           closed_at = excluded.closed_at, territory_id = excluded.territory_id,
           team_id = excluded.team_id, deleted = excluded.deleted",
    )?
    .execute(params![
        id,
        deal.customer_id,
        rep,
        deal.title,
        deal.stage.as_str(),
        !deal.stage.is_closed(),
        deal.amount.minor,
        deal.amount.currency,
        deal.probability,
        weight,
        weighted_minor(deal.amount.minor, &deal.stage, deal.probability),
        deal.expected_close_at,
        history.entered_at,
        history.furthest_rank,
        history.closed_at,
        scope.territory_id,
        scope.team_id,
        deal.meta.deleted
    ])?;
    // The history only grows (the server's invariant), but merged entries may land between
    // earlier ones in time: it is written again whole, in time order.
    tx.prepare_cached("DELETE FROM opportunity_stage_changes WHERE opportunity_id = ?1")?
        .execute([id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO opportunity_stage_changes (opportunity_id, position, stage, at, by_user,
           duration_ms, territory_id, team_id, deleted, entered_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (position, stay) in history.stays.iter().enumerate() {
        insert.execute(params![
            id,
            position as i64,
            stay.stage.as_str(),
            stay.at,
            stay.by,
            stay.duration_ms,
            scope.territory_id,
            scope.team_id,
            deal.meta.deleted,
            history.entered_at
        ])?;
    }
    Ok(())
}

/// A customer's creator and when the server first stored it (kept from the first push).
fn project_origin(tx: &Transaction<'_>, customer: &Customer, now: Millis) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO customer_origins (customer_id, created_by, first_stored_at, deleted)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (customer_id) DO UPDATE SET deleted = excluded.deleted",
    )?
    .execute(params![
        customer.meta.id,
        customer.meta.created_by,
        now,
        customer.meta.deleted
    ])?;
    Ok(())
}

/// A customer moved to another territory (by an admin): its deals and orders follow.
pub(crate) fn move_customer(tx: &Transaction<'_>, customer_id: &str, scope: &Scope) -> Result<()> {
    tx.prepare_cached(
        "UPDATE opportunity_facts SET territory_id = ?2, team_id = ?3 WHERE customer_id = ?1",
    )?
    .execute(params![customer_id, scope.territory_id, scope.team_id])?;
    tx.prepare_cached(
        "UPDATE opportunity_stage_changes SET territory_id = ?2, team_id = ?3
         WHERE opportunity_id IN (SELECT opportunity_id FROM opportunity_facts WHERE customer_id = ?1)",
    )?
    .execute(params![customer_id, scope.territory_id, scope.team_id])?;
    super::orders::move_customer(tx, customer_id, scope)
}

/// Fills the tables from documents stored before they existed, a page of documents at a time
/// (memory stays bounded however many there are). A customer counts as first stored when its
/// first change was committed (else now).
/// A stored document as the backfill reads it: id, record, bytes, record format, scope and
/// the commit time (unix seconds) of its first change.
type StoredDocument = (String, Vec<u8>, Vec<u8>, i64, Scope, Option<i64>);

pub(crate) fn backfill(tx: &Transaction<'_>) -> Result<()> {
    const PAGE: i64 = 500;
    let now = now_ms();
    let mut after = String::new();
    loop {
        let rows: Vec<StoredDocument> = tx
            .prepare_cached(
                "SELECT d.id, d.record, d.bytes, d.record_format, d.territory_id, d.owner_id, d.team_id,
                   (SELECT c.committed_at FROM changes c WHERE c.seq = d.first_seq)
                 FROM documents d WHERE d.id > ?1 AND d.kind IN ('customer', 'opportunity')
                 ORDER BY d.id LIMIT ?2",
            )?
            .query_map(params![after, PAGE], |row| {
                let scope = Scope {
                    territory_id: row.get(4)?,
                    owner_id: row.get(5)?,
                    team_id: row.get(6)?,
                    // Customers and opportunities are never organisation-wide.
                    org_wide: false,
                };
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, scope, row.get(7)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let Some(last) = rows.last().map(|r| r.0.clone()) else {
            return Ok(());
        };
        for (_, stored, document, format, scope, committed_at) in rows {
            let record = crate::storage::stored_record::read(format, stored, &document)?;
            // `committed_at` is in unix seconds.
            let first_stored = committed_at.map_or(now, |s| s.saturating_mul(1_000));
            project(tx, &record, &scope, first_stored)?;
        }
        after = last;
    }
}

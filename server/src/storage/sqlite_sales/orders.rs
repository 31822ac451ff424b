//! `order_facts` and `order_line_facts` kept in step with accepted orders, inside the push's
//! transaction (from `projection::project`, the sales tables' one entry point), filled from
//! stored orders by migration 0014's backfill, and moved with a customer moved to another
//! territory. A product that arrives marks the lines naming it as known.

use rusqlite::{OptionalExtension, Transaction, params};

use fieldcrm_core::{Order, Product, totals};

use crate::sales::orders::counts_as_revenue;
use crate::scope::Scope;
use crate::storage::Result;

fn is_known_product(tx: &Transaction<'_>, product_id: &str) -> Result<bool> {
    let known: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM documents WHERE id = ?1 AND kind = 'product'")?
        .query_row([product_id], |row| row.get(0))
        .optional()?;
    Ok(known.is_some())
}

pub(super) fn project_order(tx: &Transaction<'_>, order: &Order, scope: &Scope) -> Result<()> {
    let id = order.meta.id.as_str();
    let rep = super::projection::rep_of(tx, Some(&order.owner), &order.meta.created_by)?;
    let revenue = counts_as_revenue(&order.status);
    let sums = totals(&order.lines);
    tx.prepare_cached(
        "INSERT INTO order_facts (order_id, customer_id, rep_id, visit_id, status, revenue,
           currency, ordered_at, line_count, subtotal_minor, discount_minor, net_minor, tax_minor,
           gross_minor, territory_id, team_id, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (order_id) DO UPDATE SET customer_id = excluded.customer_id,
           rep_id = excluded.rep_id, visit_id = excluded.visit_id, status = excluded.status,
           revenue = excluded.revenue, currency = excluded.currency,
           ordered_at = excluded.ordered_at, line_count = excluded.line_count,
           subtotal_minor = excluded.subtotal_minor, discount_minor = excluded.discount_minor,
           net_minor = excluded.net_minor, tax_minor = excluded.tax_minor,
           gross_minor = excluded.gross_minor, territory_id = excluded.territory_id,
           team_id = excluded.team_id, deleted = excluded.deleted",
    )?
    .execute(params![
        id,
        order.customer_id,
        rep,
        order.visit_id,
        order.status.as_str(),
        revenue,
        order.currency,
        order.ordered_at,
        order.lines.len() as i64,
        sums.subtotal_minor,
        sums.discount_minor,
        sums.net_minor,
        sums.tax_minor,
        sums.gross_minor,
        scope.territory_id,
        scope.team_id,
        order.meta.deleted
    ])?;
    // Lines may be added on two devices and merged: written again whole, in the order's order.
    tx.prepare_cached("DELETE FROM order_line_facts WHERE order_id = ?1")?
        .execute([id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO order_line_facts (order_id, position, line_id, product_id, sku, name,
           quantity, net_minor, gross_minor, known_product, currency, ordered_at, revenue,
           territory_id, team_id, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for (position, line) in order.lines.iter().enumerate() {
        // The line's own figures by the one rule, so the lines add up to the order's.
        let line_sums = totals(std::slice::from_ref(line));
        insert.execute(params![
            id,
            position as i64,
            line.id,
            line.product_id,
            line.sku,
            line.name,
            line.quantity,
            line_sums.net_minor,
            line_sums.gross_minor,
            is_known_product(tx, &line.product_id)?,
            order.currency,
            order.ordered_at,
            revenue,
            scope.territory_id,
            scope.team_id,
            order.meta.deleted
        ])?;
    }
    Ok(())
}

/// A product stored (perhaps after orders that name it): their lines now name a known product.
pub(super) fn project_product(tx: &Transaction<'_>, product: &Product) -> Result<()> {
    tx.prepare_cached(
        "UPDATE order_line_facts SET known_product = 1 WHERE product_id = ?1 AND known_product = 0",
    )?
    .execute([product.meta.id.as_str()])?;
    Ok(())
}

/// A customer moved to another territory (by an admin): its orders and their lines follow.
pub(super) fn move_customer(tx: &Transaction<'_>, customer_id: &str, scope: &Scope) -> Result<()> {
    tx.prepare_cached(
        "UPDATE order_line_facts SET territory_id = ?2, team_id = ?3
         WHERE order_id IN (SELECT order_id FROM order_facts WHERE customer_id = ?1)",
    )?
    .execute(params![customer_id, scope.territory_id, scope.team_id])?;
    tx.prepare_cached(
        "UPDATE order_facts SET territory_id = ?2, team_id = ?3 WHERE customer_id = ?1",
    )?
    .execute(params![customer_id, scope.territory_id, scope.team_id])?;
    Ok(())
}

/// A stored order as the backfill reads it: id, record, bytes, record format and scope.
type StoredOrder = (String, Vec<u8>, Vec<u8>, i64, Scope);

/// Fills the tables from the orders stored before they existed (migration 0014), a page of
/// documents at a time, so memory stays bounded however many there are.
pub(crate) fn backfill(tx: &Transaction<'_>) -> Result<()> {
    const PAGE: i64 = 500;
    let mut after = String::new();
    loop {
        let rows: Vec<StoredOrder> = tx
            .prepare_cached(
                "SELECT d.id, d.record, d.bytes, d.record_format, d.territory_id, d.owner_id, d.team_id
                 FROM documents d WHERE d.id > ?1 AND d.kind = 'order'
                 ORDER BY d.id LIMIT ?2",
            )?
            .query_map(params![after, PAGE], |row| {
                let scope = Scope {
                    territory_id: row.get(4)?,
                    owner_id: row.get(5)?,
                    team_id: row.get(6)?,
                    // An order's scope is its customer's, never organisation-wide.
                    org_wide: false,
                };
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, scope))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let Some(last) = rows.last().map(|r| r.0.clone()) else {
            return Ok(());
        };
        for (_, stored, document, format, scope) in rows {
            let record = crate::storage::stored_record::read(format, stored, &document)?;
            if let fieldcrm_core::AnyRecord::Order(order) = &record {
                project_order(tx, order, &scope)?;
            }
        }
        after = last;
    }
}

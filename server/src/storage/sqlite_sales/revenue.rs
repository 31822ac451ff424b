//! The revenue reads: orders that count as revenue in a period, in all and grouped by rep,
//! customer or product, and the lines naming a product the server does not know. Every query
//! keeps to the viewer's sight over the order's scope columns (`SightSql`), reads one covering
//! index of migration 0014 per sight alternative, groups before it joins anything, and is
//! bounded by a limit.

use rusqlite::{Connection, named_params};

use fieldcrm_core::Millis;

use super::super::Result;
use super::super::sales::{MAX_REPORT_GROUPS, RevenueRows};
use super::super::sqlite_sight::SightSql;
use super::count;
use crate::sales::orders::{RevenueBy, RevenueGroup, RevenueTotal, UnknownProductLine};
use crate::sales::reports::minor_units;
use crate::scope::Principal;

/// An order's scope is its customer's: territory and team (no owner), on the order's row
/// (`o`) or copied onto its lines (`l`).
fn sight(viewer: &Principal, table: &'static str) -> SightSql {
    super::customer_scope_sight(viewer, table)
}

/// Revenue in `[from, to)` by `by`, per currency (only `currency` when given): the totals, and
/// at most `limit` groups, largest net amount first.
pub(super) fn revenue(
    conn: &Connection,
    viewer: &Principal,
    by: RevenueBy,
    from: Millis,
    to: Millis,
    currency: Option<&str>,
    limit: u32,
) -> Result<RevenueRows> {
    let orders = sight(viewer, "o");
    let totals_sql = format!(
        "SELECT o.currency, count(*), total(o.net_minor), total(o.gross_minor)
         FROM order_facts o
         WHERE o.revenue = 1 AND o.deleted = 0 AND o.ordered_at >= :from AND o.ordered_at < :to
           AND {} AND (:currency IS NULL OR o.currency = :currency)
         GROUP BY o.currency
         LIMIT :limit",
        orders.condition()
    );
    let totals = conn
        .prepare_cached(&totals_sql)?
        .query_map(
            orders
                .params(named_params! {
                    ":from": from,
                    ":to": to,
                    ":currency": currency,
                    ":limit": MAX_REPORT_GROUPS,
                })
                .as_slice(),
            |row| {
                Ok(RevenueTotal {
                    currency: row.get(0)?,
                    orders: count(row.get(1)?),
                    net_minor: minor_units(row.get(2)?),
                    gross_minor: minor_units(row.get(3)?),
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut groups = match by {
        RevenueBy::Rep | RevenueBy::Customer => {
            by_order_column(conn, &orders, by, from, to, currency, limit)?
        }
        RevenueBy::Product => by_product(conn, viewer, from, to, currency, limit)?,
    };
    let truncated = groups.len() > limit as usize;
    groups.truncate(limit as usize);
    Ok(RevenueRows {
        totals,
        groups,
        truncated,
    })
}

/// By rep or by customer, from `order_facts`; reads `limit + 1` groups (to tell truncation).
fn by_order_column(
    conn: &Connection,
    sight: &SightSql,
    by: RevenueBy,
    from: Millis,
    to: Millis,
    currency: Option<&str>,
    limit: u32,
) -> Result<Vec<RevenueGroup>> {
    let (column, name) = match by {
        RevenueBy::Customer => (
            "o.customer_id",
            "LEFT JOIN customer_places n ON n.customer_id = g.id",
        ),
        _ => ("o.rep_id", "LEFT JOIN users n ON n.id = g.id"),
    };
    let name_column = match by {
        RevenueBy::Customer => "n.name",
        _ => "n.username",
    };
    let sql = format!(
        "SELECT g.id, {name_column}, g.currency, g.orders, g.net, g.gross
         FROM (SELECT {column} AS id, o.currency, count(*) AS orders,
                 total(o.net_minor) AS net, total(o.gross_minor) AS gross
               FROM order_facts o
               WHERE o.revenue = 1 AND o.deleted = 0 AND o.ordered_at >= :from
                 AND o.ordered_at < :to AND {}
                 AND (:currency IS NULL OR o.currency = :currency)
               GROUP BY {column}, o.currency
               ORDER BY net DESC, id, o.currency
               LIMIT :limit) g
           {name}
         ORDER BY g.net DESC, g.id, g.currency",
        sight.condition()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            sight
                .params(named_params! {
                    ":from": from,
                    ":to": to,
                    ":currency": currency,
                    ":limit": limit.saturating_add(1),
                })
                .as_slice(),
            |row| {
                Ok(RevenueGroup {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    sku: None,
                    known: None,
                    currency: row.get(2)?,
                    orders: Some(count(row.get(3)?)),
                    lines: None,
                    quantity: None,
                    net_minor: minor_units(row.get(4)?),
                    gross_minor: minor_units(row.get(5)?),
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// By product, from `order_line_facts`; the SKU, name and whether the product is known are
/// read after grouping from the product's first line (by order id and position), so the three
/// come from one line.
fn by_product(
    conn: &Connection,
    viewer: &Principal,
    from: Millis,
    to: Millis,
    currency: Option<&str>,
    limit: u32,
) -> Result<Vec<RevenueGroup>> {
    let sight = sight(viewer, "l");
    let first_line = |column: &str| {
        format!(
            "(SELECT p.{column} FROM order_line_facts p WHERE p.product_id = g.product_id
               ORDER BY p.order_id, p.position LIMIT 1)"
        )
    };
    let sql = format!(
        "SELECT g.product_id, {}, {}, {}, g.currency, g.lines, g.quantity, g.net, g.gross
         FROM (SELECT l.product_id, l.currency, count(*) AS lines, total(l.quantity) AS quantity,
                 total(l.net_minor) AS net, total(l.gross_minor) AS gross
               FROM order_line_facts l
               WHERE l.revenue = 1 AND l.deleted = 0 AND l.ordered_at >= :from
                 AND l.ordered_at < :to AND {}
                 AND (:currency IS NULL OR l.currency = :currency)
               GROUP BY l.product_id, l.currency
               ORDER BY net DESC, l.product_id, l.currency
               LIMIT :limit) g
         ORDER BY g.net DESC, g.product_id, g.currency",
        first_line("sku"),
        first_line("name"),
        first_line("known_product"),
        sight.condition()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            sight
                .params(named_params! {
                    ":from": from,
                    ":to": to,
                    ":currency": currency,
                    ":limit": limit.saturating_add(1),
                })
                .as_slice(),
            |row| {
                Ok(RevenueGroup {
                    id: row.get(0)?,
                    sku: row.get(1)?,
                    name: row.get(2)?,
                    known: row.get::<_, Option<bool>>(3)?,
                    currency: row.get(4)?,
                    orders: None,
                    lines: Some(count(row.get(5)?)),
                    quantity: Some(minor_units(row.get(6)?)),
                    net_minor: minor_units(row.get(7)?),
                    gross_minor: minor_units(row.get(8)?),
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// How many lines in `[from, to)` name a product the server does not know, and the latest
/// `limit` of them.
pub(super) fn unknown_products(
    conn: &Connection,
    viewer: &Principal,
    from: Millis,
    to: Millis,
    limit: u32,
) -> Result<(u64, Vec<UnknownProductLine>)> {
    let sight = sight(viewer, "l");
    let filter = format!(
        "l.known_product = 0 AND l.deleted = 0 AND l.ordered_at >= :from AND l.ordered_at < :to
           AND {}",
        sight.condition()
    );
    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM order_line_facts l WHERE {filter}"
        ))?
        .query_row(
            sight
                .params(named_params! {":from": from, ":to": to})
                .as_slice(),
            |row| row.get(0),
        )?;
    let lines = conn
        .prepare_cached(&format!(
            "SELECT l.order_id, l.line_id, l.product_id, l.sku, l.name, l.quantity, l.net_minor,
               l.currency, o.customer_id, o.rep_id, l.ordered_at
             FROM order_line_facts l JOIN order_facts o ON o.order_id = l.order_id
             WHERE {filter}
             ORDER BY l.ordered_at DESC, l.order_id, l.position
             LIMIT :limit"
        ))?
        .query_map(
            sight
                .params(named_params! {":from": from, ":to": to, ":limit": limit})
                .as_slice(),
            |row| {
                Ok(UnknownProductLine {
                    order_id: row.get(0)?,
                    line_id: row.get(1)?,
                    product_id: row.get(2)?,
                    sku: row.get(3)?,
                    name: row.get(4)?,
                    quantity: row.get(5)?,
                    net_minor: row.get(6)?,
                    currency: row.get(7)?,
                    customer_id: row.get(8)?,
                    rep_id: row.get(9)?,
                    ordered_at: row.get(10)?,
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok((count(total), lines))
}

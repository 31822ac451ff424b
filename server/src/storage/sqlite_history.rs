//! Order history on SQLite (migration 0017): the import's writes, keyed so a second import of
//! the same file adds nothing, the products by SKU it resolves lines with, and the rows the
//! analytics runs read beside the CRM's orders.

use std::collections::HashMap;

use fieldcrm_core::{AnyRecord, DAY_MS, Kind, Millis};
use rusqlite::{Connection, params};

use super::history::{HistoryOrder, HistoryStorage, HistoryWritten};
use super::{Result, SqliteStorage, stored_record};
use crate::analytics::input::{LineRow, OrderRow};

/// The prefix of a history order's id in the analytics input (a CRM order's id is a UUID).
pub const HISTORY_ORDER_PREFIX: &str = "history:";

impl HistoryStorage for SqliteStorage {
    fn product_ids_by_sku(&self) -> Result<HashMap<String, Vec<String>>> {
        let conn = self.read();
        let mut statement =
            conn.prepare("SELECT record_format, record, bytes FROM documents WHERE kind = ?1")?;
        let mut rows = statement.query(params![Kind::Product.as_str()])?;
        let mut by_sku: HashMap<String, Vec<String>> = HashMap::new();
        while let Some(row) = rows.next()? {
            if let AnyRecord::Product(product) =
                stored_record::read(row.get(0)?, row.get(1)?, &row.get::<_, Vec<u8>>(2)?)?
                && !product.meta.deleted
            {
                by_sku.entry(product.sku).or_default().push(product.meta.id);
            }
        }
        Ok(by_sku)
    }

    fn add_history_orders(&self, orders: &[HistoryOrder], now: Millis) -> Result<HistoryWritten> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let mut written = HistoryWritten::default();
        {
            let mut insert_order = tx.prepare_cached(
                "INSERT INTO history_orders (customer_id, ordered_day, amount_minor, currency,
                   occurrence, imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO NOTHING",
            )?;
            let mut order_id = tx.prepare_cached(
                "SELECT id FROM history_orders WHERE customer_id = ?1 AND ordered_day = ?2
                   AND amount_minor = ?3 AND currency = ?4 AND occurrence = ?5",
            )?;
            let mut insert_line = tx.prepare_cached(
                "INSERT INTO history_order_lines (order_id, sku, occurrence, product_id, quantity,
                   unit_price_minor, net_minor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT DO NOTHING",
            )?;
            for order in orders {
                let key = params![
                    order.customer_id,
                    order.day,
                    order.amount_minor,
                    order.currency,
                    order.occurrence
                ];
                let inserted = insert_order.execute(params![
                    order.customer_id,
                    order.day,
                    order.amount_minor,
                    order.currency,
                    order.occurrence,
                    now
                ])?;
                if inserted == 1 {
                    written.orders_new += 1;
                } else {
                    written.orders_present += 1;
                }
                let id: i64 = order_id.query_row(key, |row| row.get(0))?;
                for line in &order.lines {
                    let inserted = insert_line.execute(params![
                        id,
                        line.sku,
                        line.occurrence,
                        line.product_id,
                        line.quantity,
                        line.unit_price_minor,
                        line.net_minor()
                    ])?;
                    if inserted == 1 {
                        written.lines_new += 1;
                    } else {
                        written.lines_present += 1;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(written)
    }
}

/// The history's orders and lines as the analytics read them (appended to `orders` and
/// `lines`): each order at the start of its day, UTC.
pub(super) fn history_input(
    conn: &Connection,
    orders: &mut Vec<OrderRow>,
    lines: &mut Vec<LineRow>,
) -> Result<()> {
    let mut statement = conn.prepare(
        "SELECT id, customer_id, ordered_day, currency, amount_minor FROM history_orders",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let day: i64 = row.get(2)?;
        orders.push(OrderRow {
            order_id: format!("{HISTORY_ORDER_PREFIX}{id}"),
            customer_id: row.get(1)?,
            ordered_at: day.saturating_mul(DAY_MS),
            currency: row.get(3)?,
            net_minor: row.get(4)?,
        });
    }
    let mut statement = conn.prepare(
        "SELECT l.order_id, o.customer_id, l.product_id, l.quantity, l.net_minor
         FROM history_order_lines l JOIN history_orders o ON o.id = l.order_id",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        lines.push(LineRow {
            order_id: format!("{HISTORY_ORDER_PREFIX}{id}"),
            customer_id: row.get(1)?,
            product_id: row.get(2)?,
            quantity: row.get(3)?,
            net_minor: row.get(4)?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! Order history import: orders from before the CRM, from CSV (`fieldcrm-server analytics
//! import FILE`, `POST /v1/admin/import/order-history`), so the analytics count a customer's
//! past purchases beside the orders taken in the CRM.
//!
//! The orders are the server's own reference data (migration 0017), not records: they are
//! never synced. A file has one of two shapes, told apart by its header (`rows.rs`):
//! - one row per order: `customer_external_id, date, amount, currency`;
//! - one row per line: the same, plus `sku, quantity, unit_price`. Consecutive rows with the
//!   same customer, date, amount and currency are one order's lines (the amount is the
//!   order's net amount, repeated on each line; a line's own amount is quantity times unit
//!   price).
//!
//! The customer is the one imported (CSV import) with that external id, the product the one
//! with that SKU; a date is `YYYY-MM-DD` (UTC); amounts follow the currency's digits
//! (`1250.50 EUR`, `1250 JPY`), an order's may be negative (a credit note, which the analytics
//! leave out). A row that does not read is rejected with its line and reason; the others are
//! imported.
//!
//! Idempotent: an order is keyed by customer, date, amount, currency and its occurrence among
//! the file's orders with those same values; a line by its order, SKU and occurrence of the
//! SKU in the order. Importing the same file again adds nothing, and the report counts what was
//! new and what was already there.

mod rows;

use std::collections::HashMap;
use std::io::Read;

use csv::StringRecord;
use serde::Serialize;

use crate::csv_import::{
    Header, ImportError, ImportLimits, Lines, References, RejectedRow, Row, expected,
    list_rejection, read_header, write_rejections,
};
use crate::model::now_ms;
use crate::storage::{HistoryOrder, Storage, StorageError};
pub use rows::Shape;
use rows::{Orders, Resolve, RowFault, parse_row};

/// Orders written together, in one transaction.
pub const BATCH_ORDERS: usize = 1_000;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct HistoryReport {
    /// `orders` or `lines`: the file's shape.
    pub shape: &'static str,
    /// Rows read after the header.
    pub rows: u64,
    pub orders_new: u64,
    /// Orders an earlier import already added.
    pub orders_present: u64,
    pub lines_new: u64,
    pub lines_present: u64,
    pub rejected: u64,
    /// The first rejected rows, by line ([`crate::csv_import::MAX_LISTED_REJECTIONS`]).
    pub rejections: Vec<RejectedRow>,
    pub unlisted_rejections: u64,
}

impl HistoryReport {
    fn new(shape: Shape) -> HistoryReport {
        HistoryReport {
            shape: shape.name(),
            rows: 0,
            orders_new: 0,
            orders_present: 0,
            lines_new: 0,
            lines_present: 0,
            rejected: 0,
            rejections: Vec::new(),
            unlisted_rejections: 0,
        }
    }

    fn reject(&mut self, line: u64, external_id: Option<&str>, reason: String) {
        self.rejected += 1;
        let row = RejectedRow {
            line,
            external_id: external_id.map(str::to_owned),
            reason,
        };
        list_rejection(&mut self.rejections, &mut self.unlisted_rejections, row);
    }
}

impl std::fmt::Display for HistoryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "order history ({} file): {} rows: {} orders new, {} already present; {} lines new, {} already present; {} rejected",
            self.shape,
            self.rows,
            self.orders_new,
            self.orders_present,
            self.lines_new,
            self.lines_present,
            self.rejected
        )?;
        write_rejections(f, &self.rejections, self.unlisted_rejections)
    }
}

/// Customers through the import's cache, products from the catalog read once.
struct Resolver<'s> {
    references: References<'s>,
    products: HashMap<String, Vec<String>>,
}

impl Resolve<StorageError> for Resolver<'_> {
    fn customer(&mut self, external_id: &str) -> Result<Option<String>, StorageError> {
        self.references.customer(external_id)
    }

    fn product(&self, sku: &str) -> Result<String, String> {
        match self.products.get(sku).map(Vec::as_slice) {
            Some([id]) => Ok(id.clone()),
            Some([_, _, ..]) => Err(format!("SKU {sku:?} names more than one product")),
            _ => Err(format!("no product has the SKU {sku:?}")),
        }
    }
}

/// Imports the order history in `input` (CSV, UTF-8, with a header line). `progress` is told
/// the bytes read and rows seen after every batch. The caller checks the caller is an admin.
pub fn import(
    storage: &dyn Storage,
    input: impl Read,
    limits: ImportLimits,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<HistoryReport, ImportError> {
    let (mut reader, mut record) = read_header(input, || {
        format!(
            "{} (one row per order) or {} (one row per line)",
            expected(Shape::Orders.columns()),
            expected(Shape::Lines.columns())
        )
    })?;
    let mut lines = Lines::default();
    let read_error = |line: u64, source: csv::Error| ImportError::Read { line, source };
    let shape = Shape::of(&record);
    let header = Header::check(&record, shape.columns(), lines.line_of(&record))?;
    let mut resolver = Resolver {
        references: References::new(storage),
        products: match shape {
            Shape::Lines => storage.product_ids_by_sku()?,
            Shape::Orders => HashMap::new(),
        },
    };
    let mut report = HistoryReport::new(shape);
    let mut orders = Orders::new(shape);
    let mut batch: Vec<HistoryOrder> = Vec::new();
    let mut last_line = 1;
    loop {
        if !reader
            .read_byte_record(&mut record)
            .map_err(|e| read_error(last_line + 1, e))?
        {
            break;
        }
        let line = lines.line_of(&record);
        last_line = line;
        report.rows += 1;
        if let Some(max) = limits.max_rows.filter(|max| report.rows > *max) {
            return Err(ImportError::TooManyRows { max });
        }
        let Ok(cells) = StringRecord::from_byte_record(record.clone()) else {
            let rows_before = report.rows - 1;
            batch.extend(orders.finish());
            write(storage, &mut batch, &mut report)?;
            return Err(ImportError::NotUtf8 { line, rows_before });
        };
        // A spreadsheet saves empty rows as bare separators: nothing to import.
        if cells.iter().all(|cell| cell.trim().is_empty()) {
            report.rows -= 1;
            continue;
        }
        if cells.len() != header.width() {
            let reason = format!(
                "the row has {} cells, the header {}",
                cells.len(),
                header.width()
            );
            report.reject(line, None, reason);
            continue;
        }
        let row = Row::new(&header, &cells, line);
        match parse_row(&row, shape, &mut resolver) {
            Ok(parsed) => batch.extend(orders.push(parsed)),
            Err(RowFault::Rejected(reason)) => {
                let external_id = row.get("customer_external_id").flatten();
                report.reject(line, external_id, reason);
            }
            Err(RowFault::Failed(error)) => return Err(error.into()),
        }
        if batch.len() >= BATCH_ORDERS {
            write(storage, &mut batch, &mut report)?;
            progress(reader.position().byte(), report.rows);
        }
    }
    batch.extend(orders.finish());
    write(storage, &mut batch, &mut report)?;
    progress(reader.position().byte(), report.rows);
    Ok(report)
}

/// Writes the batch's orders (emptying it) and counts what they added.
fn write(
    storage: &dyn Storage,
    batch: &mut Vec<HistoryOrder>,
    report: &mut HistoryReport,
) -> Result<(), ImportError> {
    if batch.is_empty() {
        return Ok(());
    }
    let written = storage.add_history_orders(batch, now_ms())?;
    report.orders_new += written.orders_new;
    report.orders_present += written.orders_present;
    report.lines_new += written.lines_new;
    report.lines_present += written.lines_present;
    batch.clear();
    Ok(())
}

#[cfg(test)]
mod tests;

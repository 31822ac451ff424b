//! CSV export of records (`GET /v1/export/{kind}.csv`): the records of a kind in the
//! requester's sight (the rule of `scope::Sight`, applied by the storage as SQL), page by page
//! in id order, so an export of any size is written in pieces of bounded size. Every cell goes
//! through [`crate::spreadsheet::defuse`], the route export's rule, so no cell starts a formula.
//!
//! Each kind is a file under `csv_export/` implementing [`ExportRows`], named once in
//! [`ExportKind`].

mod customers;
mod opportunities;
mod orders;
#[cfg(test)]
mod tests;

use fieldcrm_core::Kind;

use crate::dates::iso8601;
use crate::scope::Principal;
use crate::spreadsheet::defuse;
use crate::storage::{ExportRow, Storage, StorageError};

/// Records read per page (and written per piece).
pub const PAGE_ROWS: u32 = 500;

/// What one kind's CSV holds.
pub trait ExportRows {
    const KIND: Kind;
    const HEADER: &'static [&'static str];
    /// Records read per page: fewer for a kind of several rows per record, so a piece stays
    /// small.
    const PAGE_RECORDS: u32 = PAGE_ROWS;
    /// The row's cells, in header order; `None` for a row of another kind. A kind of one
    /// CSV row per record implements this.
    fn cells(_row: &ExportRow) -> Option<Vec<String>> {
        None
    }
    /// The CSV rows of one record (a kind of several rows per record, orders by line,
    /// implements this); empty for a row of another kind.
    fn rows(row: &ExportRow) -> Vec<Vec<String>> {
        Self::cells(row).into_iter().collect()
    }
}

/// The files `/v1/export/` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Customers,
    Opportunities,
    Orders,
}

impl ExportKind {
    pub const ALL: &'static [ExportKind] = &[
        ExportKind::Customers,
        ExportKind::Opportunities,
        ExportKind::Orders,
    ];

    /// `customers.csv`.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportKind::Customers => "customers.csv",
            ExportKind::Opportunities => "opportunities.csv",
            ExportKind::Orders => "orders.csv",
        }
    }

    pub fn from_file_name(name: &str) -> Option<ExportKind> {
        Self::ALL.iter().copied().find(|k| k.file_name() == name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the CSV: {0}")]
    Buffer(String),
}

/// Writes the CSV of `kind` as `principal` may see it, in pieces handed to `sink` (header
/// first); stops early, without error, when `sink` answers `false` (the client went away).
pub fn write(
    storage: &dyn Storage,
    principal: &Principal,
    kind: ExportKind,
    sink: &mut dyn FnMut(Vec<u8>) -> bool,
) -> Result<(), ExportError> {
    match kind {
        ExportKind::Customers => write_rows::<customers::Customers>(storage, principal, sink),
        ExportKind::Opportunities => {
            write_rows::<opportunities::Opportunities>(storage, principal, sink)
        }
        ExportKind::Orders => write_rows::<orders::Orders>(storage, principal, sink),
    }
}

fn write_rows<E: ExportRows>(
    storage: &dyn Storage,
    principal: &Principal,
    sink: &mut dyn FnMut(Vec<u8>) -> bool,
) -> Result<(), ExportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(E::HEADER)?;
    let mut after = String::new();
    loop {
        let page = storage.export_page(principal, E::KIND, &after, E::PAGE_RECORDS)?;
        let Some(last) = page.last() else { break };
        after = last.record.meta().id.clone();
        let full = page.len() as u32 == E::PAGE_RECORDS;
        for row in page.iter().filter(|r| !r.record.meta().deleted) {
            for cells in E::rows(row) {
                writer.write_record(cells.iter().map(|cell| defuse(cell).into_owned()))?;
            }
        }
        let piece = writer
            .into_inner()
            .map_err(|e| ExportError::Buffer(e.to_string()))?;
        if !sink(piece) {
            return Ok(());
        }
        writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        if !full {
            return Ok(());
        }
    }
    let piece = writer
        .into_inner()
        .map_err(|e| ExportError::Buffer(e.to_string()))?;
    if !piece.is_empty() {
        sink(piece);
    }
    Ok(())
}

/// A time as the exports write it (ISO 8601, UTC).
fn time(ms: i64) -> String {
    iso8601(ms)
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A set as one cell, `;`-separated (what the import reads).
fn joined<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    items
        .into_iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("; ")
}

//! CSV import of records by an admin (`fieldcrm-server import`, `POST /v1/admin/import/{kind}`).
//!
//! Every row becomes a record through the core library, like a device's edit: an in-memory
//! [`Store`] signed in as the importing admin creates or updates the record (its `validate()`
//! and the update rules included), and the changes go through [`Storage::push_changes`] as that
//! admin's, so the authority checks, the invariants, the scope columns and the field-work
//! projection all apply. There is no other write path into the documents.
//!
//! Idempotent on the `external_id` column: the document each external id was imported as is
//! recorded (`import_ids`, migration 0012), so a second run updates the record (a change on
//! its document) and a row whose record already holds every value writes nothing.
//!
//! Rows are streamed: read one by one, built and pushed in batches of [`BATCH_ROWS`], then
//! forgotten, so memory does not grow with the file. A row that does not build, validate or
//! push is reported with its line and reason; the others are imported.
//!
//! Each kind is a file under `csv_import/` implementing [`RowImport`], named once in
//! [`ImportKind`].

mod contacts;
mod customers;
mod products;
mod progress;
mod reading;
mod references;
mod report;
mod session;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::io::Read;
use std::sync::mpsc;

use csv::{ByteRecord, StringRecord};
use fieldcrm_core::{Record, StoreError};

use crate::model::{Role, User};
use crate::storage::{Storage, StorageError};
use session::{PendingRow, Pipeline, Session, commit_pushes};

pub use progress::{advance, progress_bar};
pub use reading::{Column, Header, Lines, Row, expected};
pub use references::References;
pub use report::{
    ImportReport, MAX_LISTED_REJECTIONS, RejectedRow, list_rejection, write_rejections,
};

/// Rows built and pushed together.
pub const BATCH_ROWS: usize = 500;

/// The kinds of record an import file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    Customers,
    Contacts,
    Products,
}

impl ImportKind {
    pub const ALL: &'static [ImportKind] = &[
        ImportKind::Customers,
        ImportKind::Contacts,
        ImportKind::Products,
    ];

    /// The kind's name in commands and URLs (`customers`).
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Contacts => "contacts",
            ImportKind::Products => "products",
        }
    }

    pub fn parse(name: &str) -> Option<ImportKind> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The columns its file may have.
    pub fn columns(self) -> &'static [Column] {
        match self {
            ImportKind::Customers => customers::Customers::COLUMNS,
            ImportKind::Contacts => contacts::Contacts::COLUMNS,
            ImportKind::Products => products::Products::COLUMNS,
        }
    }
}

/// How one kind's rows become records.
pub trait RowImport {
    type Record: Record;
    /// Every column its file may have, `external_id` among them.
    const COLUMNS: &'static [Column];

    /// The record `row` describes: `existing` (the stored record) with the row's values, or a
    /// new record with the id `id`. `Err(RowError::Rejected)` refuses the row with a reason.
    fn build(
        row: &Row<'_>,
        existing: Option<Self::Record>,
        id: &str,
        references: &mut References<'_>,
    ) -> Result<Self::Record, RowError>;

    /// Work after an updated record was committed (a customer's territory move).
    fn after_update(
        _record: &Self::Record,
        _references: &mut References<'_>,
    ) -> Result<(), StorageError> {
        Ok(())
    }
}

/// Why a row was not imported: its reason, or a storage failure that stops the import.
#[derive(Debug)]
pub enum RowError {
    Rejected(String),
    Storage(StorageError),
}

impl From<StorageError> for RowError {
    fn from(err: StorageError) -> Self {
        RowError::Storage(err)
    }
}

impl From<String> for RowError {
    fn from(reason: String) -> Self {
        RowError::Rejected(reason)
    }
}

/// What stops a whole import. The rows of earlier batches stay imported (importing the fixed
/// file again updates them).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty: expected a header line with the columns {expected}")]
    Empty { expected: String },
    #[error("line {line}: wrong header: {problem}; expected the columns {expected}")]
    Header {
        line: u64,
        problem: String,
        expected: String,
    },
    #[error(
        "line {line} is not UTF-8 text: save the file as UTF-8 (\"CSV UTF-8\") and import it again; the {rows_before} rows before it were processed, nothing from line {line} on"
    )]
    NotUtf8 { line: u64, rows_before: u64 },
    #[error(
        "more than {max} rows: import larger files with the admin command (`import`, `analytics import`)"
    )]
    TooManyRows { max: u64 },
    #[error("cannot read the file near line {line}: {source}")]
    Read { line: u64, source: csv::Error },
    #[error("{0:?} is not an admin: only an admin imports")]
    NotAdmin(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the import store failed: {0}")]
    Store(#[from] StoreError),
    /// The pushing thread is gone, or a push was neither taken nor refused.
    #[error("the import's pushes stopped: a push was not answered")]
    Stalled,
}

/// Bounds of one import.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    /// Rows after the header; more stop the import (`None`: no limit, the command's).
    pub max_rows: Option<u64>,
}

/// Imports `input` (CSV, UTF-8, with a header line) as records of `kind`, by `admin`.
/// `progress` is told the bytes read and rows seen after every batch.
pub fn import(
    kind: ImportKind,
    storage: &dyn Storage,
    admin: &User,
    input: impl Read,
    limits: ImportLimits,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport, ImportError> {
    match kind {
        ImportKind::Customers => {
            run::<customers::Customers>(kind.name(), storage, admin, input, limits, progress)
        }
        ImportKind::Contacts => {
            run::<contacts::Contacts>(kind.name(), storage, admin, input, limits, progress)
        }
        ImportKind::Products => {
            run::<products::Products>(kind.name(), storage, admin, input, limits, progress)
        }
    }
}

/// The rows of `input` (CSV, as a spreadsheet saves it) after the header: for a bound
/// checked before anything is imported.
pub fn count_rows(input: impl Read) -> u64 {
    let mut reader = csv_reader(input);
    let mut record = ByteRecord::new();
    let mut rows: u64 = 0;
    while let Ok(true) = reader.read_byte_record(&mut record) {
        rows += 1;
    }
    rows.saturating_sub(1) // the header
}

/// A reader of import files: rows of any length (a short row is rejected, not the file), and
/// lines that end at `\n`, whether `\r\n` or `\n` (a cell's trailing `\r` is trimmed with its
/// white space). The csv crate's default terminator also ends lines at a lone `\r`, but then
/// reports the start of each record after a `\r\n` one line early; with `\n` alone its
/// positions are the lines a spreadsheet counts.
fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(input)
}

/// A reader of `input` (see [`csv_reader`]) and its header line, read; an empty file is
/// [`ImportError::Empty`], naming the `expected` columns.
pub(crate) fn read_header<R: Read>(
    input: R,
    expected: impl FnOnce() -> String,
) -> Result<(csv::Reader<R>, ByteRecord), ImportError> {
    let mut reader = csv_reader(input);
    let mut record = ByteRecord::new();
    let more = reader
        .read_byte_record(&mut record)
        .map_err(|source| ImportError::Read { line: 1, source })?;
    if !more {
        return Err(ImportError::Empty {
            expected: expected(),
        });
    }
    Ok((reader, record))
}

fn run<K: RowImport>(
    name: &'static str,
    storage: &dyn Storage,
    admin: &User,
    input: impl Read,
    limits: ImportLimits,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport, ImportError> {
    if admin.role != Role::Admin {
        return Err(ImportError::NotAdmin(admin.username.clone()));
    }
    let (mut reader, mut record) = read_header(input, || reading::expected(K::COLUMNS))?;
    let mut lines = Lines::default();
    let read_error = |line: u64, source: csv::Error| ImportError::Read { line, source };
    let header = Header::check(&record, K::COLUMNS, lines.line_of(&record))?;
    let mut session = Session::<K>::open(storage, admin, name)?;
    let principal = session.principal.clone();
    let outcome = std::thread::scope(|scope| {
        let (requests, to_push) = mpsc::sync_channel(1);
        let (pushed, responses) = mpsc::sync_channel(1);
        scope.spawn(|| commit_pushes(storage, &principal, to_push, pushed));
        session.pipeline = Some(Pipeline {
            requests,
            responses,
        });
        let outcome = (|| {
            let mut batch = Batch::default();
            loop {
                let more = reader
                    .read_byte_record(&mut record)
                    .map_err(|e| read_error(batch.last_line + 1, e));
                if !more? {
                    break;
                }
                let line = lines.line_of(&record);
                batch.last_line = line;
                session.report.rows += 1;
                if limits.max_rows.is_some_and(|max| session.report.rows > max) {
                    return Err(ImportError::TooManyRows {
                        max: limits.max_rows.unwrap_or_default(),
                    });
                }
                let Ok(cells) = StringRecord::from_byte_record(record.clone()) else {
                    let rows_before = session.report.rows - 1;
                    session.flush(&header, batch.take())?;
                    session.settle()?;
                    return Err(ImportError::NotUtf8 { line, rows_before });
                };
                // A spreadsheet saves empty rows as bare separators: nothing to import.
                if cells.iter().all(|cell| cell.trim().is_empty()) {
                    session.report.rows -= 1;
                    continue;
                }
                if cells.len() != header.width() {
                    session.report.reject(
                        line,
                        None,
                        format!(
                            "the row has {} cells, the header {}",
                            cells.len(),
                            header.width()
                        ),
                    );
                    continue;
                }
                let row = Row::new(&header, &cells, line);
                let external_id = match row.required("external_id") {
                    Ok(id) => id.to_owned(),
                    Err(reason) => {
                        session.report.reject(line, None, reason);
                        continue;
                    }
                };
                // A second row for the same record builds on the first one's result.
                if batch.external_ids.contains(&external_id) {
                    session.flush(&header, batch.take())?;
                }
                batch.push(line, external_id, cells);
                if batch.rows.len() >= BATCH_ROWS {
                    session.flush(&header, batch.take())?;
                    progress(reader.position().byte(), session.report.rows);
                }
            }
            session.flush(&header, batch.take())?;
            session.settle()?;
            progress(reader.position().byte(), session.report.rows);
            Ok(())
        })();
        // Closing the channels ends the pushing thread (after a push it has started).
        session.pipeline = None;
        outcome
    });
    let closed = session.close();
    outcome?;
    closed
}

/// Rows read and not yet imported.
#[derive(Debug, Default)]
struct Batch {
    rows: Vec<PendingRow>,
    external_ids: HashSet<String>,
    last_line: u64,
}

impl Batch {
    fn push(&mut self, line: u64, external_id: String, cells: StringRecord) {
        self.external_ids.insert(external_id.clone());
        self.rows.push((line, external_id, cells));
    }

    fn take(&mut self) -> Vec<PendingRow> {
        self.external_ids.clear();
        std::mem::take(&mut self.rows)
    }
}

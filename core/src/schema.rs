//! Schema versions and migrations (`migrations/NNNN_*.sql`, tracked with `PRAGMA user_version`).

use rusqlite::Connection;

use crate::error::{Result, StoreError};
use crate::sqlite_file::{self, Probe, ProbeError};
use crate::store::{StoreKey, encryption};

/// Marks a SQLite file as a FieldCRM store ("FCRM").
pub(crate) const APPLICATION_ID: i64 = 0x4643_524D;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_rejected.sql"),
    include_str!("../migrations/0003_pings.sql"),
    include_str!("../migrations/0004_visits_by_customer.sql"),
    include_str!("../migrations/0005_sync_error_code.sql"),
    include_str!("../migrations/0006_refused_documents.sql"),
    include_str!("../migrations/0007_records_read_from_documents.sql"),
    include_str!("../migrations/0008_partly_read_documents.sql"),
    include_str!("../migrations/0009_catalog_and_orders.sql"),
    include_str!("../migrations/0010_product_categories.sql"),
    include_str!("../migrations/0011_customer_insights.sql"),
    include_str!("../migrations/0012_case_work_list.sql"),
    include_str!("../migrations/0013_activities.sql"),
];

pub(crate) const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// What a store file is, judged before SQLite opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// Missing or empty: becomes a new store.
    New,
    /// Plain SQLite (its header says so).
    Plain,
    /// Encrypted with SQLCipher: no plain header, and whole pages.
    Encrypted,
}

/// The smallest page SQLite and SQLCipher write: an encrypted file's length is a multiple.
const MIN_PAGE_SIZE: u64 = 512;

/// Checks that `path` is a FieldCRM store this build can open, before anything writes to it,
/// and says what kind of file it is. A missing or empty file is fine (a new store).
///
/// A plaintext file is judged by `sqlite_file::probe`, which writes nothing (not even the
/// `-wal` and `-shm` a read-only connection leaves beside a WAL-mode file). Without the key an
/// encrypted store cannot be told from random bytes of a whole number of pages; such a file is
/// taken for encrypted: with a `key` it is read with it on a read-only connection, and a key
/// that does not open it is [`StoreError::WrongKey`]; without one it is
/// [`StoreError::KeyRequired`]. Either way the file is only read: the key is verified before
/// anything writes.
pub(crate) fn check_compatible(path: &std::path::Path, key: Option<&StoreKey>) -> Result<FileKind> {
    let (kind, identity) = match sqlite_file::probe(path) {
        Ok(Probe::Empty) => return Ok(FileKind::New),
        Ok(Probe::Sqlite(identity)) => (FileKind::Plain, identity),
        Ok(Probe::Other { len }) if len.is_multiple_of(MIN_PAGE_SIZE) => {
            let Some(key) = key else {
                return Err(StoreError::KeyRequired);
            };
            let conn = encryption::open_read_only(path, key)?;
            let identity = sqlite_file::identity(&conn).map_err(wrong_key)?;
            (FileKind::Encrypted, identity)
        }
        Ok(Probe::Other { .. }) => return Err(StoreError::NotAStore),
        Err(ProbeError::Io(e)) => return Err(e.into()),
        Err(ProbeError::Sqlite(e)) => return Err(not_a_store(e)),
    };
    if identity.blank {
        return Ok(kind); // an empty SQLite database: becomes a new store
    }
    if identity.application_id != APPLICATION_ID {
        return Err(StoreError::NotAStore);
    }
    if identity.user_version > LATEST_VERSION {
        return Err(StoreError::NewerSchema {
            found: identity.user_version,
            supported: LATEST_VERSION,
        });
    }
    Ok(kind)
}

fn not_a_store(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotAStore,
        _ => StoreError::Database(err),
    }
}

/// SQLCipher answers a key that fails page 1's authentication with `SQLITE_NOTADB`.
fn wrong_key(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::WrongKey,
        _ => StoreError::Database(err),
    }
}

/// Brings the schema to [`LATEST_VERSION`], one migration per transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > LATEST_VERSION {
        return Err(StoreError::NewerSchema {
            found: current,
            supported: LATEST_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

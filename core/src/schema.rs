//! Schema versions and migrations (`migrations/NNNN_*.sql`, tracked with `PRAGMA user_version`).

use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError};
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

/// The header every plaintext SQLite file starts with. An SQLCipher file starts with its
/// random salt instead.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The smallest page SQLite and SQLCipher write: an encrypted file's length is a multiple.
const MIN_PAGE_SIZE: u64 = 512;

/// Tells a new, a plaintext and an encrypted store apart from the file's length and first 16
/// bytes, without opening it. A file that is none of these is not a store. Without the key an
/// encrypted store cannot be told from random bytes of a whole number of pages; such a file is
/// reported as encrypted, and the key then decides (`WrongKey`).
fn file_kind(path: &std::path::Path) -> Result<FileKind> {
    use std::io::Read;
    let len = match std::fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => meta.len(),
        _ => return Ok(FileKind::New),
    };
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path)?;
    if len >= header.len() as u64 {
        file.read_exact(&mut header)?;
        if &header == SQLITE_HEADER {
            return Ok(FileKind::Plain);
        }
    }
    if len.is_multiple_of(MIN_PAGE_SIZE) {
        return Ok(FileKind::Encrypted);
    }
    Err(StoreError::NotAStore)
}

/// Checks that `path` is a FieldCRM store this build can open, before anything writes to it,
/// and says what kind of file it is. A missing or empty file is fine (a new store).
///
/// With a `key`, an encrypted file is read with it, and a key that does not open it is
/// [`StoreError::WrongKey`]; a plaintext store is checked as such (the caller encrypts it).
/// Without one, an encrypted file is [`StoreError::KeyRequired`]. Either way the file is only
/// read: the key is verified before anything writes.
pub(crate) fn check_compatible(path: &std::path::Path, key: Option<&StoreKey>) -> Result<FileKind> {
    let kind = file_kind(path)?;
    let conn = match (kind, key) {
        (FileKind::New, _) => return Ok(kind),
        (FileKind::Encrypted, None) => return Err(StoreError::KeyRequired),
        (FileKind::Encrypted, Some(key)) => encryption::open_read_only(path, key)?,
        (FileKind::Plain, _) => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(not_a_store)?,
    };
    let unreadable = |err| match kind {
        FileKind::Encrypted => wrong_key(err),
        _ => not_a_store(err),
    };
    let read =
        |pragma: &str| conn.query_row(&format!("PRAGMA {pragma}"), [], |row| row.get::<_, i64>(0));
    let application_id = read("application_id").map_err(unreadable)?;
    let version = read("user_version").map_err(unreadable)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .map_err(unreadable)?;
    if application_id == 0 && version == 0 && tables == 0 {
        return Ok(kind); // an empty SQLite database: becomes a new store
    }
    if application_id != APPLICATION_ID {
        return Err(StoreError::NotAStore);
    }
    if version > LATEST_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
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

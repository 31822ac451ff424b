//! Schema versions and migrations (`migrations/NNNN_*.sql`, tracked with `PRAGMA user_version`).

use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError};

/// Marks a SQLite file as a FieldCRM store ("FCRM").
pub(crate) const APPLICATION_ID: i64 = 0x4643_524D;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_rejected.sql"),
    include_str!("../migrations/0003_pings.sql"),
    include_str!("../migrations/0004_visits_by_customer.sql"),
    include_str!("../migrations/0005_sync_error_code.sql"),
    include_str!("../migrations/0006_refused_documents.sql"),
];

pub(crate) const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Checks that `path` is a FieldCRM store this build can open, before anything writes to it.
/// A missing or empty file is fine (a new store).
pub(crate) fn check_compatible(path: &std::path::Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => {}
        _ => return Ok(()),
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(not_a_store)?;
    let read =
        |pragma: &str| conn.query_row(&format!("PRAGMA {pragma}"), [], |row| row.get::<_, i64>(0));
    let application_id = read("application_id").map_err(not_a_store)?;
    let version = read("user_version").map_err(not_a_store)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .map_err(not_a_store)?;
    if application_id == 0 && version == 0 && tables == 0 {
        return Ok(()); // an empty SQLite database: becomes a new store
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
    Ok(())
}

fn not_a_store(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotAStore,
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

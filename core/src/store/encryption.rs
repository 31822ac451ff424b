//! Encryption at rest with SQLCipher: the store's raw key, keying a connection, and encrypting
//! an existing plaintext store in place.
//!
//! The key is 32 random bytes the app keeps in the Android Keystore or the iOS Keychain. It is
//! used as SQLCipher's raw key (`x'<64 hex>'`), so opening costs no key derivation. It never
//! appears in an error, a log line or SQL text that an error could quote, and its bytes are
//! zeroed when dropped.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use zeroize::Zeroizing;

use crate::error::{Result, StoreError, ValidationError};

/// The raw key of an encrypted store: exactly [`StoreKey::LEN`] bytes, zeroed on drop, never
/// printed (its `Debug` says only that it is a key).
pub struct StoreKey(Zeroizing<[u8; StoreKey::LEN]>);

impl StoreKey {
    /// A key is 32 bytes (256 bits, AES-256).
    pub const LEN: usize = 32;

    /// The key from its bytes; anything but exactly 32 bytes is refused (the error names the
    /// length rule, never the bytes).
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<StoreKey, ValidationError> {
        let mut key = Zeroizing::new([0u8; StoreKey::LEN]);
        if bytes.len() != StoreKey::LEN {
            return Err(ValidationError::malformed(
                "key",
                format!("must be exactly {} bytes", StoreKey::LEN),
            ));
        }
        key.copy_from_slice(bytes);
        Ok(StoreKey(key))
    }

    /// SQLCipher's raw-key form, `x'<64 hex digits>'`, zeroed when dropped.
    fn raw_key_text(&self) -> Zeroizing<String> {
        let hex = Zeroizing::new(hex::encode(&self.0[..]));
        Zeroizing::new(format!("x'{}'", hex.as_str()))
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

/// Keys `conn`: must be the connection's first statement, before anything reads the file. A
/// wrong key is not noticed here but by the first read (`SQLITE_NOTADB`).
pub(crate) fn apply_key(conn: &Connection, key: &StoreKey) -> Result<()> {
    let statement = Zeroizing::new(format!("PRAGMA key = \"{}\"", key.raw_key_text().as_str()));
    conn.execute_batch(&statement).map_err(without_sql)?;
    // A SQLite without SQLCipher ignores the unknown pragma and would write plaintext.
    let cipher: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |row| row.get(0))
        .optional()?;
    if cipher.is_none_or(|version| version.is_empty()) {
        return Err(StoreError::EncryptionUnavailable);
    }
    Ok(())
}

/// A SQLite error without the statement text (rusqlite's `SqlInputError` quotes the SQL, which
/// here holds the key).
fn without_sql(err: rusqlite::Error) -> StoreError {
    let code = err
        .sqlite_error()
        .copied()
        .unwrap_or_else(|| rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR));
    StoreError::Database(rusqlite::Error::SqliteFailure(code, None))
}

/// Opens `path` read-only with `key` for the compatibility check. Nothing is written: a wrong
/// key fails at the caller's first read.
pub(crate) fn open_read_only(path: &Path, key: &StoreKey) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    apply_key(&conn, key)?;
    Ok(conn)
}

/// Where the encrypted copy is written before it replaces the plaintext file.
fn encrypting_path(path: &Path) -> PathBuf {
    sibling(path, ".encrypting")
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Encrypts the plaintext store at `path` with `key`, in place. The caller has checked that the
/// file is a FieldCRM store this build can open.
///
/// Crash-safe: the encrypted copy is written to a sibling file (`<path>.encrypting`), checked,
/// flushed to disk and renamed over the original, so at any moment `path` is either the whole
/// plaintext store or the whole encrypted one. A copy left by an interrupted run is discarded
/// and made again. Nothing is lost: every table, including the upload queue, is copied, and
/// the copy is refused unless every table has the same number of rows.
///
/// The plaintext file leaves WAL mode first. That folds its log into it (so changes that were
/// only in the log are copied too, and no plaintext log is left beside the encrypted file), and
/// it fails while another connection has the store open, so the migration never races a writer.
pub(crate) fn encrypt_in_place(path: &Path, key: &StoreKey) -> Result<()> {
    let target = encrypting_path(path);
    remove_if_present(&target)?;
    remove_if_present(&sibling(&target, "-journal"))?;
    if let Err(err) = export_encrypted(path, &target, key) {
        // The original is untouched; the partial copy goes.
        let _ = std::fs::remove_file(&target);
        let _ = std::fs::remove_file(sibling(&target, "-journal"));
        return Err(err);
    }
    // The plaintext store's log and index are gone with WAL mode; a stray index would
    // otherwise be read against the encrypted file.
    if sibling(path, "-wal").exists() {
        let _ = std::fs::remove_file(&target);
        return Err(StoreError::Database(busy(
            "the store's log is still in use",
        )));
    }
    remove_if_present(&sibling(path, "-shm"))?;
    std::fs::File::open(&target)?.sync_all()?;
    std::fs::rename(&target, path)?;
    sync_directory(path)?;
    tracing::info!("store encrypted in place");
    Ok(())
}

fn busy(why: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some(why.to_owned()),
    )
}

/// Writes the encrypted copy of `source` to `target` with SQLCipher's `sqlcipher_export`.
fn export_encrypted(source: &Path, target: &Path, key: &StoreKey) -> Result<()> {
    let target_name = target.to_str().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the store's path is not valid UTF-8",
        )
    })?;
    let conn = Connection::open(source)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StoreError::Database(busy("the store is open elsewhere")));
    }
    // Hold the lock from the first read to the end: nothing else writes while it is copied.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
    conn.execute(
        "ATTACH DATABASE ?1 AS encrypted KEY ?2",
        rusqlite::params![target_name, key.raw_key_text().as_str()],
    )
    .map_err(without_sql)?;
    // Tables with storage: a virtual table's rows live in its shadow tables, which are here.
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND rootpage > 0
               AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let application_id: i64 = conn.query_row("PRAGMA main.application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
    conn.execute_batch("BEGIN")?;
    conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    // `sqlcipher_export` copies schema and rows, not the header fields the schema check reads.
    conn.pragma_update(Some("encrypted"), "application_id", application_id)?;
    conn.pragma_update(Some("encrypted"), "user_version", version)?;
    for table in &tables {
        let quoted = table.replace('"', "\"\"");
        let count = |schema: &str| -> rusqlite::Result<i64> {
            conn.query_row(
                &format!("SELECT count(*) FROM {schema}.\"{quoted}\""),
                [],
                |row| row.get(0),
            )
        };
        if count("main")? != count("encrypted")? {
            conn.execute_batch("ROLLBACK")?;
            return Err(StoreError::Database(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(format!("the encrypted copy of table {table} is incomplete")),
            )));
        }
    }
    conn.execute_batch("COMMIT")?;
    conn.execute("DETACH DATABASE encrypted", [])?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// Makes a rename in `path`'s folder durable (a no-op where folders cannot be opened).
fn sync_directory(path: &Path) -> Result<()> {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        std::fs::File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
#[cfg(feature = "encryption")]
#[path = "encryption_tests.rs"]
mod tests;

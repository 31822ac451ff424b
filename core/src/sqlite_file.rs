//! What a database file is, found out without writing to it. The device store (`schema.rs`)
//! and the server's storage both refuse a file that is not theirs, and must leave it, and its
//! folder, byte for byte as they were.
//!
//! SQLite cannot be asked first: even a read-only connection to a WAL-mode file creates the
//! file's `-wal` and `-shm` beside it and leaves them there. So the header is read as bytes
//! (the application id and the schema version are in it), and only a file whose header names
//! neither is opened, `immutable` (no locks, no journal, no WAL index: nothing is written), to
//! see whether it holds any schema.

use std::io::Read;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// The first 16 bytes of every plaintext SQLite file.
pub const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The length of SQLite's database header.
const HEADER_LEN: usize = 100;
/// Where the header keeps `PRAGMA user_version` and `PRAGMA application_id` (big-endian).
const USER_VERSION_AT: usize = 60;
const APPLICATION_ID_AT: usize = 68;

/// Who a SQLite database says it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub application_id: i64,
    pub user_version: i64,
    /// No application id, no version and no schema: an empty database, anyone's to take.
    pub blank: bool,
}

/// What a file is, read without writing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Missing or empty: free to become a new database.
    Empty,
    /// A plaintext SQLite database.
    Sqlite(Identity),
    /// Anything else (an encrypted database, a text file, a torn header), `len` bytes long.
    Other { len: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot read the database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Probes `path` from its length and header; a header with neither an application id nor a
/// version is looked into through an immutable connection (see the module's comment). A file
/// SQLite cannot read as a database is `ProbeError::Sqlite` with `SQLITE_NOTADB`.
pub fn probe(path: &Path) -> Result<Probe, ProbeError> {
    let len = match std::fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => meta.len(),
        _ => return Ok(Probe::Empty),
    };
    let mut header = [0u8; HEADER_LEN];
    if len < HEADER_LEN as u64 {
        return Ok(Probe::Other { len });
    }
    std::fs::File::open(path)?.read_exact(&mut header)?;
    if &header[..SQLITE_HEADER.len()] != SQLITE_HEADER {
        return Ok(Probe::Other { len });
    }
    let field = |at: usize| {
        i64::from(i32::from_be_bytes([
            header[at],
            header[at + 1],
            header[at + 2],
            header[at + 3],
        ]))
    };
    let (application_id, user_version) = (field(APPLICATION_ID_AT), field(USER_VERSION_AT));
    let blank = application_id == 0 && user_version == 0 && {
        let conn = open_immutable(path)?;
        schema_objects(&conn)? == 0
    };
    Ok(Probe::Sqlite(Identity {
        application_id,
        user_version,
        blank,
    }))
}

/// The identity of a database through a connection already open on it (an encrypted store,
/// read with its key on a read-only connection).
pub fn identity(conn: &Connection) -> rusqlite::Result<Identity> {
    let read = |pragma: &str| conn.query_row(&format!("PRAGMA {pragma}"), [], |row| row.get(0));
    let application_id: i64 = read("application_id")?;
    let user_version: i64 = read("user_version")?;
    let blank = application_id == 0 && user_version == 0 && schema_objects(conn)? == 0;
    Ok(Identity {
        application_id,
        user_version,
        blank,
    })
}

fn schema_objects(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
}

/// A read-only connection that writes nothing anywhere: SQLite's `immutable` URI parameter.
fn open_immutable(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        immutable_uri(path),
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// `file:` URI of `path` with `immutable=1`; every byte but unreserved ones and `/` is
/// percent-encoded, so `?`, `#` and `%` in a file name stay part of the name.
fn immutable_uri(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut uri = String::from(if bytes.first() == Some(&b'/') {
        "file://"
    } else {
        "file:"
    });
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every file of a folder with its bytes.
    fn folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    entry.file_name().to_string_lossy().into_owned(),
                    std::fs::read(entry.path()).unwrap(),
                )
            })
            .collect()
    }

    fn sqlite(path: &Path, sql: &str) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(sql).unwrap();
    }

    #[test]
    fn probing_reads_identities_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("other app? #1 100%.db");
        sqlite(
            &wal,
            "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('x');",
        );
        let tagged = dir.path().join("tagged.db");
        sqlite(
            &tagged,
            "PRAGMA application_id = 1234; PRAGMA user_version = -7;",
        );
        let blank = dir.path().join("blank.db");
        sqlite(&blank, "PRAGMA journal_mode = WAL;");
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, b"a shopping list, not a database\n".repeat(10)).unwrap();
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        let before = folder(dir.path());
        assert!(before.keys().all(|name| !name.ends_with("-wal")));

        let sqlite_file = |application_id, user_version, blank| {
            Probe::Sqlite(Identity {
                application_id,
                user_version,
                blank,
            })
        };
        assert_eq!(probe(&wal).unwrap(), sqlite_file(0, 0, false));
        assert_eq!(probe(&tagged).unwrap(), sqlite_file(1234, -7, false));
        assert_eq!(probe(&blank).unwrap(), sqlite_file(0, 0, true));
        assert_eq!(probe(&text).unwrap(), Probe::Other { len: 320 });
        assert_eq!(probe(&empty).unwrap(), Probe::Empty);
        assert_eq!(probe(&dir.path().join("missing.db")).unwrap(), Probe::Empty);
        assert_eq!(
            folder(dir.path()),
            before,
            "nothing written, nothing created"
        );

        // What the probe avoids: SQLite's own read-only connection leaves files behind.
        let read_only =
            Connection::open_with_flags(&wal, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        identity(&read_only).unwrap();
        drop(read_only);
        assert_ne!(folder(dir.path()).len(), before.len());
    }

    #[test]
    fn a_torn_header_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let torn = dir.path().join("torn.db");
        let mut bytes = SQLITE_HEADER.to_vec();
        bytes.resize(HEADER_LEN, 0);
        bytes.extend_from_slice(&[0xff; 400]);
        std::fs::write(&torn, &bytes).unwrap();
        let err = probe(&torn).unwrap_err();
        assert!(
            matches!(&err, ProbeError::Sqlite(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase)),
            "{err}"
        );
        assert_eq!(std::fs::read(&torn).unwrap(), bytes);
        let short = dir.path().join("short.db");
        std::fs::write(&short, SQLITE_HEADER).unwrap();
        assert_eq!(probe(&short).unwrap(), Probe::Other { len: 16 });
    }
}

//! The embedded backend's database: opening a file (one that is not ours, or of a newer
//! schema, is refused before anything writes to it), the migrations, and the connections (one
//! writer, a few readers, each reopened after a panic abandoned it), with the background
//! checkpoint that keeps WAL copying off the push path.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, TryLockError};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use super::sales::SalesSettings;
use super::sqlite_fieldwork::{self, FieldworkSettings};
use super::sqlite_sales;
use super::{Result, StorageError};
use crate::doc_cache::{self, DocCache};

/// Marks a SQLite file as a FieldCRM server database ("FCRS"; device stores use "FCRM").
const APPLICATION_ID: i64 = 0x4643_5253;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_sync.sql"),
    include_str!("../../migrations/0003_appended.sql"),
    include_str!("../../migrations/0004_user_scope.sql"),
    include_str!("../../migrations/0005_scope_order_indexes.sql"),
    include_str!("../../migrations/0006_changes_by_rowid.sql"),
    include_str!("../../migrations/0007_fieldwork.sql"),
    include_str!("../../migrations/0008_fieldwork_trust.sql"),
    include_str!("../../migrations/0009_sessions.sql"),
    include_str!("../../migrations/0010_record_format.sql"),
    include_str!("../../migrations/0011_sales.sql"),
    include_str!("../../migrations/0012_import_ids.sql"),
    include_str!("../../migrations/0013_catalog.sql"),
    include_str!("../../migrations/0014_order_facts.sql"),
    include_str!("../../migrations/0015_funnel_stays.sql"),
    include_str!("../../migrations/0016_analytics.sql"),
    include_str!("../../migrations/0017_order_history.sql"),
    include_str!("../../migrations/0018_campaigns.sql"),
    include_str!("../../migrations/0019_case_sla.sql"),
    include_str!("../../migrations/0020_webhooks.sql"),
];

const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Read connections kept beside the writer (WAL lets them read while it writes).
pub const READERS: usize = 4;

/// The embedded backend: one SQLite file in WAL mode, one writer connection behind a mutex,
/// a few read connections.
pub struct SqliteStorage {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    /// The database file, to reopen a connection that a panic abandoned (`None`: in memory).
    path: Option<PathBuf>,
    /// Settings of the field-work projection (pin-move flag distance).
    pub(super) fieldwork: FieldworkSettings,
    /// Settings of the sales reads (big-deal amount).
    pub(super) sales: SalesSettings,
    /// Documents recently written, kept loaded for the next push (see `doc_cache.rs`).
    pub(super) docs: DocCache,
    /// Copies the WAL into the database file in the background (file databases only).
    _checkpointer: Option<Checkpointer>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

impl SqliteStorage {
    /// Opens (creating if needed) and migrates the database at `path`. A file that is not a
    /// server database, or one of a newer schema, is refused before anything writes to it.
    pub fn open(path: &Path) -> Result<Self> {
        check_before_opening(path)?;
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        migrate(&mut writer)?;
        configure_writer(&mut writer)?;
        let checkpointer = Checkpointer::start(path)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(Mutex::new(open_reader(path)?));
        }
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            readers,
            path: Some(path.to_owned()),
            fieldwork: FieldworkSettings::default(),
            sales: SalesSettings::default(),
            docs: DocCache::new(doc_cache::CAPACITY),
            _checkpointer: Some(checkpointer),
        })
    }

    /// The same storage with other field-work settings (from the command line).
    pub fn with_fieldwork_settings(mut self, settings: FieldworkSettings) -> Self {
        self.fieldwork = settings;
        self
    }

    /// A private in-memory database (tests): reads go through the writer.
    pub fn open_in_memory() -> Result<Self> {
        let mut writer = Connection::open_in_memory()?;
        configure(&writer)?;
        migrate(&mut writer)?;
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            readers: Vec::new(),
            path: None,
            fieldwork: FieldworkSettings::default(),
            sales: SalesSettings::default(),
            docs: DocCache::new(doc_cache::CAPACITY),
            _checkpointer: None,
        })
    }

    pub(crate) fn write(&self) -> MutexGuard<'_, Connection> {
        match self.writer.lock() {
            Ok(conn) => conn,
            Err(poisoned) => self.recover(&self.writer, poisoned.into_inner(), Side::Writer),
        }
    }

    pub(crate) fn read(&self) -> MutexGuard<'_, Connection> {
        for reader in &self.readers {
            match reader.try_lock() {
                Ok(conn) => return conn,
                Err(TryLockError::Poisoned(poisoned)) => {
                    return self.recover(reader, poisoned.into_inner(), Side::Reader);
                }
                Err(TryLockError::WouldBlock) => {}
            }
        }
        match self.readers.first() {
            Some(reader) => match reader.lock() {
                Ok(conn) => conn,
                Err(poisoned) => self.recover(reader, poisoned.into_inner(), Side::Reader),
            },
            None => self.write(),
        }
    }

    /// A connection whose holder panicked: the panic may have left it inside a transaction or
    /// a half-stepped statement, so it is closed (SQLite rolls back what it held) and replaced
    /// by a new one, and the lock serves again. An in-memory database cannot be reopened
    /// without losing it: its connection is rolled back instead.
    fn recover<'a>(
        &self,
        lock: &'a Mutex<Connection>,
        mut conn: MutexGuard<'a, Connection>,
        side: Side,
    ) -> MutexGuard<'a, Connection> {
        tracing::warn!(
            ?side,
            "a panic abandoned a database connection; reopening it"
        );
        let reopened = match (&self.path, side) {
            (Some(path), Side::Reader) => open_reader(path).map(Some),
            (Some(path), Side::Writer) => open_writer(path).map(Some),
            (None, _) => Ok(None),
        };
        match reopened {
            Ok(Some(fresh)) => *conn = fresh,
            Ok(None) => rollback(&conn),
            Err(e) => {
                tracing::error!(error = %e, ?side, "cannot reopen the connection; rolling it back");
                rollback(&conn);
            }
        }
        lock.clear_poison();
        conn
    }
}

/// Which connection a panic abandoned.
#[derive(Debug, Clone, Copy)]
enum Side {
    Reader,
    Writer,
}

/// Ends whatever transaction `conn` was left in and forgets its prepared statements.
fn rollback(conn: &Connection) {
    conn.flush_prepared_statement_cache();
    if !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK")
    {
        tracing::error!(error = %e, "cannot roll back an abandoned connection");
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    Ok(conn)
}

/// The writer of an already migrated database.
fn open_writer(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    configure_writer(&mut conn)?;
    Ok(conn)
}

fn configure_writer(writer: &mut Connection) -> Result<()> {
    // Every transaction on the writer takes the write lock when it begins. A deferred one
    // that read first could not upgrade after a checkpoint reset the WAL under it.
    writer.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    // The automatic checkpoint, run inside a commit, resets the WAL; the background
    // thread has copied most pages by the time this many have accumulated.
    writer.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    // A WAL file that grew during a burst is cut back to this size when it starts over.
    writer.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    Ok(())
}

/// WAL pages after which a commit runs SQLite's own checkpoint (its default is 1,000).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 4_000;
/// How often the background checkpoint runs.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// A thread with its own connection that copies the WAL into the database file in passive
/// mode (it blocks neither the writer nor readers), so that SQLite's automatic checkpoint,
/// which runs inside the commit that crosses 1,000 WAL pages while the write lock is held,
/// finds most pages already copied. The automatic one still runs: the WAL only starts over
/// after a checkpoint that completes while nobody writes, and it is that one.
///
/// Dropping it stops the thread after one last checkpoint.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let checkpoint = |mode: &str| {
                    if let Err(e) =
                        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, mode, "WAL checkpoint failed");
                    }
                };
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    checkpoint("PASSIVE");
                }
                checkpoint("TRUNCATE");
            })
            .map_err(|e| StorageError::Thread(e.to_string()))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Bootstrap pulls read every snapshot: a bigger page cache (per connection, grown only as
    // pages are touched) keeps them off the disk. Memory-mapped reads were faster still but
    // count the mapped file into the resident set of every connection.
    conn.pragma_update(None, "cache_size", -16_000)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Stable query plans: without this SQLite re-plans a cached statement every time a
    // parameter it may plan by is rebound (an equality on an index prefix plus a range), and
    // re-parsing took a third of the server's time under load.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Refuses a file that is not a server database of a schema this build knows, before any
/// connection that could write is opened: the check reads the file's header and writes
/// nothing, not even a `-wal` or `-shm` beside it (see `fieldcrm_core::sqlite_file`, which the
/// device store uses for the same rule). A missing or empty file becomes a new database.
fn check_before_opening(path: &Path) -> Result<()> {
    use fieldcrm_core::sqlite_file::{self, Probe, ProbeError};
    match sqlite_file::probe(path) {
        Ok(Probe::Empty) => Ok(()),
        Ok(Probe::Sqlite(identity)) => check_identity(identity),
        Ok(Probe::Other { .. }) => Err(StorageError::NotAServerDatabase),
        Err(ProbeError::Io(e)) => Err(e.into()),
        Err(ProbeError::Sqlite(e))
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) =>
        {
            Err(StorageError::NotAServerDatabase)
        }
        Err(ProbeError::Sqlite(e)) => Err(e.into()),
    }
}

/// Ours (or an empty database), and a schema this build can migrate.
fn check_identity(identity: fieldcrm_core::sqlite_file::Identity) -> Result<()> {
    if !identity.blank && identity.application_id != APPLICATION_ID {
        return Err(StorageError::NotAServerDatabase);
    }
    if identity.user_version > LATEST_VERSION {
        return Err(StorageError::NewerSchema {
            found: identity.user_version,
            supported: LATEST_VERSION,
        });
    }
    Ok(())
}

/// The schema version just before the latest migration `matches` (a test rolls a database
/// back to it, to check that migration and its backfill).
#[cfg(test)]
pub(super) fn version_before(matches: fn(&str) -> bool) -> i64 {
    MIGRATIONS
        .iter()
        .rposition(|sql| matches(sql))
        .map_or(0, |index| index as i64)
}

/// Rolls a database back to `version` as an older server left it, for a test: the tables only
/// later migrations create are dropped (with their indexes) and the version is set, so opening
/// it runs those migrations again. Changes later migrations made to older tables stay; a test
/// that needs an older table's older shape makes it itself.
#[cfg(test)]
pub(super) fn roll_back(conn: &Connection, version: i64) {
    fn created(sql: &str) -> impl Iterator<Item = &str> {
        sql.lines().filter_map(|line| {
            let rest = line.trim_start().strip_prefix("CREATE TABLE ")?;
            rest.split(|c: char| c.is_whitespace() || c == '(').next()
        })
    }
    let split = usize::try_from(version).unwrap_or(0).min(MIGRATIONS.len());
    let kept: std::collections::HashSet<&str> = MIGRATIONS[..split]
        .iter()
        .flat_map(|sql| created(sql))
        .collect();
    // Newest first: a table is dropped before the tables its foreign keys name.
    for sql in MIGRATIONS[split..].iter().rev() {
        let tables: Vec<&str> = created(sql).filter(|t| !kept.contains(t)).collect();
        for table in tables.into_iter().rev() {
            conn.execute_batch(&format!("DROP TABLE IF EXISTS {table};"))
                .unwrap_or_else(|e| panic!("cannot drop {table}: {e}"));
        }
    }
    conn.pragma_update(None, "user_version", version)
        .unwrap_or_else(|e| panic!("cannot set the version: {e}"));
}

/// Checks the database is ours (or empty) once more, now through the connection that
/// migrates it, and brings it to [`LATEST_VERSION`], one migration per transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
    let identity = fieldcrm_core::sqlite_file::identity(conn)?;
    check_identity(identity)?;
    let version = identity.user_version;
    let sales_backfill_at = MIGRATIONS
        .iter()
        .rposition(|sql| sqlite_sales::creates_stage_changes(sql));
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if index + 1 == sqlite_fieldwork::SCHEMA_VERSION {
            sqlite_fieldwork::backfill(&tx)?;
        }
        if Some(index) == sales_backfill_at {
            sqlite_sales::backfill(&tx)?;
        }
        if sqlite_sales::creates_order_facts(sql) {
            sqlite_sales::backfill_orders(&tx)?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Storage;

    #[test]
    fn migrates_a_file_and_reopens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.sqlite");
        {
            let storage = SqliteStorage::open(&path).unwrap();
            storage.create_team("north").unwrap();
        }
        let storage = SqliteStorage::open(&path).unwrap();
        assert_eq!(
            storage.team_by_name("north").unwrap().unwrap().name,
            "north"
        );
        storage.health().unwrap();
    }

    /// Panics while connections are held (one inside a transaction) leave no connection
    /// poisoned or mid-transaction: each is reopened, and every reader serves again.
    #[test]
    fn connections_abandoned_by_a_panic_are_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("server.sqlite")).unwrap();
        storage.create_team("north").unwrap();
        std::thread::scope(|s| {
            let held = s.spawn(|| {
                let readers: Vec<_> = (0..READERS).map(|_| storage.read()).collect();
                readers[1].execute_batch("BEGIN").unwrap();
                readers[1]
                    .query_row("SELECT count(*) FROM teams", [], |r| r.get::<_, i64>(0))
                    .unwrap();
                panic!("a push panicked while holding every reader");
            });
            assert!(held.join().is_err());
            let writer = s.spawn(|| {
                let conn = storage.write();
                conn.execute_batch(
                    "BEGIN IMMEDIATE; INSERT INTO teams (id, name, created_at) VALUES ('t', 'lost', 0);",
                )
                .unwrap();
                panic!("a push panicked inside its write transaction");
            });
            assert!(writer.join().is_err());
        });
        assert!(storage.readers.iter().all(|r| r.is_poisoned()));
        assert!(storage.writer.is_poisoned());

        // The writer: reopened, out of the abandoned transaction, which left nothing behind.
        storage.create_team("south").unwrap();
        assert!(!storage.writer.is_poisoned());
        assert!(storage.write().is_autocommit());
        assert_eq!(storage.team_by_name("lost").unwrap(), None);
        // Every reader serves again, at once, none of them inside a transaction.
        let readers: Vec<_> = (0..READERS).map(|_| storage.read()).collect();
        for conn in &readers {
            assert!(conn.is_autocommit());
            let teams: i64 = conn
                .query_row("SELECT count(*) FROM teams", [], |r| r.get(0))
                .unwrap();
            assert_eq!(teams, 2);
        }
        drop(readers);
        assert!(storage.readers.iter().all(|r| !r.is_poisoned()));
    }

    /// An in-memory database cannot be reopened: its poisoned writer is rolled back instead.
    #[test]
    fn an_in_memory_writer_abandoned_by_a_panic_is_rolled_back() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        std::thread::scope(|s| {
            let writer = s.spawn(|| {
                let conn = storage.write();
                conn.execute_batch(
                    "BEGIN IMMEDIATE; INSERT INTO teams (id, name, created_at) VALUES ('t', 'lost', 0);",
                )
                .unwrap();
                panic!("a push panicked inside its write transaction");
            });
            assert!(writer.join().is_err());
        });
        storage.create_team("north").unwrap();
        assert!(!storage.writer.is_poisoned());
        assert_eq!(storage.team_by_name("lost").unwrap(), None);
        assert!(storage.team_by_name("north").unwrap().is_some());
    }

    /// Every file of a folder with the SHA-256 of its bytes.
    fn hashes(dir: &Path) -> std::collections::BTreeMap<String, String> {
        use sha2::Digest;
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let bytes = std::fs::read(entry.path()).unwrap();
                (
                    entry.file_name().to_string_lossy().into_owned(),
                    hex::encode(sha2::Sha256::digest(&bytes)),
                )
            })
            .collect()
    }

    #[test]
    fn a_file_that_is_not_ours_is_refused_and_left_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = |name: &str, sql: &str| {
            let path = dir.path().join(name);
            Connection::open(&path).unwrap().execute_batch(sql).unwrap();
            path
        };
        let foreign = [
            sqlite(
                "other-app.sqlite",
                "PRAGMA application_id = 1234; CREATE TABLE notes (body TEXT);",
            ),
            sqlite("plain.sqlite", "CREATE TABLE recipes (name TEXT);"),
            // The journal mode most apps use: a read-only connection alone would leave a
            // -wal and a -shm beside it.
            sqlite(
                "wal.sqlite",
                "PRAGMA journal_mode = WAL; CREATE TABLE x (y INTEGER); INSERT INTO x VALUES (1);",
            ),
            // Views only: no table, still someone's schema.
            sqlite("views.sqlite", "CREATE VIEW answer AS SELECT 42;"),
        ];
        let text = dir.path().join("notes.txt");
        std::fs::write(
            &text,
            b"this is a shopping list, not a database\n".repeat(200),
        )
        .unwrap();
        let mut torn = b"SQLite format 3\0".to_vec();
        torn.resize(8192, 0xA5);
        let torn_path = dir.path().join("torn.sqlite");
        std::fs::write(&torn_path, &torn).unwrap();
        let before = hashes(dir.path());
        assert_eq!(before.len(), 6, "{before:?}");

        for path in foreign.iter().chain([&text, &torn_path]) {
            let err = SqliteStorage::open(path).unwrap_err();
            assert!(
                matches!(err, StorageError::NotAServerDatabase),
                "{}: {err}",
                path.display()
            );
        }
        assert_eq!(
            hashes(dir.path()),
            before,
            "nothing written, nothing created"
        );
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.sqlite");
        let storage = SqliteStorage::open(&path).unwrap();
        storage.create_team("north").unwrap();
        drop(storage);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .unwrap();
        // Out of WAL mode (a copy restored from a backup, say): setting it would rewrite the
        // header.
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        drop(conn);
        let before = hashes(dir.path());
        assert_eq!(before.len(), 1, "{before:?}");
        let err = SqliteStorage::open(&path).unwrap_err();
        assert!(
            matches!(err, StorageError::NewerSchema { found, .. } if found == LATEST_VERSION + 1),
            "{err}"
        );
        assert_eq!(hashes(dir.path()), before);
    }

    #[test]
    fn an_empty_file_or_database_becomes_a_server_database() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.sqlite");
        std::fs::write(&empty, b"").unwrap();
        let blank = dir.path().join("blank.sqlite");
        Connection::open(&blank)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; VACUUM;")
            .unwrap();
        for path in [empty, blank] {
            let storage = SqliteStorage::open(&path).unwrap();
            storage.create_team("north").unwrap();
            drop(storage);
            let storage = SqliteStorage::open(&path).unwrap();
            assert!(storage.team_by_name("north").unwrap().is_some());
        }
    }
}

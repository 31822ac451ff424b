//! Storage behind a trait: [`Storage`], and [`SqliteStorage`], the embedded default.
//!
//! Methods are synchronous: axum handlers call them through `tokio::task::spawn_blocking`, so
//! a slow disk never stalls the async runtime.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, TryLockError};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use fieldcrm_core::protocol::{
    PingUpload, PullRequest, PullResponse, PushRequest, PushResponse, RefetchRequest,
    RefetchResponse,
};
use fieldcrm_core::{Kind, Millis};

use crate::doc_cache::{self, DocCache};
use crate::fieldwork::{self, OverdueCustomer, PingBatchOutcome, RepDay, RepInfo, RepOverview};
use crate::model::{Device, Role, SigningKey, Team, Territory, User, new_id};
use crate::scope::Principal;
use crate::sync::PushStats;

/// A storage failure. `ActorTaken`, `AlreadyExists` and `NotFound` are answers about the data;
/// the others are faults that an HTTP client sees only as `internal`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the actor id is bound to another user")]
    ActorTaken,
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the device was revoked")]
    DeviceRevoked,
    #[error("the user already has {0} devices")]
    DeviceLimit(usize),
    /// The file is left as it was: nothing is written to a file that is not ours.
    #[error("not a FieldCRM server database (left unchanged)")]
    NotAServerDatabase,
    #[error("the database has schema version {found}; this build supports up to {supported}")]
    NewerSchema { found: i64, supported: i64 },
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("cannot read the database file: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not start the checkpoint thread: {0}")]
    Thread(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Stored data that does not read as it was written.
pub(crate) fn corrupt(detail: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(detail.to_string())
}

mod accounts;
pub use accounts::{Accounts, DeviceStatus, SessionState};

/// A new user, before it has an id.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: Role,
    pub team_id: Option<&'a str>,
}

/// Result of binding an actor id to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRegistration {
    pub device: Device,
    /// `false` when this user had already registered this actor id (a harmless retry).
    pub created: bool,
}

/// Everything the server stores, behind one trait so that a PostgreSQL backend (several server
/// instances behind a load balancer) can replace the embedded SQLite one.
///
/// Rules every backend keeps:
/// - Ids are UUID strings made by the caller's process ([`new_id`]), never database sequences,
///   so no backend-specific `RETURNING`/`last_insert_rowid` is needed.
/// - Writes that may race across instances are single statements guarded by unique constraints
///   (`INSERT ... ON CONFLICT`), followed by a read of what won: a device bound concurrently by
///   two users ends with exactly one owner and the other gets [`StorageError::ActorTaken`].
/// - Key rotation retires the old key and inserts the new one in one transaction; a partial
///   unique index keeps exactly one active key.
///
/// **The ordering pitfall (for the change log that push/pull adds).** Changes will receive
/// server sequence numbers and pulls read "everything after my cursor". With several
/// concurrent writers (PostgreSQL), sequence numbers become *visible* out of order: a
/// transaction holding number 41 may commit after one holding 42, and a reader that already
/// advanced its cursor to 42 skips 41 forever. SQLite has one writer (this implementation
/// serialises all writes behind one connection), so every committed number is visible in
/// order. A PostgreSQL backend must solve it explicitly, either by allocating numbers under a
/// lock at commit time (e.g. a row lock on a counter taken as the transaction's last step), or
/// by serving pulls only up to a safe high-water mark (the lowest number still in flight
/// minus one), and must test it under concurrency.
pub trait Storage: Accounts + Send + Sync + 'static {
    /// A cheap query that proves the database answers.
    fn health(&self) -> Result<()>;

    fn create_team(&self, name: &str) -> Result<Team>;
    fn team_by_name(&self, name: &str) -> Result<Option<Team>>;

    fn create_user(&self, user: NewUser<'_>) -> Result<User>;
    fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    fn user_by_username(&self, username: &str) -> Result<Option<User>>;

    fn create_territory(&self, name: &str, team_id: &str) -> Result<Territory>;
    fn territory_by_name(&self, name: &str) -> Result<Option<Territory>>;
    /// Idempotent: assigning twice changes nothing. The user's devices receive the territory's
    /// documents on their next sync.
    fn assign_user_territory(&self, user_id: &str, territory_id: &str) -> Result<()>;
    /// Takes a territory from a user; their devices drop its documents on their next sync.
    /// `false` when the user did not have it.
    fn unassign_user_territory(&self, user_id: &str, territory_id: &str) -> Result<bool>;
    /// Moves a user to another team, with the visits and tasks they own: the old team's
    /// managers lose sight of them, the new team's gain it.
    fn move_user_to_team(&self, user_id: &str, team_id: &str) -> Result<()>;
    fn user_territories(&self, user_id: &str) -> Result<Vec<Territory>>;
    /// Puts a customer in a territory, replacing any earlier assignment.
    fn assign_customer_territory(&self, customer_id: &str, territory_id: &str) -> Result<()>;
    fn customer_territory(&self, customer_id: &str) -> Result<Option<String>>;

    /// Binds `actor_id` (lowercase hex) to `user_id`. The same user again: the existing
    /// device, `created: false`. Another user: [`StorageError::ActorTaken`].
    fn register_device(&self, user_id: &str, actor_id: &str) -> Result<DeviceRegistration>;
    fn devices_of_user(&self, user_id: &str) -> Result<Vec<Device>>;

    /// Every signing key, active and retired.
    fn signing_keys(&self) -> Result<Vec<SigningKey>>;

    /// The user with the territories their visibility depends on.
    fn principal(&self, user: &User) -> Result<Principal> {
        let territories = self
            .user_territories(&user.id)?
            .into_iter()
            .map(|t| t.id)
            .collect();
        Ok(Principal::new(user, territories))
    }
    /// Applies a push atomically (see `sync.rs`): accepted changes are in the log, with
    /// sequence numbers, before the response exists.
    fn push_changes(
        &self,
        principal: &Principal,
        request: PushRequest,
    ) -> Result<(PushResponse, PushStats)>;
    /// One page of what `principal` may see after the request's cursor.
    fn pull_changes(&self, principal: &Principal, request: &PullRequest) -> Result<PullResponse>;
    /// The full change history of each requested document `principal` may see; the other
    /// ids (unknown or forbidden, alike) in `missing` (see `refetch.rs`).
    fn refetch_documents(
        &self,
        principal: &Principal,
        request: &RefetchRequest,
    ) -> Result<RefetchResponse>;
    /// Moves a customer (with its contacts, opportunities and cases) to another territory.
    fn move_customer(&self, customer_id: &str, territory_id: &str) -> Result<()>;
    fn document_count(&self, kind: Kind) -> Result<i64>;
    /// Retires the active key (if any) at `now` and makes `key` the active one, atomically.
    fn rotate_signing_key(&self, key: &SigningKey, now: i64) -> Result<()>;

    /// Stores a batch of `rep_id`'s location pings (idempotent by batch id), at server time
    /// `now` (unix ms).
    fn store_pings(
        &self,
        rep_id: &str,
        upload: &PingUpload,
        now: Millis,
    ) -> Result<PingBatchOutcome>;
    /// The reps whose routes `principal` may review.
    fn reviewable_reps(&self, principal: &Principal) -> Result<Vec<RepInfo>>;
    /// A rep's pings and visits of `[from, to)` (unix ms), as `viewer` may see them: a visit's
    /// customer name and location only when `viewer` sees the customer.
    fn rep_day(&self, viewer: &Principal, rep_id: &str, from: Millis, to: Millis)
    -> Result<RepDay>;
    /// Per-rep figures of `[from, to)`, as `viewer` may see them.
    fn team_overview(
        &self,
        viewer: &Principal,
        reps: &[RepInfo],
        from: Millis,
        to: Millis,
    ) -> Result<Vec<RepOverview>>;
    /// Customers in `principal`'s sight overdue against their cadence at `now`.
    fn overdue_customers(
        &self,
        principal: &Principal,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<OverdueCustomer>>;
}

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
    pub(crate) fieldwork: fieldwork::Settings,
    /// Documents recently written, kept loaded for the next push (see `doc_cache.rs`).
    pub(crate) docs: DocCache,
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
            fieldwork: fieldwork::Settings::default(),
            docs: DocCache::new(doc_cache::CAPACITY),
            _checkpointer: Some(checkpointer),
        })
    }

    /// The same storage with other field-work settings (from the command line).
    pub fn with_fieldwork_settings(mut self, settings: fieldwork::Settings) -> Self {
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
            fieldwork: fieldwork::Settings::default(),
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

/// Checks the database is ours (or empty) once more, now through the connection that
/// migrates it, and brings it to [`LATEST_VERSION`], one migration per transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
    let identity = fieldcrm_core::sqlite_file::identity(conn)?;
    check_identity(identity)?;
    let version = identity.user_version;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if index + 1 == crate::fieldwork::SCHEMA_VERSION {
            crate::fieldwork::backfill(&tx)?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

fn unique_or(err: rusqlite::Error, what: &'static str) -> StorageError {
    if is_unique_violation(&err) {
        StorageError::AlreadyExists(what)
    } else {
        StorageError::Database(err)
    }
}

const USER_COLUMNS: &str = "id, username, password_hash, role, team_id, created_at";

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(3)?;
    let role = Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown role {role:?}").into(),
        )
    })?;
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        role,
        team_id: row.get(4)?,
        created_at: row.get(5)?,
    })
}

fn territory_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Territory> {
    Ok(Territory {
        id: row.get(0)?,
        name: row.get(1)?,
        team_id: row.get(2)?,
    })
}

fn device_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: row.get(0)?,
        user_id: row.get(1)?,
        actor_id: row.get(2)?,
        registered_at: row.get(3)?,
    })
}

fn device_by_actor(conn: &Connection, actor_id: &str) -> rusqlite::Result<Option<Device>> {
    conn.query_row(
        "SELECT id, user_id, actor_id, registered_at FROM devices WHERE actor_id = ?1",
        [actor_id],
        device_from_row,
    )
    .optional()
}

impl Storage for SqliteStorage {
    fn health(&self) -> Result<()> {
        let conn = self.read();
        conn.query_row("SELECT count(*) FROM signing_keys", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(())
    }

    fn create_team(&self, name: &str) -> Result<Team> {
        let team = Team {
            id: new_id(),
            name: name.to_owned(),
        };
        self.write()
            .execute(
                "INSERT INTO teams (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![team.id, team.name, crate::model::now_unix()],
            )
            .map_err(|e| unique_or(e, "team"))?;
        Ok(team)
    }

    fn team_by_name(&self, name: &str) -> Result<Option<Team>> {
        Ok(self
            .read()
            .query_row("SELECT id, name FROM teams WHERE name = ?1", [name], |r| {
                Ok(Team {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn create_user(&self, user: NewUser<'_>) -> Result<User> {
        let stored = User {
            id: new_id(),
            username: user.username.to_owned(),
            password_hash: user.password_hash.map(str::to_owned),
            role: user.role,
            team_id: user.team_id.map(str::to_owned),
            created_at: crate::model::now_unix(),
        };
        self.write()
            .execute(
                "INSERT INTO users (id, username, password_hash, role, team_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    stored.id,
                    stored.username,
                    stored.password_hash,
                    stored.role.as_str(),
                    stored.team_id,
                    stored.created_at
                ],
            )
            .map_err(|e| unique_or(e, "user"))?;
        Ok(stored)
    }

    fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        Ok(self
            .read()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id],
                user_from_row,
            )
            .optional()?)
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok(self
            .read()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
                [username],
                user_from_row,
            )
            .optional()?)
    }

    fn create_territory(&self, name: &str, team_id: &str) -> Result<Territory> {
        let territory = Territory {
            id: new_id(),
            name: name.to_owned(),
            team_id: team_id.to_owned(),
        };
        self.write()
            .execute(
                "INSERT INTO territories (id, name, team_id, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    territory.id,
                    territory.name,
                    territory.team_id,
                    crate::model::now_unix()
                ],
            )
            .map_err(|e| unique_or(e, "territory"))?;
        Ok(territory)
    }

    fn territory_by_name(&self, name: &str) -> Result<Option<Territory>> {
        Ok(self
            .read()
            .query_row(
                "SELECT id, name, team_id FROM territories WHERE name = ?1",
                [name],
                territory_from_row,
            )
            .optional()?)
    }

    fn assign_user_territory(&self, user_id: &str, territory_id: &str) -> Result<()> {
        self.change_user_scope(user_id, |tx| {
            tx.execute(
                "INSERT INTO user_territories (user_id, territory_id) VALUES (?1, ?2)
                 ON CONFLICT (user_id, territory_id) DO NOTHING",
                params![user_id, territory_id],
            )?;
            Ok(())
        })
    }

    fn unassign_user_territory(&self, user_id: &str, territory_id: &str) -> Result<bool> {
        let mut removed = false;
        self.change_user_scope(user_id, |tx| {
            removed = tx.execute(
                "DELETE FROM user_territories WHERE user_id = ?1 AND territory_id = ?2",
                params![user_id, territory_id],
            )? > 0;
            Ok(())
        })?;
        Ok(removed)
    }

    fn move_user_to_team(&self, user_id: &str, team_id: &str) -> Result<()> {
        self.move_user(user_id, team_id)
    }

    fn user_territories(&self, user_id: &str) -> Result<Vec<Territory>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT t.id, t.name, t.team_id FROM territories t
             JOIN user_territories ut ON ut.territory_id = t.id
             WHERE ut.user_id = ?1 ORDER BY t.name",
        )?;
        let rows = stmt.query_map([user_id], territory_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn assign_customer_territory(&self, customer_id: &str, territory_id: &str) -> Result<()> {
        self.reassign_customer(customer_id, territory_id)
    }

    fn push_changes(
        &self,
        principal: &Principal,
        request: PushRequest,
    ) -> Result<(PushResponse, PushStats)> {
        self.apply_push(principal, request)
    }

    fn pull_changes(&self, principal: &Principal, request: &PullRequest) -> Result<PullResponse> {
        self.serve_pull(principal, request)
    }

    fn refetch_documents(
        &self,
        principal: &Principal,
        request: &RefetchRequest,
    ) -> Result<RefetchResponse> {
        self.serve_refetch(principal, request)
    }

    fn move_customer(&self, customer_id: &str, territory_id: &str) -> Result<()> {
        self.reassign_customer(customer_id, territory_id)
    }

    fn store_pings(
        &self,
        rep_id: &str,
        upload: &PingUpload,
        now: Millis,
    ) -> Result<PingBatchOutcome> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let outcome = fieldwork::store_ping_batch(&tx, rep_id, upload, now)?;
        tx.commit()?;
        Ok(outcome)
    }

    fn reviewable_reps(&self, principal: &Principal) -> Result<Vec<RepInfo>> {
        fieldwork::reviewable_reps(&self.read(), principal)
    }

    fn rep_day(
        &self,
        viewer: &Principal,
        rep_id: &str,
        from: Millis,
        to: Millis,
    ) -> Result<RepDay> {
        fieldwork::rep_day(&self.read(), viewer, rep_id, from, to)
    }

    fn team_overview(
        &self,
        viewer: &Principal,
        reps: &[RepInfo],
        from: Millis,
        to: Millis,
    ) -> Result<Vec<RepOverview>> {
        fieldwork::team_overview(&self.read(), viewer, reps, from, to)
    }

    fn overdue_customers(
        &self,
        principal: &Principal,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<OverdueCustomer>> {
        fieldwork::overdue_customers(&self.read(), principal, now, limit)
    }

    fn document_count(&self, kind: Kind) -> Result<i64> {
        self.count_documents(kind)
    }

    fn customer_territory(&self, customer_id: &str) -> Result<Option<String>> {
        Ok(self
            .read()
            .query_row(
                "SELECT territory_id FROM customer_territories WHERE customer_id = ?1",
                [customer_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn register_device(&self, user_id: &str, actor_id: &str) -> Result<DeviceRegistration> {
        let conn = self.write();
        let id = new_id();
        let inserted = conn.execute(
            "INSERT INTO devices (id, user_id, actor_id, registered_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (actor_id) DO NOTHING",
            params![id, user_id, actor_id, crate::model::now_unix()],
        )?;
        let device = device_by_actor(&conn, actor_id)?
            .ok_or_else(|| StorageError::Corrupt("device vanished after insert".into()))?;
        if device.user_id != user_id {
            return Err(StorageError::ActorTaken);
        }
        Ok(DeviceRegistration {
            device,
            created: inserted == 1,
        })
    }

    fn devices_of_user(&self, user_id: &str) -> Result<Vec<Device>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT id, user_id, actor_id, registered_at FROM devices
             WHERE user_id = ?1 ORDER BY registered_at, id",
        )?;
        let rows = stmt.query_map([user_id], device_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT kid, secret, created_at, active, retired_at FROM signing_keys
             ORDER BY created_at, kid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SigningKey {
                kid: r.get(0)?,
                secret: r.get(1)?,
                created_at: r.get(2)?,
                active: r.get::<_, i64>(3)? == 1,
                retired_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn rotate_signing_key(&self, key: &SigningKey, now: i64) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE signing_keys SET active = 0, retired_at = ?1 WHERE active = 1",
            [now],
        )?;
        tx.execute(
            "INSERT INTO signing_keys (kid, secret, created_at, active, retired_at)
             VALUES (?1, ?2, ?3, 1, NULL)",
            params![key.kid, key.secret, key.created_at],
        )
        .map_err(|e| unique_or(e, "signing key"))?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage_with_user() -> (SqliteStorage, User) {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let user = storage
            .create_user(NewUser {
                username: "ana",
                password_hash: None,
                role: Role::Rep,
                team_id: None,
            })
            .unwrap();
        (storage, user)
    }

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

    #[test]
    fn usernames_and_names_are_unique() {
        let (storage, _) = storage_with_user();
        let again = storage.create_user(NewUser {
            username: "ana",
            password_hash: None,
            role: Role::Admin,
            team_id: None,
        });
        assert!(matches!(again, Err(StorageError::AlreadyExists("user"))));
        storage.create_team("t").unwrap();
        assert!(matches!(
            storage.create_team("t"),
            Err(StorageError::AlreadyExists("team"))
        ));
    }

    #[test]
    fn an_actor_belongs_to_one_user() {
        let (storage, ana) = storage_with_user();
        let bo = storage
            .create_user(NewUser {
                username: "bo",
                password_hash: None,
                role: Role::Rep,
                team_id: None,
            })
            .unwrap();
        let first = storage.register_device(&ana.id, "ab01").unwrap();
        assert!(first.created);
        let retry = storage.register_device(&ana.id, "ab01").unwrap();
        assert!(!retry.created);
        assert_eq!(retry.device, first.device);
        assert!(matches!(
            storage.register_device(&bo.id, "ab01"),
            Err(StorageError::ActorTaken)
        ));
        assert_eq!(storage.devices_of_user(&ana.id).unwrap().len(), 1);
        assert!(storage.devices_of_user(&bo.id).unwrap().is_empty());
    }

    #[test]
    fn territories_and_customer_assignment() {
        let (storage, ana) = storage_with_user();
        let team = storage.create_team("north").unwrap();
        let t1 = storage.create_territory("harbour", &team.id).unwrap();
        let t2 = storage.create_territory("old town", &team.id).unwrap();
        storage.assign_user_territory(&ana.id, &t1.id).unwrap();
        storage.assign_user_territory(&ana.id, &t1.id).unwrap();
        assert_eq!(storage.user_territories(&ana.id).unwrap(), vec![t1.clone()]);
        storage.assign_customer_territory("c-1", &t1.id).unwrap();
        storage.assign_customer_territory("c-1", &t2.id).unwrap();
        assert_eq!(storage.customer_territory("c-1").unwrap(), Some(t2.id));
        assert_eq!(storage.customer_territory("c-2").unwrap(), None);
        // Foreign keys hold: no territory of a missing team.
        assert!(storage.create_territory("x", "no-such-team").is_err());
    }

    #[test]
    fn rotation_keeps_one_active_key() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        for (i, kid) in ["k1", "k2", "k3"].into_iter().enumerate() {
            let key = SigningKey {
                kid: kid.into(),
                secret: vec![i as u8; 32],
                created_at: i as i64,
                active: true,
                retired_at: None,
            };
            storage.rotate_signing_key(&key, 100 + i as i64).unwrap();
        }
        let keys = storage.signing_keys().unwrap();
        assert_eq!(keys.len(), 3);
        let active: Vec<_> = keys.iter().filter(|k| k.active).map(|k| &k.kid).collect();
        assert_eq!(active, vec!["k3"]);
        assert_eq!(keys[0].retired_at, Some(101));
        assert_eq!(keys[1].retired_at, Some(102));
    }
}

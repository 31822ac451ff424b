//! The store: the entry point of the core library. One SQLite file holds every document, its
//! projection, the upload queue and the sync state.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use automerge::{ActorId, Automerge, Change, ChangeHash, ReadDoc};
use lru::LruCache;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{ImportError, Result, StoreError};
use crate::live::{LiveQueries, QueryListener, Subscription};
use crate::model::{Kind, Millis};
use crate::query::{self, Query, QueryResult};
use crate::records::{AnyRecord, FieldConflict, Record};
use crate::schema;

mod activities;
mod cases;
pub(crate) mod encryption;
mod inbox;
mod insights;
mod orders;
mod outbox;
mod rebase;
mod status;
mod wipe;

pub use encryption::StoreKey;
pub use inbox::{ImportReport, IncomingDoc, IncomingPayload, RefusedDoc, VerifyReport};
pub use orders::LineEdit;
pub use outbox::{PendingChange, RejectedChange};
pub(crate) use status::SyncSlot;

/// How many Automerge documents stay in memory between uses.
const DOC_CACHE_CAPACITY: usize = 256;

/// Where the store reads the time it stamps on records (`created_at`, `updated_at`, history
/// entries): [`now_ms`] unless [`Store::set_clock`] gave it another.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

struct Inner {
    conn: Connection,
    docs: LruCache<String, Automerge>,
    actor: ActorId,
    user: String,
    clock: Clock,
    /// Whether records are projected into the queryable tables (see [`Store::skip_projections`]).
    projections: bool,
}

/// An offline CRM store. Safe to share between threads; every method is blocking, so call it
/// off the UI thread.
pub struct Store {
    inner: Mutex<Inner>,
    live: Arc<LiveQueries>,
    /// Whether a sync session holds the store's one sync slot (see [`SyncSlot`]).
    syncing: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// The device clock in milliseconds since 1970 (0 before 1970); the one clock of the core,
/// the bindings and the CLI.
pub fn now_ms() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
    })
}

fn heads_blob(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// Loads a stored or received document as this device's actor; its chunks are walked first
/// (`chunks::load`).
fn load_doc(bytes: &[u8], actor: &ActorId) -> std::result::Result<Automerge, String> {
    Ok(crate::chunks::load(bytes)?.with_actor(actor.clone()))
}

impl Inner {
    fn now(&self) -> Millis {
        (self.clock)()
    }

    /// The document for `id`, from the cache or the database.
    fn doc(&mut self, id: &str) -> Result<Option<&mut Automerge>> {
        if !self.docs.contains(id) {
            let bytes: Option<Vec<u8>> = self
                .conn
                .prepare_cached("SELECT bytes FROM docs WHERE id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()?;
            let Some(bytes) = bytes else { return Ok(None) };
            let doc = load_doc(&bytes, &self.actor).map_err(|e| StoreError::CorruptDocument {
                id: id.to_owned(),
                detail: e.to_string(),
            })?;
            self.docs.put(id.to_owned(), doc);
        }
        Ok(self.docs.get_mut(id))
    }

    fn record(&mut self, id: &str) -> Result<Option<AnyRecord>> {
        let Some(doc) = self.doc(id)? else {
            return Ok(None);
        };
        if doc.get_heads().is_empty() {
            return Ok(None); // only changes waiting for their dependencies
        }
        // Fields of the wrong type were noted when the document arrived (`partly_read.rs`).
        AnyRecord::read_leniently(doc)
            .map(|read| Some(read.record))
            .map_err(|e| StoreError::CorruptDocument {
                id: id.to_owned(),
                detail: e.to_string(),
            })
    }
}

/// Stores a document whose projection was derived from the document itself.
fn save_doc(
    tx: &Transaction<'_>,
    id: &str,
    kind: Option<Kind>,
    bytes: &[u8],
    heads: &[ChangeHash],
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO docs (id, kind, bytes, heads, verified, updated_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)
         ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, bytes = excluded.bytes, heads = excluded.heads,
           verified = 1, updated_at = excluded.updated_at",
    )?
    .execute(params![id, kind.map(Kind::as_str), bytes, heads_blob(heads), now_ms()])?;
    Ok(())
}

impl Store {
    /// Opens (or creates) the store at `path`. A file that is not a FieldCRM store, or one
    /// written by a newer schema, is refused without being modified. Opening reads no document.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path.as_ref(), None)
    }

    /// Opens (or creates) the store at `path` encrypted with `key` (SQLCipher, AES-256).
    ///
    /// - A new file is created encrypted.
    /// - An encrypted store opens with the key it was created with. Any other key is
    ///   [`StoreError::WrongKey`], and the file is left byte for byte as it was: the key is
    ///   verified on a read-only connection before anything writes.
    /// - A plaintext store (created by [`Store::open`]) is encrypted in place first, keeping
    ///   everything, the upload queue included; an interruption leaves either the whole
    ///   plaintext or the whole encrypted file.
    ///
    /// Opening an encrypted store with [`Store::open`] is [`StoreError::KeyRequired`].
    #[cfg(feature = "encryption")]
    pub fn open_encrypted(path: impl AsRef<Path>, key: &StoreKey) -> Result<Store> {
        Store::open_with(path.as_ref(), Some(key))
    }

    fn open_with(path: &Path, key: Option<&StoreKey>) -> Result<Store> {
        let kind = schema::check_compatible(path, key)?;
        if let (Some(key), schema::FileKind::Plain) = (key, kind) {
            encryption::encrypt_in_place(path, key)?;
        }
        let mut conn = Connection::open(path)?;
        if let Some(key) = key {
            // The first statement, before anything reads or writes the file.
            encryption::apply_key(&conn, key)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A larger page cache and fewer checkpoints keep a bootstrap of tens of thousands of
        // documents fast; the cache only grows as pages are touched.
        conn.pragma_update(None, "cache_size", -16_000)?;
        conn.pragma_update(None, "wal_autocheckpoint", 8_000)?;
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(64);
        // Stable query plans: without this SQLite re-plans a cached statement every time a
        // parameter it may plan by is rebound (an equality on an index prefix plus a range),
        // which made re-parsing the biggest cost of repeated queries.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        schema::migrate(&mut conn)?;
        let actor_hex: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'actor'", [], |row| {
                row.get(0)
            })
            .optional()?;
        let actor = match actor_hex.as_deref().map(hex::decode) {
            Some(Ok(bytes)) => ActorId::from(bytes),
            _ => {
                let actor = ActorId::random();
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('actor', ?1)",
                    [actor.to_hex_string()],
                )?;
                actor
            }
        };
        let user: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'user'", [], |row| {
                row.get(0)
            })
            .optional()?
            .unwrap_or_else(|| "local".to_owned());
        let capacity = NonZeroUsize::new(DOC_CACHE_CAPACITY).unwrap_or(NonZeroUsize::MIN);
        Ok(Store {
            inner: Mutex::new(Inner {
                conn,
                docs: LruCache::new(capacity),
                actor,
                user,
                clock: Arc::new(now_ms),
                projections: true,
            }),
            live: Arc::new(LiveQueries::default()),
            syncing: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The connection and cache stay consistent even if a thread panicked mid-call: every
        // write is one SQLite transaction and a failed write evicts its cached document.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the store's connection, under the store's lock (for the modules that keep
    /// tables of their own beside the documents, such as pings).
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        f(&mut self.lock().conn)
    }

    /// Stamps records with `clock`'s time from now on. For tools that write records as they were
    /// at another time (the demo's deal histories, imports, tests); an app keeps [`now_ms`].
    pub fn set_clock(&self, clock: impl Fn() -> Millis + Send + Sync + 'static) {
        self.lock().clock = Arc::new(clock);
    }

    /// From now on, records are stored and queued for upload but not projected: queries,
    /// live queries and search see none of them. For a store that only writes and is never
    /// queried, such as the server's CSV import device (the projection, its search index above
    /// all, was a third of that device's work per record). There is no way back for this open
    /// store: records written meanwhile would be missing from its tables.
    pub fn skip_projections(&self) {
        self.lock().projections = false;
    }

    /// The time the store stamps on records now.
    pub fn now(&self) -> Millis {
        self.lock().now()
    }

    /// This device's Automerge actor id (hex); the server binds it to the signed-in user.
    pub fn actor_id(&self) -> String {
        self.lock().actor.to_hex_string()
    }

    /// The user id written into `created_by` and the stage history of this device's changes.
    pub fn set_user(&self, user_id: &str) -> Result<()> {
        let mut inner = self.lock();
        inner.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('user', ?1)",
            [user_id],
        )?;
        inner.user = user_id.to_owned();
        Ok(())
    }

    pub fn user(&self) -> String {
        self.lock().user.clone()
    }

    /// Creates a record. The store assigns the id (unless one is set), the creation fields and
    /// `updated_at`; returns the record as stored.
    pub fn create<R: Record>(&self, mut record: R) -> Result<R> {
        let mut inner = self.lock();
        let now = inner.now();
        let meta = record.meta_mut();
        if meta.id.is_empty() {
            meta.id = uuid::Uuid::now_v7().to_string();
        }
        meta.created_at = now;
        meta.created_by = inner.user.clone();
        meta.updated_at = now;
        meta.deleted = false;
        let mut any = record.into_any();
        any.prepare_create(now, &inner.user);
        crate::records::check_none_new(None, &any)?;
        any.check_local_write(None)?;
        any.validate()?;
        let id = any.meta().id.clone();
        if inner.doc(&id)?.is_some() {
            return Err(StoreError::Validation(crate::ValidationError::Immutable {
                field: "id".into(),
            }));
        }
        let doc = Automerge::new().with_actor(inner.actor.clone());
        self.commit_local(inner, doc, &any, None)?;
        R::from_any(any).ok_or_else(|| StoreError::NotFound { id })
    }

    /// Saves an edited record: only the fields that differ from the stored version are written,
    /// so concurrent edits of other fields on other devices survive the merge.
    pub fn update<R: Record>(&self, record: R) -> Result<R> {
        self.update_with(record, true)
    }

    /// [`Store::update`]; `device_rules: false` skips the rules of a write by an app
    /// (`check_local_write`), for an edit the store makes itself (a case's escalation).
    fn update_with<R: Record>(&self, record: R, device_rules: bool) -> Result<R> {
        let mut inner = self.lock();
        let id = record.meta().id.clone();
        let old = self.typed_old::<R>(&mut inner, &id)?;
        let user = inner.user.clone();
        let mut any = record.into_any();
        let now = inner.now().max(old.meta().updated_at);
        // Saving an unchanged record writes nothing (and queues nothing for upload).
        set_updated_at(&mut any, old.meta().updated_at);
        if any == old {
            return R::from_any(any).ok_or(StoreError::NotFound { id });
        }
        set_updated_at(&mut any, now);
        crate::records::check_none_new(Some(&old), &any)?;
        any.check_update(&old, now, &user)?;
        if device_rules {
            any.check_local_write(Some(&old))?;
        }
        any.validate()?;
        let doc = inner
            .docs
            .pop(&id)
            .ok_or_else(|| StoreError::NotFound { id: id.clone() })?;
        self.commit_local(inner, doc, &any, Some(&old))?;
        R::from_any(any).ok_or(StoreError::NotFound { id })
    }

    fn typed_old<R: Record>(&self, inner: &mut Inner, id: &str) -> Result<AnyRecord> {
        let old = inner
            .record(id)?
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        if old.kind() != R::KIND {
            return Err(StoreError::WrongKind {
                id: id.to_owned(),
                expected: R::KIND.to_string(),
                actual: old.kind().to_string(),
            });
        }
        Ok(old)
    }

    /// Marks a record deleted. The tombstone syncs; the document stays so that a concurrent
    /// edit merges into it and [`Store::restore`] brings everything back.
    pub fn delete(&self, id: &str) -> Result<()> {
        self.set_deleted(id, true)
    }

    pub fn restore(&self, id: &str) -> Result<()> {
        self.set_deleted(id, false)
    }

    fn set_deleted(&self, id: &str, deleted: bool) -> Result<()> {
        let mut inner = self.lock();
        let old = inner
            .record(id)?
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        if old.meta().deleted == deleted {
            return Ok(());
        }
        let mut any = old.clone();
        set_deleted(&mut any, deleted);
        let now = inner.now();
        set_updated_at(&mut any, now.max(old.meta().updated_at));
        let doc = inner
            .docs
            .pop(id)
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        self.commit_local(inner, doc, &any, Some(&old))
    }

    /// Writes `record` into `doc`, queues the change for upload, stores document and projection
    /// in one transaction, then notifies live queries.
    fn commit_local(
        &self,
        mut inner: MutexGuard<'_, Inner>,
        mut doc: Automerge,
        record: &AnyRecord,
        old: Option<&AnyRecord>,
    ) -> Result<()> {
        let id = record.meta().id.clone();
        doc.transact(|tx| match old {
            // Created in one batch (see `records/doc_write.rs`).
            None => record.write_new(tx),
            Some(_) => record.write(tx, old),
        })
        .map_err(|failure| failure.error)?;
        let change = doc.get_last_local_change();
        let projections = inner.projections;
        let stored = (|| -> Result<()> {
            let tx = inner.conn.transaction()?;
            if let Some(change) = &change {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO pending (doc_id, kind, hash, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![id, record.kind().as_str(), change.hash().to_string(), change.raw_bytes(), now_ms()])?;
            }
            save_doc(
                &tx,
                &id,
                Some(record.kind()),
                &doc.save_nocompress(),
                &doc.get_heads(),
            )?;
            if projections {
                record.project(&tx, false)?;
            }
            tx.commit()?;
            Ok(())
        })();
        match stored {
            // The in-memory document is dropped on failure: the next read reloads what is stored.
            Err(e) => Err(e),
            Ok(()) => {
                inner.docs.put(id, doc);
                self.refresh_live(inner, Some(&[record.kind()]));
                Ok(())
            }
        }
    }

    fn refresh_live(&self, inner: MutexGuard<'_, Inner>, touched: Option<&[Kind]>) {
        if self.live.has_subscribers() {
            self.live
                .refresh(touched, |q| self.run_query(&inner.conn, q));
        }
        drop(inner);
        self.live.deliver();
    }

    /// The record with `id`, deleted or not; `None` if absent.
    pub fn get<R: Record>(&self, id: &str) -> Result<Option<R>> {
        let mut inner = self.lock();
        match inner.record(id)? {
            None => Ok(None),
            Some(any) => {
                let actual = any.kind();
                R::from_any(any)
                    .map(Some)
                    .ok_or_else(|| StoreError::WrongKind {
                        id: id.to_owned(),
                        expected: R::KIND.to_string(),
                        actual: actual.to_string(),
                    })
            }
        }
    }

    pub fn get_any(&self, id: &str) -> Result<Option<AnyRecord>> {
        self.lock().record(id)
    }

    /// Fields of the record on which concurrent edits disagreed, with the values that lost.
    pub fn conflicts(&self, id: &str) -> Result<Vec<FieldConflict>> {
        let mut inner = self.lock();
        let doc = inner
            .doc(id)?
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        Ok(crate::records::conflicts(doc))
    }

    /// The saved document (compacted Automerge bytes), for snapshots and debugging.
    pub fn document_bytes(&self, id: &str) -> Result<Option<Vec<u8>>> {
        let mut inner = self.lock();
        Ok(inner.doc(id)?.map(|doc| doc.save()))
    }

    /// Every Automerge change of a document (used to replay history to a peer).
    pub fn document_changes(&self, id: &str) -> Result<Vec<Vec<u8>>> {
        let mut inner = self.lock();
        let doc = inner
            .doc(id)?
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        Ok(doc
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect())
    }

    /// Ids of every document in the store, by kind (deleted ones included).
    pub fn document_ids(&self, kind: Kind) -> Result<Vec<String>> {
        let inner = self.lock();
        let mut statement = inner
            .conn
            .prepare_cached("SELECT id FROM docs WHERE kind = ?1 ORDER BY id")?;
        let ids = statement
            .query_map([kind.as_str()], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    pub fn query(&self, query: &Query) -> Result<QueryResult> {
        self.run_query(&self.lock().conn, query)
    }

    /// How many rows `query` has before its limit and offset, for a list that says "50 of 185
    /// shown"; `None` for a query whose rows are not counted (see `query/counts.rs`).
    pub fn total(&self, query: &Query) -> Result<Option<u64>> {
        query::total(&self.lock().conn, query)
    }

    /// Calls `listener` with the query's current result now, then again after every committed
    /// write or import that changes it, until the returned handle is dropped.
    pub fn subscribe(
        &self,
        query: Query,
        listener: Arc<dyn QueryListener>,
    ) -> Result<Subscription> {
        let inner = self.lock();
        self.run_query(&inner.conn, &query)?; // refuse an invalid query up front
        let subscription = self.live.add(query, listener);
        self.refresh_live(inner, None);
        Ok(subscription)
    }

    /// Runs a query; the sync status gets whether a round is running, which only the store
    /// knows.
    fn run_query(&self, conn: &Connection, query: &Query) -> Result<QueryResult> {
        let mut result = query::run(conn, query)?;
        if let QueryResult::SyncStatus(status) = &mut result {
            status.syncing = self.is_syncing();
        }
        Ok(result)
    }
}

fn set_updated_at(record: &mut AnyRecord, at: Millis) {
    record.meta_mut().updated_at = at;
}

fn set_deleted(record: &mut AnyRecord, deleted: bool) {
    record.meta_mut().deleted = deleted;
}

#[cfg(test)]
mod tests;

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
use crate::record::{AnyRecord, FieldConflict, Record};
use crate::{projection, schema};

pub(crate) mod encryption;
mod wipe;

pub use encryption::StoreKey;

/// How many Automerge documents stay in memory between uses.
const DOC_CACHE_CAPACITY: usize = 256;

/// A local change not yet acknowledged by the server.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingChange {
    pub seq: i64,
    pub doc_id: String,
    pub kind: Kind,
    /// Hex SHA-256 hash of the Automerge change; what the server acknowledges.
    pub hash: String,
    pub bytes: Vec<u8>,
}

/// What arrives from the server for one document.
#[derive(Debug, Clone, PartialEq)]
pub enum IncomingPayload {
    /// Raw Automerge changes, in any order.
    Changes(Vec<Vec<u8>>),
    /// A saved (compacted) Automerge document.
    Snapshot(Vec<u8>),
    /// A saved document together with the record the server read from it: the bootstrap path.
    /// A document this store does not have yet is checked for corruption (chunk framing and
    /// checksums), stored and projected without being decoded here, and marked unverified until [`Store::verify_documents`] (or any later write or
    /// import of it) derives its projection from the document itself. For a document the
    /// store already has, this is the same as [`IncomingPayload::Snapshot`].
    SnapshotWithRecord {
        bytes: Vec<u8>,
        record: Box<AnyRecord>,
    },
    /// A document's full change history, fetched again because this store refused an earlier
    /// copy (see [`Store::refused_documents`]). Merged like [`IncomingPayload::Changes`] into
    /// a stored copy that reads; a copy that does not (its verification failed, or its bytes
    /// do not load) is replaced, keeping this device's unacknowledged changes of it.
    History(Vec<Vec<u8>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncomingDoc {
    pub doc_id: String,
    pub payload: IncomingPayload,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportReport {
    /// Documents whose content changed.
    pub applied: u32,
    /// Documents for which the input held nothing new.
    pub unchanged: u32,
    /// Changes kept aside until the changes they depend on arrive.
    pub held_changes: u32,
    pub refused: Vec<RefusedDoc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RefusedDoc {
    pub doc_id: String,
    pub error: ImportError,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VerifyReport {
    pub verified: u32,
    /// Documents whose bytes could not be read as the record they arrived with.
    pub failed: Vec<RefusedDoc>,
    /// Unverified documents left for a later call.
    pub remaining: u64,
}

/// A local change the server refused; the edit stays in the local record.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedChange {
    pub doc_id: String,
    pub kind: Kind,
    pub hash: String,
    pub code: crate::protocol::RejectCode,
    pub reason: String,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyncStatus {
    pub pending_changes: u64,
    pub cursor: i64,
    pub last_sync_at: Option<Millis>,
    pub last_attempt_at: Option<Millis>,
    pub last_error: Option<String>,
    /// The last error's stable code: `offline`, the server's error code (`token_expired`,
    /// `forbidden`, ...), a protocol code (`malformed_message`, ...) or `storage`.
    pub last_error_code: Option<String>,
    pub rejected_changes: u64,
    /// Documents this device could not load from what the server sent (see
    /// [`Store::refused_documents`]); while any remain, the last error's code is
    /// `document_refused` unless a later error replaced it. Each sync fetches them again.
    pub refused_documents: u64,
    /// Location pings recorded and not yet acknowledged by the server.
    pub pending_pings: u64,
    /// A sync round is running on this store now.
    pub syncing: bool,
}

/// A sync round in progress (see [`Store::sync_round`]).
pub(crate) struct SyncRound<'s>(&'s Store);

impl Drop for SyncRound<'_> {
    fn drop(&mut self) {
        self.0
            .syncing
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.notify_sync_state();
    }
}

struct Inner {
    conn: Connection,
    docs: LruCache<String, Automerge>,
    actor: ActorId,
    user: String,
}

/// An offline CRM store. Safe to share between threads; every method is blocking, so call it
/// off the UI thread.
pub struct Store {
    inner: Mutex<Inner>,
    live: Arc<LiveQueries>,
    /// Sync rounds running now (see [`crate::sync`]).
    syncing: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

fn heads_blob(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn load_doc(
    bytes: &[u8],
    actor: &ActorId,
) -> std::result::Result<Automerge, automerge::AutomergeError> {
    Ok(Automerge::load(bytes)?.with_actor(actor.clone()))
}

impl Inner {
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
        AnyRecord::read(doc)
            .map(Some)
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
            }),
            live: Arc::new(LiveQueries::default()),
            syncing: std::sync::atomic::AtomicUsize::new(0),
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
        let now = now_ms();
        let mut inner = self.lock();
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
        let mut inner = self.lock();
        let id = record.meta().id.clone();
        let old = self.typed_old::<R>(&mut inner, &id)?;
        let user = inner.user.clone();
        let mut any = record.into_any();
        let now = now_ms().max(old.meta().updated_at);
        // Saving an unchanged record writes nothing (and queues nothing for upload).
        set_updated_at(&mut any, old.meta().updated_at);
        if any == old {
            return R::from_any(any).ok_or(StoreError::NotFound { id });
        }
        set_updated_at(&mut any, now);
        any.check_update(&old, now, &user)?;
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
        set_updated_at(&mut any, now_ms().max(old.meta().updated_at));
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
        doc.transact(|tx| record.write(tx, old))
            .map_err(|failure| failure.error)?;
        let change = doc.get_last_local_change();
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
            projection::project(&tx, record, false)?;
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
        Ok(crate::record::conflicts(doc))
    }

    pub fn query(&self, query: &Query) -> Result<QueryResult> {
        self.run_query(&self.lock().conn, query)
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

    // -----------------------------------------------------------------------------------------
    // Sync-facing API. No network here: a sync client moves these values.

    /// Local changes not yet acknowledged, oldest first, at most `limit` of them.
    pub fn pending_changes(&self, limit: u32) -> Result<Vec<PendingChange>> {
        let inner = self.lock();
        let mut statement = inner.conn.prepare_cached(
            "SELECT seq, doc_id, kind, hash, bytes FROM pending ORDER BY seq LIMIT ?1",
        )?;
        let rows = statement.query_map([limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, doc_id, kind, hash, bytes) = row?;
            let kind = Kind::parse(&kind).ok_or_else(|| StoreError::CorruptDocument {
                id: doc_id.clone(),
                detail: format!("unknown kind {kind:?} in upload queue"),
            })?;
            out.push(PendingChange {
                seq,
                doc_id,
                kind,
                hash,
                bytes,
            });
        }
        Ok(out)
    }

    /// The oldest `limit` unacknowledged changes as a push request, grouped by document in
    /// upload order, with their hashes (what the acknowledgement will name); `None` when
    /// nothing is pending. Within the protocol's push limits by construction: it stops at the
    /// first change that would go over one (the rest go in the next push).
    pub fn push_request(
        &self,
        limit: u32,
    ) -> Result<Option<(crate::protocol::PushRequest, Vec<String>)>> {
        self.push_request_within(limit, crate::protocol::MAX_PUSH_PAYLOAD_BYTES)
    }

    /// [`Store::push_request`] with the changes' bytes kept under `budget` (one change larger
    /// than the budget still travels, alone).
    fn push_request_within(
        &self,
        limit: u32,
        budget: usize,
    ) -> Result<Option<(crate::protocol::PushRequest, Vec<String>)>> {
        use crate::protocol::{MAX_CHANGES_PER_DOC, MAX_CHANGES_PER_PUSH, MAX_DOCS_PER_PUSH};
        let limit = limit.min(u32::try_from(MAX_CHANGES_PER_PUSH).unwrap_or(u32::MAX));
        let pending = self.pending_changes(limit)?;
        if pending.is_empty() {
            return Ok(None);
        }
        let mut docs: Vec<crate::protocol::DocChanges> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut hashes = Vec::with_capacity(pending.len());
        let mut bytes = 0;
        for change in pending {
            bytes += change.bytes.len();
            if bytes > budget && !hashes.is_empty() {
                break;
            }
            match index.get(&change.doc_id) {
                Some(&i) if docs[i].changes.len() >= MAX_CHANGES_PER_DOC => break,
                Some(&i) => docs[i].changes.push(change.bytes),
                None if docs.len() >= MAX_DOCS_PER_PUSH => break,
                None => {
                    index.insert(change.doc_id.clone(), docs.len());
                    docs.push(crate::protocol::DocChanges {
                        doc_id: change.doc_id,
                        kind: change.kind,
                        changes: vec![change.bytes],
                    });
                }
            }
            hashes.push(change.hash);
        }
        Ok(Some((crate::protocol::PushRequest { docs }, hashes)))
    }

    /// Removes acknowledged changes from the upload queue; unknown hashes are ignored, so
    /// repeating an acknowledgement is harmless. Returns how many were removed.
    pub fn acknowledge(&self, hashes: &[String]) -> Result<usize> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        let mut removed = 0;
        {
            let mut delete = tx.prepare_cached("DELETE FROM pending WHERE hash = ?1")?;
            for hash in hashes {
                removed += delete.execute([hash])?;
            }
        }
        tx.commit()?;
        self.sync_state_changed(inner);
        Ok(removed)
    }

    /// Applies documents and changes from the server. Idempotent; changes whose dependencies
    /// are missing are held (inside the stored document) until they arrive. A document whose
    /// data is corrupt or does not describe a valid record is refused and left as it was; the
    /// rest of the batch applies. Everything that applies commits in one transaction.
    pub fn import(&self, batch: Vec<IncomingDoc>) -> Result<ImportReport> {
        let mut inner = self.lock();
        let mut report = ImportReport::default();
        let mut touched = BTreeSet::new();
        // Documents merged so far in this batch: a later entry for the same document builds on
        // them, not on the cached or stored version.
        let mut updated: HashMap<String, Automerge> = HashMap::new();
        let actor = inner.actor.clone();
        let result = (|| -> Result<()> {
            let inner = &mut *inner;
            let tx = inner.conn.transaction()?;
            for incoming in batch {
                if let IncomingPayload::SnapshotWithRecord { bytes, record } = &incoming.payload
                    && !updated.contains_key(&incoming.doc_id)
                    && !inner.docs.contains(&incoming.doc_id)
                {
                    if let Err(detail) = crate::chunks::check(bytes) {
                        report.refused.push(RefusedDoc {
                            doc_id: incoming.doc_id,
                            error: ImportError::MalformedData(detail),
                        });
                        continue;
                    }
                    if let Err(error) = same_id(&incoming.doc_id, record) {
                        report.refused.push(RefusedDoc {
                            doc_id: incoming.doc_id,
                            error,
                        });
                        continue;
                    }
                    // Inserts only if the store does not have the document yet; otherwise it is
                    // merged like any snapshot below.
                    let inserted = tx
                        .prepare_cached(
                            "INSERT OR IGNORE INTO docs (id, kind, bytes, heads, verified, updated_at)
                             VALUES (?1, ?2, ?3, x'', 0, ?4)",
                        )?
                        .execute(params![incoming.doc_id, record.kind().as_str(), bytes, now_ms()])?;
                    if inserted == 1 {
                        projection::project(&tx, record, true)?;
                        touched.insert(record.kind());
                        report.applied += 1;
                        continue;
                    }
                }
                let history = matches!(incoming.payload, IncomingPayload::History(_));
                let earlier = updated
                    .get(&incoming.doc_id)
                    .or_else(|| inner.docs.peek(&incoming.doc_id).filter(|_| !history));
                let existing = match earlier {
                    Some(doc) => Some(doc.clone()),
                    None if history => {
                        crate::refused::base_for_history(&tx, &incoming.doc_id, &actor)?
                    }
                    None => tx
                        .prepare_cached("SELECT bytes FROM docs WHERE id = ?1")?
                        .query_row([&incoming.doc_id], |row| row.get::<_, Vec<u8>>(0))
                        .optional()?
                        .map(|bytes| load_doc(&bytes, &actor))
                        .transpose()
                        .map_err(|e| StoreError::CorruptDocument {
                            id: incoming.doc_id.clone(),
                            detail: e.to_string(),
                        })?,
                };
                match merge_incoming(existing, &incoming.payload, &actor) {
                    Err(error) => report.refused.push(RefusedDoc {
                        doc_id: incoming.doc_id,
                        error,
                    }),
                    Ok(Merged::Unchanged) => report.unchanged += 1,
                    Ok(Merged::Changed(merged)) => {
                        let MergedDoc {
                            doc,
                            record,
                            held,
                            bytes,
                            content_changed,
                        } = *merged;
                        if let Some(Err(error)) =
                            record.as_ref().map(|r| same_id(&incoming.doc_id, r))
                        {
                            report.refused.push(RefusedDoc {
                                doc_id: incoming.doc_id,
                                error,
                            });
                            continue;
                        }
                        let bytes = bytes.unwrap_or_else(|| doc.save_nocompress());
                        let kind = record.as_ref().map(AnyRecord::kind);
                        if history
                            && let Some(stale) = crate::refused::remove_stale_projection(
                                &tx,
                                &incoming.doc_id,
                                kind,
                            )?
                        {
                            touched.insert(stale);
                        }
                        save_doc(&tx, &incoming.doc_id, kind, &bytes, &doc.get_heads())?;
                        if let Some(record) = &record {
                            projection::project(&tx, record, false)?;
                            touched.insert(record.kind());
                        }
                        if content_changed {
                            report.applied += 1;
                        } else {
                            report.unchanged += 1;
                        }
                        report.held_changes += held;
                        updated.insert(incoming.doc_id, doc);
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })();
        match result {
            Err(e) => {
                for id in updated.keys() {
                    inner.docs.pop(id);
                }
                Err(e)
            }
            Ok(()) => {
                for (id, doc) in updated {
                    if inner.docs.contains(&id) {
                        inner.docs.put(id, doc);
                    }
                }
                let touched: Vec<Kind> = touched.into_iter().collect();
                if !touched.is_empty() {
                    self.refresh_live(inner, Some(&touched));
                }
                Ok(report)
            }
        }
    }

    /// Derives the projection of up to `limit` documents stored by the bootstrap path from the
    /// documents themselves (see [`IncomingPayload::SnapshotWithRecord`]). Apps call it in the
    /// background after a bootstrap until it reports nothing remaining. A document that cannot
    /// be read keeps the projection it arrived with, is reported, and is recorded as refused
    /// (see [`Store::refused_documents`]): the next sync fetches its history again.
    pub fn verify_documents(&self, limit: u32) -> Result<VerifyReport> {
        let mut inner = self.lock();
        let mut report = VerifyReport::default();
        let actor = inner.actor.clone();
        let mut touched = BTreeSet::new();
        {
            let tx = inner.conn.transaction()?;
            let unverified: Vec<(String, Option<String>, Vec<u8>)> = tx
                .prepare_cached("SELECT id, kind, bytes FROM docs WHERE verified = 0 LIMIT ?1")?
                .query_map([limit], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (id, claimed_kind, bytes) in unverified {
                let checked = load_doc(&bytes, &actor)
                    .map_err(|e| ImportError::MalformedData(e.to_string()))
                    .and_then(|doc| {
                        let record = AnyRecord::read(&doc)
                            .map_err(|e| ImportError::InvalidRecord(e.to_string()))?;
                        same_id(&id, &record)?;
                        // The projection sits in the claimed kind's table: a document of
                        // another kind cannot be projected over it.
                        if claimed_kind.as_deref() != Some(record.kind().as_str()) {
                            return Err(ImportError::InvalidRecord(format!(
                                "document is a {}, sent as a {}",
                                record.kind(),
                                claimed_kind.as_deref().unwrap_or("record of no kind")
                            )));
                        }
                        Ok((record, doc.get_heads()))
                    });
                match checked {
                    Ok((record, heads)) => {
                        tx.prepare_cached(
                            "UPDATE docs SET kind = ?2, heads = ?3, verified = 1 WHERE id = ?1",
                        )?
                        .execute(params![
                            id,
                            record.kind().as_str(),
                            heads_blob(&heads)
                        ])?;
                        projection::project(&tx, &record, false)?;
                        touched.insert(record.kind());
                        report.verified += 1;
                    }
                    Err(error) => {
                        tx.prepare_cached("UPDATE docs SET verified = -1 WHERE id = ?1")?
                            .execute([&id])?;
                        let refused = RefusedDoc { doc_id: id, error };
                        crate::refused::record_import_error(&tx, &refused, now_ms())?;
                        report.failed.push(refused);
                    }
                }
            }
            report.remaining = tx
                .query_row("SELECT count(*) FROM docs WHERE verified = 0", [], |row| {
                    row.get::<_, i64>(0)
                })?
                .max(0) as u64;
            tx.commit()?;
        }
        let touched: Vec<Kind> = touched.into_iter().collect();
        self.refresh_live(inner, Some(&touched));
        if !report.failed.is_empty() {
            self.notify_sync_state(); // the refused count grew
        }
        Ok(report)
    }

    /// Moves changes the server refused from the upload queue to the rejected list, where they
    /// stay visible with the server's reason. The edits remain in the local document (the app
    /// shows the record as edited, and flags it); retrying them would be refused again.
    pub fn record_rejections(
        &self,
        rejections: &[crate::protocol::Rejection],
        at: Millis,
    ) -> Result<()> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        for rejection in rejections {
            for hash in &rejection.hashes {
                let kind: Option<String> = tx
                    .prepare_cached("SELECT kind FROM pending WHERE hash = ?1 AND doc_id = ?2")?
                    .query_row(params![hash, rejection.doc_id], |row| row.get(0))
                    .optional()?;
                // Only changes this device queued can be rejected for it.
                let Some(kind) = kind else { continue };
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO rejected (hash, doc_id, kind, code, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![hash, rejection.doc_id, kind, rejection.code.as_str(), rejection.reason, at])?;
                tx.prepare_cached("DELETE FROM pending WHERE hash = ?1")?
                    .execute([hash])?;
            }
        }
        tx.commit()?;
        self.sync_state_changed(inner);
        Ok(())
    }

    /// Changes the server refused, newest first.
    pub fn rejected_changes(&self) -> Result<Vec<RejectedChange>> {
        let inner = self.lock();
        let mut statement = inner.conn.prepare_cached(
            "SELECT doc_id, kind, hash, code, reason, at FROM rejected ORDER BY at DESC, doc_id, hash",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, Millis>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (doc_id, kind, hash, code, reason, at) = row?;
            let corrupt = |what: &str| StoreError::CorruptDocument {
                id: doc_id.clone(),
                detail: format!("unknown {what} in rejected list"),
            };
            let kind = Kind::parse(&kind).ok_or_else(|| corrupt("kind"))?;
            let code = crate::protocol::RejectCode::parse(&code).ok_or_else(|| corrupt("code"))?;
            out.push(RejectedChange {
                doc_id,
                kind,
                hash,
                code,
                reason,
                at,
            });
        }
        Ok(out)
    }

    /// Removes a document's entries from the rejected list once the user has seen them.
    pub fn dismiss_rejections(&self, doc_id: &str) -> Result<()> {
        let inner = self.lock();
        inner
            .conn
            .execute("DELETE FROM rejected WHERE doc_id = ?1", [doc_id])?;
        self.sync_state_changed(inner);
        Ok(())
    }

    /// Removes documents from this device entirely (they left the user's scope on the server):
    /// the document, its projection, and any local changes still waiting for upload.
    pub fn forget(&self, ids: &[String]) -> Result<()> {
        let mut inner = self.lock();
        let mut touched = BTreeSet::new();
        {
            let tx = inner.conn.transaction()?;
            for id in ids {
                let kind: Option<Option<String>> = tx
                    .prepare_cached("SELECT kind FROM docs WHERE id = ?1")?
                    .query_row([id], |row| row.get(0))
                    .optional()?;
                tx.prepare_cached("DELETE FROM refused_docs WHERE doc_id = ?1")?
                    .execute([id])?;
                let Some(kind) = kind else { continue };
                if let Some(kind) = kind.as_deref().and_then(Kind::parse) {
                    projection::remove(&tx, kind, id)?;
                    touched.insert(kind);
                }
                tx.prepare_cached("DELETE FROM docs WHERE id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM pending WHERE doc_id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM rejected WHERE doc_id = ?1")?
                    .execute([id])?;
            }
            tx.commit()?;
        }
        for id in ids {
            inner.docs.pop(id);
        }
        let touched: Vec<Kind> = touched.into_iter().collect();
        if !touched.is_empty() {
            self.refresh_live(inner, Some(&touched));
        }
        Ok(())
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

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let mut status = query::sync_status(&self.lock().conn)?;
        status.syncing = self.is_syncing();
        Ok(status)
    }

    /// Re-runs the live sync-status queries after the upload queue, the rejected list or the
    /// sync state changed without a record changing.
    fn sync_state_changed(&self, inner: MutexGuard<'_, Inner>) {
        if self.live.has_subscribers() {
            self.live
                .refresh_where(Query::is_sync_status, |q| self.run_query(&inner.conn, q));
        }
        drop(inner);
        self.live.deliver();
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

    fn is_syncing(&self) -> bool {
        self.syncing.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// Marks a sync round as running until the guard drops (live sync statuses see both).
    pub(crate) fn sync_round(&self) -> SyncRound<'_> {
        self.syncing
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.notify_sync_state();
        SyncRound(self)
    }

    /// [`Store::sync_state_changed`] for modules that do not hold the lock.
    pub(crate) fn notify_sync_state(&self) {
        self.sync_state_changed(self.lock());
    }

    /// Records a completed sync round: the server cursor reached, and when.
    pub fn record_sync_success(&self, cursor: i64, at: Millis) -> Result<()> {
        let inner = self.lock();
        inner.conn.execute(
            "UPDATE sync_state SET cursor = ?1, last_sync_at = ?2, last_attempt_at = ?2, last_error = NULL,
               last_error_code = NULL WHERE id = 1",
            params![cursor, at],
        )?;
        self.sync_state_changed(inner);
        Ok(())
    }

    /// Records a failed sync attempt: the message is shown to the user as is, the code is for
    /// the app to branch on.
    pub fn record_sync_error(&self, message: &str, code: &str, at: Millis) -> Result<()> {
        let inner = self.lock();
        inner.conn.execute(
            "UPDATE sync_state SET last_error = ?1, last_error_code = ?2, last_attempt_at = ?3 WHERE id = 1",
            params![message, code, at],
        )?;
        self.sync_state_changed(inner);
        Ok(())
    }
}

fn set_updated_at(record: &mut AnyRecord, at: Millis) {
    meta_mut(record).updated_at = at;
}

fn set_deleted(record: &mut AnyRecord, deleted: bool) {
    meta_mut(record).deleted = deleted;
}

fn meta_mut(record: &mut AnyRecord) -> &mut crate::model::RecordMeta {
    match record {
        AnyRecord::Customer(r) => &mut r.meta,
        AnyRecord::Contact(r) => &mut r.meta,
        AnyRecord::Opportunity(r) => &mut r.meta,
        AnyRecord::Visit(r) => &mut r.meta,
        AnyRecord::Task(r) => &mut r.meta,
        AnyRecord::Case(r) => &mut r.meta,
    }
}

/// A document must describe the record it is filed under.
fn same_id(doc_id: &str, record: &AnyRecord) -> std::result::Result<(), ImportError> {
    if record.meta().id == doc_id {
        return Ok(());
    }
    Err(ImportError::IdMismatch {
        expected: doc_id.to_owned(),
        found: record.meta().id.clone(),
    })
}

enum Merged {
    Unchanged,
    Changed(Box<MergedDoc>),
}

struct MergedDoc {
    doc: Automerge,
    /// `None` while the document holds only changes waiting for dependencies.
    record: Option<AnyRecord>,
    held: u32,
    /// The bytes to store when they can be kept as received (a snapshot of a new document).
    bytes: Option<Vec<u8>>,
    /// False when only held changes were (re)stored.
    content_changed: bool,
}

/// Applies one incoming payload to a copy of the stored document. Nothing is stored here.
fn merge_incoming(
    existing: Option<Automerge>,
    payload: &IncomingPayload,
    actor: &ActorId,
) -> std::result::Result<Merged, ImportError> {
    let malformed = |e: &dyn std::fmt::Display| ImportError::MalformedData(e.to_string());
    let heads_before = existing.as_ref().map(Automerge::get_heads);
    let (doc, held, bytes) = match payload {
        IncomingPayload::Snapshot(data)
        | IncomingPayload::SnapshotWithRecord { bytes: data, .. } => match existing {
            None => {
                let doc = load_doc(data, actor).map_err(|e| malformed(&e))?;
                (doc, 0, Some(data.clone()))
            }
            Some(mut doc) => {
                let mut other = Automerge::load(data).map_err(|e| malformed(&e))?;
                doc.merge(&mut other).map_err(|e| malformed(&e))?;
                (doc, 0, None)
            }
        },
        IncomingPayload::Changes(raw) | IncomingPayload::History(raw) => {
            let changes = raw
                .iter()
                .map(|bytes| Change::from_bytes(bytes.clone()).map_err(|e| malformed(&e)))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let mut doc = existing.unwrap_or_else(|| Automerge::new().with_actor(actor.clone()));
            let hashes: Vec<ChangeHash> = changes.iter().map(Change::hash).collect();
            doc.apply_changes(changes).map_err(|e| malformed(&e))?;
            let held = hashes
                .iter()
                .filter(|h| doc.get_change_by_hash(h).is_none())
                .count() as u32;
            (doc, held, None)
        }
    };
    let content_changed = heads_before.unwrap_or_default() != doc.get_heads();
    if !content_changed && held == 0 {
        return Ok(Merged::Unchanged);
    }
    let record = if doc.get_heads().is_empty() {
        None
    } else {
        Some(AnyRecord::read(&doc).map_err(|e| ImportError::InvalidRecord(e.to_string()))?)
    };
    if record.is_none() && held == 0 {
        return Err(ImportError::InvalidRecord("empty document".to_owned()));
    }
    Ok(Merged::Changed(Box::new(MergedDoc {
        doc,
        record,
        held,
        bytes,
        content_changed,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::{
        ValidationError,
        query::{CustomerFilter, StageTotal},
    };

    fn customer(name: &str) -> Customer {
        let mut c = Customer::new(name);
        c.address.city = Some("Berlin".into());
        c
    }

    #[test]
    fn a_push_request_stays_within_the_protocol_limits() {
        use crate::protocol::{self, MAX_CHANGES_PER_DOC, PushRequest};
        let store = Store::open(":memory:").unwrap();
        let mut busy = store.create(customer("Busy")).unwrap();
        for i in 0..MAX_CHANGES_PER_DOC + 2 {
            busy.notes = i.to_string();
            busy = store.update(busy).unwrap();
        }
        store.create(customer("Later")).unwrap();
        let (request, hashes) = store.push_request(u32::MAX).unwrap().unwrap();
        // The busy document's first MAX_CHANGES_PER_DOC changes; the rest and the later
        // document wait for the next push.
        assert_eq!(request.docs.len(), 1);
        assert_eq!(request.docs[0].changes.len(), MAX_CHANGES_PER_DOC);
        assert_eq!(hashes.len(), MAX_CHANGES_PER_DOC);
        let body = protocol::encode(&request).unwrap();
        assert_eq!(
            protocol::decode::<PushRequest>(&body, 64 << 20).unwrap(),
            request
        );
        store.acknowledge(&hashes).unwrap();
        let (request, hashes) = store.push_request(u32::MAX).unwrap().unwrap();
        assert_eq!(request.docs.len(), 2);
        assert_eq!(hashes.len(), 4);
    }

    #[test]
    fn a_push_request_stays_under_the_payload_budget() {
        const BUDGET: usize = 4_000;
        let store = Store::open(":memory:").unwrap();
        for n in 0..12 {
            let mut c = customer(&format!("Kiosk {n}"));
            c.notes = (0..150).map(|i| format!("{:09}", i * 7919 + n)).collect();
            store.create(c).unwrap();
        }
        let mut big = customer("Big");
        big.notes = (0..1_000).map(|i| format!("{i:09}")).collect();
        store.create(big).unwrap();
        let (mut sent, mut pushes, mut alone) = (0, 0, 0);
        while let Some((request, hashes)) = store.push_request_within(u32::MAX, BUDGET).unwrap() {
            let bytes: usize = request
                .docs
                .iter()
                .flat_map(|d| &d.changes)
                .map(Vec::len)
                .sum();
            if bytes > BUDGET {
                assert_eq!(
                    hashes.len(),
                    1,
                    "only a single change may exceed the budget"
                );
                alone += 1;
            }
            sent += hashes.len();
            pushes += 1;
            store.acknowledge(&hashes).unwrap();
        }
        assert_eq!((sent, alone), (13, 1));
        assert!(pushes > 2, "{pushes}");
    }

    #[test]
    fn a_customers_contacts_and_visits_for_its_detail_screen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.sqlite")).unwrap();
        let kiosk = store.create(customer("Kiosk")).unwrap();
        let other = store.create(customer("Other")).unwrap();
        let mut zoe = Contact::new(&kiosk.meta.id, "zoe Winter");
        zoe.phones.insert("+49 30 1".into());
        zoe.phones.insert("+49 170 2".into());
        store.create(zoe).unwrap();
        let anton = store
            .create(Contact::new(&kiosk.meta.id, "Anton Berg"))
            .unwrap();
        store
            .create(Contact::new(&other.meta.id, "Elsewhere"))
            .unwrap();
        store.delete(&anton.meta.id).unwrap();
        store
            .create(Contact::new(&kiosk.meta.id, "Ben Alt"))
            .unwrap();
        let QueryResult::Contacts(contacts) = store
            .query(&Query::ContactsOfCustomer {
                customer_id: kiosk.meta.id.clone(),
            })
            .unwrap()
        else {
            panic!("contacts expected");
        };
        let names: Vec<&str> = contacts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["Ben Alt", "zoe Winter"],
            "by name, deleted ones left out"
        );
        assert_eq!(contacts[1].phones, ["+49 170 2", "+49 30 1"]);

        for (day, customer) in [(1, &kiosk), (3, &kiosk), (2, &other), (2, &kiosk)] {
            let mut visit = Visit::new(&customer.meta.id, "rep-1");
            visit.planned_start = Some(1_790_000_000_000 + day * 86_400_000);
            store.create(visit).unwrap();
        }
        let QueryResult::Visits(visits) = store
            .query(&Query::VisitsForCustomer {
                customer_id: kiosk.meta.id.clone(),
                limit: 2,
            })
            .unwrap()
        else {
            panic!("visits expected");
        };
        let days: Vec<Option<Millis>> = visits.iter().map(|v| v.planned_start).collect();
        assert_eq!(
            days,
            [3, 2].map(|d| Some(1_790_000_000_000 + d * 86_400_000)),
            "newest first, limited"
        );
        assert!(
            visits
                .iter()
                .all(|v| v.customer_name.as_deref() == Some("Kiosk"))
        );
    }

    #[test]
    fn invalid_values_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.sqlite")).unwrap();
        let mut bad = customer("Kiosk");
        bad.location = Some(GeoLocation {
            lat: 91.0,
            lon: 0.0,
            source: LocationSource::Gps,
            at: 1_790_000_000_000,
        });
        let err = store.create(bad).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Validation(ValidationError::OutOfRange { .. })
            ),
            "{err}"
        );
        let good = store.create(customer("Kiosk")).unwrap();
        let mut bad_update = good.clone();
        bad_update.name = String::new();
        assert!(store.update(bad_update).is_err());
        assert_eq!(
            store.get::<Customer>(&good.meta.id).unwrap().unwrap().name,
            "Kiosk"
        );
        assert_eq!(
            store.sync_status().unwrap().pending_changes,
            1,
            "only the valid write queued"
        );
        let QueryResult::Customers(rows) = store
            .query(&Query::Customers(CustomerFilter::default()))
            .unwrap()
        else {
            panic!("customers expected")
        };
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn wrong_kind_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.sqlite")).unwrap();
        let c = store.create(customer("Kiosk")).unwrap();
        assert!(matches!(
            store.get::<Visit>(&c.meta.id),
            Err(StoreError::WrongKind { .. })
        ));
        let mut task = Task::new("t");
        task.meta = c.meta.clone();
        assert!(matches!(
            store.update(task),
            Err(StoreError::WrongKind { .. })
        ));
    }

    #[test]
    fn a_file_that_is_not_a_store_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        let content = b"this is not a database, it is a shopping list\n".repeat(100);
        std::fs::write(&text, &content).unwrap();
        assert!(matches!(Store::open(&text), Err(StoreError::NotAStore)));
        assert_eq!(std::fs::read(&text).unwrap(), content);

        let other = dir.path().join("other.sqlite");
        let conn = Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE recipes (name TEXT)")
            .unwrap();
        drop(conn);
        let before = std::fs::read(&other).unwrap();
        assert!(matches!(Store::open(&other), Err(StoreError::NotAStore)));
        assert_eq!(std::fs::read(&other).unwrap(), before);
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let store = Store::open(&path).unwrap();
        store.create(customer("Kiosk")).unwrap();
        drop(store);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", schema::LATEST_VERSION + 1)
            .unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::NewerSchema { found, .. } if found == schema::LATEST_VERSION + 1),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn reopening_keeps_actor_user_and_records_and_loads_no_document() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let store = Store::open(&path).unwrap();
        store.set_user("anna").unwrap();
        let actor = store.actor_id();
        let c = store.create(customer("Kiosk")).unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.lock().docs.len(), 0, "opening loads no document");
        assert_eq!(store.actor_id(), actor);
        assert_eq!(store.user(), "anna");
        let QueryResult::Customers(rows) = store
            .query(&Query::SearchCustomers {
                text: "kio".into(),
                limit: 5,
            })
            .unwrap()
        else {
            panic!("customers expected")
        };
        assert_eq!(rows.len(), 1);
        assert_eq!(
            store.lock().docs.len(),
            0,
            "queries read projections, not documents"
        );
        assert_eq!(
            store
                .get::<Customer>(&c.meta.id)
                .unwrap()
                .unwrap()
                .meta
                .created_by,
            "anna"
        );
    }

    #[test]
    fn store_is_shareable_across_threads_and_unchanged_saves_write_nothing() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Store>();
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(dir.path().join("s.sqlite")).unwrap());
        let c = store.create(customer("Kiosk")).unwrap();
        store.update(c.clone()).unwrap();
        assert_eq!(store.sync_status().unwrap().pending_changes, 1);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        store.create(Task::new(format!("task {t}-{i}"))).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(store.sync_status().unwrap().pending_changes, 101);
    }

    #[test]
    fn document_cache_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.sqlite")).unwrap();
        for i in 0..(DOC_CACHE_CAPACITY + 20) {
            store.create(Task::new(format!("task {i}"))).unwrap();
        }
        assert_eq!(store.lock().docs.len(), DOC_CACHE_CAPACITY);
    }

    #[test]
    fn acknowledged_changes_leave_the_queue_and_status_reports_sync() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.sqlite")).unwrap();
        let c = store.create(customer("Kiosk")).unwrap();
        let mut edited = c.clone();
        edited.grade = Some(Grade::A);
        store.update(edited).unwrap();
        let pending = store.pending_changes(100).unwrap();
        assert_eq!(pending.len(), 2);
        assert!(pending[0].seq < pending[1].seq);
        assert_eq!(store.acknowledge(&[pending[0].hash.clone()]).unwrap(), 1);
        assert_eq!(
            store.acknowledge(&[pending[0].hash.clone()]).unwrap(),
            0,
            "repeat is harmless"
        );
        store
            .record_sync_error("server unreachable", "offline", 1_790_000_000_000)
            .unwrap();
        let status = store.sync_status().unwrap();
        assert_eq!(
            (
                status.pending_changes,
                status.last_error.as_deref(),
                status.last_error_code.as_deref()
            ),
            (1, Some("server unreachable"), Some("offline"))
        );
        store.record_sync_success(42, 1_790_000_100_000).unwrap();
        let status = store.sync_status().unwrap();
        assert_eq!(
            (
                status.cursor,
                status.last_sync_at,
                status.last_error,
                status.last_error_code
            ),
            (42, Some(1_790_000_100_000), None, None)
        );
    }

    #[test]
    fn search_matches_prefixes_of_name_contact_city_and_phone_digits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.sqlite")).unwrap();
        let mut c = customer("Bäckerei Schmidt");
        c.phones.insert("+49 30 1234567".into());
        let c = store.create(c).unwrap();
        store.create(customer("Café Mitte")).unwrap();
        store
            .create(Contact::new(&c.meta.id, "Maria Weber"))
            .unwrap();
        for (text, expected) in [
            ("bäck", 1),
            ("backerei", 1),
            ("SCHM", 1),
            ("weber", 1),
            ("berl", 2),
            ("4930123", 1),
            ("30 1234", 1),
            ("zzz", 0),
            ("", 0),
            ("\"*(", 0),
        ] {
            let QueryResult::Customers(rows) = store
                .query(&Query::SearchCustomers {
                    text: text.into(),
                    limit: 10,
                })
                .unwrap()
            else {
                panic!("customers expected")
            };
            assert_eq!(rows.len(), expected, "search {text:?}");
        }
    }

    #[test]
    fn nearby_returns_the_true_nearest_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.sqlite")).unwrap();
        // A ring of customers at growing distances east of the centre, plus one far away.
        for (i, km) in [0.2, 0.9, 3.0, 7.5, 40.0, 400.0].iter().enumerate() {
            let mut c = customer(&format!("C{i}"));
            let lon = 13.4 + km / (111.32 * 52.5f64.to_radians().cos());
            c.location = Some(GeoLocation {
                lat: 52.5,
                lon,
                source: LocationSource::Manual,
                at: 1_790_000_000_000,
            });
            store.create(c).unwrap();
        }
        store.create(customer("no location")).unwrap();
        let near = |limit, max| match store
            .query(&Query::NearbyCustomers {
                lat: 52.5,
                lon: 13.4,
                max_distance_m: max,
                limit,
            })
            .unwrap()
        {
            QueryResult::Customers(rows) => rows
                .into_iter()
                .map(|r| (r.name, r.distance_m.unwrap_or(-1.0)))
                .collect::<Vec<_>>(),
            _ => panic!("customers expected"),
        };
        let five = near(5, None);
        assert_eq!(
            five.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["C0", "C1", "C2", "C3", "C4"]
        );
        assert!(
            (five[2].1 - 3_000.0).abs() < 30.0,
            "exact distance: {}",
            five[2].1
        );
        assert_eq!(near(10, Some(5_000.0)).len(), 3);
        assert_eq!(near(10, None).len(), 6);
        assert!(matches!(
            store.query(&Query::NearbyCustomers {
                lat: f64::NAN,
                lon: 0.0,
                max_distance_m: None,
                limit: 5
            }),
            Err(StoreError::Validation(ValidationError::NotFinite { .. }))
        ));
    }

    #[test]
    fn overdue_pipeline_tasks_cases_and_visits_by_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.sqlite")).unwrap();
        let day = 86_400_000;
        let now = 1_790_000_000_000;
        let mut visited = customer("Visited recently");
        visited.visit_cadence_days = Some(14);
        let visited = store.create(visited).unwrap();
        let mut stale = customer("Visited long ago");
        stale.visit_cadence_days = Some(7);
        let stale = store.create(stale).unwrap();
        let mut never = customer("Never visited");
        never.visit_cadence_days = Some(30);
        store.create(never).unwrap();
        store.create(customer("No cadence")).unwrap();
        for (customer, at) in [(&visited, now - 2 * day), (&stale, now - 10 * day)] {
            let mut v = Visit::new(&customer.meta.id, "anna");
            v.status = VisitStatus::Done;
            v.check_in = Some(GpsStamp {
                at,
                lat: 52.5,
                lon: 13.4,
                accuracy_m: 5.0,
                fix_at: at,
                mock: false,
            });
            store.create(v).unwrap();
        }
        let QueryResult::Customers(overdue) = store
            .query(&Query::OverdueCustomers {
                now,
                owner: None,
                limit: 10,
            })
            .unwrap()
        else {
            panic!("customers expected")
        };
        assert_eq!(
            overdue.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["Never visited", "Visited long ago"]
        );
        assert_eq!(overdue[1].last_visit_at, Some(now - 10 * day));

        let QueryResult::Visits(visits) = store
            .query(&Query::VisitsForRep {
                rep: "anna".into(),
                from: now - 3 * day,
                to: now,
            })
            .unwrap()
        else {
            panic!("visits expected")
        };
        assert_eq!(visits.len(), 1);
        assert_eq!(visits[0].customer_name.as_deref(), Some("Visited recently"));

        for (minor, stage) in [(100, Stage::Lead), (250, Stage::Lead), (1_000, Stage::Won)] {
            let mut o = Opportunity::new(
                &visited.meta.id,
                "deal",
                Money {
                    minor,
                    currency: "EUR".into(),
                },
            );
            o.stage = stage;
            store.create(o).unwrap();
        }
        let QueryResult::Pipeline(pipeline) =
            store.query(&Query::Pipeline { owner: None }).unwrap()
        else {
            panic!("pipeline expected")
        };
        assert_eq!(
            pipeline,
            vec![
                StageTotal {
                    stage: Stage::Lead,
                    currency: "EUR".into(),
                    count: 2,
                    amount_minor: 350
                },
                StageTotal {
                    stage: Stage::Won,
                    currency: "EUR".into(),
                    count: 1,
                    amount_minor: 1_000
                },
            ]
        );

        let mut done = store.create(Task::new("done already")).unwrap();
        store.create(Task::new("call back")).unwrap();
        done.status = TaskStatus::Done;
        store.update(done).unwrap();
        let QueryResult::Tasks(tasks) = store.query(&Query::OpenTasks { assignee: None }).unwrap()
        else {
            panic!("tasks expected")
        };
        assert_eq!(
            tasks.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
            ["call back"]
        );

        let mut critical = Case::new(&visited.meta.id, "Late delivery");
        critical.severity = Severity::Critical;
        store
            .create(Case::new(&visited.meta.id, "Wrong invoice"))
            .unwrap();
        store.create(critical).unwrap();
        let QueryResult::Cases(cases) = store
            .query(&Query::OpenCases {
                customer_id: Some(visited.meta.id.clone()),
            })
            .unwrap()
        else {
            panic!("cases expected")
        };
        assert_eq!(
            cases.iter().map(|c| c.subject.as_str()).collect::<Vec<_>>(),
            ["Late delivery", "Wrong invoice"]
        );
    }
}

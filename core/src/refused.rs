//! Documents this device refused on import: a bootstrap snapshot failing its chunk check,
//! changes that do not load or apply, a snapshot whose verification failed later. None is
//! dropped silently: each is recorded here, counted in the sync status (whose last error code
//! is then [`DOCUMENT_REFUSED`]), and fetched again as its full change history at the next
//! sync (see `refetch.rs`) until it loads.

use automerge::{ActorId, Automerge, Change};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::Result;
use crate::model::{Kind, Millis};
use crate::store::{RefusedDoc, Store};

/// The sync status's last error code while refused documents remain.
pub const DOCUMENT_REFUSED: &str = "document_refused";

/// Code of a refetched document whose history still lacks changes it depends on.
pub const INCOMPLETE_HISTORY: &str = "incomplete_history";

/// Code of a requested document the server's refetch answer named nowhere.
pub const NOT_RETURNED: &str = "not_returned";

/// A document this device could not load from what the server sent. The device asks for it
/// again at every sync until it loads.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedDocument {
    pub doc_id: String,
    /// Stable code of the last refusal: `malformed_data`, `invalid_record`, `id_mismatch`
    /// (see [`crate::ImportError::code`]), [`INCOMPLETE_HISTORY`] or [`NOT_RETURNED`].
    pub code: String,
    /// For people; the last refusal's detail.
    pub reason: String,
    pub first_refused_at: Millis,
    pub last_refused_at: Millis,
    /// Times the document was refused: the first import, then each refetch that failed.
    pub attempts: u32,
}

/// Records one refusal of `doc_id` (or one more attempt of a recorded one).
pub(crate) fn record(
    conn: &Connection,
    doc_id: &str,
    code: &str,
    reason: &str,
    at: Millis,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO refused_docs (doc_id, code, reason, first_refused_at, last_refused_at, attempts)
         VALUES (?1, ?2, ?3, ?4, ?4, 1)
         ON CONFLICT(doc_id) DO UPDATE SET code = excluded.code, reason = excluded.reason,
           last_refused_at = excluded.last_refused_at, attempts = attempts + 1",
    )?
    .execute(params![doc_id, code, reason, at])?;
    Ok(())
}

pub(crate) fn record_import_error(
    conn: &Connection,
    refused: &RefusedDoc,
    at: Millis,
) -> Result<()> {
    record(
        conn,
        &refused.doc_id,
        refused.error.code(),
        &refused.error.to_string(),
        at,
    )
}

pub(crate) fn count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM refused_docs")?
        .query_row([], |row| row.get(0))?;
    Ok(n.max(0) as u64)
}

/// What a refetched history of `doc_id` merges into: the stored document when it reads and
/// did not fail verification; otherwise only this device's own unacknowledged changes of it
/// (the unreadable rest is what the history replaces). `None` when there is neither.
pub(crate) fn base_for_history(
    conn: &Connection,
    doc_id: &str,
    actor: &ActorId,
) -> Result<Option<Automerge>> {
    let stored: Option<(Vec<u8>, i64)> = conn
        .prepare_cached("SELECT bytes, verified FROM docs WHERE id = ?1")?
        .query_row([doc_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    if let Some((bytes, verified)) = stored
        && verified != -1
        && let Ok(doc) = crate::chunks::load(&bytes)
    {
        return Ok(Some(doc.with_actor(actor.clone())));
    }
    let pending: Vec<Vec<u8>> = conn
        .prepare_cached("SELECT bytes FROM pending WHERE doc_id = ?1 ORDER BY seq")?
        .query_map([doc_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if pending.is_empty() {
        return Ok(None);
    }
    let changes: Vec<Change> = pending
        .into_iter()
        .filter_map(|bytes| Change::from_bytes(bytes).ok())
        .collect();
    let mut doc = Automerge::new().with_actor(actor.clone());
    // Held until the history brings what they depend on.
    doc.apply_changes(changes)?;
    Ok(Some(doc))
}

/// A copy replaced by a history may have been projected as another kind (which is why its
/// verification failed): that projection goes. Returns the kind removed.
pub(crate) fn remove_stale_projection(
    tx: &Transaction<'_>,
    doc_id: &str,
    kind: Option<Kind>,
) -> Result<Option<Kind>> {
    let stored: Option<Option<String>> = tx
        .prepare_cached("SELECT kind FROM docs WHERE id = ?1")?
        .query_row([doc_id], |row| row.get(0))
        .optional()?;
    match stored.flatten().as_deref().and_then(Kind::parse) {
        Some(old) if Some(old) != kind => {
            crate::records::remove_projection(tx, old, doc_id)?;
            Ok(Some(old))
        }
        _ => Ok(None),
    }
}

impl Store {
    /// Records documents an import refused (see [`crate::ImportReport::refused`]): they are
    /// counted in the sync status and fetched again at the next sync. The sync session calls
    /// this for every pull page; an app importing by itself calls it too.
    pub fn record_refused_documents(&self, refused: &[RefusedDoc], at: Millis) -> Result<()> {
        if refused.is_empty() {
            return Ok(());
        }
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            for doc in refused {
                record_import_error(&tx, doc, at)?;
            }
            tx.commit()?;
            Ok(())
        })?;
        self.notify_sync_state();
        Ok(())
    }

    /// Records one refusal with its own code (a refetch that did not heal the document).
    pub(crate) fn record_refused_document(
        &self,
        doc_id: &str,
        code: &str,
        reason: &str,
        at: Millis,
    ) -> Result<()> {
        self.with_conn(|conn| record(conn, doc_id, code, reason, at))?;
        self.notify_sync_state();
        Ok(())
    }

    /// The document loads now: it leaves the refused list.
    pub(crate) fn clear_refused_document(&self, doc_id: &str) -> Result<()> {
        self.with_conn(|conn| {
            conn.prepare_cached("DELETE FROM refused_docs WHERE doc_id = ?1")?
                .execute([doc_id])?;
            Ok(())
        })?;
        self.notify_sync_state();
        Ok(())
    }

    /// Documents this device could not load from what the server sent, most recently refused
    /// first (for a "some records could not be loaded" list in the app).
    pub fn refused_documents(&self) -> Result<Vec<RefusedDocument>> {
        self.with_conn(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT doc_id, code, reason, first_refused_at, last_refused_at, attempts
                 FROM refused_docs ORDER BY last_refused_at DESC, doc_id",
            )?;
            let rows = statement
                .query_map([], |row| {
                    Ok(RefusedDocument {
                        doc_id: row.get(0)?,
                        code: row.get(1)?,
                        reason: row.get(2)?,
                        first_refused_at: row.get(3)?,
                        last_refused_at: row.get(4)?,
                        attempts: u32::try_from(row.get::<_, i64>(5)?).unwrap_or(u32::MAX),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// Ids of the refused documents, the longest waiting first: what a refetch asks for.
    pub(crate) fn refused_document_ids(&self) -> Result<Vec<String>> {
        self.with_conn(|conn| {
            let ids = conn
                .prepare_cached("SELECT doc_id FROM refused_docs ORDER BY last_refused_at, doc_id")?
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })
    }
}

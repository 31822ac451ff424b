//! The upload queue (the outbox): local changes waiting for the server, the push request built
//! from them, acknowledgements, and the changes the server rejected. No network here: a sync
//! client (`sync.rs`) moves these values.

use super::*;

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

impl Store {
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
    pub(super) fn push_request_within(
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
}

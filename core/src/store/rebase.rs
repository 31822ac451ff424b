//! Resolving changes the server refused: the device rebases (docs/PROTOCOL.md, "Resolving
//! rejected changes"). The server never stores a change it refused, so a later edit built on
//! one is refused too ("depends on changes the server does not have"). The way out is local:
//! rebuild the document as the server has it (every change but this device's unacknowledged
//! ones and what depends on them), then either keep that ([`Store::discard_rejected`]) or
//! write the record as it reads now onto it as new changes ([`Store::retry_rejected`]).

use std::collections::HashSet;

use super::*;

/// A document's changes that the server has not acknowledged: its rejected entries and its
/// upload queue (hex hashes).
struct Unacknowledged {
    rejected: usize,
    hashes: HashSet<String>,
}

fn unacknowledged(conn: &Connection, doc_id: &str) -> Result<Unacknowledged> {
    let mut hashes = HashSet::new();
    let mut rejected = 0;
    for (table, counted) in [("rejected", true), ("pending", false)] {
        let mut statement =
            conn.prepare_cached(&format!("SELECT hash FROM {table} WHERE doc_id = ?1"))?;
        for hash in statement.query_map([doc_id], |row| row.get::<_, String>(0))? {
            hashes.insert(hash?);
            rejected += usize::from(counted);
        }
    }
    Ok(Unacknowledged { rejected, hashes })
}

/// The server's version of `doc`: rebuilt from its changes without `excluded` and without
/// every change depending on one left out. Empty (no heads) when the server never had the
/// document. The new document writes as `actor`; since the refused changes are gone, its next
/// change takes the sequence number after the last one the server stored.
fn server_version(
    doc: Option<&Automerge>,
    excluded: &HashSet<String>,
    actor: &ActorId,
) -> Result<Automerge> {
    let mut rebuilt = Automerge::new().with_actor(actor.clone());
    let Some(doc) = doc else { return Ok(rebuilt) };
    let changes = doc.get_changes(&[]);
    let mut dropped: HashSet<ChangeHash> = HashSet::new();
    // Until nothing more drops, so that the order of `get_changes` does not matter.
    loop {
        let before = dropped.len();
        for change in &changes {
            let hash = change.hash();
            if !dropped.contains(&hash)
                && (excluded.contains(&hash.to_string())
                    || change.deps().iter().any(|dep| dropped.contains(dep)))
            {
                dropped.insert(hash);
            }
        }
        if dropped.len() == before {
            break;
        }
    }
    let kept: Vec<Change> = changes
        .into_iter()
        .filter(|change| !dropped.contains(&change.hash()))
        .collect();
    rebuilt.apply_changes(kept)?;
    Ok(rebuilt)
}

fn read_record(doc: &Automerge, id: &str) -> Result<AnyRecord> {
    AnyRecord::read_leniently(doc)
        .map(|read| read.record)
        .map_err(|e| StoreError::CorruptDocument {
            id: id.to_owned(),
            detail: e.to_string(),
        })
}

impl Store {
    /// Discards this device's refused changes to the document `doc_id`: the document goes back
    /// to the server's version (every change the server acknowledged or relayed stays; this
    /// device's rejected changes, its changes still waiting for upload and anything built on
    /// them go). A record whose creation was refused, so that the server never had it, is
    /// removed from this device. Its rejected entries and upload queue are emptied, and
    /// queries and sync statuses see the result.
    ///
    /// [`StoreError::NoRejectedChanges`] when the document has no rejected change (nothing
    /// changes); [`StoreError::SyncRunning`] while a sync session runs on the store (its push
    /// may be carrying the queued changes).
    pub fn discard_rejected(&self, doc_id: &str) -> Result<()> {
        let mut inner = self.lock();
        let unacknowledged = self.refused_changes(&inner, doc_id)?;
        let actor = inner.actor.clone();
        let server = server_version(
            inner.doc(doc_id)?.map(|doc| &*doc),
            &unacknowledged.hashes,
            &actor,
        )?;
        if server.get_heads().is_empty() {
            return self.remove_unknown_to_server(inner, doc_id);
        }
        let record = read_record(&server, doc_id)?;
        self.replace_doc(inner, server, &record, &[])
    }

    /// Sends the record `doc_id` again as it reads on this device now (with the user's fix),
    /// after the server refused changes to it: the document is rebuilt from the server's
    /// version and the record is written onto it as new changes (for a record the server never
    /// had, as a fresh creation with the same id), which replace the rejected entries and the
    /// old queued changes. The next sync pushes them; if the server refuses them too, they are
    /// rejected again with its new reason.
    ///
    /// A record that does not validate is [`StoreError::Validation`] and nothing changes; so
    /// are [`StoreError::NoRejectedChanges`] and [`StoreError::SyncRunning`] (see
    /// [`Store::discard_rejected`]).
    pub fn retry_rejected(&self, doc_id: &str) -> Result<()> {
        let mut inner = self.lock();
        let unacknowledged = self.refused_changes(&inner, doc_id)?;
        let mut local = inner.record(doc_id)?.ok_or_else(|| StoreError::NotFound {
            id: doc_id.to_owned(),
        })?;
        local.validate()?;
        let actor = inner.actor.clone();
        let mut doc = server_version(
            inner.doc(doc_id)?.map(|doc| &*doc),
            &unacknowledged.hashes,
            &actor,
        )?;
        let heads = doc.get_heads();
        if heads.is_empty() {
            doc.transact(|tx| local.write_new(tx))
                .map_err(|failure| failure.error)?;
        } else {
            let server = read_record(&doc, doc_id)?;
            crate::records::check_written_once(&server, &local)?;
            // As `Store::update`: a record equal to the server's but for `updated_at` writes
            // nothing (the fix undid the refused edit).
            set_updated_at(&mut local, server.meta().updated_at);
            if local != server {
                let now = inner.now().max(server.meta().updated_at);
                set_updated_at(&mut local, now);
                doc.transact(|tx| local.write(tx, Some(&server)))
                    .map_err(|failure| failure.error)?;
            }
        }
        let change = (doc.get_heads() != heads)
            .then(|| doc.get_last_local_change())
            .flatten();
        let queued: Vec<Change> = change.into_iter().collect();
        self.replace_doc(inner, doc, &local, &queued)
    }

    /// Stores `doc` (holding `record`) in place of the document, with `queued` as its only
    /// changes waiting for upload and no rejected entry, in one transaction.
    fn replace_doc(
        &self,
        mut inner: MutexGuard<'_, Inner>,
        doc: Automerge,
        record: &AnyRecord,
        queued: &[Change],
    ) -> Result<()> {
        let id = record.meta().id.clone();
        let kind = record.kind();
        let projections = inner.projections;
        let stored = (|| -> Result<()> {
            let tx = inner.conn.transaction()?;
            tx.prepare_cached("DELETE FROM pending WHERE doc_id = ?1")?
                .execute([&id])?;
            tx.prepare_cached("DELETE FROM rejected WHERE doc_id = ?1")?
                .execute([&id])?;
            for change in queued {
                tx.prepare_cached(
                    "INSERT OR IGNORE INTO pending (doc_id, kind, hash, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![id, kind.as_str(), change.hash().to_string(), change.raw_bytes(), now_ms()])?;
            }
            save_doc(
                &tx,
                &id,
                Some(kind),
                &doc.save_nocompress(),
                &doc.get_heads(),
            )?;
            if projections {
                record.project(&tx, false)?;
            }
            tx.commit()?;
            Ok(())
        })();
        // The cached document is stale either way; on failure the next read reloads the stored.
        inner.docs.pop(&id);
        stored?;
        inner.docs.put(id, doc);
        self.rebased(inner, &[kind]);
        Ok(())
    }

    /// Removes a document the server never had (its creation was refused) from this device.
    /// The unacknowledged changes of `doc_id`, when discarding or retrying them may start:
    /// [`StoreError::SyncRunning`] while a sync session runs (its push may be carrying the
    /// queued changes), [`StoreError::NoRejectedChanges`] when none of them was refused.
    fn refused_changes(&self, inner: &Inner, doc_id: &str) -> Result<Unacknowledged> {
        if self.is_syncing() {
            return Err(StoreError::SyncRunning);
        }
        let unacknowledged = unacknowledged(&inner.conn, doc_id)?;
        if unacknowledged.rejected == 0 {
            return Err(StoreError::NoRejectedChanges {
                id: doc_id.to_owned(),
            });
        }
        Ok(unacknowledged)
    }

    fn remove_unknown_to_server(&self, mut inner: MutexGuard<'_, Inner>, id: &str) -> Result<()> {
        let projections = inner.projections;
        let touched = {
            let tx = inner.conn.transaction()?;
            let touched = super::inbox::forget_doc(&tx, id, projections)?;
            tx.commit()?;
            touched
        };
        inner.docs.pop(id);
        let touched: Vec<Kind> = touched.into_iter().collect();
        self.rebased(inner, &touched);
        Ok(())
    }

    /// Refreshes the live queries of the `touched` kinds and the sync statuses (the pending
    /// and rejected counts changed), then delivers.
    fn rebased(&self, inner: MutexGuard<'_, Inner>, touched: &[Kind]) {
        if self.live.has_subscribers() {
            self.live.refresh_where(
                |query| {
                    query.is_sync_status() || query.depends_on().iter().any(|k| touched.contains(k))
                },
                |q| self.run_query(&inner.conn, q),
            );
        }
        drop(inner);
        self.live.deliver();
    }
}

#[cfg(test)]
#[path = "rebase_tests.rs"]
mod tests;

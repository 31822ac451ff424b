//! What the server sends (the inbox): importing pulled documents and changes, verifying
//! documents stored by the bootstrap path, and forgetting documents that left the user's scope.
//! No network here: a sync client (`sync.rs`) moves these values.

use super::*;

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
    /// Documents that applied but read without some of their fields (values of the wrong type;
    /// see [`crate::SyncStatus::partly_read_documents`]).
    pub partly_read: Vec<crate::partly_read::PartlyRead>,
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

impl Store {
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
                        if inner.projections {
                            record.project(&tx, true)?;
                        }
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
                            unread_fields,
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
                            if inner.projections {
                                record.project(&tx, false)?;
                            }
                            touched.insert(record.kind());
                            crate::partly_read::note(
                                &tx,
                                &incoming.doc_id,
                                &unread_fields,
                                now_ms(),
                            )?;
                        }
                        if !unread_fields.is_empty() {
                            report.partly_read.push(crate::partly_read::PartlyRead {
                                doc_id: incoming.doc_id.clone(),
                                unread_fields,
                            });
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
        let projections = inner.projections;
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
                        let read = AnyRecord::read_leniently(&doc)
                            .map_err(|e| ImportError::InvalidRecord(e.to_string()))?;
                        let record = read.record;
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
                        Ok((record, read.unread_fields, doc.get_heads()))
                    });
                match checked {
                    Ok((record, unread_fields, heads)) => {
                        tx.prepare_cached(
                            "UPDATE docs SET kind = ?2, heads = ?3, verified = 1 WHERE id = ?1",
                        )?
                        .execute(params![
                            id,
                            record.kind().as_str(),
                            heads_blob(&heads)
                        ])?;
                        if projections {
                            record.project(&tx, false)?;
                        }
                        crate::partly_read::note(&tx, &id, &unread_fields, now_ms())?;
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

    /// Removes documents from this device entirely (they left the user's scope on the server):
    /// the document, its projection, and any local changes still waiting for upload.
    pub fn forget(&self, ids: &[String]) -> Result<()> {
        let mut inner = self.lock();
        let projections = inner.projections;
        let mut touched = BTreeSet::new();
        {
            let tx = inner.conn.transaction()?;
            for id in ids {
                touched.extend(forget_doc(&tx, id, projections)?);
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
}

/// Removes one document from this device inside `tx`: the document, its projection (when the
/// store projects; the kind projected is returned), its upload queue and rejected entries, and
/// what was noted about it. Nothing when the document is absent. The caller drops it from the
/// cache.
pub(super) fn forget_doc(
    tx: &Transaction<'_>,
    id: &str,
    projections: bool,
) -> Result<Option<Kind>> {
    let kind: Option<Option<String>> = tx
        .prepare_cached("SELECT kind FROM docs WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    tx.prepare_cached("DELETE FROM refused_docs WHERE doc_id = ?1")?
        .execute([id])?;
    crate::partly_read::forget(tx, id)?;
    crate::insights::tables::forget_customer(tx, id)?;
    tx.prepare_cached("DELETE FROM pending WHERE doc_id = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM rejected WHERE doc_id = ?1")?
        .execute([id])?;
    let Some(kind) = kind else { return Ok(None) };
    let mut projected = None;
    if let Some(kind) = kind.as_deref().and_then(Kind::parse)
        && projections
    {
        crate::records::remove_projection(tx, kind, id)?;
        projected = Some(kind);
    }
    tx.prepare_cached("DELETE FROM docs WHERE id = ?1")?
        .execute([id])?;
    Ok(projected)
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
    /// Fields of `record` that did not read (values of the wrong type).
    unread_fields: Vec<String>,
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
                let mut other = crate::chunks::load(data).map_err(|e| malformed(&e))?;
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
    let (record, unread_fields) = if doc.get_heads().is_empty() {
        (None, Vec::new())
    } else {
        let read = AnyRecord::read_leniently(&doc)
            .map_err(|e| ImportError::InvalidRecord(e.to_string()))?;
        (Some(read.record), read.unread_fields)
    };
    if record.is_none() && held == 0 {
        return Err(ImportError::InvalidRecord("empty document".to_owned()));
    }
    Ok(Merged::Changed(Box::new(MergedDoc {
        doc,
        record,
        unread_fields,
        held,
        bytes,
        content_changed,
    })))
}

//! One import's device and its batches. Each batch is prepared (external ids claimed, records
//! built and written into the import's store) while the batch before it is pushed on a second
//! thread (`commit_pushes`), then settled (acknowledged or refused, counted, forgotten): the
//! Automerge work of the device side and the server side runs on two cores.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, SyncSender};

use csv::StringRecord;
use fieldcrm_core::protocol::{DocChanges, PushRequest, PushResponse};
use fieldcrm_core::{IncomingDoc, IncomingPayload, Record, Store, StoreError};

use super::{Header, ImportError, ImportReport, References, Row, RowError, RowImport};
use crate::model::{User, now_ms, now_unix};
use crate::scope::Principal;
use crate::storage::{Storage, StorageError};

/// A row read and not yet imported: its line, external id and cells.
pub(super) type PendingRow = (u64, String, StringRecord);

/// Pushes each request received as `principal`, answering in order, until the sender is gone.
pub(super) fn commit_pushes(
    storage: &dyn Storage,
    principal: &Principal,
    requests: Receiver<PushRequest>,
    responses: SyncSender<Result<PushResponse, StorageError>>,
) {
    for request in requests {
        let response = storage
            .push_changes(principal, request)
            .map(|(response, _)| response);
        if responses.send(response).is_err() {
            return;
        }
    }
}

/// The changes `store` has not pushed yet of the documents `wanted` names, a push's entries
/// (one per document, its changes in order): what the import pushes as its admin.
fn pending_docs(
    store: &Store,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<DocChanges>, StoreError> {
    let mut docs: Vec<DocChanges> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for change in store.pending_changes(u32::MAX)? {
        if !wanted(&change.doc_id) {
            continue;
        }
        match index.get(&change.doc_id) {
            Some(&at) => docs[at].changes.push(change.bytes),
            None => {
                index.insert(change.doc_id.clone(), docs.len());
                docs.push(DocChanges {
                    doc_id: change.doc_id,
                    kind: change.kind,
                    changes: vec![change.bytes],
                });
            }
        }
    }
    Ok(docs)
}

/// The channels to the pushing thread.
pub(super) struct Pipeline {
    pub requests: SyncSender<PushRequest>,
    pub responses: Receiver<Result<PushResponse, StorageError>>,
}

/// A record written into the import store, waiting for its push.
struct Written<R> {
    line: u64,
    external_id: String,
    created: bool,
    record: R,
}

/// A batch written into the import store.
struct Prepared<R> {
    written: HashMap<String, Written<R>>,
    refused_creations: Vec<String>,
    doc_ids: Vec<String>,
    external_ids: HashSet<String>,
}

/// The importing admin's device: an in-memory store whose actor is registered to the admin
/// at the first push and revoked when the import ends (so it stays counted against the
/// admin's devices only meanwhile, and can never push again).
pub(super) struct Session<'s, K: RowImport> {
    storage: &'s dyn Storage,
    admin_id: String,
    pub principal: Principal,
    store: Store,
    registered: bool,
    references: References<'s>,
    pub report: ImportReport,
    pub pipeline: Option<Pipeline>,
    in_flight: Option<Prepared<K::Record>>,
}

impl<'s, K: RowImport> Session<'s, K> {
    pub fn open(
        storage: &'s dyn Storage,
        admin: &User,
        name: &'static str,
    ) -> Result<Self, ImportError> {
        let store = Store::open(":memory:")?;
        store.set_user(&admin.id)?;
        // The import device is never queried: its records need no projection.
        store.skip_projections();
        Ok(Session {
            storage,
            admin_id: admin.id.clone(),
            principal: storage.principal(admin)?,
            store,
            registered: false,
            references: References::new(storage),
            report: ImportReport::new(name),
            pipeline: None,
            in_flight: None,
        })
    }

    /// Imports `rows`: prepares them, settles the batch before, and sends their push.
    pub fn flush(&mut self, header: &Header, rows: Vec<PendingRow>) -> Result<(), ImportError> {
        if rows.is_empty() {
            return Ok(());
        }
        // A record of the batch in flight must be stored before a row builds on it.
        if self
            .in_flight
            .as_ref()
            .is_some_and(|p| rows.iter().any(|(_, id, _)| p.external_ids.contains(id)))
        {
            self.settle()?;
        }
        let prepared = self.prepare(header, rows)?;
        self.settle()?;
        self.submit(prepared)
    }

    /// Claims the rows' documents, builds their records and writes them into the store.
    fn prepare(
        &mut self,
        header: &Header,
        rows: Vec<PendingRow>,
    ) -> Result<Prepared<K::Record>, ImportError> {
        let external_ids: Vec<&str> = rows.iter().map(|(_, id, _)| id.as_str()).collect();
        let targets = self
            .storage
            .claim_import_ids(K::Record::KIND, &external_ids)?;
        let mut stored = Vec::new();
        for target in targets.iter().filter(|t| t.stored) {
            if let Some(bytes) = self
                .storage
                .document_bytes(K::Record::KIND, &target.doc_id)?
            {
                stored.push(IncomingDoc {
                    doc_id: target.doc_id.clone(),
                    payload: IncomingPayload::Snapshot(bytes),
                });
            }
        }
        let loaded = self.store.import(stored)?;
        if let Some(refused) = loaded.refused.first() {
            return Err(StorageError::Corrupt(format!(
                "stored document {} does not read: {}",
                refused.doc_id, refused.error
            ))
            .into());
        }
        let mut prepared = Prepared {
            written: HashMap::new(),
            refused_creations: Vec::new(),
            doc_ids: Vec::with_capacity(rows.len()),
            external_ids: HashSet::with_capacity(rows.len()),
        };
        for ((line, external_id, cells), target) in rows.into_iter().zip(targets) {
            let doc_id = target.doc_id;
            prepared.doc_ids.push(doc_id.clone());
            prepared.external_ids.insert(external_id.clone());
            let existing = if target.stored {
                self.store.get::<K::Record>(&doc_id)?
            } else {
                None
            };
            if existing.as_ref().is_some_and(|r| r.meta().deleted) {
                self.report.reject(
                    line,
                    Some(&external_id),
                    "the record was deleted: restore it on a device to import it again",
                );
                continue;
            }
            let row = Row::new(header, &cells, line);
            let built = match K::build(&row, existing.clone(), &doc_id, &mut self.references) {
                Ok(record) => record,
                Err(RowError::Rejected(reason)) => {
                    self.report.reject(line, Some(&external_id), reason);
                    if existing.is_none() {
                        prepared.refused_creations.push(doc_id);
                    }
                    continue;
                }
                Err(RowError::Storage(err)) => return Err(err.into()),
            };
            let created = existing.is_none();
            let saved = match existing {
                Some(old) if old == built => {
                    self.report.unchanged += 1;
                    continue;
                }
                Some(_) => self.store.update(built),
                None => self.store.create(built),
            };
            match saved {
                Ok(record) => {
                    prepared.written.insert(
                        doc_id,
                        Written {
                            line,
                            external_id,
                            created,
                            record,
                        },
                    );
                }
                Err(StoreError::Validation(err)) => {
                    self.report
                        .reject(line, Some(&external_id), err.to_string());
                    if created {
                        prepared.refused_creations.push(doc_id);
                    }
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(prepared)
    }

    /// Sends the batch's changes to the pushing thread (or settles a batch with none).
    fn submit(&mut self, prepared: Prepared<K::Record>) -> Result<(), ImportError> {
        // The store's queue also holds the batch in flight: only this batch's changes.
        let docs = pending_docs(&self.store, |doc_id| prepared.written.contains_key(doc_id))?;
        if docs.is_empty() {
            // Every row of the batch was unchanged or refused: nothing to push.
            return self.finish(prepared, PushResponse::default(), 0);
        }
        let pipeline = self.pipeline.as_ref().ok_or(ImportError::Stalled)?;
        if !self.registered {
            self.storage
                .register_device(&self.admin_id, &self.store.actor_id())?;
            self.registered = true;
        }
        if pipeline.requests.send(PushRequest { docs }).is_err() {
            return Err(ImportError::Stalled);
        }
        self.in_flight = Some(prepared);
        Ok(())
    }

    /// Waits for the batch in flight and settles it.
    pub fn settle(&mut self) -> Result<(), ImportError> {
        let Some(prepared) = self.in_flight.take() else {
            return Ok(());
        };
        let pipeline = self.pipeline.as_ref().ok_or(ImportError::Stalled)?;
        let response = pipeline
            .responses
            .recv()
            .map_err(|_| ImportError::Stalled)??;
        let pushed = prepared.written.len();
        self.finish(prepared, response, pushed)
    }

    /// Takes the server's answer for a batch: acknowledged changes leave the queue, refused
    /// documents are reported, and the batch's documents are forgotten.
    fn finish(
        &mut self,
        mut prepared: Prepared<K::Record>,
        response: PushResponse,
        pushed: usize,
    ) -> Result<(), ImportError> {
        self.store.acknowledge(&response.acknowledged)?;
        if !response.rejected.is_empty() {
            self.store.record_rejections(&response.rejected, now_ms())?;
        }
        let answered: HashSet<&str> = response
            .rejected
            .iter()
            .map(|r| r.doc_id.as_str())
            .collect();
        if pushed > 0 && response.acknowledged.is_empty() && answered.is_empty() {
            return Err(ImportError::Stalled);
        }
        for rejection in response.rejected {
            if let Some(row) = prepared.written.remove(&rejection.doc_id) {
                self.report
                    .reject(row.line, Some(&row.external_id), rejection.reason);
                if row.created {
                    prepared.refused_creations.push(rejection.doc_id);
                }
            }
        }
        for row in prepared.written.into_values() {
            if row.created {
                self.report.created += 1;
            } else {
                self.report.updated += 1;
                K::after_update(&row.record, &mut self.references)?;
            }
        }
        self.storage
            .release_import_ids(K::Record::KIND, &prepared.refused_creations)?;
        self.store.forget(&prepared.doc_ids)?;
        Ok(())
    }

    /// Revokes the import's device; the report.
    pub fn close(mut self) -> Result<ImportReport, ImportError> {
        if self.registered {
            self.storage
                .revoke_device(&self.store.actor_id(), now_unix())?;
        }
        self.report.finish();
        Ok(self.report)
    }
}

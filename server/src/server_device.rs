//! A device the server runs for a user, to write records as that user's changes: campaigns'
//! tasks and visits, the grade an analytics run sets from the ABC class, and cases' due times and escalations. Records are written into an in-memory core [`Store`] signed in as the
//! user (its validation and update rules included) and go through [`Storage::push_changes`]
//! as that user's, so the authority checks, the invariants, the scope columns and the
//! projections all apply, exactly as for a phone: there is no other write path into the
//! documents. Its actor is registered to the user at the first push and revoked at
//! [`ServerDevice::close`], so it can never push again.

use std::collections::HashMap;

use fieldcrm_core::{IncomingDoc, IncomingPayload, Kind, Record, Store, StoreError};

use crate::model::{User, now_unix};
use crate::scope::Principal;
use crate::storage::{Storage, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A push neither acknowledged nor refused what it carried.
    #[error("the server took none of a push's changes")]
    Stalled,
}

/// What [`ServerDevice::push_all`] sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Documents pushed (a document in several pushes counts in each).
    pub documents: usize,
    /// The documents the server refused, with its reasons (dropped from the device).
    pub refused: HashMap<String, String>,
}

pub struct ServerDevice<'s> {
    storage: &'s dyn Storage,
    user_id: String,
    principal: Principal,
    store: Store,
    registered: bool,
}

impl<'s> ServerDevice<'s> {
    pub fn open(storage: &'s dyn Storage, user: &User) -> Result<Self, DeviceError> {
        let store = Store::open(":memory:")?;
        store.set_user(&user.id)?;
        // Never queried: its records need no projection.
        store.skip_projections();
        Ok(ServerDevice {
            storage,
            user_id: user.id.clone(),
            principal: storage.principal(user)?,
            store,
            registered: false,
        })
    }

    /// Writes a new record (validated by the store); the record as written.
    pub fn create<R: Record>(&self, record: R) -> Result<R, StoreError> {
        self.store.create(record)
    }

    /// Loads the stored documents of `ids` (those the server has) to edit them.
    pub fn load(&self, kind: Kind, ids: &[String]) -> Result<(), DeviceError> {
        let mut stored = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(bytes) = self.storage.document_bytes(kind, id)? {
                stored.push(IncomingDoc {
                    doc_id: id.clone(),
                    payload: IncomingPayload::Snapshot(bytes),
                });
            }
        }
        let loaded = self.store.import(stored)?;
        match loaded.refused.first() {
            Some(refused) => Err(StorageError::Corrupt(format!(
                "stored document {} does not read: {}",
                refused.doc_id, refused.error
            ))
            .into()),
            None => Ok(()),
        }
    }

    pub fn get<R: Record>(&self, id: &str) -> Result<Option<R>, StoreError> {
        self.store.get(id)
    }

    /// Writes an edit of a loaded record (validated by the store).
    pub fn update<R: Record>(&self, record: R) -> Result<R, StoreError> {
        self.store.update(record)
    }

    /// Escalates a loaded open case once (`Store::escalate_case`); `None` when it is resolved
    /// or was escalated already.
    pub fn escalate_case(
        &self,
        id: &str,
        note: Option<String>,
    ) -> Result<Option<fieldcrm_core::Case>, StoreError> {
        self.store.escalate_case(id, note)
    }

    /// Drops documents from this device (once pushed, to keep its memory bounded).
    pub fn forget(&self, ids: &[String]) -> Result<(), StoreError> {
        self.store.forget(ids)
    }

    /// Pushes every change written, in pushes within the protocol's limits.
    pub fn push_all(&mut self) -> Result<Pushed, DeviceError> {
        let mut pushed = Pushed::default();
        let refused = &mut pushed.refused;
        while let Some((request, hashes)) = self.store.push_request(u32::MAX)? {
            if !self.registered {
                self.storage
                    .register_device(&self.user_id, &self.store.actor_id())?;
                self.registered = true;
            }
            let request_docs = request.docs.len();
            let (response, _) = self.storage.push_changes(&self.principal, request)?;
            let acknowledged = self.store.acknowledge(&response.acknowledged)?;
            let rejected: Vec<String> =
                response.rejected.iter().map(|r| r.doc_id.clone()).collect();
            if acknowledged == 0 && rejected.is_empty() && !hashes.is_empty() {
                return Err(DeviceError::Stalled);
            }
            pushed.documents += request_docs;
            for rejection in response.rejected {
                refused.insert(rejection.doc_id, rejection.reason);
            }
            // A refused document's changes would be sent again forever: drop them.
            self.store.forget(&rejected)?;
        }
        Ok(pushed)
    }

    /// Revokes the device (if it ever pushed).
    pub fn close(self) -> Result<(), DeviceError> {
        if self.registered {
            self.storage
                .revoke_device(&self.store.actor_id(), now_unix())?;
        }
        Ok(())
    }
}

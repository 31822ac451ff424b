//! What import rows name by a human key, resolved to ids: territories and users by name,
//! customers by the external id they were imported with. Answers are kept in small bounded
//! caches (a file names the same few territories and owners on every row).

use std::num::NonZeroUsize;

use fieldcrm_core::Kind;
use lru::LruCache;

use crate::storage::{Storage, StorageError};

const CACHED: NonZeroUsize = match NonZeroUsize::new(4_096) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

pub struct References<'s> {
    storage: &'s dyn Storage,
    territories: LruCache<String, Option<String>>,
    users: LruCache<String, Option<String>>,
    customers: LruCache<String, Option<String>>,
}

impl std::fmt::Debug for References<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("References").finish_non_exhaustive()
    }
}

impl<'s> References<'s> {
    pub fn new(storage: &'s dyn Storage) -> References<'s> {
        References {
            storage,
            territories: LruCache::new(CACHED),
            users: LruCache::new(CACHED),
            customers: LruCache::new(CACHED),
        }
    }

    /// The id of the territory named `name`.
    pub fn territory(&mut self, name: &str) -> Result<Option<String>, StorageError> {
        if let Some(id) = self.territories.get(name) {
            return Ok(id.clone());
        }
        let id = self.storage.territory_by_name(name)?.map(|t| t.id);
        self.territories.put(name.to_owned(), id.clone());
        Ok(id)
    }

    /// The id of the user named `username`.
    pub fn user(&mut self, username: &str) -> Result<Option<String>, StorageError> {
        if let Some(id) = self.users.get(username) {
            return Ok(id.clone());
        }
        let id = self.storage.user_by_username(username)?.map(|u| u.id);
        self.users.put(username.to_owned(), id.clone());
        Ok(id)
    }

    /// The stored customer imported with `external_id`.
    pub fn customer(&mut self, external_id: &str) -> Result<Option<String>, StorageError> {
        if let Some(id) = self.customers.get(external_id) {
            return Ok(id.clone());
        }
        let id = self
            .storage
            .imported_document(Kind::Customer, external_id)?;
        self.customers.put(external_id.to_owned(), id.clone());
        Ok(id)
    }

    /// The storage, for a kind's work after its rows are committed.
    pub fn storage(&self) -> &'s dyn Storage {
        self.storage
    }
}

//! The store object: a [`FieldStore`] wraps one core store; opening, closing and wiping it,
//! and the running of calls on it with panics turned into errors.

use std::sync::{Arc, PoisonError, RwLock};

use fieldcrm_core as fc;

use super::*;

/// An offline CRM store: one SQLite file holding the user's records, the upload queue and the
/// sync state.
#[derive(uniffi::Object)]
pub struct FieldStore {
    /// `None` once closed. Calls clone the `Arc` and release the lock at once, so a long call
    /// never blocks `close()`; the store itself is dropped when the last running call ends.
    /// One sync at a time is the core store's rule: a second one fails at once with
    /// `AlreadySyncing`.
    store: RwLock<Option<Arc<fc::Store>>>,
}

impl std::fmt::Debug for FieldStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldStore")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl FieldStore {
    fn wrap(store: fc::Store) -> Arc<FieldStore> {
        Arc::new(FieldStore {
            store: RwLock::new(Some(Arc::new(store))),
        })
    }

    pub(crate) fn store(&self) -> Result<Arc<fc::Store>> {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(FieldCrmError::StoreClosed)
    }

    /// Runs `f` on the open store, with panics turned into errors.
    pub(crate) fn with<T>(
        &self,
        operation: &str,
        f: impl FnOnce(&fc::Store) -> Result<T>,
    ) -> Result<T> {
        let store = self.store()?;
        guarded(operation, || f(&store))
    }
}

// In a block of its own: a build without the feature has no `open_encrypted` (Cargo.toml).
#[cfg(feature = "encryption")]
#[uniffi::export]
impl FieldStore {
    /// Opens (or creates) the store file at `path` encrypted with `key`: the 32 random bytes
    /// the app keeps in the Android Keystore or the iOS Keychain (see docs/EMBEDDING.md). A
    /// plaintext store made by `open` is encrypted in place on the first call, keeping
    /// everything not yet synced. A key that does not open the file is `WrongKey`, opening an
    /// encrypted file with `open` is `KeyRequired`; in both cases the file is not modified.
    #[uniffi::constructor]
    pub fn open_encrypted(path: String, key: Vec<u8>) -> Result<Arc<Self>> {
        let key = zeroize::Zeroizing::new(key);
        guarded("open_encrypted", || {
            let key = fc::StoreKey::from_bytes(&key)?;
            Ok(FieldStore::wrap(fc::Store::open_encrypted(&path, &key)?))
        })
    }
}

#[uniffi::export]
impl FieldStore {
    /// Opens (or creates) the store file at `path`. A file that is not a FieldCRM store, or one
    /// written by a newer version, is refused without being modified.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<Self>> {
        guarded("open", || Ok(FieldStore::wrap(fc::Store::open(&path)?)))
    }

    /// Closes the store: every later call fails with `StoreClosed`, live queries stop, and the
    /// file is released once calls already running return. Closing twice is harmless.
    pub fn close(&self) {
        self.store
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    pub fn is_closed(&self) -> bool {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// This device's Automerge actor id (hex); register it with the server for the user.
    pub fn actor_id(&self) -> Result<String> {
        self.with("actor_id", |s| Ok(s.actor_id()))
    }

    /// The user id (from the server's login) written into this device's changes.
    pub fn set_user(&self, user_id: String) -> Result<()> {
        self.with("set_user", |s| Ok(s.set_user(&user_id)?))
    }

    pub fn user(&self) -> Result<String> {
        self.with("user", |s| Ok(s.user()))
    }

    /// Removes everything this device holds (records, pending changes, pings, rejected
    /// changes, the user binding) and leaves a valid empty store with a fresh actor id. `sync`
    /// does this by itself when the server answers `device_revoked`.
    /// While a sync runs this fails at once with `AlreadySyncing` and wipes nothing.
    pub fn wipe(&self) -> Result<()> {
        self.with("wipe", |s| Ok(s.wipe()?))
    }
}

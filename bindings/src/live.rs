//! Live queries: the host's listener, the subscription object that keeps one running, and
//! subscribing.

use std::sync::{Arc, Mutex};

use fieldcrm_core as fc;

use super::*;

/// Receives the new result of a live query (see [`FieldStore::subscribe`]). Called on the
/// thread whose write changed the result, never under the store's lock, so it may call back
/// into the store; hand the result to the UI thread yourself.
#[uniffi::export(with_foreign)]
pub trait QueryListener: Send + Sync {
    /// What the listener throws is dropped (the write has committed; other listeners still
    /// run). Declared fallible so that a throw comes back as an error value instead of a panic
    /// whose message, which may quote the app's data, the panic hook would print.
    fn on_result(&self, result: QueryResult) -> Result<()>;
}

struct ListenerAdapter(Arc<dyn QueryListener>);

impl fc::QueryListener for ListenerAdapter {
    fn on_result(&self, result: fc::QueryResult) {
        let result = QueryResult::from(result);
        // A listener that throws or panics must not make the write that triggered it look
        // failed (it has committed), nor stop other listeners.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let _ = self.0.on_result(result);
        }));
    }
}

/// Keeps a live query running. `close()` (or dropping the object) stops it.
#[derive(uniffi::Object)]
pub struct Subscription {
    inner: Mutex<Option<fc::Subscription>>,
}

#[uniffi::export]
impl Subscription {
    /// Stops the live query; the listener is not called afterwards. Closing twice is harmless.
    pub fn close(&self) {
        lock(&self.inner).take();
    }

    pub fn is_active(&self) -> bool {
        lock(&self.inner).is_some()
    }
}

#[uniffi::export]
impl FieldStore {
    /// Calls `listener` with the query's current result now, then after every write or sync
    /// that changes it, until the returned subscription is closed or dropped (or the store is).
    pub fn subscribe(
        &self,
        query: Query,
        listener: Arc<dyn QueryListener>,
    ) -> Result<Arc<Subscription>> {
        self.with("subscribe", |s| {
            let subscription = s.subscribe(query.into(), Arc::new(ListenerAdapter(listener)))?;
            Ok(Arc::new(Subscription {
                inner: Mutex::new(Some(subscription)),
            }))
        })
    }
}

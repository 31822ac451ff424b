//! Live queries: listeners re-run after each committed write or import that touches the kinds
//! their query depends on, and are called only when the result changed.
//!
//! Results are computed under the store's lock (so they reflect commits in order) and queued;
//! listeners are called after the lock is released, by whichever thread finds the queue idle,
//! so a listener may call back into the store, even write to it, without deadlock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::model::Kind;
use crate::query::{Query, QueryResult};

/// Receives the new result of a subscribed query.
pub trait QueryListener: Send + Sync {
    fn on_result(&self, result: QueryResult);
}

struct Subscriber {
    query: Query,
    listener: Arc<dyn QueryListener>,
    last: Option<QueryResult>,
}

#[derive(Default)]
struct Deliveries {
    queue: VecDeque<(u64, QueryResult)>,
    running: bool,
}

#[derive(Default)]
pub(crate) struct LiveQueries {
    subscribers: Mutex<HashMap<u64, Subscriber>>,
    next_id: Mutex<u64>,
    deliveries: Mutex<Deliveries>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A listener that panicked must not disable live queries for everyone else.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Keeps a live query running; dropping it unsubscribes.
pub struct Subscription {
    id: u64,
    registry: Weak<LiveQueries>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            lock(&registry.subscribers).remove(&self.id);
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

impl LiveQueries {
    pub(crate) fn add(
        self: &Arc<Self>,
        query: Query,
        listener: Arc<dyn QueryListener>,
    ) -> Subscription {
        let id = {
            let mut next = lock(&self.next_id);
            *next += 1;
            *next
        };
        lock(&self.subscribers).insert(
            id,
            Subscriber {
                query,
                listener,
                last: None,
            },
        );
        Subscription {
            id,
            registry: Arc::downgrade(self),
        }
    }

    pub(crate) fn has_subscribers(&self) -> bool {
        !lock(&self.subscribers).is_empty()
    }

    /// Re-runs the queries that depend on `touched` (all of them when `touched` is `None`) and
    /// queues the results that changed. Call with the store's lock held.
    pub(crate) fn refresh<E>(
        &self,
        touched: Option<&[Kind]>,
        run: impl FnMut(&Query) -> Result<QueryResult, E>,
    ) {
        self.refresh_where(
            |query| {
                touched.is_none_or(|kinds| query.depends_on().iter().any(|k| kinds.contains(k)))
            },
            run,
        );
    }

    /// Re-runs the queries `affected` selects and queues the results that changed. Call with
    /// the store's lock held.
    pub(crate) fn refresh_where<E>(
        &self,
        affected: impl Fn(&Query) -> bool,
        mut run: impl FnMut(&Query) -> Result<QueryResult, E>,
    ) {
        let mut subscribers = lock(&self.subscribers);
        let mut changed = Vec::new();
        for (id, sub) in subscribers.iter_mut() {
            if !affected(&sub.query) {
                continue;
            }
            // A query that fails now (say, the database is busy) keeps its last result; the
            // next commit retries it.
            let Ok(result) = run(&sub.query) else {
                continue;
            };
            if sub.last.as_ref() != Some(&result) {
                sub.last = Some(result.clone());
                changed.push((*id, result));
            }
        }
        drop(subscribers);
        lock(&self.deliveries).queue.extend(changed);
    }

    /// Calls listeners for queued results. Call without the store's lock held.
    pub(crate) fn deliver(&self) {
        {
            let mut deliveries = lock(&self.deliveries);
            if deliveries.running {
                return; // that thread delivers what we queued
            }
            deliveries.running = true;
        }
        // Resets `running` if a listener panics, so later deliveries still happen.
        struct Running<'a>(&'a LiveQueries);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    lock(&self.0.deliveries).running = false;
                }
            }
        }
        let _running = Running(self);
        loop {
            let (id, result) = {
                let mut deliveries = lock(&self.deliveries);
                match deliveries.queue.pop_front() {
                    Some(next) => next,
                    None => {
                        deliveries.running = false;
                        return;
                    }
                }
            };
            let listener = lock(&self.subscribers)
                .get(&id)
                .map(|s| Arc::clone(&s.listener));
            if let Some(listener) = listener {
                listener.on_result(result);
            }
        }
    }
}

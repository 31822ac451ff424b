//! Sync: the host's transport, cancelling a round, running a round, and the sync-facing state
//! (status, rejected changes, refused documents, verification).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use fieldcrm_core as fc;

use super::*;

/// Moves sync messages to the FieldCRM server; implemented by the host over its own HTTP client
/// (OkHttp, URLSession, ...). `push` POSTs the body to `/v1/sync/push`, `pull` to
/// `/v1/sync/pull`, `upload_pings` to `/v1/sync/pings`, `refetch` to `/v1/sync/refetch`, all
/// with
/// `content-type: application/vnd.fieldcrm.sync` and the bearer token, and return the 200
/// response body. `analytics` GETs `/v1/analytics/device?` followed by `query` (already
/// encoded) with the bearer token, and returns the 200 body the same way (a 404 from a server
/// without analytics is thrown like any refusal; the sync takes it as "no analytics"). Throw `FieldCrmError.Offline` when the request did not reach the server
/// (retried with backoff) and `FieldCrmError.ServerRefused` with the status, the JSON
/// error's `code` and the `Retry-After` header's seconds (if any) for any other status.
#[uniffi::export(with_foreign)]
pub trait SyncTransport: Send + Sync {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>>;
    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>>;
    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>>;
    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>>;
    fn analytics(&self, query: String) -> Result<Vec<u8>>;
}

struct TransportAdapter(Arc<dyn SyncTransport>);

impl fc::Transport for TransportAdapter {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.0
            .push(body)
            .map_err(FieldCrmError::into_transport_error)
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.0
            .pull(body)
            .map_err(FieldCrmError::into_transport_error)
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.0
            .upload_pings(body)
            .map_err(FieldCrmError::into_transport_error)
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.0
            .refetch(body)
            .map_err(FieldCrmError::into_transport_error)
    }

    fn analytics(&self, query: &str) -> Result<Vec<u8>, fc::TransportError> {
        self.0
            .analytics(query.to_owned())
            .map_err(FieldCrmError::into_transport_error)
    }
}

impl FieldStore {
    fn run_sync(
        &self,
        operation: &str,
        transport: &dyn fc::Transport,
        cancellation: Option<&SyncCancellation>,
    ) -> Result<SyncReport> {
        let store = self.store()?;
        guarded(operation, || {
            let report = match cancellation {
                None => fc::sync(
                    &store,
                    transport,
                    &fc::RetryPolicy::default(),
                    &mut std::thread::sleep,
                    &fc::now_ms,
                )?,
                Some(cancellation) => fc::sync(
                    &store,
                    &Cancellable {
                        inner: transport,
                        cancellation,
                    },
                    &fc::RetryPolicy::default(),
                    &mut |pause| cancellation.sleep(pause),
                    &fc::now_ms,
                )?,
            };
            Ok(report.into())
        })
    }
}

/// Lets the app stop a sync round early: Android's WorkManager stopping a worker, iOS ending a
/// background task. Pass it to `FieldStore::sync_cancellable` and call `cancel()` from any
/// thread: a request already on the wire finishes, no further request starts and backoff
/// waits end at once; the round fails with `Offline` ("sync cancelled"). Nothing is lost: what
/// was not acknowledged goes with the next round.
#[derive(uniffi::Object, Debug, Default)]
pub struct SyncCancellation {
    cancelled: std::sync::atomic::AtomicBool,
}

#[uniffi::export]
impl SyncCancellation {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(SyncCancellation::default())
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl SyncCancellation {
    /// Waits `pause`, or less when cancelled meanwhile.
    fn sleep(&self, pause: std::time::Duration) {
        let step = std::time::Duration::from_millis(50);
        let mut left = pause;
        while !left.is_zero() && !self.is_cancelled() {
            let now = left.min(step);
            std::thread::sleep(now);
            left = left.saturating_sub(now);
        }
    }

    fn check(&self) -> Result<(), fc::TransportError> {
        if self.is_cancelled() {
            return Err(fc::TransportError::Offline("sync cancelled".into()));
        }
        Ok(())
    }
}

/// A transport that refuses to start a request once its sync was cancelled.
struct Cancellable<'a> {
    inner: &'a dyn fc::Transport,
    cancellation: &'a SyncCancellation,
}

impl fc::Transport for Cancellable<'_> {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.cancellation.check()?;
        self.inner.push(body)
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.cancellation.check()?;
        self.inner.pull(body)
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.cancellation.check()?;
        self.inner.upload_pings(body)
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.cancellation.check()?;
        self.inner.refetch(body)
    }

    fn analytics(&self, query: &str) -> Result<Vec<u8>, fc::TransportError> {
        self.cancellation.check()?;
        self.inner.analytics(query)
    }
}

#[uniffi::export]
impl FieldStore {
    pub fn sync_status(&self) -> Result<SyncStatus> {
        self.with("sync_status", |s| Ok(s.sync_status()?.into()))
    }

    /// Changes the server refused, newest first. The edits stay in the local records.
    pub fn rejected_changes(&self) -> Result<Vec<RejectedChange>> {
        self.with("rejected_changes", |s| {
            Ok(s.rejected_changes()?.into_iter().map(Into::into).collect())
        })
    }

    /// Documents from the server this device could not load, most recently refused first.
    /// Each sync fetches them again; one that loads leaves the list.
    pub fn refused_documents(&self) -> Result<Vec<RefusedDocument>> {
        self.with("refused_documents", |s| {
            Ok(s.refused_documents()?.into_iter().map(Into::into).collect())
        })
    }

    /// Removes a record's entries from the rejected list once the user has seen them.
    pub fn dismiss_rejections(&self, doc_id: String) -> Result<()> {
        self.with("dismiss_rejections", |s| Ok(s.dismiss_rejections(&doc_id)?))
    }

    /// Discards this device's refused changes to a record: it goes back to the server's
    /// version (acknowledged changes stay; a record whose creation was refused leaves the
    /// device), and its rejected entries and queued changes go. `NotFound` when the record has
    /// no rejected change; `AlreadySyncing` while a sync runs.
    pub fn discard_rejected(&self, doc_id: String) -> Result<()> {
        self.with("discard_rejected", |s| Ok(s.discard_rejected(&doc_id)?))
    }

    /// Sends a record the server refused again, as it reads now (after the user fixed it): it
    /// is written onto the server's version as new changes, which the next sync pushes. A
    /// record that does not validate is `Validation` and nothing changes; `NotFound` when the
    /// record has no rejected change; `AlreadySyncing` while a sync runs.
    pub fn retry_rejected(&self, doc_id: String) -> Result<()> {
        self.with("retry_rejected", |s| Ok(s.retry_rejected(&doc_id)?))
    }

    /// Checks up to `limit` documents received in a bootstrap against their projections; call
    /// in the background after a first sync until `remaining` is 0.
    pub fn verify_documents(&self, limit: u32) -> Result<VerifyReport> {
        self.with("verify_documents", |s| {
            Ok(s.verify_documents(limit)?.into())
        })
    }

    /// One sync round through the host's transport: push every pending change, then pull every
    /// page. Offline errors are retried with backoff (up to 5 tries per request, sleeping on
    /// this thread); the outcome is recorded in `sync_status`. One sync at a time per store:
    /// while one runs, another fails at once with `AlreadySyncing` (and records nothing).
    pub fn sync(&self, transport: Arc<dyn SyncTransport>) -> Result<SyncReport> {
        self.run_sync("sync", &TransportAdapter(transport), None)
    }

    /// `sync`, stoppable from another thread through `cancellation` (see
    /// [`SyncCancellation`]).
    pub fn sync_cancellable(
        &self,
        transport: Arc<dyn SyncTransport>,
        cancellation: Arc<SyncCancellation>,
    ) -> Result<SyncReport> {
        self.run_sync(
            "sync_cancellable",
            &TransportAdapter(transport),
            Some(&cancellation),
        )
    }

    /// The same over the library's own blocking HTTP client (plain HTTP), for hosts without
    /// one and for tests. `base_url` is the server's root, e.g. `http://10.0.2.2:8080`.
    pub fn sync_with_builtin_http(&self, base_url: String, token: String) -> Result<SyncReport> {
        self.run_sync(
            "sync_with_builtin_http",
            &fc::HttpTransport::new(&base_url, &token),
            None,
        )
    }
}

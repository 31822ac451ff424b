//! The device side of sync, without I/O: build a push, apply its acknowledgement, build a pull,
//! apply a page. A [`Transport`] (the host app's HTTP client, or the built-in one) moves the
//! bytes; [`sync`] drives one full round over a transport with retries.
//!
//! Nothing acknowledged is lost and nothing is sent twice in vain: a change leaves the upload
//! queue only when the server acknowledges its hash (or rejects it, when it moves to the
//! rejected list), and the pull cursor advances only after a page is applied.

use std::time::Duration;

use thiserror::Error;

use crate::error::StoreError;
use crate::model::Millis;
use crate::protocol::{self, PingAck, ProtocolError, PullRequest, PulledPayload, PushResponse};
use crate::store::{ImportReport, IncomingDoc, IncomingPayload, Store};

/// The server's code for a device whose access was revoked (the device was revoked or its user
/// disabled): [`sync`] wipes the store ([`Store::wipe`]) when it sees it.
pub const DEVICE_REVOKED: &str = "device_revoked";
/// The server's code for an app whose protocol version it no longer serves (HTTP 426).
pub const UPGRADE_REQUIRED: &str = "upgrade_required";

/// Largest decompressed response a device accepts.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// What a transport reports when a request did not produce a response body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransportError {
    /// No connection (no network, server unreachable, timeout): worth retrying later.
    #[error("offline: {0}")]
    Offline(String),
    /// The server answered with an error status and its stable error code, and with how long
    /// to wait before trying again when it said so (`429` / `503` with `Retry-After`).
    #[error("server refused the request ({status} {code})")]
    Server {
        status: u16,
        code: String,
        retry_after: Option<Duration>,
    },
}

impl TransportError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            TransportError::Offline(_) => true,
            TransportError::Server { status, .. } => *status >= 500 || *status == 429,
        }
    }

    /// How long the server asked to wait before trying again, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TransportError::Server { retry_after, .. } => *retry_after,
            TransportError::Offline(_) => None,
        }
    }
}

/// Moves protocol bodies to the server and back. Implemented by the host app (OkHttp,
/// URLSession, ...) or by the built-in HTTP transport (cargo feature `http`).
pub trait Transport {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError>;
    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError>;
    /// Sends a batch of location pings (`POST /v1/sync/pings`).
    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError>;
    /// Asks for documents again as their full change history (`POST /v1/sync/refetch`).
    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError>;
}

#[derive(Debug, Error)]
pub enum SyncError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("unreadable server response: {0}")]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// A stable code for apps: `offline`, the server's error code, a protocol code, or
    /// `storage`.
    pub fn code(&self) -> String {
        match self {
            SyncError::Transport(TransportError::Offline(_)) => "offline".to_owned(),
            SyncError::Transport(TransportError::Server { code, .. }) => code.clone(),
            SyncError::Protocol(p) => p.code().to_owned(),
            SyncError::Store(_) => "storage".to_owned(),
        }
    }

    fn is_retryable(&self) -> bool {
        matches!(self, SyncError::Transport(e) if e.is_retryable())
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            SyncError::Transport(e) => e.retry_after(),
            _ => None,
        }
    }

    /// Whether the server said this device's access was revoked: its local data must go.
    pub fn is_device_revoked(&self) -> bool {
        matches!(self, SyncError::Transport(TransportError::Server { code, .. }) if code == DEVICE_REVOKED)
    }

    /// Whether the server no longer serves the protocol version this app speaks (HTTP 426
    /// `upgrade_required`), or answered in one older than this app reads: the app must be
    /// updated. Nothing was acknowledged, so everything stays on the device.
    pub fn is_upgrade_required(&self) -> bool {
        match self {
            SyncError::Transport(TransportError::Server { code, .. }) => code == UPGRADE_REQUIRED,
            SyncError::Protocol(e) => e.code() == UPGRADE_REQUIRED,
            _ => false,
        }
    }
}

/// A push ready to send, and the changes it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingPush {
    pub body: Vec<u8>,
    pub hashes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PushOutcome {
    pub acknowledged: usize,
    pub rejected: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PullOutcome {
    pub import: ImportReport,
    pub removed: usize,
    pub has_more: bool,
}

/// The steps of a sync round, as pure functions of the store and the bytes exchanged.
#[derive(Debug)]
pub struct SyncSession<'s> {
    pub(crate) store: &'s Store,
    /// Changes per push request.
    pub push_batch: u32,
    /// Documents per pull page.
    pub page_size: u32,
    /// Pings per upload batch.
    pub ping_batch: usize,
    /// The protocol version requests are written in (and the server answers in):
    /// [`protocol::PROTOCOL_VERSION`] unless set lower to reach an older server.
    pub protocol_version: u8,
}

/// A batch of pings ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingPings {
    pub body: Vec<u8>,
    pub batch_id: String,
    pub count: usize,
}

impl<'s> SyncSession<'s> {
    pub fn new(store: &'s Store) -> Self {
        SyncSession {
            store,
            push_batch: 500,
            page_size: 1_000,
            ping_batch: 1_000,
            protocol_version: protocol::PROTOCOL_VERSION,
        }
    }

    /// The next batch of pings to upload (the same batch again until it is acknowledged).
    pub fn build_ping_upload(&self) -> Result<Option<OutgoingPings>, SyncError> {
        let Some(upload) = self.store.next_ping_batch(self.ping_batch)? else {
            return Ok(None);
        };
        Ok(Some(OutgoingPings {
            body: protocol::encode_as(&upload, self.protocol_version)?,
            batch_id: upload.batch_id,
            count: upload.pings.len(),
        }))
    }

    /// Applies the server's acknowledgement of `sent`. Returns how many pings the server
    /// stored or already had.
    pub fn apply_ping_ack(&self, sent: &OutgoingPings, body: &[u8]) -> Result<u32, SyncError> {
        let ack: PingAck = protocol::decode(body, MAX_RESPONSE_BYTES)?;
        if ack.batch_id != sent.batch_id {
            return Err(ProtocolError::Malformed(format!(
                "acknowledgement of batch {} for batch {}",
                ack.batch_id, sent.batch_id
            ))
            .into());
        }
        self.store.acknowledge_ping_batch(&ack)?;
        Ok(ack.stored + ack.duplicates)
    }

    /// The oldest unacknowledged changes, grouped by document in upload order; `None` when
    /// there is nothing to send.
    pub fn build_push(&self) -> Result<Option<OutgoingPush>, SyncError> {
        let Some((request, hashes)) = self.store.push_request(self.push_batch)? else {
            return Ok(None);
        };
        let body = protocol::encode_as(&request, self.protocol_version)?;
        Ok(Some(OutgoingPush { body, hashes }))
    }

    pub fn apply_push_response(&self, body: &[u8], now: Millis) -> Result<PushOutcome, SyncError> {
        let response: PushResponse = protocol::decode(body, MAX_RESPONSE_BYTES)?;
        let acknowledged = self.store.acknowledge(&response.acknowledged)?;
        self.store.record_rejections(&response.rejected, now)?;
        let rejected = response.rejected.iter().map(|r| r.hashes.len()).sum();
        Ok(PushOutcome {
            acknowledged,
            rejected,
        })
    }

    pub fn build_pull(&self) -> Result<Vec<u8>, SyncError> {
        let cursor = u64::try_from(self.store.sync_status()?.cursor).unwrap_or(0);
        Ok(protocol::encode_as(
            &PullRequest {
                cursor,
                limit: self.page_size,
            },
            self.protocol_version,
        )?)
    }

    /// Applies one page; the cursor is stored only once the page's documents are.
    pub fn apply_pull_response(&self, body: &[u8], now: Millis) -> Result<PullOutcome, SyncError> {
        let page = protocol::decode_pull_response(body, MAX_RESPONSE_BYTES)?;
        let mut unread_records = 0u64;
        let batch = page
            .docs
            .into_iter()
            .map(|doc| IncomingDoc {
                payload: match doc.payload {
                    PulledPayload::Changes(changes) => IncomingPayload::Changes(changes),
                    PulledPayload::Snapshot { bytes, record } => match record.read() {
                        Some(record) => IncomingPayload::SnapshotWithRecord {
                            bytes,
                            record: Box::new(record),
                        },
                        // A record format this code does not know (a newer server): the
                        // document is the truth, read it instead.
                        None => {
                            unread_records += 1;
                            IncomingPayload::Snapshot(bytes)
                        }
                    },
                },
                doc_id: doc.doc_id,
            })
            .collect();
        if unread_records > 0 {
            tracing::info!(
                records = unread_records,
                "pulled records in a format this app does not know were read from their documents"
            );
            self.store
                .count_records_read_from_documents(unread_records)?;
        }
        let import = self.store.import(batch)?;
        self.store.record_refused_documents(&import.refused, now)?;
        self.store.forget(&page.removals)?;
        let cursor = i64::try_from(page.next_cursor).unwrap_or(i64::MAX);
        self.store.record_sync_success(cursor, now)?;
        Ok(PullOutcome {
            import,
            removed: page.removals.len(),
            has_more: page.has_more,
        })
    }
}

/// Retry schedule for [`sync`]: exponential backoff from `first_delay`, at most `attempts`
/// tries per request. A server's `Retry-After` is honoured: the retry waits at least that long;
/// if it asks for longer than `max_delay`, the round stops there and the next round tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncReport {
    pub pushed: usize,
    pub rejected: usize,
    pub pulled_docs: u32,
    pub removed: usize,
    pub pages: u32,
    pub pings_uploaded: u32,
    /// Refused documents that loaded once fetched again in this round.
    pub refetched: usize,
    /// Documents still refused after this round (see [`Store::refused_documents`]): when not
    /// 0 the round is not a clean success, and the sync status says so.
    pub refused_documents: u64,
}

fn with_retry<T>(
    policy: &RetryPolicy,
    sleep: &mut dyn FnMut(Duration),
    mut step: impl FnMut() -> Result<T, SyncError>,
) -> Result<T, SyncError> {
    let mut attempt = 0;
    loop {
        match step() {
            Err(e) if e.is_retryable() && attempt + 1 < policy.attempts => {
                let asked = e.retry_after().unwrap_or_default();
                if asked > policy.max_delay {
                    return Err(e);
                }
                sleep(policy.delay(attempt).max(asked));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// One full sync round: push everything pending, then pull every page. Retries what is worth
/// retrying with backoff (`sleep` waits; tests pass a no-op). The sync status records the
/// outcome; an error leaves everything not acknowledged in place for the next round, except
/// `device_revoked`: then the store is wiped first ([`Store::wipe`]) and the error returned,
/// and the sync status shows its code.
pub fn sync(
    store: &Store,
    transport: &dyn Transport,
    policy: &RetryPolicy,
    sleep: &mut dyn FnMut(Duration),
    now: &dyn Fn() -> Millis,
) -> Result<SyncReport, SyncError> {
    let round = store.sync_round();
    let result = sync_round(store, transport, policy, sleep, now);
    if let Err(e) = &result {
        if e.is_device_revoked() {
            store.wipe()?;
        }
        store.record_sync_error(&e.to_string(), &e.code(), now())?;
    }
    drop(round); // the last status a live query sees is the finished one
    result
}

fn sync_round(
    store: &Store,
    transport: &dyn Transport,
    policy: &RetryPolicy,
    sleep: &mut dyn FnMut(Duration),
    now: &dyn Fn() -> Millis,
) -> Result<SyncReport, SyncError> {
    let session = SyncSession::new(store);
    let mut report = SyncReport::default();
    while let Some(push) = session.build_push()? {
        let response = with_retry(policy, sleep, || Ok(transport.push(push.body.clone())?))?;
        let outcome = session.apply_push_response(&response, now())?;
        report.pushed += outcome.acknowledged;
        report.rejected += outcome.rejected;
        if outcome.acknowledged + outcome.rejected == 0 {
            break; // the server took none of them: do not spin; the next round retries
        }
    }
    while let Some(batch) = session.build_ping_upload()? {
        let response = with_retry(policy, sleep, || {
            Ok(transport.upload_pings(batch.body.clone())?)
        })?;
        report.pings_uploaded += session.apply_ping_ack(&batch, &response)?;
    }
    // Documents earlier pulls could not load come again as their history, before the pull
    // (whose changes then apply to a whole document).
    for refetch in session.build_refetches()? {
        let response = with_retry(policy, sleep, || {
            Ok(transport.refetch(refetch.body.clone())?)
        })?;
        report.refetched += session
            .apply_refetch_response(&refetch, &response, now())?
            .healed;
    }
    loop {
        let request = session.build_pull()?;
        let response = with_retry(policy, sleep, || Ok(transport.pull(request.clone())?))?;
        let outcome = session.apply_pull_response(&response, now())?;
        report.pages += 1;
        report.pulled_docs += outcome.import.applied;
        report.removed += outcome.removed;
        if !outcome.has_more {
            report.refused_documents = store.sync_status()?.refused_documents;
            return Ok(report);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;
    use crate::model::{Customer, Kind};
    use crate::protocol::PullResponse;
    use crate::protocol::{PulledDoc, PushRequest, RejectCode, Rejection};
    use crate::records::AnyRecord;

    const NOW: Millis = 1_790_000_000_000;

    fn store(dir: &tempfile::TempDir, name: &str) -> Store {
        Store::open(dir.path().join(name)).unwrap()
    }

    #[test]
    fn push_groups_by_document_and_acks_and_rejections_empty_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let device = store(&dir, "d.sqlite");
        let mut first = device.create(Customer::new("Kiosk")).unwrap();
        let second = device.create(Customer::new("Café")).unwrap();
        first.grade = Some(crate::Grade::A);
        device.update(first.clone()).unwrap();
        let session = SyncSession::new(&device);
        let push = session.build_push().unwrap().unwrap();
        assert_eq!(push.hashes.len(), 3);
        let request: PushRequest = protocol::decode(&push.body, 1 << 20).unwrap();
        assert_eq!(request.docs.len(), 2);
        assert_eq!(request.docs[0].doc_id, first.meta.id);
        assert_eq!(
            (request.docs[0].changes.len(), request.docs[0].kind),
            (2, Kind::Customer)
        );

        let response = PushResponse {
            // Pending order: create first, create second, update first.
            acknowledged: vec![push.hashes[0].clone(), push.hashes[2].clone()],
            rejected: vec![Rejection {
                doc_id: second.meta.id.clone(),
                hashes: vec![push.hashes[1].clone()],
                code: RejectCode::Forbidden,
                reason: "customer belongs to another territory".into(),
            }],
        };
        let outcome = session
            .apply_push_response(&protocol::encode(&response).unwrap(), NOW)
            .unwrap();
        assert_eq!(
            outcome,
            PushOutcome {
                acknowledged: 2,
                rejected: 1
            }
        );
        assert!(session.build_push().unwrap().is_none());
        let rejected = device.rejected_changes().unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(
            (rejected[0].doc_id.as_str(), rejected[0].code),
            (second.meta.id.as_str(), RejectCode::Forbidden)
        );
        assert!(
            device.get::<Customer>(&second.meta.id).unwrap().is_some(),
            "the edit stays visible"
        );
        assert_eq!(device.sync_status().unwrap().rejected_changes, 1);
        device.dismiss_rejections(&second.meta.id).unwrap();
        assert!(device.rejected_changes().unwrap().is_empty());
    }

    #[test]
    fn a_record_in_a_format_this_app_does_not_know_is_read_from_its_document() {
        let dir = tempfile::tempdir().unwrap();
        let source = store(&dir, "s.sqlite");
        let mut sent = Customer::new("Hotel Spree");
        sent.notes = "Orders on Mondays".into();
        let sent = source.create(sent).unwrap();
        let readable = source.create(Customer::new("Kiosk")).unwrap();
        let device = store(&dir, "d.sqlite");
        let snapshot = |c: &Customer, record: protocol::WireRecord| PulledDoc {
            doc_id: c.meta.id.clone(),
            payload: PulledPayload::Snapshot {
                bytes: source.document_bytes(&c.meta.id).unwrap().unwrap(),
                record,
            },
        };
        let page = PullResponse {
            docs: vec![
                // What a newer server sends: a format number and bytes this code cannot read.
                snapshot(
                    &sent,
                    protocol::WireRecord {
                        format: protocol::RECORD_FORMAT + 1,
                        bytes: vec![0xA5; 40],
                    },
                ),
                snapshot(
                    &readable,
                    protocol::WireRecord::new(&AnyRecord::Customer(readable.clone())).unwrap(),
                ),
            ],
            removals: vec![],
            next_cursor: 5,
            has_more: false,
        };
        let outcome = SyncSession::new(&device)
            .apply_pull_response(
                &protocol::encode_pull_response(&page, protocol::PROTOCOL_VERSION).unwrap(),
                NOW,
            )
            .unwrap();
        assert_eq!(outcome.import.applied, 2, "the page did not fail");
        assert_eq!(
            device.get::<Customer>(&sent.meta.id).unwrap().unwrap(),
            sent
        );
        assert_eq!(
            device.get::<Customer>(&readable.meta.id).unwrap().unwrap(),
            readable
        );
        let status = device.sync_status().unwrap();
        assert_eq!(status.records_read_from_documents, 1);
        assert_eq!(status.cursor, 5);
        assert_eq!(
            status.last_error_code, None,
            "nothing was lost: not an error"
        );
    }

    #[test]
    fn a_pull_page_applies_snapshots_and_removals_then_moves_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let source = store(&dir, "s.sqlite");
        let kept = source.create(Customer::new("Hotel Spree")).unwrap();
        let device = store(&dir, "d.sqlite");
        let leaving = device.create(Customer::new("Moved away")).unwrap();
        let session = SyncSession::new(&device);
        let page = PullResponse {
            docs: vec![PulledDoc {
                doc_id: kept.meta.id.clone(),
                payload: PulledPayload::Snapshot {
                    bytes: source.document_bytes(&kept.meta.id).unwrap().unwrap(),
                    record: protocol::WireRecord::new(&AnyRecord::Customer(kept.clone())).unwrap(),
                },
            }],
            removals: vec![leaving.meta.id.clone()],
            next_cursor: 17,
            has_more: false,
        };
        let request: PullRequest =
            protocol::decode(&session.build_pull().unwrap(), 1 << 20).unwrap();
        assert_eq!(request.cursor, 0);
        let outcome = session
            .apply_pull_response(
                &protocol::encode_pull_response(&page, protocol::PROTOCOL_VERSION).unwrap(),
                NOW,
            )
            .unwrap();
        assert_eq!(
            (outcome.import.applied, outcome.removed, outcome.has_more),
            (1, 1, false)
        );
        assert_eq!(
            device.get::<Customer>(&kept.meta.id).unwrap().unwrap(),
            kept
        );
        assert!(
            device.get_any(&leaving.meta.id).unwrap().is_none(),
            "gone from the device"
        );
        assert_eq!(
            device.sync_status().unwrap().pending_changes,
            0,
            "its queued change too"
        );
        let status = device.sync_status().unwrap();
        assert_eq!((status.cursor, status.last_sync_at), (17, Some(NOW)));
        let request: PullRequest =
            protocol::decode(&session.build_pull().unwrap(), 1 << 20).unwrap();
        assert_eq!(request.cursor, 17);
        // A corrupt page moves nothing.
        let err = session
            .apply_pull_response(b"FCRM\x01\x00garbage", NOW)
            .unwrap_err();
        assert!(matches!(err, SyncError::Protocol(_)), "{err}");
        assert_eq!(device.sync_status().unwrap().cursor, 17);
    }

    /// A network that is down for the first `failures` requests, then answers every push with
    /// an acknowledgement of everything and every pull with an empty last page.
    struct Flaky {
        failures: Cell<u32>,
        pushes: RefCell<Vec<Vec<u8>>>,
    }

    impl Transport for Flaky {
        fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            if self.failures.get() > 0 {
                self.failures.set(self.failures.get() - 1);
                return Err(TransportError::Offline("connection refused".into()));
            }
            let request: PushRequest = protocol::decode(&body, 1 << 20)
                .map_err(|e| TransportError::Offline(e.to_string()))?;
            self.pushes.borrow_mut().push(body);
            let acknowledged = request
                .docs
                .iter()
                .flat_map(|d| d.changes.iter())
                .filter_map(|c| automerge::Change::from_bytes(c.clone()).ok())
                .map(|c| c.hash().to_string())
                .collect();
            protocol::encode(&PushResponse {
                acknowledged,
                rejected: vec![],
            })
            .map_err(|e| TransportError::Offline(e.to_string()))
        }

        fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            let upload: crate::protocol::PingUpload = protocol::decode(&body, 1 << 20)
                .map_err(|e| TransportError::Offline(e.to_string()))?;
            protocol::encode(&PingAck {
                batch_id: upload.batch_id,
                stored: upload.pings.len() as u32,
                duplicates: 0,
                refused: vec![],
            })
            .map_err(|e| TransportError::Offline(e.to_string()))
        }

        fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            let request: crate::protocol::RefetchRequest = protocol::decode(&body, 1 << 20)
                .map_err(|e| TransportError::Offline(e.to_string()))?;
            protocol::encode_refetch_response(
                &crate::protocol::RefetchResponse {
                    docs: vec![],
                    missing: request.doc_ids,
                },
                protocol::PROTOCOL_VERSION,
            )
            .map_err(|e| TransportError::Offline(e.to_string()))
        }

        fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            let page = PullResponse {
                docs: vec![],
                removals: vec![],
                next_cursor: 3,
                has_more: false,
            };
            protocol::encode_pull_response(&page, protocol::PROTOCOL_VERSION)
                .map_err(|e| TransportError::Offline(e.to_string()))
        }
    }

    #[test]
    fn a_live_sync_status_follows_writes_and_rounds() {
        struct Statuses(std::sync::Mutex<Vec<crate::SyncStatus>>);
        impl crate::QueryListener for Statuses {
            fn on_result(&self, result: crate::QueryResult) {
                if let crate::QueryResult::SyncStatus(status) = result {
                    self.0.lock().unwrap().push(status);
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let device = store(&dir, "d.sqlite");
        let seen = std::sync::Arc::new(Statuses(std::sync::Mutex::new(Vec::new())));
        let _live = device
            .subscribe(crate::Query::SyncStatus, seen.clone())
            .unwrap();
        device.create(Customer::new("Kiosk")).unwrap();
        let flaky = Flaky {
            failures: Cell::new(0),
            pushes: RefCell::new(vec![]),
        };
        sync(
            &device,
            &flaky,
            &RetryPolicy::default(),
            &mut |_| {},
            &|| NOW,
        )
        .unwrap();
        let seen = seen.0.lock().unwrap();
        let summary: Vec<(u64, bool, i64)> = seen
            .iter()
            .map(|s| (s.pending_changes, s.syncing, s.cursor))
            .collect();
        assert_eq!(summary.first(), Some(&(0, false, 0)), "{summary:?}");
        assert!(summary.contains(&(1, false, 0)), "the write: {summary:?}");
        assert!(
            summary.contains(&(1, true, 0)),
            "the round starts: {summary:?}"
        );
        assert!(summary.contains(&(0, true, 0)), "acknowledged: {summary:?}");
        assert_eq!(
            summary.last(),
            Some(&(0, false, 3)),
            "finished: {summary:?}"
        );
    }

    /// Answers the first `refusals` pushes with `429 rate_limited` and a `Retry-After`, then
    /// as `inner`.
    struct Busy {
        refusals: Cell<u32>,
        retry_after: Duration,
        inner: Flaky,
    }

    impl Transport for Busy {
        fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            if self.refusals.get() > 0 {
                self.refusals.set(self.refusals.get() - 1);
                return Err(TransportError::Server {
                    status: 429,
                    code: "rate_limited".into(),
                    retry_after: Some(self.retry_after),
                });
            }
            self.inner.push(body)
        }

        fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            self.inner.upload_pings(body)
        }

        fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            self.inner.pull(body)
        }

        fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            self.inner.refetch(body)
        }
    }

    #[test]
    fn sync_waits_as_long_as_the_server_asks_and_gives_up_the_round_if_too_long() {
        let dir = tempfile::tempdir().unwrap();
        let device = store(&dir, "d.sqlite");
        device.create(Customer::new("Kiosk")).unwrap();
        let policy = RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
        };
        let busy = |refusals, retry_after| Busy {
            refusals: Cell::new(refusals),
            retry_after,
            inner: Flaky {
                failures: Cell::new(0),
                pushes: RefCell::new(vec![]),
            },
        };

        // Longer than the policy waits inline: no retry in this round, nothing lost.
        let mut waits = Vec::new();
        let too_long = busy(1, Duration::from_secs(60));
        let err = sync(&device, &too_long, &policy, &mut |d| waits.push(d), &|| NOW).unwrap_err();
        assert_eq!(err.code(), "rate_limited");
        assert!(waits.is_empty(), "{waits:?}");
        assert_eq!(device.sync_status().unwrap().pending_changes, 1);

        // Within it: each retry waits at least what the server asked, then the push goes.
        let mut waits = Vec::new();
        let brief = busy(2, Duration::from_secs(2));
        let report = sync(&device, &brief, &policy, &mut |d| waits.push(d), &|| NOW).unwrap();
        assert_eq!(report.pushed, 1);
        assert_eq!(waits, [Duration::from_secs(2), Duration::from_secs(2)]);
        assert_eq!(brief.inner.pushes.borrow().len(), 1);
    }

    #[test]
    fn sync_retries_with_backoff_and_records_the_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let device = store(&dir, "d.sqlite");
        device.create(Customer::new("Kiosk")).unwrap();
        device
            .record_pings(&[crate::Fix {
                at: crate::store::now_ms() - 1_000,
                lat: 52.5,
                lon: 13.4,
                accuracy_m: 5.0,
                mock: false,
            }])
            .unwrap();
        let policy = RetryPolicy {
            attempts: 4,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(250),
        };
        let mut waits = Vec::new();

        let down = Flaky {
            failures: Cell::new(10),
            pushes: RefCell::new(vec![]),
        };
        let err = sync(&device, &down, &policy, &mut |d| waits.push(d), &|| NOW).unwrap_err();
        assert!(matches!(
            err,
            SyncError::Transport(TransportError::Offline(_))
        ));
        assert_eq!(waits, [100, 200, 250].map(Duration::from_millis));
        let status = device.sync_status().unwrap();
        assert_eq!(
            (status.pending_changes, status.pending_pings),
            (1, 1),
            "nothing lost"
        );
        assert!(status.last_error.is_some());
        assert_eq!(status.last_error_code.as_deref(), Some("offline"));

        let flaky = Flaky {
            failures: Cell::new(2),
            pushes: RefCell::new(vec![]),
        };
        let report = sync(&device, &flaky, &policy, &mut |_| {}, &|| NOW + 1).unwrap();
        assert_eq!(
            (report.pushed, report.pages, report.pings_uploaded),
            (1, 1, 1)
        );
        let status = device.sync_status().unwrap();
        assert_eq!(
            (
                status.pending_changes,
                status.pending_pings,
                status.cursor,
                status.last_error
            ),
            (0, 0, 3, None)
        );
        assert_eq!(flaky.pushes.borrow().len(), 1);
    }

    /// A server that refuses every request with one status and code.
    struct Refusing(u16, &'static str);

    impl Transport for Refusing {
        fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            Err(TransportError::Server {
                status: self.0,
                code: self.1.to_owned(),
                retry_after: None,
            })
        }
        fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            self.push(body)
        }
        fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            self.push(body)
        }
        fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            self.push(body)
        }
    }

    #[test]
    fn device_revoked_wipes_the_store_and_other_refusals_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let device = store(&dir, "d.sqlite");
        let kiosk = device.create(Customer::new("Kiosk")).unwrap();
        let policy = RetryPolicy::default();

        let err = sync(
            &device,
            &Refusing(401, "token_expired"),
            &policy,
            &mut |_| {},
            &|| NOW,
        )
        .unwrap_err();
        assert!(!err.is_device_revoked());
        assert!(device.get_any(&kiosk.meta.id).unwrap().is_some(), "kept");

        let err = sync(
            &device,
            &Refusing(401, DEVICE_REVOKED),
            &policy,
            &mut |_| {},
            &|| NOW,
        )
        .unwrap_err();
        assert!(err.is_device_revoked());
        assert_eq!(err.code(), DEVICE_REVOKED);
        assert!(device.get_any(&kiosk.meta.id).unwrap().is_none(), "wiped");
        let status = device.sync_status().unwrap();
        assert_eq!(status.pending_changes, 0);
        assert_eq!(status.last_error_code.as_deref(), Some(DEVICE_REVOKED));
    }
}

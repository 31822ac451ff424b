//! The device side of sync, without I/O: build a push, apply its acknowledgement, build a pull,
//! apply a page. A [`Transport`] (the host app's HTTP client, or the built-in one) moves the
//! bytes; [`sync`] drives one full round over a transport with retries (`sync/round.rs`).
//!
//! Nothing acknowledged is lost and nothing is sent twice in vain: a change leaves the upload
//! queue only when the server acknowledges its hash (or rejects it, when it moves to the
//! rejected list), and the pull cursor advances only after a page is applied.

use std::time::Duration;

use thiserror::Error;

use crate::error::StoreError;
use crate::model::Millis;
use crate::protocol::{self, PingAck, ProtocolError, PullRequest, PulledPayload, PushResponse};
use crate::store::{ImportReport, IncomingDoc, IncomingPayload, Store, SyncSlot};

mod round;
mod transport;

pub use round::{RetryPolicy, SyncReport, sync};
pub use transport::{Transport, TransportError};

/// The server's code for a device whose access was revoked (the device was revoked or its user
/// disabled): [`sync`] wipes the store ([`Store::wipe`]) when it sees it.
pub const DEVICE_REVOKED: &str = "device_revoked";
/// The server's code for an app whose protocol version it no longer serves (HTTP 426).
pub const UPGRADE_REQUIRED: &str = "upgrade_required";

/// Largest decompressed response a device accepts.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum SyncError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("unreadable server response: {0}")]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another sync session is running on this store: refused at once, nothing was done (one
    /// sync at a time per store; try again once it has ended).
    #[error("a sync is already running on this store")]
    AlreadySyncing,
}

impl SyncError {
    /// A stable code for apps: `offline`, the server's error code, a protocol code,
    /// `storage`, or `already_syncing`.
    pub fn code(&self) -> String {
        match self {
            SyncError::AlreadySyncing => "already_syncing".to_owned(),
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

/// The steps of a sync round, as pure functions of the store and the bytes exchanged. At most
/// one session runs per store at a time: it holds the store's sync slot until it is dropped.
#[derive(Debug)]
pub struct SyncSession<'s> {
    pub(crate) store: &'s Store,
    slot: SyncSlot<'s>,
    /// Changes per push request.
    pub push_batch: u32,
    /// Documents per pull page.
    pub page_size: u32,
    /// Pings per upload batch.
    pub ping_batch: usize,
    /// Customers per analytics page ([`crate::insights`]).
    pub insights_page: u32,
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
    /// Starts a session on `store`; [`SyncError::AlreadySyncing`] at once while another one
    /// (or a [`sync`] round) runs on it. The store shows `syncing` until the session drops.
    pub fn new(store: &'s Store) -> Result<Self, SyncError> {
        let slot = store.claim_sync_slot().ok_or(SyncError::AlreadySyncing)?;
        Ok(SyncSession {
            store,
            slot,
            push_batch: 500,
            page_size: 1_000,
            ping_batch: 1_000,
            insights_page: crate::insights::DEVICE_INSIGHTS_PAGE,
            protocol_version: protocol::PROTOCOL_VERSION,
        })
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

#[cfg(test)]
mod tests;

//! The uniffi mirrors of sync-facing values: the sync status, rejected changes, a round's
//! report, refused documents and a verification's report.

use fieldcrm_core as fc;

use super::*;

fn count(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// Upload queue and last sync outcome, for a status line in the app.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncStatus {
    /// Local changes not yet acknowledged by the server.
    pub pending_changes: u64,
    /// Changes the server refused (see `rejected_changes`).
    pub rejected_changes: u64,
    pub last_sync_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// The last failed attempt's error, cleared by a successful sync.
    pub last_error: Option<String>,
    /// Its stable code: `offline`, the server's error code (`token_expired`, ...), a protocol
    /// code (`malformed_message`, ...) or `storage`.
    pub last_error_code: Option<String>,
    /// The server position this device has pulled up to.
    pub cursor: i64,
    /// A sync is running on this store now.
    pub syncing: bool,
    /// Location pings not yet acknowledged by the server.
    pub pending_pings: u64,
    /// Documents from the server this device could not load (see `refused_documents`); while
    /// any remain, `last_error_code` is `document_refused` unless a later error replaced it.
    /// Each sync fetches them again.
    pub refused_documents: u64,
    /// Records of pulled snapshots sent in a format this version of the library does not know
    /// (a newer server) and read from the documents instead, since the store was made. Nothing
    /// was lost; a growing number says the app is older than the server.
    pub records_read_from_documents: u64,
    /// Documents this device holds that read without some of their fields: a field held a value
    /// of the wrong type (a string where a number is expected, written by a buggy or newer
    /// peer). The record shows without it and the value stays in the document; each counts
    /// until a later version of it reads whole.
    pub partly_read_documents: u64,
}

impl From<fc::SyncStatus> for SyncStatus {
    fn from(s: fc::SyncStatus) -> Self {
        SyncStatus {
            pending_changes: s.pending_changes,
            rejected_changes: s.rejected_changes,
            last_sync_at: s.last_sync_at,
            last_attempt_at: s.last_attempt_at,
            last_error: s.last_error,
            last_error_code: s.last_error_code,
            cursor: s.cursor,
            syncing: s.syncing,
            pending_pings: s.pending_pings,
            refused_documents: s.refused_documents,
            records_read_from_documents: s.records_read_from_documents,
            partly_read_documents: s.partly_read_documents,
        }
    }
}

/// A local change the server refused; the edit stays in the local record.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RejectedChange {
    pub doc_id: String,
    pub kind: RecordKind,
    pub hash: String,
    pub code: RejectCode,
    /// The server's explanation, for people.
    pub reason: String,
    pub at: i64,
}

impl From<fc::RejectedChange> for RejectedChange {
    fn from(r: fc::RejectedChange) -> Self {
        RejectedChange {
            doc_id: r.doc_id,
            kind: r.kind.into(),
            hash: r.hash,
            code: r.code.into(),
            reason: r.reason,
            at: r.at,
        }
    }
}

/// What one sync round did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncReport {
    pub pushed: u64,
    pub rejected: u64,
    pub pulled_docs: u32,
    pub removed: u64,
    pub pages: u32,
    pub pings_uploaded: u32,
    /// Refused documents that loaded once fetched again in this round.
    pub refetched: u64,
    /// Documents still refused after this round: when not 0 the round is not a clean success
    /// (see `SyncStatus.refused_documents`).
    pub refused_documents: u64,
    /// Customers' analytics received in this round.
    pub insights_customers: u64,
    /// The analytics run installed in this round, if one was.
    pub insights_run: Option<i64>,
}

impl From<fc::SyncReport> for SyncReport {
    fn from(r: fc::SyncReport) -> Self {
        SyncReport {
            pushed: count(r.pushed),
            rejected: count(r.rejected),
            pulled_docs: r.pulled_docs,
            removed: count(r.removed),
            pages: r.pages,
            pings_uploaded: r.pings_uploaded,
            refetched: count(r.refetched),
            refused_documents: r.refused_documents,
            insights_customers: r.insights_customers,
            insights_run: r.insights_run,
        }
    }
}

/// A document from the server this device could not load; fetched again at every sync until
/// it loads.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RefusedDocument {
    pub doc_id: String,
    /// `malformed_data`, `invalid_record`, `id_mismatch`, `incomplete_history` or
    /// `not_returned`.
    pub code: String,
    /// For people.
    pub reason: String,
    pub first_refused_at: i64,
    pub last_refused_at: i64,
    /// Times it was refused: the first import, then each refetch that failed.
    pub attempts: u32,
}

impl From<fc::RefusedDocument> for RefusedDocument {
    fn from(r: fc::RefusedDocument) -> Self {
        RefusedDocument {
            doc_id: r.doc_id,
            code: r.code,
            reason: r.reason,
            first_refused_at: r.first_refused_at,
            last_refused_at: r.last_refused_at,
            attempts: r.attempts,
        }
    }
}

/// Result of checking documents that arrived in a bootstrap against their projections.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VerifyReport {
    pub verified: u32,
    /// Ids of documents that did not read as the record they arrived with.
    pub failed_ids: Vec<String>,
    /// Unverified documents left for a later call.
    pub remaining: u64,
}

impl From<fc::VerifyReport> for VerifyReport {
    fn from(r: fc::VerifyReport) -> Self {
        VerifyReport {
            verified: r.verified,
            failed_ids: r.failed.into_iter().map(|f| f.doc_id).collect(),
            remaining: r.remaining,
        }
    }
}

//! The sync status a device shows: what waits for upload, how the last round ended, whether one
//! runs now. Read by a query (`Query::SyncStatus`, live too) and by [`crate::Store::sync_status`].

use super::Millis;

#[derive(Debug, Clone, PartialEq)]
pub struct SyncStatus {
    pub pending_changes: u64,
    pub cursor: i64,
    pub last_sync_at: Option<Millis>,
    pub last_attempt_at: Option<Millis>,
    pub last_error: Option<String>,
    /// The last error's stable code: `offline`, the server's error code (`token_expired`,
    /// `forbidden`, ...), a protocol code (`malformed_message`, ...) or `storage`.
    pub last_error_code: Option<String>,
    pub rejected_changes: u64,
    /// Documents this device could not load from what the server sent (see
    /// [`crate::Store::refused_documents`]); while any remain, the last error's code is
    /// `document_refused` unless a later error replaced it. Each sync fetches them again.
    pub refused_documents: u64,
    /// Location pings recorded and not yet acknowledged by the server.
    pub pending_pings: u64,
    /// A sync session (a [`crate::sync`] round, or a [`crate::SyncSession`] of its own) runs
    /// on this store now.
    pub syncing: bool,
    /// Records of pulled snapshots this device could not read as the server sent them (a
    /// record format it does not know: the server is newer) and read from the document
    /// instead, since the store was made. Nothing is lost; a growing number says the app is
    /// older than the server.
    pub records_read_from_documents: u64,
    /// Documents this device holds that read without some of their fields: a field held a
    /// value of the wrong type (a string where a number is expected, written by a buggy or
    /// newer peer). The record shows without it and the value stays in the document; each
    /// counts until a later version of it reads whole.
    pub partly_read_documents: u64,
}

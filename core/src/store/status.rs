//! The sync status: the state of the last round (cursor, time, error), live sync-status
//! queries re-run when it changes, and the store's one sync slot.

use super::*;
use crate::model::SyncStatus;

/// The store's one sync slot: one sync at a time per store, whoever embeds it, because two
/// rounds at once would upload the same changes twice and could apply a page over a cursor the
/// other moved. Held by a [`crate::SyncSession`] from its start to its drop, so it is given
/// back on every exit: a return, an error, a panic unwinding through the holder.
#[derive(Debug)]
pub(crate) struct SyncSlot<'s>(&'s Store);

impl Drop for SyncSlot<'_> {
    fn drop(&mut self) {
        self.0
            .syncing
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.0.notify_sync_state();
    }
}

impl Store {
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let mut status = query::sync_status(&self.lock().conn)?;
        status.syncing = self.is_syncing();
        Ok(status)
    }

    /// Re-runs the live sync-status queries after the upload queue, the rejected list or the
    /// sync state changed without a record changing.
    pub(super) fn sync_state_changed(&self, inner: MutexGuard<'_, Inner>) {
        if self.live.has_subscribers() {
            self.live
                .refresh_where(Query::is_sync_status, |q| self.run_query(&inner.conn, q));
        }
        drop(inner);
        self.live.deliver();
    }

    pub(super) fn is_syncing(&self) -> bool {
        self.syncing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Takes the sync slot until the returned guard drops, or `None` at once while another
    /// session holds it (never a wait). Live sync statuses see both ends.
    pub(crate) fn claim_sync_slot(&self) -> Option<SyncSlot<'_>> {
        use std::sync::atomic::Ordering::SeqCst;
        self.syncing
            .compare_exchange(false, true, SeqCst, SeqCst)
            .ok()?;
        self.notify_sync_state();
        Some(SyncSlot(self))
    }

    /// [`Store::sync_state_changed`] for modules that do not hold the lock.
    pub(crate) fn notify_sync_state(&self) {
        self.sync_state_changed(self.lock());
    }

    /// Counts `count` pulled records read from their documents instead of as sent (see
    /// [`SyncStatus::records_read_from_documents`]).
    pub fn count_records_read_from_documents(&self, count: u64) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let inner = self.lock();
        inner.conn.execute(
            "UPDATE sync_state SET records_read_from_documents = records_read_from_documents + ?1 WHERE id = 1",
            params![i64::try_from(count).unwrap_or(i64::MAX)],
        )?;
        self.sync_state_changed(inner);
        Ok(())
    }

    /// Records a completed sync round: the server cursor reached, and when.
    pub fn record_sync_success(&self, cursor: i64, at: Millis) -> Result<()> {
        let inner = self.lock();
        inner.conn.execute(
            "UPDATE sync_state SET cursor = ?1, last_sync_at = ?2, last_attempt_at = ?2, last_error = NULL,
               last_error_code = NULL WHERE id = 1",
            params![cursor, at],
        )?;
        self.sync_state_changed(inner);
        Ok(())
    }

    /// Records a failed sync attempt: the message is shown to the user as is, the code is for
    /// the app to branch on.
    pub fn record_sync_error(&self, message: &str, code: &str, at: Millis) -> Result<()> {
        let inner = self.lock();
        inner.conn.execute(
            "UPDATE sync_state SET last_error = ?1, last_error_code = ?2, last_attempt_at = ?3 WHERE id = 1",
            params![message, code, at],
        )?;
        self.sync_state_changed(inner);
        Ok(())
    }
}

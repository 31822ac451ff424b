//! The sync round over a [`Transport`]: push, pings, refetch, pull, each request retried with
//! backoff as [`RetryPolicy`] says.

use std::time::Duration;

use super::{SyncError, SyncSession, Transport, TransportError};
use crate::insights::{InsightsOutcome, MAX_INSIGHTS_PAGES_PER_ROUND};
use crate::model::Millis;
use crate::store::Store;

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
    /// Customers' analytics received in this round (staged or installed).
    pub insights_customers: u64,
    /// The analytics run installed in this round, if one was.
    pub insights_run: Option<i64>,
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
/// and the sync status shows its code. While another round or [`SyncSession`] runs on the store
/// this is [`SyncError::AlreadySyncing`] at once, and the status is left to that one.
pub fn sync(
    store: &Store,
    transport: &dyn Transport,
    policy: &RetryPolicy,
    sleep: &mut dyn FnMut(Duration),
    now: &dyn Fn() -> Millis,
) -> Result<SyncReport, SyncError> {
    let session = SyncSession::new(store)?;
    let result = sync_round(&session, transport, policy, sleep, now);
    if let Err(e) = &result {
        if e.is_device_revoked() {
            store.wipe_in_sync(&session.slot)?;
        }
        store.record_sync_error(&e.to_string(), &e.code(), now())?;
    }
    drop(session); // the last status a live query sees is the finished one
    result
}

fn sync_round(
    session: &SyncSession<'_>,
    transport: &dyn Transport,
    policy: &RetryPolicy,
    sleep: &mut dyn FnMut(Duration),
    now: &dyn Fn() -> Millis,
) -> Result<SyncReport, SyncError> {
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
            report.refused_documents = session.store.sync_status()?.refused_documents;
            break;
        }
    }
    insights_round(session, transport, policy, sleep, &mut report)?;
    Ok(report)
}

/// Downloads the analytics snapshot when the server has a newer run (`insights.rs`). A server
/// without analytics (404, or no run) is no error: the device keeps what it holds.
fn insights_round(
    session: &SyncSession<'_>,
    transport: &dyn Transport,
    policy: &RetryPolicy,
    sleep: &mut dyn FnMut(Duration),
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let mut restarted = false;
    for _ in 0..MAX_INSIGHTS_PAGES_PER_ROUND {
        let request = session.build_insights_request()?;
        let response = with_retry(policy, sleep, || Ok(transport.analytics(&request.query)?));
        let body = match response {
            Err(SyncError::Transport(TransportError::Server { status: 404, .. })) => {
                return Ok(());
            }
            other => other?,
        };
        match session.apply_insights_page(&request, &body)? {
            InsightsOutcome::Staged { customers } => report.insights_customers += customers as u64,
            InsightsOutcome::Installed { run_id, customers } => {
                report.insights_customers += customers as u64;
                report.insights_run = Some(run_id);
                return Ok(());
            }
            // Once per round: a server whose run keeps changing is left to the next round.
            InsightsOutcome::Restart if !restarted => restarted = true,
            InsightsOutcome::Restart | InsightsOutcome::NoRun | InsightsOutcome::Unchanged => {
                return Ok(());
            }
        }
    }
    Ok(())
}

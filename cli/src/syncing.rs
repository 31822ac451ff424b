//! `fieldcrm pending`, `status` and `sync`: the upload queue, the sync status and a sync round.

use crate::output::out;
use std::path::Path;

use fieldcrm_core::{HttpTransport, Millis, RetryPolicy, Store, now_ms, sync};

use crate::error::CliError;
use crate::paging::MAX_ROWS;
use crate::session::Session;
use crate::time_text::at;

/// The first 12 characters of an id or hash.
pub fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// `fieldcrm pending`: local changes not yet acknowledged.
pub fn pending(store: &Store) -> Result<(), CliError> {
    let pending = store.pending_changes(MAX_ROWS)?;
    if pending.is_empty() {
        out!("no pending changes");
    }
    for change in &pending {
        out!(
            "{:>5}  {:<11} {}  change {}  {} bytes",
            change.seq,
            change.kind,
            change.doc_id,
            short(&change.hash),
            change.bytes.len()
        );
    }
    let total = store.sync_status()?.pending_changes;
    if (pending.len() as u64) < total {
        out!("{} of {total} shown (the oldest first)", pending.len());
    }
    Ok(())
}

/// `fieldcrm sync`: push local changes, pull what changed on the server.
pub fn sync_now(store: &Store, session_path: &Path) -> Result<(), CliError> {
    let session = Session::require(session_path)?;
    let transport = HttpTransport::new(&session.server, &session.token);
    let report = match sync(
        store,
        &transport,
        &RetryPolicy::default(),
        &mut |delay| std::thread::sleep(delay),
        &now_ms,
    ) {
        Ok(report) => report,
        // The core has wiped the store already; the token is dead too.
        Err(err) if err.is_device_revoked() => {
            Session::remove(session_path)?;
            return Err(CliError::DeviceRevoked);
        }
        Err(err) => return Err(err.into()),
    };
    out!(
        "synced with {}: {} changes pushed, {} rejected, {} documents received, {} removed ({} pages)",
        session.server,
        report.pushed,
        report.rejected,
        report.pulled_docs,
        report.removed,
        report.pages
    );
    if report.rejected > 0 {
        out!("some changes were rejected: see `fieldcrm rejected`");
    }
    if report.refetched > 0 {
        out!(
            "{} documents that had not loaded were fetched again and loaded",
            report.refetched
        );
    }
    if report.refused_documents > 0 {
        return Err(CliError::DocumentsRefused {
            count: report.refused_documents,
        });
    }
    Ok(())
}

pub fn status(store: &Store, session_path: &Path) -> Result<(), CliError> {
    match Session::load(session_path)? {
        Some(s) => out!(
            "logged in:      {} at {} (user {})",
            s.username,
            s.server,
            s.user_id
        ),
        None => out!("logged in:      no"),
    }
    let status = store.sync_status()?;
    let time = |when: Option<Millis>| when.map_or("never".to_owned(), at);
    out!("pending:        {} changes", status.pending_changes);
    out!("cursor:         {}", status.cursor);
    out!("last sync:      {}", time(status.last_sync_at));
    out!("last attempt:   {}", time(status.last_attempt_at));
    match (&status.last_error, &status.last_error_code) {
        (Some(error), Some(code)) => out!("last error:     {error} ({code})"),
        (Some(error), None) => out!("last error:     {error}"),
        _ => out!("last error:     none"),
    }
    out!("rejected:       {} changes", status.rejected_changes);
    for rejected in store.rejected_changes()? {
        out!(
            "  {} {} change {}: {} ({})",
            rejected.kind,
            rejected.doc_id,
            short(&rejected.hash),
            rejected.reason,
            rejected.code.as_str()
        );
    }
    out!("refused:        {} documents", status.refused_documents);
    for refused in store.refused_documents()? {
        out!(
            "  {}: {} ({}, {} attempts)",
            refused.doc_id,
            refused.reason,
            refused.code,
            refused.attempts
        );
    }
    Ok(())
}

//! Service cases on the server: the organisation's SLA per severity (set by an admin, see
//! `admin.rs` and `storage/sqlite_cases.rs`), the due time stamped from it, escalation of
//! overdue cases ([`escalation`]), and who may escalate ([`rules`]).
//!
//! Due time: the device stamps `due_at` when a case is created, from the default SLA, so a rep
//! offline sees one at once; the escalation run then stamps the organisation's due time
//! (created + the severity's hours) on every open case whose due time differs, as the admin's
//! change, which devices receive at their next sync (the way the ABC grade is set). The due
//! time follows the SLA: a hand-edited one is set back at the next run.

pub mod escalation;
pub mod overview;
pub mod rules;

/// `--severity`: a severity this code knows.
pub fn severity_arg(text: &str) -> Result<fieldcrm_core::Severity, String> {
    fieldcrm_core::Severity::parse_known(text)
        .ok_or_else(|| "expected critical, high, medium or low".to_owned())
}

#[cfg(test)]
mod tests;

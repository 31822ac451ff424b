//! Escalation of overdue cases: a run reads every case, stamps the organisation's due time
//! where it differs, and escalates each open case past its due time that was not escalated
//! yet. What a run does is decided by [`what_is_due`], a pure function of the cases, the SLA
//! and the clock; the writes go through a device the server runs as the named admin
//! ([`ServerDevice`]), so the authority checks apply and devices receive the due time and the
//! escalation (its time and history entry) through normal sync. A case escalates at most
//! once: its escalation time is written once, and an escalated case is never due again.
//! `serve --escalate-every` runs it on a schedule ([`run_on_schedule`]); `case escalate` once.

use std::sync::Arc;
use std::time::Duration;

use fieldcrm_core::{Case, CaseSla, Kind, Millis, StoreError};

use crate::model::{Role, now_ms};
use crate::server_device::{DeviceError, ServerDevice};
use crate::storage::{MAX_CASES_PAGE, Storage, StorageError};

/// The note of an escalation's history entry.
pub const ESCALATION_NOTE: &str = "overdue: escalated by the server";

/// What a run does to one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDue {
    pub case_id: String,
    /// The organisation's due time, when the case holds another.
    pub restamp: Option<Millis>,
    /// The case is open, past its due time and not escalated yet.
    pub escalate: bool,
}

/// What a run does to `cases` at `now` under `sla`: the due time is the case's creation plus
/// its severity's hours (a severity this code does not know keeps the case's own); an open
/// case (neither resolved nor in a status this code does not know) whose due time is before
/// `now` and that was never escalated escalates. Deleted and resolved cases are left alone.
pub fn what_is_due(cases: &[Case], sla: &CaseSla, now: Millis) -> Vec<CaseDue> {
    cases
        .iter()
        .filter(|c| !c.meta.deleted && !c.is_resolved() && !c.status.is_unknown())
        .filter_map(|c| {
            let due = sla.due_at(c.meta.created_at, &c.severity).or(c.due_at);
            let restamp = due.filter(|due| c.due_at != Some(*due));
            let escalate = c.escalated_at.is_none() && due.is_some_and(|due| due < now);
            (restamp.is_some() || escalate).then(|| CaseDue {
                case_id: c.meta.id.clone(),
                restamp,
                escalate,
            })
        })
        .collect()
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EscalationReport {
    pub cases: u64,
    /// Cases whose due time was set to the organisation's.
    pub restamped: u64,
    pub escalated: u64,
    /// Edits the store or the push refused (logged).
    pub refused: u64,
}

impl std::fmt::Display for EscalationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases: {} escalated, {} due times set from the SLA, {} refused",
            self.cases, self.escalated, self.restamped, self.refused
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EscalationError {
    #[error("--escalate-as: {0:?} is not an enabled admin")]
    NotAdmin(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the escalation store failed: {0}")]
    Store(#[from] StoreError),
    #[error("the escalation push failed: {0}")]
    Device(#[from] DeviceError),
}

/// One escalation run at `now`, as the admin named `admin`.
pub fn escalate_overdue(
    storage: &dyn Storage,
    admin: &str,
    now: Millis,
) -> Result<EscalationReport, EscalationError> {
    let user = storage
        .user_by_username(admin)?
        .filter(|u| u.role == Role::Admin)
        .ok_or_else(|| EscalationError::NotAdmin(admin.to_owned()))?;
    if storage.user_disabled(&user.id)? {
        return Err(EscalationError::NotAdmin(admin.to_owned()));
    }
    let principal = storage.principal(&user)?;
    let sla = storage.case_sla()?;
    let mut device = ServerDevice::open(storage, &user)?;
    let mut report = EscalationReport::default();
    let mut after: Option<String> = None;
    let outcome = (|| -> Result<(), EscalationError> {
        loop {
            let page = storage.cases_in_sight(&principal, after.as_deref(), MAX_CASES_PAGE)?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.meta.id.clone());
            report.cases += page.iter().filter(|c| !c.meta.deleted).count() as u64;
            let due = what_is_due(&page, &sla, now);
            if due.is_empty() {
                continue;
            }
            let ids: Vec<String> = due.iter().map(|d| d.case_id.clone()).collect();
            device.load(Kind::Case, &ids)?;
            for case_due in &due {
                match apply(&device, case_due) {
                    Ok((restamped, escalated)) => {
                        report.restamped += u64::from(restamped);
                        report.escalated += u64::from(escalated);
                    }
                    Err(StoreError::Validation(error)) => {
                        tracing::warn!(case = %case_due.case_id, %error, "case not escalated");
                        report.refused += 1;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            let pushed = device.push_all()?;
            for (case, reason) in &pushed.refused {
                tracing::warn!(%case, %reason, "case escalation refused");
            }
            report.refused += pushed.refused.len() as u64;
            device.forget(&ids)?;
        }
    })();
    device.close()?;
    outcome.map(|()| report)
}

/// Writes one case's due time and escalation; whether each was written.
fn apply(device: &ServerDevice<'_>, due: &CaseDue) -> Result<(bool, bool), StoreError> {
    let mut restamped = false;
    if let Some(due_at) = due.restamp
        && let Some(mut case) = device.get::<Case>(&due.case_id)?
        && case.due_at != Some(due_at)
    {
        case.due_at = Some(due_at);
        device.update(case)?;
        restamped = true;
    }
    let escalated = due.escalate
        && device
            .escalate_case(&due.case_id, Some(ESCALATION_NOTE.to_owned()))?
            .is_some();
    Ok((restamped, escalated))
}

/// Runs [`escalate_overdue`] every `every_secs` on the blocking pool, one run at a time; a
/// failed run is logged and the next one tries again. Never returns.
pub async fn run_on_schedule(storage: Arc<dyn Storage>, admin: String, every_secs: u64) {
    let period = Duration::from_secs(every_secs.max(1));
    loop {
        tokio::time::sleep(period).await;
        let (storage, admin) = (storage.clone(), admin.clone());
        let outcome =
            tokio::task::spawn_blocking(move || escalate_overdue(&*storage, &admin, now_ms()))
                .await;
        match outcome {
            Ok(Ok(report)) => tracing::info!(%report, "case escalation run"),
            Ok(Err(error)) => tracing::warn!(%error, "case escalation run failed"),
            Err(error) => tracing::warn!(%error, "case escalation run panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use fieldcrm_core::{CaseStatus, Severity};

    use super::*;

    const HOUR: Millis = 3_600_000;
    const OPENED: Millis = 1_790_000_000_000;

    fn case(id: &str, severity: Severity) -> Case {
        let mut c = Case::new("customer-1", "Crushed crate");
        c.meta.id = id.into();
        c.meta.created_at = OPENED;
        c.severity = severity;
        c.due_at = CaseSla::default().due_at(OPENED, &c.severity);
        c
    }

    #[test]
    fn an_open_case_past_its_due_time_escalates_once() {
        let sla = CaseSla::default();
        let critical = case("c1", Severity::Critical);
        assert!(what_is_due(std::slice::from_ref(&critical), &sla, OPENED + 4 * HOUR).is_empty());
        assert_eq!(
            what_is_due(std::slice::from_ref(&critical), &sla, OPENED + 4 * HOUR + 1),
            vec![CaseDue {
                case_id: "c1".into(),
                restamp: None,
                escalate: true,
            }]
        );
        let mut escalated = critical.clone();
        escalated.escalated_at = Some(OPENED + 5 * HOUR);
        assert!(what_is_due(&[escalated], &sla, OPENED + 100 * HOUR).is_empty());
        let mut resolved = critical.clone();
        resolved.status = CaseStatus::Resolved;
        let mut deleted = critical.clone();
        deleted.meta.deleted = true;
        let mut unknown = critical;
        unknown.status = CaseStatus::parse("waiting_for_parts");
        assert!(what_is_due(&[resolved, deleted, unknown], &sla, OPENED + 100 * HOUR).is_empty());
    }

    #[test]
    fn the_organisations_sla_sets_the_due_time() {
        let sla = CaseSla {
            high_hours: 2,
            ..CaseSla::default()
        };
        let high = case("c2", Severity::High);
        assert_eq!(
            what_is_due(std::slice::from_ref(&high), &sla, OPENED + HOUR),
            vec![CaseDue {
                case_id: "c2".into(),
                restamp: Some(OPENED + 2 * HOUR),
                escalate: false,
            }]
        );
        // Past the organisation's 2 hours, though the device's default gave 24.
        let due = what_is_due(&[high], &sla, OPENED + 3 * HOUR);
        assert!(due[0].escalate);
        let mut no_due = case("c3", Severity::parse("urgent"));
        no_due.due_at = None;
        assert!(what_is_due(&[no_due], &sla, OPENED + 1_000 * HOUR).is_empty());
    }
}

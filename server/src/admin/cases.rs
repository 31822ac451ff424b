//! The service case admin commands: the SLA per severity, an escalation run.

use fieldcrm_core::Severity;

use super::AdminError;
use crate::cases::escalation::escalate_overdue;
use crate::config::CaseCommand;
use crate::model::now_ms;
use crate::storage::Storage;

/// `case sla`, `case set-sla`, `case escalate`.
pub fn case(storage: &dyn Storage, command: CaseCommand) -> Result<String, AdminError> {
    match command {
        CaseCommand::Sla => {
            let sla = storage.case_sla()?;
            let lines: Vec<String> = [
                Severity::Critical,
                Severity::High,
                Severity::Medium,
                Severity::Low,
            ]
            .iter()
            .filter_map(|s| Some(format!("{s}: {} hours", sla.hours(s)?)))
            .collect();
            Ok(lines.join("\n"))
        }
        CaseCommand::SetSla { severity, hours } => {
            storage.set_case_sla(&severity, hours, now_ms())?;
            Ok(format!(
                "case SLA: {severity} cases are due {hours} hours after they open"
            ))
        }
        CaseCommand::Escalate { admin } => Ok(escalate_overdue(storage, &admin, now_ms())
            .map_err(Box::new)?
            .to_string()),
    }
}

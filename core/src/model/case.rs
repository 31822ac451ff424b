//! Service cases: a customer's complaint or request, assigned to a user, due by a time its
//! severity's SLA gives, with an append-only status history from which the first response and
//! resolution times are derived, and a satisfaction survey once it has been resolved. Leaf
//! types of the model; the document mapping, the projection and the rules an update keeps are
//! in `records/case.rs`.

use serde::{Deserialize, Serialize};

use super::{CaseStatus, Millis, RecordMeta, Severity, StoredEnum};

string_enum!(
    /// Who entered a satisfaction survey on the rep's phone.
    SurveyEntrant {
        Rep = "rep",
        Customer = "customer",
    }
);

const HOUR_MS: Millis = 3_600_000;

/// How long a case of each severity may stay unresolved, in hours. The defaults are the
/// organisation's until an admin sets its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSla {
    pub critical_hours: u32,
    pub high_hours: u32,
    pub medium_hours: u32,
    pub low_hours: u32,
}

impl Default for CaseSla {
    /// Critical: 4 hours; high: 1 day; medium: 3 days; low: 1 week.
    fn default() -> Self {
        CaseSla {
            critical_hours: 4,
            high_hours: 24,
            medium_hours: 72,
            low_hours: 168,
        }
    }
}

impl CaseSla {
    /// The hours a case of `severity` has; `None` for a severity this code does not know.
    pub fn hours(&self, severity: &Severity) -> Option<u32> {
        match severity {
            Severity::Critical => Some(self.critical_hours),
            Severity::High => Some(self.high_hours),
            Severity::Medium => Some(self.medium_hours),
            Severity::Low => Some(self.low_hours),
            Severity::Unknown(_) => None,
        }
    }

    /// When a case of `severity` opened at `opened_at` is due.
    pub fn due_at(&self, opened_at: Millis, severity: &Severity) -> Option<Millis> {
        let hours = Millis::from(self.hours(severity)?);
        opened_at.checked_add(hours.checked_mul(HOUR_MS)?)
    }
}

/// One entry of a case's status history, appended by the store (or by the server for an
/// escalation) and never rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseStatusChange {
    /// The status before; `None` for the entry that opened the case.
    pub from: Option<CaseStatus>,
    pub to: CaseStatus,
    pub at: Millis,
    /// The user id of who changed it (the server's own id for an escalation).
    pub by: String,
    pub note: Option<String>,
    /// The server escalated the case, overdue (`from` and `to` are then the status it had).
    pub escalation: bool,
}

/// A satisfaction survey, recorded after the case was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSurvey {
    /// 1 (unhappy) to 5 (happy).
    pub score: u8,
    pub comment: Option<String>,
    /// The rep, or the customer on the rep's phone.
    pub entered_by: SurveyEntrant,
    pub at: Millis,
    /// The user id of the phone's user.
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub subject: String,
    pub severity: Severity,
    pub status: CaseStatus,
    pub resolution: Option<String>,
    /// A score (1 to 5) that apps before the survey recorded; kept as they wrote it.
    /// [`Case::satisfaction_score`] reads the survey first.
    pub satisfaction: Option<u8>,
    /// User id of the user who handles the case.
    pub assignee: Option<String>,
    /// When the case is due, from the severity's SLA ([`CaseSla::due_at`]); the store sets it
    /// at creation when left `None`.
    pub due_at: Option<Millis>,
    /// Appended by the store whenever the status changes; never rewritten.
    pub status_history: Vec<CaseStatusChange>,
    /// When the server escalated the case, overdue; written once, by the server.
    pub escalated_at: Option<Millis>,
    pub survey: Option<CaseSurvey>,
}

impl Case {
    pub fn new(customer_id: impl Into<String>, subject: impl Into<String>) -> Self {
        Case {
            meta: RecordMeta::default(),
            customer_id: customer_id.into(),
            subject: subject.into(),
            severity: Severity::Medium,
            status: CaseStatus::Open,
            resolution: None,
            satisfaction: None,
            assignee: None,
            due_at: None,
            status_history: Vec::new(),
            escalated_at: None,
            survey: None,
        }
    }

    /// Moves the case to `to` with a note for its history; the store fills in who, when and
    /// from what when it stores the update (a status set directly gets an entry without note).
    pub fn change_status(&mut self, to: CaseStatus, note: Option<String>) {
        self.status_history.push(CaseStatusChange {
            from: Some(self.status.clone()),
            to: to.clone(),
            at: 0,
            by: String::new(),
            note,
            escalation: false,
        });
        self.status = to;
    }

    /// Resolved or closed.
    pub fn is_resolved(&self) -> bool {
        is_resolution(&self.status)
    }

    /// Whether the history shows the case reached resolution at least once (a survey may then
    /// be recorded, even if it was reopened since).
    pub fn was_resolved(&self) -> bool {
        self.status_history.iter().any(|c| is_resolution(&c.to))
    }

    /// The first time someone moved the case on from open: its first response.
    pub fn first_response_at(&self) -> Option<Millis> {
        self.status_history
            .iter()
            .filter(|c| {
                !c.escalation && c.from == Some(CaseStatus::Open) && c.to != CaseStatus::Open
            })
            .map(|c| c.at)
            .min()
    }

    /// When the case was resolved: the latest move into resolved or closed from an open state,
    /// while it is resolved; `None` while it is open (a reopened case is not resolved).
    pub fn resolved_at(&self) -> Option<Millis> {
        if !self.is_resolved() {
            return None;
        }
        self.status_history
            .iter()
            .filter(|c| is_resolution(&c.to) && !c.from.as_ref().is_some_and(is_resolution))
            .map(|c| c.at)
            .max()
    }

    /// Milliseconds from the case's creation to its first response.
    pub fn first_response_ms(&self) -> Option<Millis> {
        Some(self.first_response_at()? - self.meta.created_at)
    }

    /// Milliseconds from the case's creation to its resolution.
    pub fn resolution_ms(&self) -> Option<Millis> {
        Some(self.resolved_at()? - self.meta.created_at)
    }

    /// Open (not resolved) and past its due time at `now`.
    pub fn is_overdue(&self, now: Millis) -> bool {
        case_overdue(&self.status, self.due_at, now)
    }

    /// The survey's score, else the score an older app recorded.
    pub fn satisfaction_score(&self) -> Option<u8> {
        self.survey.as_ref().map(|s| s.score).or(self.satisfaction)
    }
}

/// The overdue rule of cases, written once: past its due time, neither resolved nor in a status
/// this code does not know. The case list's rows use it too.
pub fn case_overdue(status: &CaseStatus, due_at: Option<Millis>, now: Millis) -> bool {
    !is_resolution(status) && !status.is_unknown() && due_at.is_some_and(|due| due < now)
}

fn is_resolution(status: &CaseStatus) -> bool {
    matches!(status, CaseStatus::Resolved | CaseStatus::Closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(from: Option<CaseStatus>, to: CaseStatus, at: Millis) -> CaseStatusChange {
        CaseStatusChange {
            from,
            to,
            at,
            by: "anna".into(),
            note: None,
            escalation: false,
        }
    }

    #[test]
    fn due_time_follows_the_severity() {
        let sla = CaseSla::default();
        assert_eq!(
            sla.due_at(1_000, &Severity::Critical),
            Some(1_000 + 4 * HOUR_MS)
        );
        assert_eq!(sla.due_at(0, &Severity::Low), Some(168 * HOUR_MS));
        assert_eq!(sla.due_at(0, &Severity::parse("urgent")), None);
        assert_eq!(sla.due_at(Millis::MAX, &Severity::Low), None);
    }

    #[test]
    fn response_and_resolution_times_come_from_the_history() {
        use CaseStatus::*;
        let mut case = Case::new("c1", "Broken crate");
        case.meta.created_at = 100;
        case.status_history = vec![change(None, Open, 100)];
        assert_eq!(
            (case.first_response_ms(), case.resolution_ms()),
            (None, None)
        );
        case.status_history.push(CaseStatusChange {
            escalation: true,
            ..change(Some(Open), Open, 150)
        });
        assert_eq!(
            case.first_response_at(),
            None,
            "an escalation is no response"
        );
        case.status_history
            .push(change(Some(Open), InProgress, 200));
        case.status_history
            .push(change(Some(InProgress), Resolved, 500));
        case.status = Resolved;
        assert_eq!(case.first_response_ms(), Some(100));
        assert_eq!(case.resolution_ms(), Some(400));
        case.status_history
            .push(change(Some(Resolved), Closed, 600));
        case.status = Closed;
        assert_eq!(
            case.resolution_ms(),
            Some(400),
            "closing is not resolving again"
        );
        case.status_history.push(change(Some(Closed), Open, 700));
        case.status = Open;
        assert_eq!(case.resolved_at(), None, "reopened");
        assert!(case.was_resolved());
        case.status_history.push(change(Some(Open), Resolved, 900));
        case.status = Resolved;
        assert_eq!(case.resolved_at(), Some(900));
    }

    #[test]
    fn only_an_open_case_past_its_due_time_is_overdue() {
        let mut case = Case::new("c1", "Late delivery");
        assert!(!case.is_overdue(10), "no due time");
        case.due_at = Some(5);
        assert!(case.is_overdue(10) && !case.is_overdue(5));
        case.status = CaseStatus::Resolved;
        assert!(!case.is_overdue(10));
    }
}

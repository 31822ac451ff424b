//! Service cases on the phone: the work list (a user's or a customer's cases not yet resolved,
//! soonest due first), a case with its service times, and what a rep does to one: move its
//! status on, hand it over, record the customer's satisfaction once it is resolved. The rules
//! (history stamping, the survey's bounds, the overdue rule) are core's.

use fieldcrm_core as fc;

use super::*;

/// A case with the times the service is measured by.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseDetail {
    pub record: Case,
    /// Past its due time and not resolved, when it was read.
    pub overdue: bool,
    /// From opening to the first move out of `open`, once there was one.
    pub first_response_ms: Option<i64>,
    /// From opening to its resolution, while it stays resolved or closed.
    pub resolution_ms: Option<i64>,
    /// It was resolved once, so a satisfaction survey can be recorded.
    pub survey_allowed: bool,
}

/// Whether the case of this list row is overdue at `now_ms`: a live list is not re-run as the
/// clock moves, so apps ask when they draw the row.
#[uniffi::export]
pub fn case_is_overdue(summary: CaseSummary, now_ms: i64) -> bool {
    fc::case_overdue(&summary.status.into(), summary.due_at, now_ms)
}

#[uniffi::export]
impl FieldStore {
    /// Cases not yet resolved, of `customer_id` and/or handled by `assignee` when given, soonest
    /// due first (overdue ones lead), then the most severe. Live as `Query::OpenCases`.
    #[uniffi::method(default(assignee = None))]
    pub fn open_cases(
        &self,
        customer_id: Option<String>,
        assignee: Option<String>,
    ) -> Result<Vec<CaseSummary>> {
        let query = fc::Query::OpenCases {
            customer_id,
            assignee,
        };
        match self.query_core("open_cases", query)? {
            fc::QueryResult::Cases(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("case query returned other rows")),
        }
    }

    /// The case with its service times; `None` when there is no such case here.
    pub fn case_detail(&self, id: String) -> Result<Option<CaseDetail>> {
        self.with("case_detail", |s| {
            let Some(case) = s.get::<fc::Case>(&id)? else {
                return Ok(None);
            };
            Ok(Some(CaseDetail {
                overdue: case.is_overdue(s.now()),
                first_response_ms: case.first_response_ms(),
                resolution_ms: case.resolution_ms(),
                survey_allowed: case.was_resolved(),
                record: case.into(),
            }))
        })
    }

    /// Moves the case to `status`; the store appends the history entry (this user, now) with
    /// `note`. The same status again writes nothing.
    #[uniffi::method(default(note = None))]
    pub fn set_case_status(
        &self,
        id: String,
        status: CaseStatus,
        note: Option<String>,
    ) -> Result<Case> {
        self.with("set_case_status", |s| {
            Ok(s.set_case_status(&id, status.into(), note)?.into())
        })
    }

    /// Hands the case to `assignee` (a user id), or to no one.
    pub fn assign_case(&self, id: String, assignee: Option<String>) -> Result<Case> {
        self.with("assign_case", |s| Ok(s.assign_case(&id, assignee)?.into()))
    }

    /// Records the satisfaction survey of a resolved case, entered by the rep or by the
    /// customer on the rep's phone. A score outside 1 to 5 is `InvalidValue` on `survey.score`;
    /// before the case was resolved it is `InvalidValue` on `survey`. Nothing is written then.
    pub fn record_case_survey(
        &self,
        id: String,
        score: u8,
        comment: Option<String>,
        entered_by: SurveyEntrant,
    ) -> Result<Case> {
        self.with("record_case_survey", |s| {
            Ok(
                s.record_case_survey(&id, score, comment, entered_by.into())?
                    .into(),
            )
        })
    }
}

//! What managers read about cases: the list's filters and rows (`GET /v1/cases`) and the
//! team overview's case figures, pure functions of the cases in the viewer's sight and the
//! clock.

use fieldcrm_core::{Case, Millis};
use serde::Serialize;

use crate::scope::Principal;
use crate::storage::{MAX_CASES_PAGE, Storage, StorageError};

/// The most cases one list or overview reads (pages of [`MAX_CASES_PAGE`]): past it the list
/// says where to go on and the overview counts what it read (`cases_read`).
pub const MAX_CASES_SCANNED: usize = 20_000;

/// The list's filters; each one given narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Only open (not resolved or closed) cases.
    pub open: bool,
    /// Only open cases past their due time.
    pub overdue: bool,
    /// Only cases the server escalated.
    pub escalated: bool,
    /// Only cases assigned to this user id.
    pub assignee: Option<String>,
}

impl CaseFilter {
    pub fn matches(&self, case: &Case, now: Millis) -> bool {
        !case.meta.deleted
            && (!self.open || !case.is_resolved())
            && (!self.overdue || case.is_overdue(now))
            && (!self.escalated || case.escalated_at.is_some())
            && self
                .assignee
                .as_ref()
                .is_none_or(|a| case.assignee.as_ref() == Some(a))
    }
}

/// A case as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CaseRow {
    pub id: String,
    pub customer_id: String,
    pub subject: String,
    pub severity: String,
    pub status: String,
    pub assignee: Option<String>,
    pub created_at: Millis,
    pub due_at: Option<Millis>,
    pub overdue: bool,
    pub escalated_at: Option<Millis>,
    pub first_response_ms: Option<Millis>,
    pub resolution_ms: Option<Millis>,
    pub satisfaction: Option<u8>,
}

impl CaseRow {
    pub fn of(case: &Case, now: Millis) -> CaseRow {
        CaseRow {
            id: case.meta.id.clone(),
            customer_id: case.customer_id.clone(),
            subject: case.subject.clone(),
            severity: case.severity.as_str().to_owned(),
            status: case.status.as_str().to_owned(),
            assignee: case.assignee.clone(),
            created_at: case.meta.created_at,
            due_at: case.due_at,
            overdue: case.is_overdue(now),
            escalated_at: case.escalated_at,
            first_response_ms: case.first_response_ms(),
            resolution_ms: case.resolution_ms(),
            satisfaction: case.satisfaction_score(),
        }
    }
}

/// A page of the list: the matching cases by id, and the id to go on after when cases were
/// left unread (the page is full, or [`MAX_CASES_SCANNED`] were read).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseRow>,
    pub next_after: Option<String>,
}

/// The cases in `viewer`'s sight that match `filter`, by id after `after`, at most `limit`.
pub fn list_cases(
    storage: &dyn Storage,
    viewer: &Principal,
    filter: &CaseFilter,
    after: Option<String>,
    limit: usize,
    now: Millis,
) -> Result<CasePage, StorageError> {
    let mut rows = Vec::new();
    let mut cursor = after;
    let mut scanned = 0;
    loop {
        let page = storage.cases_in_sight(viewer, cursor.as_deref(), MAX_CASES_PAGE)?;
        let full_page = page.len() == MAX_CASES_PAGE as usize;
        for case in page {
            scanned += 1;
            cursor = Some(case.meta.id.clone());
            if filter.matches(&case, now) {
                rows.push(CaseRow::of(&case, now));
                if rows.len() == limit {
                    return Ok(CasePage {
                        cases: rows,
                        next_after: cursor,
                    });
                }
            }
        }
        if !full_page {
            return Ok(CasePage {
                cases: rows,
                next_after: None,
            });
        }
        if scanned >= MAX_CASES_SCANNED {
            return Ok(CasePage {
                cases: rows,
                next_after: cursor,
            });
        }
    }
}

/// The team overview's case figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CaseOverview {
    pub open: u64,
    pub overdue: u64,
    /// Of the cases resolved now, from creation to resolution; `None` without one.
    pub median_resolution_ms: Option<Millis>,
    /// Of the satisfaction scores recorded; `None` without one.
    pub average_satisfaction: Option<f64>,
    /// Cases read (at most [`MAX_CASES_SCANNED`]).
    pub cases_read: u64,
}

/// The figures of `cases` at `now` (deleted ones left out).
pub fn case_overview<'a>(cases: impl IntoIterator<Item = &'a Case>, now: Millis) -> CaseOverview {
    let mut overview = CaseOverview::default();
    let mut resolutions = Vec::new();
    let (mut score_sum, mut scores) = (0u64, 0u64);
    for case in cases.into_iter().filter(|c| !c.meta.deleted) {
        overview.cases_read += 1;
        if !case.is_resolved() && !case.status.is_unknown() {
            overview.open += 1;
        }
        if case.is_overdue(now) {
            overview.overdue += 1;
        }
        resolutions.extend(case.resolution_ms());
        if let Some(score) = case.satisfaction_score() {
            score_sum += u64::from(score);
            scores += 1;
        }
    }
    resolutions.sort_unstable();
    overview.median_resolution_ms = median(&resolutions);
    overview.average_satisfaction = (scores > 0).then(|| score_sum as f64 / scores as f64);
    overview
}

/// The median of sorted values: the mean of the middle two for an even count.
fn median(sorted: &[Millis]) -> Option<Millis> {
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some(sorted[mid - 1] + (sorted[mid] - sorted[mid - 1]) / 2),
    }
}

/// The case figures of the cases in `viewer`'s sight (read up to [`MAX_CASES_SCANNED`]).
pub fn team_case_overview(
    storage: &dyn Storage,
    viewer: &Principal,
    now: Millis,
) -> Result<CaseOverview, StorageError> {
    let mut cases = Vec::new();
    let mut after: Option<String> = None;
    while cases.len() < MAX_CASES_SCANNED {
        let page = storage.cases_in_sight(viewer, after.as_deref(), MAX_CASES_PAGE)?;
        let full_page = page.len() == MAX_CASES_PAGE as usize;
        after = page.last().map(|c| c.meta.id.clone());
        cases.extend(page);
        if !full_page {
            break;
        }
    }
    Ok(case_overview(&cases, now))
}

#[cfg(test)]
mod tests {
    use fieldcrm_core::{CaseStatus, CaseStatusChange, CaseSurvey, SurveyEntrant};

    use super::*;

    const HOUR: Millis = 3_600_000;

    fn case(id: &str, due_in_hours: i64) -> Case {
        let mut c = Case::new("customer-1", "Crushed crate");
        c.meta.id = id.into();
        c.meta.created_at = 0;
        c.due_at = Some(due_in_hours * HOUR);
        c
    }

    fn resolved(id: &str, after_hours: i64, score: Option<u8>) -> Case {
        let mut c = case(id, 1);
        c.status = CaseStatus::Resolved;
        c.status_history.push(CaseStatusChange {
            from: Some(CaseStatus::Open),
            to: CaseStatus::Resolved,
            at: after_hours * HOUR,
            by: "ana".into(),
            note: None,
            escalation: false,
        });
        c.survey = score.map(|score| CaseSurvey {
            score,
            comment: None,
            entered_by: SurveyEntrant::Customer,
            at: after_hours * HOUR,
            by: "ana".into(),
        });
        c
    }

    #[test]
    fn the_overview_counts_open_and_overdue_and_takes_the_median_and_average() {
        let mut deleted = case("gone", 1);
        deleted.meta.deleted = true;
        let cases = [
            case("a", 1),
            case("b", 10),
            resolved("c", 2, Some(5)),
            resolved("d", 4, Some(2)),
            resolved("e", 9, None),
            deleted,
        ];
        let overview = case_overview(&cases, 5 * HOUR);
        assert_eq!(
            overview,
            CaseOverview {
                open: 2,
                overdue: 1,
                median_resolution_ms: Some(4 * HOUR),
                average_satisfaction: Some(3.5),
                cases_read: 5,
            }
        );
        assert_eq!(median(&[1, 4]), Some(2));
        assert_eq!(case_overview(&[], 0), CaseOverview::default());
    }

    #[test]
    fn filters_narrow_the_list() {
        let mut escalated = case("x", 1);
        escalated.escalated_at = Some(2 * HOUR);
        escalated.assignee = Some("ana".into());
        let cases = [case("a", 10), escalated, resolved("r", 2, None)];
        let ids = |filter: CaseFilter| -> Vec<String> {
            cases
                .iter()
                .filter(|c| filter.matches(c, 5 * HOUR))
                .map(|c| c.meta.id.clone())
                .collect()
        };
        assert_eq!(ids(CaseFilter::default()), ["a", "x", "r"]);
        let open = CaseFilter {
            open: true,
            ..CaseFilter::default()
        };
        assert_eq!(ids(open), ["a", "x"]);
        let overdue = CaseFilter {
            overdue: true,
            ..CaseFilter::default()
        };
        assert_eq!(ids(overdue), ["x"]);
        let ana = CaseFilter {
            assignee: Some("ana".into()),
            ..CaseFilter::default()
        };
        assert_eq!(ids(ana), ["x"]);
        let escalated = CaseFilter {
            escalated: true,
            ..CaseFilter::default()
        };
        assert_eq!(ids(escalated), ["x"]);
    }
}

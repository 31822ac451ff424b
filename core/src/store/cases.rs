//! Service cases on the device beyond a typed update: the escalation the server writes (through
//! the store of a device it runs as an admin), once per case.

use crate::error::{Result, StoreError};
use crate::model::{Case, CaseStatus, CaseStatusChange, CaseSurvey, SurveyEntrant};

use super::Store;

impl Store {
    /// Escalates the open case `id`: its escalation time and an `escalation` history entry,
    /// by this store's user, now. `None` (nothing written) when the case is resolved or was
    /// escalated already: a case escalates at most once.
    pub fn escalate_case(&self, id: &str, note: Option<String>) -> Result<Option<Case>> {
        let mut case = self.case(id)?;
        if case.escalated_at.is_some() || case.is_resolved() || case.status.is_unknown() {
            return Ok(None);
        }
        let now = self.now();
        case.escalated_at = Some(now);
        case.status_history.push(CaseStatusChange {
            from: Some(case.status.clone()),
            to: case.status.clone(),
            at: now,
            by: self.user(),
            note,
            escalation: true,
        });
        self.update_with(case, false).map(Some)
    }
}

/// What the apps do to a case: move its status on (the store appends the history entry), hand it
/// to someone, record the customer's satisfaction once it is resolved. Each is one typed update,
/// so every rule of `update` applies (a survey before resolution, a score outside 1 to 5).
impl Store {
    /// Moves the case to `status`, with `note` on the history entry the store appends (by this
    /// store's user, now). Unchanged when the case already has that status.
    pub fn set_case_status(
        &self,
        id: &str,
        status: CaseStatus,
        note: Option<String>,
    ) -> Result<Case> {
        let mut case = self.case(id)?;
        if case.status == status {
            return Ok(case);
        }
        case.change_status(status, note);
        self.update(case)
    }

    /// Hands the case to `assignee` (a user id), or to no one.
    pub fn assign_case(&self, id: &str, assignee: Option<String>) -> Result<Case> {
        let mut case = self.case(id)?;
        case.assignee = assignee;
        self.update(case)
    }

    /// Records the satisfaction survey of a resolved case: `score` 1 to 5, a comment, entered
    /// by the rep or by the customer on the rep's phone. The store stamps who and when. A later
    /// survey replaces it (the customer changed their mind in the same visit).
    pub fn record_case_survey(
        &self,
        id: &str,
        score: u8,
        comment: Option<String>,
        entered_by: SurveyEntrant,
    ) -> Result<Case> {
        let mut case = self.case(id)?;
        case.survey = Some(CaseSurvey {
            score,
            comment,
            entered_by,
            at: 0,
            by: String::new(),
        });
        self.update(case)
    }

    fn case(&self, id: &str) -> Result<Case> {
        self.get(id)?
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ValidationError;
    use crate::model::Customer;
    use crate::query::{Query, QueryResult};

    fn store_with_case() -> (Store, Case) {
        let store = Store::open(":memory:").unwrap();
        store.set_user("anna").unwrap();
        let customer = store.create(Customer::new("Bakery Kurz")).unwrap();
        let case = store
            .create(Case::new(&customer.meta.id, "Crate arrived broken"))
            .unwrap();
        (store, case)
    }

    #[test]
    fn a_status_change_is_appended_to_the_history_with_its_note() {
        let (store, case) = store_with_case();
        let moved = store
            .set_case_status(
                &case.meta.id,
                CaseStatus::InProgress,
                Some("called back".into()),
            )
            .unwrap();
        let last = moved.status_history.last().unwrap();
        assert_eq!(
            (
                last.from.clone(),
                last.to.clone(),
                last.note.as_deref(),
                last.by.as_str()
            ),
            (
                Some(CaseStatus::Open),
                CaseStatus::InProgress,
                Some("called back"),
                "anna"
            )
        );
        let again = store
            .set_case_status(&case.meta.id, CaseStatus::InProgress, None)
            .unwrap();
        assert_eq!(again.status_history.len(), moved.status_history.len());
    }

    #[test]
    fn a_survey_waits_for_resolution_and_takes_scores_one_to_five() {
        let (store, case) = store_with_case();
        let id = &case.meta.id;
        let early = store.record_case_survey(id, 4, None, SurveyEntrant::Customer);
        assert!(matches!(
            early,
            Err(StoreError::Validation(
                ValidationError::SurveyBeforeResolution
            ))
        ));
        store
            .set_case_status(id, CaseStatus::Resolved, None)
            .unwrap();
        assert!(matches!(
            store.record_case_survey(id, 6, None, SurveyEntrant::Rep),
            Err(StoreError::Validation(ValidationError::OutOfRange { .. }))
        ));
        let surveyed = store
            .record_case_survey(id, 5, Some("quick".into()), SurveyEntrant::Customer)
            .unwrap();
        let survey = surveyed.survey.unwrap();
        assert_eq!((survey.score, survey.by.as_str()), (5, "anna"));
        assert!(survey.at > 0);
    }

    #[test]
    fn the_work_list_shows_a_users_cases_soonest_due_first() {
        let (store, routine) = store_with_case();
        let mut urgent = Case::new(&routine.customer_id, "No power");
        urgent.severity = crate::model::Severity::Critical;
        let urgent = store.create(urgent).unwrap();
        store
            .assign_case(&routine.meta.id, Some("anna".into()))
            .unwrap();
        store
            .assign_case(&urgent.meta.id, Some("anna".into()))
            .unwrap();
        let other = store
            .create(Case::new(&routine.customer_id, "Someone else's"))
            .unwrap();
        store
            .assign_case(&other.meta.id, Some("ben".into()))
            .unwrap();
        let QueryResult::Cases(rows) = store
            .query(&Query::OpenCases {
                customer_id: None,
                assignee: Some("anna".into()),
            })
            .unwrap()
        else {
            panic!("cases expected")
        };
        assert_eq!(
            rows.iter().map(|c| c.subject.as_str()).collect::<Vec<_>>(),
            ["No power", "Crate arrived broken"]
        );
        let due = rows[0].due_at.unwrap();
        assert!(!rows[0].is_overdue(due) && rows[0].is_overdue(due + 1));
        assert_eq!(rows[0].assignee.as_deref(), Some("anna"));
    }

    #[test]
    fn cases_stored_before_the_work_list_are_projected_again_from_their_documents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let path = path.to_str().unwrap();
        let id = {
            let store = Store::open(path).unwrap();
            store.set_user("anna").unwrap();
            let customer = store.create(Customer::new("Bakery Kurz")).unwrap();
            let case = store.create(Case::new(&customer.meta.id, "Leak")).unwrap();
            store
                .assign_case(&case.meta.id, Some("anna".into()))
                .unwrap();
            case.meta.id
        };
        // The file as schema 11 left it: the case row without the work list's columns (and
        // without the later activities).
        {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch(
                "DROP TABLE activities;
                 DROP INDEX cases_assignee;
                 ALTER TABLE cases DROP COLUMN assignee;
                 ALTER TABLE cases DROP COLUMN due_at;
                 ALTER TABLE cases DROP COLUMN escalated_at;
                 ALTER TABLE cases DROP COLUMN opened_at;
                 PRAGMA user_version = 11;",
            )
            .unwrap();
        }
        let store = Store::open(path).unwrap();
        let anna = Query::OpenCases {
            customer_id: None,
            assignee: Some("anna".into()),
        };
        assert_eq!(store.query(&anna).unwrap(), QueryResult::Cases(vec![]));
        let report = store.verify_documents(100).unwrap();
        assert!(report.failed.is_empty() && report.remaining == 0);
        let QueryResult::Cases(rows) = store.query(&anna).unwrap() else {
            panic!("cases expected")
        };
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id, id);
        assert!(rows[0].due_at.is_some());
    }
}

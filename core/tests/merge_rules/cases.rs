//! The merge rules of service cases: the assignee and the due time last writer wins; the status
//! history appended from both sides; the survey replaced whole; the escalation written once,
//! by the server. And the rules the store refuses with typed errors: a score outside 1 to 5, a
//! survey before resolution, an edit of the history.

use std::collections::BTreeSet;

use fieldcrm_core::*;

use super::{Replica, both, exchange, replica, shared};

fn case(a: &Replica, b: &Replica) -> Case {
    shared(
        a,
        b,
        Case::new("customer-1", "Crate of rolls arrived crushed"),
    )
}

fn get(r: &Replica, id: &str) -> Case {
    r.store.get(id).unwrap().unwrap()
}

fn resolve(r: &Replica, id: &str) -> Case {
    let mut c = get(r, id);
    c.change_status(CaseStatus::Resolved, Some("Credited the crate".into()));
    r.store.update(c).unwrap()
}

fn survey(score: u8, comment: &str, entered_by: SurveyEntrant) -> Option<CaseSurvey> {
    Some(CaseSurvey {
        score,
        comment: Some(comment.into()),
        entered_by,
        at: 0,
        by: String::new(),
    })
}

#[test]
fn case_assignee_last_writer_wins_and_the_loser_stays_readable() {
    let (a, b) = (replica("anna"), replica("ben"));
    let c = case(&a, &b);
    let mut on_a = get(&a, &c.meta.id);
    on_a.assignee = Some("anna".into());
    a.store.update(on_a).unwrap();
    let mut on_b = get(&b, &c.meta.id);
    on_b.assignee = Some("ben".into());
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Case = both(&a, &b, &c.meta.id);
    let conflicts = a.store.conflicts(&c.meta.id).unwrap();
    let assignee = conflicts
        .iter()
        .find(|f| f.field == "assignee")
        .expect("assignee conflict listed");
    assert_eq!(Some(&assignee.values[0]), merged.assignee.as_ref());
    let values: BTreeSet<&str> = assignee.values.iter().map(String::as_str).collect();
    assert_eq!(values, BTreeSet::from(["anna", "ben"]));
}

#[test]
fn case_due_time_comes_from_the_sla_and_last_writer_wins() {
    let (a, b) = (replica("anna"), replica("ben"));
    a.store.set_clock(|| 1_790_000_000_000);
    let mut critical = Case::new("customer-1", "Oven on fire");
    critical.severity = Severity::Critical;
    let c = shared(&a, &b, critical);
    assert_eq!(
        c.due_at,
        CaseSla::default().due_at(1_790_000_000_000, &Severity::Critical),
        "stamped on the device, so a rep offline sees it"
    );
    let mut on_a = get(&a, &c.meta.id);
    on_a.due_at = Some(1_790_000_100_000);
    a.store.update(on_a).unwrap();
    let mut on_b = get(&b, &c.meta.id);
    on_b.due_at = Some(1_790_000_200_000);
    on_b.subject = "Oven smoking".into();
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Case = both(&a, &b, &c.meta.id);
    assert!(
        [Some(1_790_000_100_000), Some(1_790_000_200_000)].contains(&merged.due_at),
        "{:?}",
        merged.due_at
    );
    assert_eq!(merged.subject, "Oven smoking");
}

#[test]
fn case_status_history_appends_from_both_sides() {
    let (a, b) = (replica("anna"), replica("ben"));
    let c = case(&a, &b);
    assert_eq!(c.status_history.len(), 1, "the opening entry");
    assert_eq!(c.status_history[0].from, None);
    let mut on_a = get(&a, &c.meta.id);
    on_a.change_status(CaseStatus::InProgress, Some("Called the shop".into()));
    a.store.update(on_a).unwrap();
    let mut on_b = get(&b, &c.meta.id);
    on_b.status = CaseStatus::Resolved;
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Case = both(&a, &b, &c.meta.id);
    assert_eq!(
        merged.status_history.len(),
        3,
        "{:?}",
        merged.status_history
    );
    let moves: BTreeSet<(Option<CaseStatus>, CaseStatus, String)> = merged
        .status_history
        .iter()
        .map(|e| (e.from.clone(), e.to.clone(), e.by.clone()))
        .collect();
    assert!(moves.contains(&(
        Some(CaseStatus::Open),
        CaseStatus::InProgress,
        "anna".into()
    )));
    assert!(moves.contains(&(Some(CaseStatus::Open), CaseStatus::Resolved, "ben".into())));
    let note = merged
        .status_history
        .iter()
        .find(|e| e.to == CaseStatus::InProgress)
        .and_then(|e| e.note.clone());
    assert_eq!(note.as_deref(), Some("Called the shop"));
    assert!(merged.first_response_at().is_some());
}

#[test]
fn case_survey_is_replaced_whole() {
    let (a, b) = (replica("anna"), replica("ben"));
    let c = case(&a, &b);
    resolve(&a, &c.meta.id);
    exchange(&a.store, &b.store);
    let mut on_a = get(&a, &c.meta.id);
    on_a.survey = survey(4, "Quick and friendly", SurveyEntrant::Customer);
    let on_a = a.store.update(on_a).unwrap();
    let mut on_b = get(&b, &c.meta.id);
    on_b.survey = survey(2, "Took a week", SurveyEntrant::Rep);
    let on_b = b.store.update(on_b).unwrap();
    assert_eq!(
        on_a.survey.as_ref().unwrap().by,
        "anna",
        "stamped by the store"
    );
    exchange(&a.store, &b.store);
    let merged: Case = both(&a, &b, &c.meta.id);
    assert!(
        merged.survey == on_a.survey || merged.survey == on_b.survey,
        "never one phone's score with another's comment: {:?}",
        merged.survey
    );
}

#[test]
fn case_escalation_and_history_are_written_once() {
    let (a, b) = (replica("anna"), replica("ben"));
    let c = case(&a, &b);
    let mut escalated = get(&a, &c.meta.id);
    escalated.escalated_at = Some(1_790_000_000_000);
    assert!(matches!(
        a.store.update(escalated),
        Err(StoreError::Validation(ValidationError::Immutable { ref field })) if field == "escalated_at"
    ));
    let mut rewritten = get(&a, &c.meta.id);
    rewritten.status_history[0].by = "ben".into();
    assert!(matches!(
        a.store.update(rewritten),
        Err(StoreError::Validation(ValidationError::Immutable { ref field })) if field == "status_history"
    ));
    let mut dropped = get(&a, &c.meta.id);
    dropped.status_history.clear();
    assert!(a.store.update(dropped).is_err());
    exchange(&a.store, &b.store);
    assert_eq!(both::<Case>(&a, &b, &c.meta.id).status_history.len(), 1);
}

#[test]
fn case_escalation_merges_with_a_concurrent_status_change_once() {
    let (admin, rep) = (replica("admin"), replica("anna"));
    let c = case(&rep, &admin);
    let escalated = admin
        .store
        .escalate_case(&c.meta.id, Some("overdue".into()))
        .unwrap()
        .expect("an open case escalates");
    assert!(escalated.escalated_at.is_some());
    assert!(
        admin
            .store
            .escalate_case(&c.meta.id, None)
            .unwrap()
            .is_none(),
        "at most once"
    );
    let mut on_rep = get(&rep, &c.meta.id);
    on_rep.change_status(CaseStatus::InProgress, None);
    rep.store.update(on_rep).unwrap();
    exchange(&admin.store, &rep.store);
    let merged: Case = both(&admin, &rep, &c.meta.id);
    assert_eq!(merged.escalated_at, escalated.escalated_at);
    assert_eq!(merged.status, CaseStatus::InProgress);
    let escalations: Vec<&CaseStatusChange> = merged
        .status_history
        .iter()
        .filter(|e| e.escalation)
        .collect();
    assert_eq!(escalations.len(), 1);
    assert_eq!(escalations[0].by, "admin");
    assert_eq!(merged.status_history.len(), 3);
}

#[test]
fn a_survey_needs_a_resolution_and_a_score_from_1_to_5() {
    let (a, b) = (replica("anna"), replica("ben"));
    let c = case(&a, &b);
    let mut early = get(&a, &c.meta.id);
    early.survey = survey(5, "Great", SurveyEntrant::Customer);
    assert!(matches!(
        a.store.update(early),
        Err(StoreError::Validation(
            ValidationError::SurveyBeforeResolution
        ))
    ));
    resolve(&a, &c.meta.id);
    for score in [0, 6] {
        let mut bad = get(&a, &c.meta.id);
        bad.survey = survey(score, "", SurveyEntrant::Rep);
        assert!(matches!(
            a.store.update(bad),
            Err(StoreError::Validation(ValidationError::OutOfRange { ref field, .. })) if field == "survey.score"
        ));
    }
    // Reopened after the resolution: the survey may still be recorded.
    let mut reopened = get(&a, &c.meta.id);
    reopened.change_status(CaseStatus::Open, Some("Second crate crushed too".into()));
    a.store.update(reopened).unwrap();
    let mut good = get(&a, &c.meta.id);
    good.survey = survey(3, "Fine", SurveyEntrant::Rep);
    let stored = a.store.update(good).unwrap();
    assert_eq!(stored.survey.unwrap().score, 3);
}

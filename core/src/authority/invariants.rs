//! The invariants the server re-checks on the merged result of every push, whatever the pushed
//! changes say. A device runs our own code, but a rep can craft any Automerge change, so the
//! rules a device keeps by construction (`Store` never writes them otherwise) are enforced here,
//! on the document as merged, against the record before the push. One list, in the order
//! `docs/ARCHITECTURE.md` gives it:
//!
//! 1. The identity keys (`id`, `kind`, `created_at`, `created_by`) hold exactly one value: a
//!    change that writes them again (another document's creation change merged into this one,
//!    a concurrent rewrite) is refused, whichever value the merge would show.
//! 2. Written-once fields never change (`check_written_once`: identity, a visit's rep,
//!    customer, check-in and check-out, a contact's customer, the stage history kept in order;
//!    an order's customer, visit, currency and owner, its status history kept in order, and
//!    its lines once it left draft: the rule of `records/order.rs`, the device's own).
//! 3. A visit's and an order's status only move forward (planned < in progress < the terminal
//!    states; draft < submitted < confirmed < cancelled < delivered).
//! 4. Authorship is the authenticated user's: a new document's `created_by`, and every stage,
//!    order or case status history entry the push adds, and a case's survey; a case's
//!    escalation comes once, its time with its history entry (who may escalate, an admin, is
//!    the server's rule).
//! 5. The merged record is valid (`validate`).
//! 6. Every enum value of the merged record is one this code knows (no `Unknown`): the server
//!    is the newest peer.
//!
//! The check-in verification that managers see is the server's own, against the customer's
//! place held before the push (server `fieldwork.rs`); references a record carries are
//! authorized against the writer's scope by the server (`scope.rs`), which knows who sees what.

use automerge::{Automerge, ROOT, ReadDoc};

use super::{Refusal, refuse};
use crate::protocol::RejectCode;
use crate::records::{AnyRecord, check_written_once};

/// Root keys written once, in a document's first change.
const IDENTITY_KEYS: [&str; 4] = ["id", "kind", "created_at", "created_by"];

pub(super) fn check(
    doc: &Automerge,
    previous: Option<&AnyRecord>,
    merged: &AnyRecord,
    author: &str,
) -> Result<(), Refusal> {
    identity_written_once(doc)?;
    if let Some(previous) = previous {
        check_written_once(previous, merged)
            .map_err(|e| refuse(RejectCode::ImmutableField, e.to_string()))?;
        status_moves_forward(previous, merged)?;
    }
    authored_by(previous, merged, author)?;
    merged
        .validate()
        .map_err(|e| refuse(RejectCode::InvalidRecord, e.to_string()))?;
    known_values(merged)
}

/// The server is the newest peer: an enum value it does not know (`Unknown`, read from a
/// crafted change or from an app newer than the server) is no value of the record, so the
/// record is refused instead of being stored and sent on to every device.
fn known_values(merged: &AnyRecord) -> Result<(), Refusal> {
    match merged.unknown_values().first() {
        Some(unknown) => Err(refuse(
            RejectCode::InvalidRecord,
            format!(
                "{} has a value the server does not know: {:?}",
                unknown.field, unknown.value
            ),
        )),
        None => Ok(()),
    }
}

fn identity_written_once(doc: &Automerge) -> Result<(), Refusal> {
    for key in IDENTITY_KEYS {
        let values = doc
            .get_all(ROOT, key)
            .map_err(|e| refuse(RejectCode::InvalidRecord, e.to_string()))?;
        if values.len() > 1 {
            return Err(refuse(
                RejectCode::ImmutableField,
                format!("{key} is written once, and the changes write it again"),
            ));
        }
    }
    Ok(())
}

fn status_moves_forward(previous: &AnyRecord, merged: &AnyRecord) -> Result<(), Refusal> {
    // An unknown status has no rank; `known_values` refuses it.
    let (kind, before, after) = match (previous, merged) {
        (AnyRecord::Visit(before), AnyRecord::Visit(after)) => (
            "visit",
            (before.status.rank(), before.status.as_str()),
            (after.status.rank(), after.status.as_str()),
        ),
        (AnyRecord::Order(before), AnyRecord::Order(after)) => (
            "order",
            (before.status.rank(), before.status.as_str()),
            (after.status.rank(), after.status.as_str()),
        ),
        _ => return Ok(()),
    };
    if let ((Some(before_rank), before_text), (Some(after_rank), after_text)) = (before, after)
        && after_rank < before_rank
    {
        return Err(refuse(
            RejectCode::InvalidRecord,
            format!("a {kind}'s status only moves forward ({before_text} to {after_text} refused)"),
        ));
    }
    Ok(())
}

fn authored_by(
    previous: Option<&AnyRecord>,
    merged: &AnyRecord,
    author: &str,
) -> Result<(), Refusal> {
    if previous.is_none() && merged.meta().created_by != author {
        return Err(refuse(
            RejectCode::InvalidRecord,
            "created_by must be the user who pushes the record",
        ));
    }
    // An order is taken by the rep who pushes it (its owner is written once): no rep books an
    // order in a colleague's name, whose revenue and targets it would count for.
    if let (None, AnyRecord::Order(order)) = (previous, merged)
        && order.owner != author
    {
        return Err(refuse(
            RejectCode::InvalidRecord,
            "a new order's owner must be the user who pushes it",
        ));
    }
    if let AnyRecord::Opportunity(after) = merged {
        let before: &[crate::model::StageChange] = match previous {
            Some(AnyRecord::Opportunity(before)) => &before.stage_history,
            _ => &[],
        };
        let forged = after
            .stage_history
            .iter()
            .filter(|entry| !before.contains(entry))
            .any(|entry| entry.by != author);
        if forged {
            return Err(refuse(
                RejectCode::InvalidRecord,
                "a stage change must be by the user who pushes it",
            ));
        }
    }
    if let AnyRecord::Case(after) = merged {
        let before = match previous {
            Some(AnyRecord::Case(before)) => Some(before),
            _ => None,
        };
        case_authored_by(before, after, author)?;
    }
    if let AnyRecord::Order(after) = merged {
        let before: &[crate::model::OrderStatusChange] = match previous {
            Some(AnyRecord::Order(before)) => &before.status_history,
            _ => &[],
        };
        let forged = after
            .status_history
            .iter()
            .filter(|entry| !before.contains(entry))
            .any(|entry| entry.by != author);
        if forged {
            return Err(refuse(
                RejectCode::InvalidRecord,
                "an order status change must be by the user who pushes it",
            ));
        }
    }
    Ok(())
}

/// A case's status changes, escalation and survey are the pushing user's. An escalation comes
/// with its history entry, once (`check_written_once` keeps the time); who may escalate (the
/// server's own device, as an admin) is the server's rule (`server/src/cases/rules.rs`).
fn case_authored_by(
    before: Option<&crate::model::Case>,
    after: &crate::model::Case,
    author: &str,
) -> Result<(), Refusal> {
    let earlier: &[crate::model::CaseStatusChange] =
        before.map_or(&[], |b| b.status_history.as_slice());
    let added: Vec<&crate::model::CaseStatusChange> = after
        .status_history
        .iter()
        .filter(|entry| !earlier.contains(entry))
        .collect();
    if added.iter().any(|entry| entry.by != author) {
        return Err(refuse(
            RejectCode::InvalidRecord,
            "a case status change must be by the user who pushes it",
        ));
    }
    let escalations = added.iter().filter(|entry| entry.escalation).count();
    let escalated = before.and_then(|b| b.escalated_at).is_none() && after.escalated_at.is_some();
    if escalations != usize::from(escalated) {
        return Err(refuse(
            RejectCode::InvalidRecord,
            "a case escalates once, with its escalation time and history entry together",
        ));
    }
    let survey_before = before.and_then(|b| b.survey.as_ref());
    if let Some(survey) = &after.survey
        && survey_before != Some(survey)
        && survey.by != author
    {
        return Err(refuse(
            RejectCode::InvalidRecord,
            "a satisfaction survey must be entered on the phone of the user who pushes it",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Customer, Visit, VisitStatus};

    fn meta_by(record: &mut crate::model::RecordMeta, by: &str) {
        record.id = "r1".into();
        record.created_by = by.into();
    }

    #[test]
    fn a_new_record_must_be_created_by_its_author() {
        let mut c = Customer::new("Kiosk");
        meta_by(&mut c.meta, "ben");
        let forged = authored_by(None, &AnyRecord::Customer(c.clone()), "anna").unwrap_err();
        assert_eq!(forged.code, RejectCode::InvalidRecord);
        assert!(authored_by(None, &AnyRecord::Customer(c.clone()), "ben").is_ok());
        // Editing someone else's record keeps their created_by.
        let record = AnyRecord::Customer(c);
        assert!(authored_by(Some(&record), &record, "anna").is_ok());
    }

    #[test]
    fn a_new_order_is_owned_by_the_rep_who_pushes_it() {
        let mut order = crate::model::Order::new("c1", "ben", "EUR");
        meta_by(&mut order.meta, "anna");
        let forged = authored_by(None, &AnyRecord::Order(order.clone()), "anna").unwrap_err();
        assert_eq!(forged.code, RejectCode::InvalidRecord);
        assert!(forged.reason.contains("owner"), "{}", forged.reason);
        order.owner = "anna".into();
        let own = AnyRecord::Order(order);
        assert!(authored_by(None, &own, "anna").is_ok());
        // A colleague editing the order later (a manager confirming it) keeps its owner.
        assert!(authored_by(Some(&own), &own, "mia").is_ok());
    }

    #[test]
    fn a_value_the_server_does_not_know_is_refused() {
        let mut visit = Visit::new("c1", "anna");
        visit.status = VisitStatus::parse("rescheduled");
        let refused = known_values(&AnyRecord::Visit(visit.clone())).unwrap_err();
        assert_eq!(refused.code, RejectCode::InvalidRecord);
        assert!(refused.reason.contains("rescheduled"), "{}", refused.reason);
        visit.status = VisitStatus::Planned;
        assert!(known_values(&AnyRecord::Visit(visit)).is_ok());
    }

    #[test]
    fn visit_status_never_moves_back() {
        let mut done = Visit::new("c1", "anna");
        done.status = VisitStatus::Done;
        let mut planned = done.clone();
        planned.status = VisitStatus::Planned;
        let back = status_moves_forward(
            &AnyRecord::Visit(done.clone()),
            &AnyRecord::Visit(planned.clone()),
        )
        .unwrap_err();
        assert_eq!(back.code, RejectCode::InvalidRecord);
        assert!(status_moves_forward(&AnyRecord::Visit(planned), &AnyRecord::Visit(done)).is_ok());
    }

    #[test]
    fn case_changes_escalations_and_surveys_are_the_pushers() {
        use crate::model::{Case, CaseStatus, CaseStatusChange, CaseSurvey, SurveyEntrant};
        let mut before = Case::new("c1", "Crushed crate");
        meta_by(&mut before.meta, "anna");
        let change = |by: &str, escalation: bool| CaseStatusChange {
            from: Some(CaseStatus::Open),
            to: CaseStatus::Resolved,
            at: 1_790_000_000_000,
            by: by.into(),
            note: None,
            escalation,
        };
        let push = |after: &Case, author: &str| {
            let previous = AnyRecord::Case(before.clone());
            authored_by(Some(&previous), &AnyRecord::Case(after.clone()), author)
        };
        let mut own = before.clone();
        own.status_history.push(change("ben", false));
        assert!(push(&own, "ben").is_ok());
        assert_eq!(
            push(&own, "anna").unwrap_err().code,
            RejectCode::InvalidRecord
        );
        let mut escalation = before.clone();
        escalation.status_history.push(change("ben", true));
        assert!(
            push(&escalation, "ben").is_err(),
            "an entry without the time"
        );
        let mut escalated = before.clone();
        escalated.escalated_at = Some(1_790_000_000_000);
        assert!(push(&escalated, "ben").is_err(), "a time without the entry");
        escalation.escalated_at = Some(1_790_000_000_000);
        assert!(push(&escalation, "ben").is_ok());
        let mut twice = escalation.clone();
        twice.status_history.push(change("ben", true));
        assert!(push(&twice, "ben").is_err(), "two escalations");
        let mut surveyed = own.clone();
        surveyed.survey = Some(CaseSurvey {
            score: 5,
            comment: None,
            entered_by: SurveyEntrant::Customer,
            at: 1_790_000_000_000,
            by: "ben".into(),
        });
        assert!(push(&surveyed, "ben").is_ok());
        assert!(
            push(&surveyed, "mia").is_err(),
            "a survey in a colleague's name"
        );
        // The survey itself before any resolution, and a score outside 1 to 5, are refused by
        // `validate` on the merged result.
        let mut early = before.clone();
        early.meta.created_at = 1_790_000_000_000;
        early.meta.updated_at = 1_790_000_000_000;
        early.survey = surveyed.survey.clone();
        assert_eq!(
            AnyRecord::Case(early).validate(),
            Err(crate::error::ValidationError::SurveyBeforeResolution)
        );
    }
}

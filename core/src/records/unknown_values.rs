//! Enum values a record holds that this code does not know: a stage, a visit status or another
//! coded value a newer app wrote, read as `Unknown(text)` (the `string_enum!` macro in
//! `model.rs`). They are kept as read and shown as unknown; this file lists them per field for
//! the two rules about them:
//! - the store writes no unknown value the app did not read from the record it edits (the typed
//!   API cannot make one up; [`check_none_new`]);
//! - the server refuses a pushed record that carries one: it is the newest peer, so a value it
//!   does not know is no value at all (`authority/invariants.rs`).

use super::AnyRecord;
use crate::error::ValidationError;
use crate::model::{Activity, Case, Customer, Opportunity, Order, StoredEnum, Task, Visit};

/// One value this code does not know: the field holding it and its text as read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnknownValue {
    pub field: &'static str,
    pub value: String,
}

impl From<UnknownValue> for ValidationError {
    fn from(unknown: UnknownValue) -> Self {
        ValidationError::UnknownValue {
            field: unknown.field.to_owned(),
            value: unknown.value,
        }
    }
}

struct Found(Vec<UnknownValue>);

impl Found {
    fn note(&mut self, field: &'static str, value: Option<&impl StoredEnum>) {
        if let Some(text) = value.and_then(StoredEnum::unknown_text) {
            self.0.push(UnknownValue {
                field,
                value: text.to_owned(),
            });
        }
    }
}

impl AnyRecord {
    /// Every enum value of the record this code does not know, field by field.
    pub fn unknown_values(&self) -> Vec<UnknownValue> {
        let mut found = Found(Vec::new());
        match self {
            AnyRecord::Customer(Customer {
                customer_kind,
                grade,
                location,
                ..
            }) => {
                found.note("customer_kind", Some(customer_kind));
                found.note("grade", grade.as_ref());
                found.note("location.source", location.as_ref().map(|l| &l.source));
            }
            AnyRecord::Contact(_) => {}
            AnyRecord::Opportunity(Opportunity {
                stage,
                stage_history,
                ..
            }) => {
                found.note("stage", Some(stage));
                for change in stage_history {
                    found.note("stage_history.stage", Some(&change.stage));
                }
            }
            AnyRecord::Visit(Visit {
                status,
                verification,
                ..
            }) => {
                found.note("status", Some(status));
                found.note("verification", verification.as_ref());
            }
            AnyRecord::Task(Task { status, .. }) => found.note("status", Some(status)),
            AnyRecord::Case(Case {
                severity,
                status,
                status_history,
                survey,
                ..
            }) => {
                found.note("severity", Some(severity));
                found.note("status", Some(status));
                for change in status_history {
                    found.note("status_history.from", change.from.as_ref());
                    found.note("status_history.to", Some(&change.to));
                }
                found.note("survey.entered_by", survey.as_ref().map(|s| &s.entered_by));
            }
            AnyRecord::Product(_) => {}
            AnyRecord::Order(Order {
                status,
                status_history,
                ..
            }) => {
                found.note("status", Some(status));
                for change in status_history {
                    found.note("status_history.status", Some(&change.status));
                }
            }
            AnyRecord::Activity(Activity {
                channel, direction, ..
            }) => {
                found.note("channel", Some(channel));
                found.note("direction", direction.as_ref());
            }
        }
        found.0
    }
}

/// Refuses an unknown value in `new` that `old` (the stored record; `None` at creation) does not
/// hold in the same field: the app may keep an unknown value it read, never write a new one.
pub(crate) fn check_none_new(
    old: Option<&AnyRecord>,
    new: &AnyRecord,
) -> Result<(), ValidationError> {
    let read = old.map(AnyRecord::unknown_values).unwrap_or_default();
    match new
        .unknown_values()
        .into_iter()
        .find(|unknown| !read.contains(unknown))
    {
        Some(made_up) => Err(made_up.into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Stage, StageChange, VisitStatus};

    #[test]
    fn every_unknown_value_is_listed_by_field() {
        let mut visit = Visit::new("c1", "anna");
        visit.status = VisitStatus::parse("rescheduled");
        visit.verification = Some(crate::model::Verification::parse("by_photo"));
        assert_eq!(
            AnyRecord::Visit(visit).unknown_values(),
            vec![
                UnknownValue {
                    field: "status",
                    value: "rescheduled".into()
                },
                UnknownValue {
                    field: "verification",
                    value: "by_photo".into()
                },
            ]
        );
        let known = AnyRecord::Customer(Customer::new("Kiosk"));
        assert!(known.unknown_values().is_empty());
    }

    #[test]
    fn an_unknown_value_is_kept_when_read_and_refused_when_made_up() {
        let mut deal = Opportunity::new(
            "c1",
            "Ovens",
            crate::model::Money {
                minor: 100,
                currency: "EUR".into(),
            },
        );
        deal.stage = Stage::parse("on_hold");
        let stored = AnyRecord::Opportunity(deal.clone());
        assert!(
            check_none_new(Some(&stored), &stored).is_ok(),
            "kept as read"
        );
        assert_eq!(
            check_none_new(None, &stored),
            Err(ValidationError::UnknownValue {
                field: "stage".into(),
                value: "on_hold".into()
            }),
            "a new record cannot carry one"
        );
        let mut other = deal.clone();
        other.stage = Stage::parse("paused");
        assert!(
            check_none_new(Some(&stored), &AnyRecord::Opportunity(other)).is_err(),
            "another unknown value than the one read"
        );
        let mut moved = deal;
        moved.stage = Stage::Won;
        moved.stage_history.push(StageChange {
            stage: Stage::parse("on_hold"),
            at: 1_790_000_000_000,
            by: "anna".into(),
        });
        assert!(
            check_none_new(Some(&stored), &AnyRecord::Opportunity(moved)).is_err(),
            "an unknown value read in one field is not one read in another"
        );
    }
}

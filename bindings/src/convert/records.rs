//! The uniffi mirrors of the kinds of record (products and orders in `catalog.rs`) (with the lines and stage changes they hold)
//! and of a field on which concurrent edits disagreed.

use std::collections::HashMap;

use fieldcrm_core as fc;

use super::*;

fn to_list(set: std::collections::BTreeSet<String>) -> Vec<String> {
    set.into_iter().collect()
}

fn to_set(list: Vec<String>) -> std::collections::BTreeSet<String> {
    list.into_iter().collect()
}

/// A free-text order line noted on a visit (orders are a record kind of their own now).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitOrderLine {
    pub product: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

impl From<fc::VisitOrderLine> for VisitOrderLine {
    fn from(l: fc::VisitOrderLine) -> Self {
        VisitOrderLine {
            product: l.product,
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
        }
    }
}

impl From<VisitOrderLine> for fc::VisitOrderLine {
    fn from(l: VisitOrderLine) -> Self {
        fc::VisitOrderLine {
            product: l.product,
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StageChange {
    pub stage: Stage,
    pub at: i64,
    pub by: String,
}

impl From<fc::StageChange> for StageChange {
    fn from(c: fc::StageChange) -> Self {
        StageChange {
            stage: c.stage.into(),
            at: c.at,
            by: c.by,
        }
    }
}

impl From<StageChange> for fc::StageChange {
    fn from(c: StageChange) -> Self {
        fc::StageChange {
            stage: c.stage.into(),
            at: c.at,
            by: c.by,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Customer {
    pub meta: RecordMeta,
    pub name: String,
    pub customer_kind: CustomerKind,
    #[uniffi(default)]
    pub grade: Option<Grade>,
    #[uniffi(default)]
    pub segments: Vec<String>,
    #[uniffi(default)]
    pub phones: Vec<String>,
    #[uniffi(default)]
    pub emails: Vec<String>,
    pub address: Address,
    #[uniffi(default)]
    pub location: Option<GeoLocation>,
    /// How close a check-in must be to count as at the customer.
    pub visit_radius_m: u32,
    #[uniffi(default)]
    pub visit_cadence_days: Option<u32>,
    #[uniffi(default)]
    pub owner: Option<String>,
    #[uniffi(default)]
    pub territory: Option<String>,
    #[uniffi(default)]
    pub notes: String,
    #[uniffi(default)]
    pub custom_fields: HashMap<String, String>,
}

impl From<fc::Customer> for Customer {
    fn from(c: fc::Customer) -> Self {
        Customer {
            meta: c.meta.into(),
            name: c.name,
            customer_kind: c.customer_kind.into(),
            grade: c.grade.map(Into::into),
            segments: to_list(c.segments),
            phones: to_list(c.phones),
            emails: to_list(c.emails),
            address: c.address.into(),
            location: c.location.map(Into::into),
            visit_radius_m: c.visit_radius_m,
            visit_cadence_days: c.visit_cadence_days,
            owner: c.owner,
            territory: c.territory,
            notes: c.notes,
            custom_fields: c.custom_fields.into_iter().collect(),
        }
    }
}

impl From<Customer> for fc::Customer {
    fn from(c: Customer) -> Self {
        fc::Customer {
            meta: c.meta.into(),
            name: c.name,
            customer_kind: c.customer_kind.into(),
            grade: c.grade.map(Into::into),
            segments: to_set(c.segments),
            phones: to_set(c.phones),
            emails: to_set(c.emails),
            address: c.address.into(),
            location: c.location.map(Into::into),
            visit_radius_m: c.visit_radius_m,
            visit_cadence_days: c.visit_cadence_days,
            owner: c.owner,
            territory: c.territory,
            notes: c.notes,
            custom_fields: c.custom_fields.into_iter().collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Contact {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub name: String,
    #[uniffi(default)]
    pub title: Option<String>,
    #[uniffi(default)]
    pub phones: Vec<String>,
    #[uniffi(default)]
    pub emails: Vec<String>,
    #[uniffi(default)]
    pub notes: String,
}

impl From<fc::Contact> for Contact {
    fn from(c: fc::Contact) -> Self {
        Contact {
            meta: c.meta.into(),
            customer_id: c.customer_id,
            name: c.name,
            title: c.title,
            phones: to_list(c.phones),
            emails: to_list(c.emails),
            notes: c.notes,
        }
    }
}

impl From<Contact> for fc::Contact {
    fn from(c: Contact) -> Self {
        fc::Contact {
            meta: c.meta.into(),
            customer_id: c.customer_id,
            name: c.name,
            title: c.title,
            phones: to_set(c.phones),
            emails: to_set(c.emails),
            notes: c.notes,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Opportunity {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub title: String,
    pub stage: Stage,
    pub amount: Money,
    /// Percent, 0 to 100.
    #[uniffi(default)]
    pub probability: Option<u8>,
    #[uniffi(default)]
    pub expected_close_at: Option<i64>,
    #[uniffi(default)]
    pub owner: Option<String>,
    #[uniffi(default)]
    pub lost_reason: Option<String>,
    /// Appended by the store when the stage changes; entries sent back are ignored.
    #[uniffi(default)]
    pub stage_history: Vec<StageChange>,
}

impl From<fc::Opportunity> for Opportunity {
    fn from(o: fc::Opportunity) -> Self {
        Opportunity {
            meta: o.meta.into(),
            customer_id: o.customer_id,
            title: o.title,
            stage: o.stage.into(),
            amount: o.amount.into(),
            probability: o.probability,
            expected_close_at: o.expected_close_at,
            owner: o.owner,
            lost_reason: o.lost_reason,
            stage_history: o.stage_history.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Opportunity> for fc::Opportunity {
    fn from(o: Opportunity) -> Self {
        fc::Opportunity {
            meta: o.meta.into(),
            customer_id: o.customer_id,
            title: o.title,
            stage: o.stage.into(),
            amount: o.amount.into(),
            probability: o.probability,
            expected_close_at: o.expected_close_at,
            owner: o.owner,
            lost_reason: o.lost_reason,
            stage_history: o.stage_history.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Visit {
    pub meta: RecordMeta,
    pub customer_id: String,
    /// User id of the rep; fixed at creation.
    pub rep: String,
    #[uniffi(default)]
    pub planned_start: Option<i64>,
    #[uniffi(default)]
    pub planned_end: Option<i64>,
    pub status: VisitStatus,
    /// Written once.
    #[uniffi(default)]
    pub check_in: Option<GpsStamp>,
    /// Written once.
    #[uniffi(default)]
    pub check_out: Option<GpsStamp>,
    #[uniffi(default)]
    pub outcome: Option<String>,
    #[uniffi(default)]
    pub notes: String,
    #[uniffi(default)]
    pub next_step: Option<String>,
    #[uniffi(default)]
    pub order_lines: Vec<VisitOrderLine>,
    /// Computed by the store at check-in.
    #[uniffi(default)]
    pub verification: Option<Verification>,
}

impl From<fc::Visit> for Visit {
    fn from(v: fc::Visit) -> Self {
        Visit {
            meta: v.meta.into(),
            customer_id: v.customer_id,
            rep: v.rep,
            planned_start: v.planned_start,
            planned_end: v.planned_end,
            status: v.status.into(),
            check_in: v.check_in.map(Into::into),
            check_out: v.check_out.map(Into::into),
            outcome: v.outcome,
            notes: v.notes,
            next_step: v.next_step,
            order_lines: v.order_lines.into_iter().map(Into::into).collect(),
            verification: v.verification.map(Into::into),
        }
    }
}

impl From<Visit> for fc::Visit {
    fn from(v: Visit) -> Self {
        fc::Visit {
            meta: v.meta.into(),
            customer_id: v.customer_id,
            rep: v.rep,
            planned_start: v.planned_start,
            planned_end: v.planned_end,
            status: v.status.into(),
            check_in: v.check_in.map(Into::into),
            check_out: v.check_out.map(Into::into),
            outcome: v.outcome,
            notes: v.notes,
            next_step: v.next_step,
            order_lines: v.order_lines.into_iter().map(Into::into).collect(),
            verification: v.verification.map(Into::into),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Task {
    pub meta: RecordMeta,
    pub title: String,
    #[uniffi(default)]
    pub due_at: Option<i64>,
    pub status: TaskStatus,
    #[uniffi(default)]
    pub assignee: Option<String>,
    /// Id of the record the task follows up.
    #[uniffi(default)]
    pub linked_id: Option<String>,
}

impl From<fc::Task> for Task {
    fn from(t: fc::Task) -> Self {
        Task {
            meta: t.meta.into(),
            title: t.title,
            due_at: t.due_at,
            status: t.status.into(),
            assignee: t.assignee,
            linked_id: t.linked_id,
        }
    }
}

impl From<Task> for fc::Task {
    fn from(t: Task) -> Self {
        fc::Task {
            meta: t.meta.into(),
            title: t.title,
            due_at: t.due_at,
            status: t.status.into(),
            assignee: t.assignee,
            linked_id: t.linked_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Case {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub subject: String,
    pub severity: Severity,
    pub status: CaseStatus,
    #[uniffi(default)]
    pub resolution: Option<String>,
    /// 1 (unhappy) to 5 (happy), as apps before the survey recorded it.
    #[uniffi(default)]
    pub satisfaction: Option<u8>,
    /// User id of who handles the case.
    #[uniffi(default)]
    pub assignee: Option<String>,
    /// From the severity's SLA; the store sets it at creation when left empty.
    #[uniffi(default)]
    pub due_at: Option<i64>,
    /// Kept by the store (append-only): a status change appends an entry; a note for it goes
    /// in a last entry the app adds with the new status.
    #[uniffi(default)]
    pub status_history: Vec<CaseStatusChange>,
    /// When the server escalated the case, overdue.
    #[uniffi(default)]
    pub escalated_at: Option<i64>,
    /// Recorded once the case was resolved; the store stamps who and when.
    #[uniffi(default)]
    pub survey: Option<CaseSurvey>,
}

/// One entry of a case's status history.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseStatusChange {
    pub from: Option<CaseStatus>,
    pub to: CaseStatus,
    pub at: i64,
    pub by: String,
    pub note: Option<String>,
    /// The server escalated the case, overdue.
    pub escalation: bool,
}

impl From<fc::CaseStatusChange> for CaseStatusChange {
    fn from(c: fc::CaseStatusChange) -> Self {
        CaseStatusChange {
            from: c.from.map(Into::into),
            to: c.to.into(),
            at: c.at,
            by: c.by,
            note: c.note,
            escalation: c.escalation,
        }
    }
}

impl From<CaseStatusChange> for fc::CaseStatusChange {
    fn from(c: CaseStatusChange) -> Self {
        fc::CaseStatusChange {
            from: c.from.map(Into::into),
            to: c.to.into(),
            at: c.at,
            by: c.by,
            note: c.note,
            escalation: c.escalation,
        }
    }
}

/// A satisfaction survey: a score from 1 to 5 and a comment.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseSurvey {
    pub score: u8,
    pub comment: Option<String>,
    pub entered_by: SurveyEntrant,
    pub at: i64,
    pub by: String,
}

impl From<fc::CaseSurvey> for CaseSurvey {
    fn from(s: fc::CaseSurvey) -> Self {
        CaseSurvey {
            score: s.score,
            comment: s.comment,
            entered_by: s.entered_by.into(),
            at: s.at,
            by: s.by,
        }
    }
}

impl From<CaseSurvey> for fc::CaseSurvey {
    fn from(s: CaseSurvey) -> Self {
        fc::CaseSurvey {
            score: s.score,
            comment: s.comment,
            entered_by: s.entered_by.into(),
            at: s.at,
            by: s.by,
        }
    }
}

impl From<fc::Case> for Case {
    fn from(c: fc::Case) -> Self {
        Case {
            meta: c.meta.into(),
            customer_id: c.customer_id,
            subject: c.subject,
            severity: c.severity.into(),
            status: c.status.into(),
            resolution: c.resolution,
            satisfaction: c.satisfaction,
            assignee: c.assignee,
            due_at: c.due_at,
            status_history: c.status_history.into_iter().map(Into::into).collect(),
            escalated_at: c.escalated_at,
            survey: c.survey.map(Into::into),
        }
    }
}

impl From<Case> for fc::Case {
    fn from(c: Case) -> Self {
        fc::Case {
            meta: c.meta.into(),
            customer_id: c.customer_id,
            subject: c.subject,
            severity: c.severity.into(),
            status: c.status.into(),
            resolution: c.resolution,
            satisfaction: c.satisfaction,
            assignee: c.assignee,
            due_at: c.due_at,
            status_history: c.status_history.into_iter().map(Into::into).collect(),
            escalated_at: c.escalated_at,
            survey: c.survey.map(Into::into),
        }
    }
}

/// A field on which concurrent edits disagreed, with the values that lost.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FieldConflict {
    pub field: String,
    pub values: Vec<String>,
}

impl From<fc::FieldConflict> for FieldConflict {
    fn from(c: fc::FieldConflict) -> Self {
        FieldConflict {
            field: c.field,
            values: c.values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_round_trips_through_the_mirror() {
        let mut core = fc::Customer::new("Café Mitte");
        core.segments.insert("bakery".into());
        core.segments.insert("alpha".into());
        core.custom_fields.insert("vat".into(), "DE1".into());
        core.location = Some(fc::GeoLocation {
            lat: 53.55,
            lon: 9.99,
            source: fc::LocationSource::Gps,
            at: 1_790_000_000_000,
        });
        let mirror = Customer::from(core.clone());
        assert_eq!(mirror.segments, ["alpha", "bakery"], "sorted list");
        assert_eq!(fc::Customer::from(mirror), core);
    }

    #[test]
    fn visit_and_opportunity_round_trip() {
        let mut visit = fc::Visit::new("c1", "anna");
        visit.status = fc::VisitStatus::InProgress;
        visit.check_in = Some(fc::GpsStamp {
            at: 1_790_000_000_000,
            lat: 1.0,
            lon: 2.0,
            accuracy_m: 5.0,
            fix_at: 1_790_000_000_000,
            mock: true,
        });
        visit.order_lines.push(fc::VisitOrderLine {
            product: "Bread".into(),
            quantity: 2,
            unit_price_minor: 250,
        });
        assert_eq!(fc::Visit::from(Visit::from(visit.clone())), visit);
        let mut deal = fc::Opportunity::new(
            "c1",
            "Deal",
            fc::Money {
                minor: 100,
                currency: "EUR".into(),
            },
        );
        deal.stage_history.push(fc::StageChange {
            stage: fc::Stage::Won,
            at: 1_790_000_000_000,
            by: "anna".into(),
        });
        assert_eq!(fc::Opportunity::from(Opportunity::from(deal.clone())), deal);
    }
}

//! The events a merged write produces, from the record before and after the merge: a pure rule,
//! with no storage in sight (the push writes what it returns in its own transaction, see
//! `storage/sqlite_webhooks.rs`).
//!
//! - `customer.created`: a customer the server did not have; `customer.changed`: any later
//!   change of its fields (the names of the changed fields listed);
//! - `visit.checked_in` / `visit.checked_out`: the check-in or check-out stamp appears (each is
//!   written once), with the visit's verification verdict;
//! - `order.submitted`: an order leaves draft for submitted, confirmed or delivered (never for
//!   cancelled);
//! - `case.escalated`: the case's escalation time appears; `case.resolved`: the case becomes
//!   resolved or closed when it was neither.
//!
//! Payloads carry ids and the few fields an integrator acts on, never whole documents.

use fieldcrm_core::{AnyRecord, Case, Customer, Order, OrderStatus, Visit};
use serde_json::{Value, json};

/// The kinds of event, as named on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub enum EventType {
    #[serde(rename = "customer.created")]
    CustomerCreated,
    #[serde(rename = "customer.changed")]
    CustomerChanged,
    #[serde(rename = "visit.checked_in")]
    VisitCheckedIn,
    #[serde(rename = "visit.checked_out")]
    VisitCheckedOut,
    #[serde(rename = "order.submitted")]
    OrderSubmitted,
    #[serde(rename = "case.escalated")]
    CaseEscalated,
    #[serde(rename = "case.resolved")]
    CaseResolved,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::CustomerCreated,
        EventType::CustomerChanged,
        EventType::VisitCheckedIn,
        EventType::VisitCheckedOut,
        EventType::OrderSubmitted,
        EventType::CaseEscalated,
        EventType::CaseResolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CustomerCreated => "customer.created",
            EventType::CustomerChanged => "customer.changed",
            EventType::VisitCheckedIn => "visit.checked_in",
            EventType::VisitCheckedOut => "visit.checked_out",
            EventType::OrderSubmitted => "order.submitted",
            EventType::CaseEscalated => "case.escalated",
            EventType::CaseResolved => "case.resolved",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event before it is stored (the store gives it its sequence number, id and time).
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub event_type: EventType,
    pub record_id: String,
    pub payload: Value,
}

/// The events of one merged write of a record: `previous` as stored before (`None`: new to the
/// server), `current` as merged. In the order they happened (a visit checked in and out in
/// one push: the check-in first).
pub fn derive(previous: Option<&AnyRecord>, current: &AnyRecord) -> Vec<EventDraft> {
    match current {
        AnyRecord::Customer(customer) => customer_events(
            previous.and_then(|p| match p {
                AnyRecord::Customer(c) => Some(c),
                _ => None,
            }),
            customer,
        ),
        AnyRecord::Visit(visit) => visit_events(
            previous.and_then(|p| match p {
                AnyRecord::Visit(v) => Some(v),
                _ => None,
            }),
            visit,
        ),
        AnyRecord::Order(order) => order_events(
            previous.and_then(|p| match p {
                AnyRecord::Order(o) => Some(o),
                _ => None,
            }),
            order,
        ),
        AnyRecord::Case(case) => case_events(
            previous.and_then(|p| match p {
                AnyRecord::Case(c) => Some(c),
                _ => None,
            }),
            case,
        ),
        AnyRecord::Contact(_)
        | AnyRecord::Opportunity(_)
        | AnyRecord::Task(_)
        | AnyRecord::Product(_)
        | AnyRecord::Activity(_) => Vec::new(),
    }
}

fn draft(event_type: EventType, record_id: &str, payload: Value) -> EventDraft {
    EventDraft {
        event_type,
        record_id: record_id.to_owned(),
        payload,
    }
}

/// The top-level fields whose values differ (the record's bookkeeping in `meta` left out, but
/// for its deletion).
fn changed_fields(previous: &Customer, current: &Customer) -> Vec<String> {
    let (Ok(Value::Object(before)), Ok(Value::Object(after))) = (
        serde_json::to_value(previous),
        serde_json::to_value(current),
    ) else {
        return Vec::new();
    };
    let mut changed: Vec<String> = after
        .iter()
        .filter(|(name, value)| name.as_str() != "meta" && before.get(name.as_str()) != Some(value))
        .map(|(name, _)| name.clone())
        .collect();
    if previous.meta.deleted != current.meta.deleted {
        changed.push("deleted".into());
    }
    changed
}

fn customer_payload(customer: &Customer) -> Value {
    json!({
        "customer_id": customer.meta.id,
        "name": customer.name,
        "territory": customer.territory,
        "owner": customer.owner,
        "deleted": customer.meta.deleted,
    })
}

fn customer_events(previous: Option<&Customer>, current: &Customer) -> Vec<EventDraft> {
    let id = &current.meta.id;
    match previous {
        None => vec![draft(
            EventType::CustomerCreated,
            id,
            customer_payload(current),
        )],
        Some(previous) => {
            let changed = changed_fields(previous, current);
            if changed.is_empty() {
                return Vec::new();
            }
            let mut payload = customer_payload(current);
            payload["changed"] = json!(changed);
            vec![draft(EventType::CustomerChanged, id, payload)]
        }
    }
}

fn visit_events(previous: Option<&Visit>, current: &Visit) -> Vec<EventDraft> {
    let id = &current.meta.id;
    let base = |at: i64| {
        json!({
            "visit_id": current.meta.id,
            "customer_id": current.customer_id,
            "rep": current.rep,
            "at": at,
            "verification": current.verification.as_ref().map(|v| v.as_str()),
        })
    };
    let mut events = Vec::new();
    let had_check_in = previous.is_some_and(|p| p.check_in.is_some());
    if let (false, Some(stamp)) = (had_check_in, &current.check_in) {
        events.push(draft(EventType::VisitCheckedIn, id, base(stamp.at)));
    }
    let had_check_out = previous.is_some_and(|p| p.check_out.is_some());
    if let (false, Some(stamp)) = (had_check_out, &current.check_out) {
        let mut payload = base(stamp.at);
        payload["outcome"] = json!(current.outcome);
        events.push(draft(EventType::VisitCheckedOut, id, payload));
    }
    events
}

/// Submitted, or past it by a path that went through it (confirmed, delivered).
fn is_submitted(status: &OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Submitted | OrderStatus::Confirmed | OrderStatus::Delivered
    )
}

fn order_events(previous: Option<&Order>, current: &Order) -> Vec<EventDraft> {
    let was_submitted = previous.is_some_and(|p| p.status != OrderStatus::Draft);
    if was_submitted || !is_submitted(&current.status) {
        return Vec::new();
    }
    let totals = current.totals();
    vec![draft(
        EventType::OrderSubmitted,
        &current.meta.id,
        json!({
            "order_id": current.meta.id,
            "customer_id": current.customer_id,
            "visit_id": current.visit_id,
            "owner": current.owner,
            "status": current.status.as_str(),
            "currency": current.currency,
            "lines": current.lines.len(),
            "net_minor": totals.net_minor,
            "tax_minor": totals.tax_minor,
            "ordered_at": current.ordered_at,
        }),
    )]
}

fn case_events(previous: Option<&Case>, current: &Case) -> Vec<EventDraft> {
    let id = &current.meta.id;
    let base = || {
        json!({
            "case_id": current.meta.id,
            "customer_id": current.customer_id,
            "severity": current.severity.as_str(),
            "status": current.status.as_str(),
            "assignee": current.assignee,
        })
    };
    let mut events = Vec::new();
    let was_escalated = previous.is_some_and(|p| p.escalated_at.is_some());
    if let (false, Some(at)) = (was_escalated, current.escalated_at) {
        let mut payload = base();
        payload["escalated_at"] = json!(at);
        payload["due_at"] = json!(current.due_at);
        events.push(draft(EventType::CaseEscalated, id, payload));
    }
    let was_resolved = previous.is_some_and(Case::is_resolved);
    if !was_resolved && current.is_resolved() {
        let mut payload = base();
        payload["resolution"] = json!(current.resolution);
        events.push(draft(EventType::CaseResolved, id, payload));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_core::{CaseStatus, GpsStamp, Record, Verification};

    fn customer() -> Customer {
        let mut c = Customer::new("Corner shop");
        c.meta.id = "c1".into();
        c.territory = Some("harbour".into());
        c
    }

    fn types(events: &[EventDraft]) -> Vec<&'static str> {
        events.iter().map(|e| e.event_type.as_str()).collect()
    }

    fn stamp(at: i64) -> GpsStamp {
        GpsStamp {
            at,
            lat: 52.0,
            lon: 13.0,
            accuracy_m: 10.0,
            fix_at: at,
            mock: false,
        }
    }

    #[test]
    fn a_new_customer_is_created_and_a_later_edit_lists_its_changed_fields() {
        let created = derive(None, &customer().into_any());
        assert_eq!(types(&created), ["customer.created"]);
        assert_eq!(created[0].record_id, "c1");
        assert_eq!(created[0].payload["name"], "Corner shop");

        let mut edited = customer();
        edited.name = "Corner shop & café".into();
        edited.phones.insert("+49 30 1".into());
        edited.meta.updated_at = 99;
        let changed = derive(Some(&customer().into_any()), &edited.into_any());
        assert_eq!(types(&changed), ["customer.changed"]);
        assert_eq!(changed[0].payload["changed"], json!(["name", "phones"]));
    }

    #[test]
    fn a_customer_whose_fields_did_not_change_has_no_event() {
        let mut touched = customer();
        touched.meta.updated_at = 5;
        assert!(derive(Some(&customer().into_any()), &touched.into_any()).is_empty());
    }

    #[test]
    fn a_deleted_customer_is_a_change_naming_the_deletion() {
        let mut deleted = customer();
        deleted.meta.deleted = true;
        let events = derive(Some(&customer().into_any()), &deleted.into_any());
        assert_eq!(types(&events), ["customer.changed"]);
        assert_eq!(events[0].payload["changed"], json!(["deleted"]));
        assert_eq!(events[0].payload["deleted"], true);
    }

    #[test]
    fn a_visit_checked_in_then_out_carries_its_verification_each_time_once() {
        let mut visit = Visit::new("c1", "rep1");
        visit.meta.id = "v1".into();
        assert!(derive(None, &visit.clone().into_any()).is_empty());

        let mut checked_in = visit.clone();
        checked_in.check_in = Some(stamp(1_000));
        checked_in.verification = Some(Verification::Verified);
        let events = derive(
            Some(&visit.clone().into_any()),
            &checked_in.clone().into_any(),
        );
        assert_eq!(types(&events), ["visit.checked_in"]);
        assert_eq!(events[0].payload["verification"], "verified");
        assert_eq!(events[0].payload["at"], 1_000);

        let mut notes = checked_in.clone();
        notes.notes = "more".into();
        assert!(derive(Some(&checked_in.clone().into_any()), &notes.into_any()).is_empty());

        let mut out = checked_in.clone();
        out.check_out = Some(stamp(2_000));
        out.outcome = Some("order taken".into());
        let events = derive(Some(&checked_in.into_any()), &out.into_any());
        assert_eq!(types(&events), ["visit.checked_out"]);
        assert_eq!(events[0].payload["outcome"], "order taken");
    }

    #[test]
    fn a_visit_pushed_first_when_already_done_checks_in_before_it_checks_out() {
        let mut visit = Visit::new("c1", "rep1");
        visit.check_in = Some(stamp(1));
        visit.check_out = Some(stamp(2));
        visit.verification = Some(Verification::OutOfRange);
        let events = derive(None, &visit.into_any());
        assert_eq!(types(&events), ["visit.checked_in", "visit.checked_out"]);
        assert_eq!(events[1].payload["verification"], "out_of_range");
    }

    #[test]
    fn an_order_is_submitted_once_when_it_leaves_draft_and_never_when_cancelled() {
        let draft_order = Order::new("c1", "rep1", "EUR");
        assert!(derive(None, &draft_order.clone().into_any()).is_empty());
        let mut submitted = draft_order.clone();
        submitted.status = OrderStatus::Submitted;
        let events = derive(
            Some(&draft_order.clone().into_any()),
            &submitted.clone().into_any(),
        );
        assert_eq!(types(&events), ["order.submitted"]);
        assert_eq!(events[0].payload["currency"], "EUR");

        let mut confirmed = submitted.clone();
        confirmed.status = OrderStatus::Confirmed;
        assert!(derive(Some(&submitted.into_any()), &confirmed.clone().into_any()).is_empty());
        // Pushed for the first time already confirmed: it was submitted on the way.
        assert_eq!(
            types(&derive(None, &confirmed.into_any())),
            ["order.submitted"]
        );

        let mut cancelled = draft_order.clone();
        cancelled.status = OrderStatus::Cancelled;
        assert!(derive(Some(&draft_order.into_any()), &cancelled.into_any()).is_empty());
    }

    #[test]
    fn a_case_escalates_once_and_resolves_once() {
        let case = Case::new("c1", "Broken fridge");
        assert!(derive(None, &case.clone().into_any()).is_empty());

        let mut escalated = case.clone();
        escalated.escalated_at = Some(7);
        let events = derive(
            Some(&case.clone().into_any()),
            &escalated.clone().into_any(),
        );
        assert_eq!(types(&events), ["case.escalated"]);
        assert_eq!(events[0].payload["escalated_at"], 7);

        let mut resolved = escalated.clone();
        resolved.change_status(CaseStatus::Resolved, None);
        resolved.resolution = Some("replaced".into());
        let events = derive(Some(&escalated.into_any()), &resolved.clone().into_any());
        assert_eq!(types(&events), ["case.resolved"]);
        assert_eq!(events[0].payload["resolution"], "replaced");

        let mut closed = resolved.clone();
        closed.change_status(CaseStatus::Closed, None);
        assert!(derive(Some(&resolved.into_any()), &closed.into_any()).is_empty());
    }

    #[test]
    fn other_kinds_have_no_events() {
        let task = fieldcrm_core::Task::new("Call back");
        assert!(derive(None, &task.into_any()).is_empty());
    }

    #[test]
    fn every_type_reads_back_from_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(EventType::parse("customer.deleted"), None);
    }
}

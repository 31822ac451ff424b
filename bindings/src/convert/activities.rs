//! The uniffi mirrors of activities (calls, emails, meetings) and of a customer's timeline.

use fieldcrm_core as fc;

use super::*;

/// A call, an email or a meeting logged against a customer and optionally one of its contacts.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Activity {
    pub meta: RecordMeta,
    /// Written once.
    pub customer_id: String,
    /// One of the customer's contacts.
    #[uniffi(default)]
    pub contact_id: Option<String>,
    pub channel: ActivityChannel,
    #[uniffi(default)]
    pub direction: Option<ActivityDirection>,
    /// When it took place; 0 at creation means now (the store's clock).
    pub occurred_at: i64,
    /// At most a day (86,400 seconds).
    #[uniffi(default)]
    pub duration_s: Option<u32>,
    pub subject: String,
    /// Merged character by character with concurrent edits.
    #[uniffi(default)]
    pub notes: String,
    #[uniffi(default)]
    pub outcome: Option<String>,
    #[uniffi(default)]
    pub next_step: Option<String>,
    #[uniffi(default)]
    pub next_step_due_at: Option<i64>,
}

impl From<fc::Activity> for Activity {
    fn from(a: fc::Activity) -> Self {
        Activity {
            meta: a.meta.into(),
            customer_id: a.customer_id,
            contact_id: a.contact_id,
            channel: a.channel.into(),
            direction: a.direction.map(Into::into),
            occurred_at: a.occurred_at,
            duration_s: a.duration_s,
            subject: a.subject,
            notes: a.notes,
            outcome: a.outcome,
            next_step: a.next_step,
            next_step_due_at: a.next_step_due_at,
        }
    }
}

impl From<Activity> for fc::Activity {
    fn from(a: Activity) -> Self {
        fc::Activity {
            meta: a.meta.into(),
            customer_id: a.customer_id,
            contact_id: a.contact_id,
            channel: a.channel.into(),
            direction: a.direction.map(Into::into),
            occurred_at: a.occurred_at,
            duration_s: a.duration_s,
            subject: a.subject,
            notes: a.notes,
            outcome: a.outcome,
            next_step: a.next_step,
            next_step_due_at: a.next_step_due_at,
        }
    }
}

/// One entry of a customer's timeline (visits, activities, orders and cases, newest first).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineEntry {
    /// Visit, activity, order or case.
    pub kind: RecordKind,
    pub id: String,
    /// A visit's check-in (else planned start, else last update), an activity's time, an
    /// order's time, a case's opening.
    pub at: i64,
    /// An activity's or a case's subject.
    pub title: Option<String>,
    /// A visit's, an order's or a case's status, an activity's channel, as documents hold it.
    pub status: String,
}

impl From<fc::TimelineEntry> for TimelineEntry {
    fn from(e: fc::TimelineEntry) -> Self {
        TimelineEntry {
            kind: e.kind.into(),
            id: e.id,
            at: e.at,
            title: e.title,
            status: e.status,
        }
    }
}

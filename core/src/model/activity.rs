//! Activities: a call, an email or a meeting logged against a customer (and optionally one of
//! its contacts), with its outcome and next step. Leaf types of the model; the document
//! mapping, the projection and the validation are in `records/activity.rs`.

use serde::{Deserialize, Serialize};

use super::{Millis, RecordMeta, StoredEnum};

string_enum!(
    /// How the rep and the customer were in touch.
    ActivityChannel {
        Call = "call",
        Email = "email",
        Meeting = "meeting",
    }
);

string_enum!(
    /// Who reached out: the customer (inbound) or the rep (outbound).
    ActivityDirection {
        Inbound = "inbound",
        Outbound = "outbound",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub meta: RecordMeta,
    /// The customer the activity is logged against; written once (it gives the activity its
    /// scope on the server).
    pub customer_id: String,
    /// One of the customer's contacts (the server refuses a contact of another customer).
    pub contact_id: Option<String>,
    pub channel: ActivityChannel,
    /// Optional: a meeting often has no side that reached out.
    pub direction: Option<ActivityDirection>,
    /// When it took place (its start); 0 at creation means now (the store sets it).
    pub occurred_at: Millis,
    /// Length in seconds, at most [`Activity::MAX_DURATION_S`] (a day).
    pub duration_s: Option<u32>,
    pub subject: String,
    /// Merged character by character, like a visit's notes.
    pub notes: String,
    pub outcome: Option<String>,
    pub next_step: Option<String>,
    pub next_step_due_at: Option<Millis>,
}

impl Activity {
    /// A day: longer is a unit bug (milliseconds given as seconds) or a forgotten timer.
    pub const MAX_DURATION_S: u32 = 86_400;

    pub fn new(
        customer_id: impl Into<String>,
        channel: ActivityChannel,
        occurred_at: Millis,
        subject: impl Into<String>,
    ) -> Self {
        Activity {
            meta: RecordMeta::default(),
            customer_id: customer_id.into(),
            contact_id: None,
            channel,
            direction: None,
            occurred_at,
            duration_s: None,
            subject: subject.into(),
            notes: String::new(),
            outcome: None,
            next_step: None,
            next_step_due_at: None,
        }
    }
}

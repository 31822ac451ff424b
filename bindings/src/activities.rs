//! Logging activities and reading a customer's timeline.

use fieldcrm_core as fc;

use super::*;

#[uniffi::export]
impl FieldStore {
    /// Stores a new activity: an `occurred_at` of 0 becomes now; a `contact_id` must be a
    /// contact of the activity's customer on this device (`NotFound`, or `InvalidValue` on
    /// `contact_id` with rule `OutOfRange`).
    pub fn log_activity(&self, activity: Activity) -> Result<Activity> {
        self.with("log_activity", |s| {
            Ok(s.log_activity(fc::Activity::from(activity))?.into())
        })
    }

    /// The customer's visits, activities, orders and cases, newest first; at most `limit`
    /// entries (0 means 50). Live: subscribe to `Query::CustomerTimeline`.
    pub fn customer_timeline(&self, customer_id: String, limit: u32) -> Result<Vec<TimelineEntry>> {
        self.with("customer_timeline", |s| {
            match s.query(&fc::Query::CustomerTimeline { customer_id, limit })? {
                fc::QueryResult::Timeline(entries) => {
                    Ok(entries.into_iter().map(Into::into).collect())
                }
                _ => Err(internal("customer timeline returned other rows")),
            }
        })
    }
}

/// A new activity of `channel` for the customer; `occurred_at` 0 means now when stored.
#[uniffi::export]
pub fn new_activity(
    customer_id: String,
    channel: ActivityChannel,
    occurred_at: i64,
    subject: String,
) -> Activity {
    fc::Activity::new(customer_id, channel.into(), occurred_at, subject).into()
}

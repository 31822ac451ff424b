//! A customer's timeline ([`super::Query::CustomerTimeline`]): its visits, activities, orders
//! and cases in one list, newest first. Deleted records are left out.
//!
//! The time of each entry:
//! - a visit: its check-in, else its planned start (the projection's `day_at`), else its last
//!   update (a visit neither planned nor started still shows);
//! - an activity: when it took place (`occurred_at`);
//! - an order: when it was taken (`ordered_at`);
//! - a case: when it was opened (its creation, `cases.opened_at`); a case row projected before
//!   schema 12 lacks it until `verify_documents` projects it again, and stands at its last
//!   update meanwhile.

use rusqlite::{Connection, params};

use super::limit;
use crate::error::Result;
use crate::model::{Kind, Millis};

/// One entry of a customer's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// Visit, activity, order or case.
    pub kind: Kind,
    pub id: String,
    /// The entry's time (see the module docs for each kind's).
    pub at: Millis,
    /// An activity's or a case's subject; `None` for visits and orders.
    pub title: Option<String>,
    /// The record's coded state as documents hold it: a visit's, an order's or a case's
    /// status, an activity's channel (`call`, `email`, `meeting`).
    pub status: String,
}

const TIMELINE: &str = "SELECT kind, id, at, title, status FROM (
      SELECT 'visit' AS kind, id, coalesce(day_at, updated_at) AS at, NULL AS title, status
        FROM visits WHERE customer_id = ?1 AND deleted = 0
      UNION ALL
      SELECT 'activity', id, occurred_at, subject, channel
        FROM activities WHERE customer_id = ?1 AND deleted = 0
      UNION ALL
      SELECT 'order', id, ordered_at, NULL, status
        FROM orders WHERE customer_id = ?1 AND deleted = 0
      UNION ALL
      SELECT 'case', id, coalesce(opened_at, updated_at), subject, status
        FROM cases WHERE customer_id = ?1 AND deleted = 0
    ) ORDER BY at DESC, kind, id LIMIT ?2";

/// The customer's newest `max` entries (0 means 50, at most 10,000).
pub(super) fn customer_timeline(
    conn: &Connection,
    customer_id: &str,
    max: u32,
) -> Result<Vec<TimelineEntry>> {
    let rows = conn
        .prepare_cached(TIMELINE)?
        .query_map(params![customer_id, limit(max)], |row| {
            let kind: String = row.get(0)?;
            Ok((kind, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
        })?
        .collect::<rusqlite::Result<Vec<(String, String, Millis, Option<String>, String)>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, id, at, title, status)| {
            Some(TimelineEntry {
                kind: Kind::parse(&kind)?,
                id,
                at,
                title,
                status,
            })
        })
        .collect())
}

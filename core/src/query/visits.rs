//! Visits by any mix of rep, customer, status and day, a page at a time ([`Query::Visits`]).

use rusqlite::{Connection, params};

use super::{VISIT_COLUMNS, VisitSummary, limit, visit_row};
use crate::error::Result;
use crate::model::{Millis, VisitStatus};

/// Filters for [`super::Query::Visits`]; every given filter must match. A limit of 0 means 50.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VisitFilter {
    pub rep: Option<String>,
    pub customer_id: Option<String>,
    pub status: Option<VisitStatus>,
    /// Visits whose day (the check-in, or before check-in the planned start) is at or after
    /// this time. A visit with neither has no day and matches no day filter.
    pub from: Option<Millis>,
    /// ... and before this time.
    pub to: Option<Millis>,
    pub limit: u32,
    pub offset: u32,
}

/// The one WHERE clause of the rows and of their count.
const WHERE: &str = "WHERE v.deleted = 0 AND (?1 IS NULL OR v.rep = ?1)
    AND (?2 IS NULL OR v.customer_id = ?2) AND (?3 IS NULL OR v.status = ?3)
    AND (?4 IS NULL OR v.day_at >= ?4) AND (?5 IS NULL OR v.day_at < ?5)";

/// By day (visits without one last), then id.
pub(super) fn visits(conn: &Connection, filter: &VisitFilter) -> Result<Vec<VisitSummary>> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS} {WHERE} ORDER BY v.day_at IS NULL, v.day_at, v.id LIMIT ?6 OFFSET ?7"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                filter.rep,
                filter.customer_id,
                filter.status.as_ref().map(VisitStatus::as_str),
                filter.from,
                filter.to,
                limit(filter.limit),
                filter.offset
            ],
            visit_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// How many visits match, whatever the limit and offset.
pub(super) fn count(conn: &Connection, filter: &VisitFilter) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM visits v {WHERE}");
    let n: i64 = conn.prepare_cached(&sql)?.query_row(
        params![
            filter.rep,
            filter.customer_id,
            filter.status.as_ref().map(VisitStatus::as_str),
            filter.from,
            filter.to
        ],
        |row| row.get(0),
    )?;
    Ok(n.max(0) as u64)
}

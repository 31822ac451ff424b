//! `fieldcrm visit list`: visits with the ids `checkin` and `checkout` take; today's by
//! default (in local time), or by date, customer and status, a page at a time.

use crate::output::out;
use std::path::Path;

use clap::Subcommand;
use fieldcrm_core::{Query, QueryResult, Store, VisitFilter, VisitStatus, VisitSummary, now_ms};

use crate::error::CliError;
use crate::paging::Page;
use crate::session::Session;
use crate::time_text::{at, checked_date, local_day_span};

#[derive(Debug, Subcommand)]
pub enum VisitCommand {
    /// Your visits of today (local time), with their ids for `checkin` and `checkout`; or by
    /// --date, --customer and --status.
    List {
        /// Only visits of this day, YYYY-MM-DD in local time (default: today; with --customer,
        /// any day).
        #[arg(long, value_parser = checked_date, conflicts_with = "any_day")]
        date: Option<String>,
        /// Visits of any day (and those not planned for a day).
        #[arg(long)]
        any_day: bool,
        /// Only this customer's visits, by any rep (any day unless --date is given).
        #[arg(long)]
        customer: Option<String>,
        /// Only visits in this state: planned, in_progress, done, cancelled or skipped.
        #[arg(long, value_parser = parse_status)]
        status: Option<VisitStatus>,
        /// Every rep's visits this device holds, not only yours.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        page: Page,
    },
}

/// A state as typed: `in-progress` and `checked-in` name `in_progress`, in either case.
fn parse_status(text: &str) -> Result<VisitStatus, String> {
    let text = text.to_ascii_lowercase().replace('-', "_");
    let text = if text == "checked_in" {
        "in_progress".to_owned()
    } else {
        text
    };
    VisitStatus::parse_known(&text)
        .ok_or_else(|| "expected planned, in_progress, done, cancelled or skipped".to_owned())
}

pub fn run(store: &Store, session_path: &Path, command: VisitCommand) -> Result<(), CliError> {
    let VisitCommand::List {
        date,
        any_day,
        customer,
        status,
        all,
        page,
    } = command;
    if let Some(id) = &customer
        && store.get_any(id)?.is_none()
    {
        return Err(CliError::NotFound(id.clone()));
    }
    let by_customer = customer.is_some();
    let day = if any_day || (by_customer && date.is_none()) {
        None
    } else {
        Some(local_day_span(date.as_deref(), now_ms()).map_err(CliError::Usage)?)
    };
    // Before login the store's visits belong to nobody yet: show them all.
    let mine = !all && !by_customer && Session::load(session_path)?.is_some();
    let query = Query::Visits(VisitFilter {
        rep: mine.then(|| store.user()),
        customer_id: customer,
        status,
        from: day.map(|(start, _)| start),
        to: day.map(|(_, end)| end),
        limit: page.limit,
        offset: page.offset,
    });
    let rows = match store.query(&query)? {
        QueryResult::Visits(rows) => rows,
        _ => Vec::new(),
    };
    if rows.is_empty() {
        match (&date, day) {
            (None, Some(_)) => out!("no visits today"),
            (Some(date), _) => out!("no visits on {date}"),
            (None, None) => out!("no visits"),
        }
    }
    for visit in &rows {
        print_visit(visit);
    }
    page.print_note(store, &query, rows.len())
}

/// One line: id, when (the check-in, else the planned start), state, customer, verification.
fn print_visit(v: &VisitSummary) {
    let when = v.check_in_at.or(v.planned_start).map_or("-".to_owned(), at);
    let done_at = v
        .check_out_at
        .map(|t| format!(" out {}", at(t).get(11..16).unwrap_or_default()))
        .unwrap_or_default();
    let verification = v
        .verification
        .as_ref()
        .map(|v| format!("  {v}"))
        .unwrap_or_default();
    out!(
        "{}  {when:<16}  {:<11} {}{done_at}{verification}",
        v.id,
        status_label(&v.status),
        v.customer_name.as_deref().unwrap_or("(unknown customer)"),
    );
}

/// A state as shown: one a newer app wrote and this one does not know is shown as unknown.
fn status_label(status: &VisitStatus) -> String {
    match status {
        VisitStatus::Unknown(value) => format!("unknown ({value})"),
        known => known.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_as_typed() {
        assert_eq!(parse_status("planned"), Ok(VisitStatus::Planned));
        assert_eq!(parse_status("In-Progress"), Ok(VisitStatus::InProgress));
        assert_eq!(parse_status("checked-in"), Ok(VisitStatus::InProgress));
        assert_eq!(parse_status("DONE"), Ok(VisitStatus::Done));
        assert!(parse_status("finished").is_err());
        assert_eq!(
            status_label(&VisitStatus::parse("paused")),
            "unknown (paused)"
        );
    }
}

//! What an import did: counts of rows created, updated, unchanged and rejected, and the
//! rejected rows with their line and reason (the first [`MAX_LISTED_REJECTIONS`]; the counts
//! are always complete).

use std::fmt;

use serde::Serialize;

/// Rejected rows listed in a report; the rest are only counted.
pub const MAX_LISTED_REJECTIONS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// `customers`, `contacts`.
    pub kind: &'static str,
    /// Rows read after the header.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// Rows whose record already held every value: nothing written.
    pub unchanged: u64,
    pub rejected: u64,
    /// The first rejected rows, by line.
    pub rejections: Vec<RejectedRow>,
    /// Rejected rows beyond those listed.
    pub unlisted_rejections: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RejectedRow {
    /// The line a spreadsheet shows (the header is line 1).
    pub line: u64,
    pub external_id: Option<String>,
    pub reason: String,
}

impl ImportReport {
    pub fn new(kind: &'static str) -> ImportReport {
        ImportReport {
            kind,
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: 0,
            rejections: Vec::new(),
            unlisted_rejections: 0,
        }
    }

    pub fn reject(&mut self, line: u64, external_id: Option<&str>, reason: impl Into<String>) {
        self.rejected += 1;
        let row = RejectedRow {
            line,
            external_id: external_id.map(str::to_owned),
            reason: reason.into(),
        };
        list_rejection(&mut self.rejections, &mut self.unlisted_rejections, row);
    }

    /// Puts the listed rejections in line order (a batch's refused pushes come after its
    /// rows that did not build).
    pub(super) fn finish(&mut self) {
        self.rejections.sort_by_key(|r| r.line);
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} rows: {} created, {} updated, {} unchanged, {} rejected",
            self.kind, self.rows, self.created, self.updated, self.unchanged, self.rejected
        )?;
        write_rejections(f, &self.rejections, self.unlisted_rejections)
    }
}

/// Lists `row` among the first [`MAX_LISTED_REJECTIONS`] rejected rows, or counts it unlisted.
pub fn list_rejection(rejections: &mut Vec<RejectedRow>, unlisted: &mut u64, row: RejectedRow) {
    if rejections.len() < MAX_LISTED_REJECTIONS {
        rejections.push(row);
    } else {
        *unlisted += 1;
    }
}

/// The listed rejected rows, a line each (`line 4 (C-9): reason`), and how many more there were.
pub fn write_rejections(
    f: &mut fmt::Formatter<'_>,
    rejections: &[RejectedRow],
    unlisted: u64,
) -> fmt::Result {
    for row in rejections {
        write!(f, "\nline {}", row.line)?;
        if let Some(id) = &row.external_id {
            write!(f, " ({id})")?;
        }
        write!(f, ": {}", row.reason)?;
    }
    if unlisted > 0 {
        write!(f, "\n... and {unlisted} more rejected rows not listed")?;
    }
    Ok(())
}

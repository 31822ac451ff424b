//! Lists cut by `--limit` say so: "50 of 185 shown; use --limit/--offset for more", with the
//! total from a count query (`Store::total`), never a guess.

use crate::output::out;
use clap::Args;
use fieldcrm_core::{Query, Store};

use crate::error::CliError;

/// The most rows one page may hold, and how far a page may reach (core's own cap on a limit).
pub const MAX_ROWS: u32 = 10_000;

/// `--limit` and `--offset` of a list.
#[derive(Debug, Clone, Copy, Args)]
pub struct Page {
    /// At most this many rows (1 to 10000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ROWS)))]
    pub limit: u32,
    /// Skip this many rows first (with --limit, the next page).
    #[arg(long, default_value_t = 0)]
    pub offset: u32,
}

impl Page {
    /// For a query without an offset of its own: how many rows to ask for so that this page
    /// can be cut from them; an error when that passes [`MAX_ROWS`].
    pub fn reach(&self) -> Result<u32, String> {
        self.offset
            .checked_add(self.limit)
            .filter(|reach| *reach <= MAX_ROWS)
            .ok_or_else(|| format!("--offset plus --limit may reach at most {MAX_ROWS} rows"))
    }

    /// The rows of this page out of the first [`Page::reach`] rows.
    pub fn cut<T>(&self, rows: Vec<T>) -> Vec<T> {
        rows.into_iter()
            .skip(self.offset as usize)
            .take(self.limit as usize)
            .collect()
    }

    /// Prints the note under `shown` rows of `query`, when its page cut the list.
    pub fn print_note(&self, store: &Store, query: &Query, shown: usize) -> Result<(), CliError> {
        if let Some(note) = store
            .total(query)?
            .and_then(|total| self.note(shown, total))
        {
            out!("{note}");
        }
        Ok(())
    }

    /// The line under a list of `shown` rows out of `total`, or `None` when all are shown.
    pub fn note(&self, shown: usize, total: u64) -> Option<String> {
        let shown = shown as u64;
        let offset = u64::from(self.offset);
        if offset == 0 && shown >= total {
            return None;
        }
        let hint = "use --limit/--offset for more";
        Some(if shown == 0 {
            format!("none of {total} shown (--offset {offset} is past the end); {hint}")
        } else if offset == 0 {
            format!("{shown} of {total} shown; {hint}")
        } else {
            format!(
                "{} to {} of {total} shown; {hint}",
                offset + 1,
                offset + shown
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(limit: u32, offset: u32) -> Page {
        Page { limit, offset }
    }

    #[test]
    fn the_note_says_what_is_shown_of_the_total() {
        assert_eq!(page(50, 0).note(12, 12), None);
        assert_eq!(
            page(50, 0).note(50, 185).as_deref(),
            Some("50 of 185 shown; use --limit/--offset for more")
        );
        assert_eq!(
            page(50, 150).note(35, 185).as_deref(),
            Some("151 to 185 of 185 shown; use --limit/--offset for more")
        );
        assert!(
            page(50, 200)
                .note(0, 185)
                .unwrap_or_default()
                .contains("past the end")
        );
        assert_eq!(page(50, 0).note(0, 0), None);
    }

    #[test]
    fn a_page_is_cut_from_the_rows_it_reaches() {
        assert_eq!(page(2, 3).reach(), Ok(5));
        assert_eq!(page(2, 3).cut((0..5).collect()), vec![3, 4]);
        assert_eq!(page(2, 3).cut((0..4).collect()), vec![3]);
        assert!(page(10, MAX_ROWS).reach().is_err());
        assert!(page(10, u32::MAX).reach().is_err());
    }
}

//! Customer analytics on the device: a read-only, server-authored snapshot of the current
//! analytics run (each customer's segment, ABC class, lifetime value, churn risk, the run's
//! next-best list and bought products, and the organisation's cross-sell rules), downloaded
//! with each sync and replaced wholesale when the server has a newer run. Not records: the
//! results are recomputed nightly for every customer, no device edits them and merging them
//! means nothing, so they are no Automerge documents (see docs/ARCHITECTURE.md).
//!
//! The sync steps are sans-I/O like the rest of [`SyncSession`]: build the request for the
//! next page, apply the server's answer. Pages are staged and the run swapped in only with its
//! last page, so a half-downloaded run never replaces a whole one; an interrupted download
//! resumes after the last customer staged. [`Query::CustomerInsight`](crate::Query) reads a
//! customer's results and ranks offers live (`ranking.rs`).

use crate::protocol::{self, MAX_DOC_ID_LEN, ProtocolError};
use crate::sync::{MAX_RESPONSE_BYTES, SyncError, SyncSession};

mod ranking;
pub(crate) mod tables;
mod wire;

pub(crate) use ranking::customer_insight;
pub use ranking::{CustomerInsight, DEFAULT_OFFERS, InsightOffer, MAX_OFFERS, OfferProduct};
pub use wire::{
    InsightsPage, InsightsRun, MAX_BOUGHT, MAX_DEVICE_RULES, MAX_INSIGHTS_PAGE, MAX_NEXT_BEST,
    MAX_RULE_PRODUCTS, WireInsight, WireOffer, WireRule,
};

/// Customers a device asks for per page.
pub const DEVICE_INSIGHTS_PAGE: u32 = 500;
/// Pages one sync round downloads at most; a larger snapshot resumes in the next round.
pub const MAX_INSIGHTS_PAGES_PER_ROUND: u32 = 1_000;

/// A request for the next page of the snapshot: the query string of
/// `GET /v1/analytics/device?…`, and the customer the page starts after (`None`: a first page).
#[derive(Debug, Clone, PartialEq)]
pub struct InsightsRequest {
    pub query: String,
    pub after: Option<String>,
}

/// What applying a page did.
#[derive(Debug, Clone, PartialEq)]
pub enum InsightsOutcome {
    /// The server has no analytics run: the device keeps what it holds.
    NoRun,
    /// The device holds the current run already.
    Unchanged,
    /// A page of a newer run was staged; more follow.
    Staged { customers: usize },
    /// The last page arrived: the run is now the device's.
    Installed { run_id: i64, customers: usize },
    /// The server moved to another run mid-download: the staged pages were dropped, ask for a
    /// first page again.
    Restart,
}

impl SyncSession<'_> {
    /// The request for the next page: a first page naming the run the device holds (the server
    /// answers "unchanged" when it is current), or the page after the last customer staged.
    pub fn build_insights_request(&self) -> Result<InsightsRequest, SyncError> {
        let state = self.store.insights_state()?;
        let held = state.current.as_ref().map_or(0, |run| run.run_id);
        let after = state.staged.and_then(|(_, after)| after);
        let mut query = format!("run={held}&limit={}", self.insights_page);
        if let Some(after) = &after {
            query.push_str("&after=");
            query.push_str(&percent_encode(after));
        }
        Ok(InsightsRequest { query, after })
    }

    /// Applies the server's answer to `request`: stages its customers (and, on a first page,
    /// the run and its rules), and swaps the staged run in when this was its last page. Live
    /// [`Query::CustomerInsight`](crate::Query) results follow the swap.
    pub fn apply_insights_page(
        &self,
        request: &InsightsRequest,
        body: &[u8],
    ) -> Result<InsightsOutcome, SyncError> {
        let page: InsightsPage = protocol::decode(body, MAX_RESPONSE_BYTES)?;
        check(&page)?;
        Ok(self
            .store
            .apply_insights_page(request.after.is_none(), &page)?)
    }
}

/// Whether a device stores `id` (a customer's or a product's): not empty, not over
/// [`MAX_DOC_ID_LEN`] bytes, no line break (they separate ids in the device's tables). The
/// server leaves out of a page what names any other (a product id pushed by some device).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_DOC_ID_LEN && !id.contains(tables::ID_SEPARATOR)
}

/// A page naming an id that is not [`is_valid_id`] is refused whole.
fn check(page: &InsightsPage) -> Result<(), ProtocolError> {
    let ids = page
        .customers
        .iter()
        .flat_map(|c| {
            std::iter::once(&c.customer_id).chain(&c.bought).chain(
                c.next_best
                    .iter()
                    .flat_map(|o| std::iter::once(&o.product_id).chain(&o.because)),
            )
        })
        .chain(
            page.rules
                .iter()
                .flat_map(|r| std::iter::once(&r.consequent).chain(&r.antecedent)),
        )
        .chain(&page.next_after);
    for id in ids {
        if !is_valid_id(id) {
            return Err(ProtocolError::Malformed(format!(
                "analytics page names an invalid id {:?}",
                id.chars().take(80).collect::<String>()
            )));
        }
    }
    Ok(())
}

/// A query-string value: unreserved characters as they are, every other byte `%XX`.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;

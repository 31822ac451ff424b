//! The store's side of the analytics snapshot (`insights.rs`): its state, and applying a page
//! in one transaction, with the live insight queries re-run when a run is swapped in.

use super::*;
use crate::insights::tables::{self, SnapshotState};
use crate::insights::{InsightsOutcome, InsightsPage, InsightsRun};

impl Store {
    /// The analytics run the device holds, if any.
    pub fn insights_run(&self) -> Result<Option<InsightsRun>> {
        tables::current_run(&self.lock().conn)
    }

    pub(crate) fn insights_state(&self) -> Result<SnapshotState> {
        tables::state(&self.lock().conn)
    }

    /// See [`crate::SyncSession::apply_insights_page`]; `first` says the page answers a
    /// request without `after`.
    pub(crate) fn apply_insights_page(
        &self,
        first: bool,
        page: &InsightsPage,
    ) -> Result<InsightsOutcome> {
        let mut inner = self.lock();
        let outcome = {
            let tx = inner.conn.transaction()?;
            let outcome = match &page.run {
                None => {
                    tables::clear_staged(&tx)?;
                    InsightsOutcome::NoRun
                }
                Some(_) if page.unchanged => {
                    tables::clear_staged(&tx)?;
                    InsightsOutcome::Unchanged
                }
                Some(run) => {
                    let staged = tables::state(&tx)?.staged.map(|(run_id, _)| run_id);
                    if first {
                        tables::start_staging(&tx, run, page)?;
                    }
                    if !first && staged != Some(run.run_id) {
                        tables::clear_staged(&tx)?;
                        InsightsOutcome::Restart
                    } else {
                        tables::stage_customers(&tx, page)?;
                        let customers = page.customers.len();
                        if page.next_after.is_none() {
                            tables::install_staged(&tx)?;
                            InsightsOutcome::Installed {
                                run_id: run.run_id,
                                customers,
                            }
                        } else {
                            InsightsOutcome::Staged { customers }
                        }
                    }
                }
            };
            tx.commit()?;
            outcome
        };
        if matches!(outcome, InsightsOutcome::Installed { .. }) {
            if self.live.has_subscribers() {
                self.live.refresh_where(Query::is_customer_insight, |q| {
                    self.run_query(&inner.conn, q)
                });
            }
            drop(inner);
            self.live.deliver();
        }
        Ok(outcome)
    }
}

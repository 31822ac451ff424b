//! The sales tables on SQLite: `opportunity_facts` with each deal's stage history
//! (`opportunity_stage_changes`) and `customer_origins`, projected in the push transaction
//! (`sqlite_sales/projection.rs`), and `order_facts` with `order_line_facts` (projected from the
//! same entry point, `sqlite_sales/orders.rs`); the reports' reads through the viewer's sight
//! (`sqlite_sales/reads.rs`, revenue in `sqlite_sales/revenue.rs`); targets and the actuals they
//! are measured against (`sqlite_sales/targets.rs`).

use fieldcrm_core::{AnyRecord, Millis};

use super::sales::{FunnelRows, PipelineFilter, RevenueRows, Sales, SalesSettings, TargetWrite};
use super::{RepInfo, Result, SqliteStorage};
use crate::sales::orders::{RevenueBy, UnknownProductLine};
use crate::sales::reports::{BigDeal, MonthRow, PipelineRow, RepClosed};
use crate::sales::targets::{RepActuals, Target};
use crate::scope::{Principal, Scope};

#[cfg(test)]
mod order_tests;
mod orders;
mod projection;
mod reads;
mod revenue;
mod targets;
#[cfg(test)]
mod tests;

pub(super) use orders::backfill as backfill_orders;
pub(super) use projection::{backfill, move_customer, project};

/// The sight over a row whose scope is its customer's (a deal, an order, an order's line):
/// the `territory_id` and `team_id` columns of the table aliased `alias`, no owner.
fn customer_scope_sight(viewer: &Principal, alias: &'static str) -> super::sqlite_sight::SightSql {
    let (territory, team) = match alias {
        "l" => ("l.territory_id", "l.team_id"),
        "s" => ("s.territory_id", "s.team_id"),
        _ => ("o.territory_id", "o.team_id"),
    };
    super::sqlite_sight::SightSql::new(
        viewer.sight(),
        super::sqlite_sight::ScopeColumns {
            territory: Some(territory),
            owner: None,
            team: Some(team),
            org_wide: None,
        },
    )
}

/// A SQL count as an unsigned number (a count is never negative).
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Whether a migration creates the stage history table. The latest that does makes it in the
/// shape the projection writes, and runs [`backfill`] (which fills the deal and customer
/// tables from the stored documents); an earlier one, in an older shape, does not, so an
/// older database is filled once, at the end. Told by content, like the next.
pub(super) fn creates_stage_changes(sql: &str) -> bool {
    sql.contains("CREATE TABLE opportunity_stage_changes")
}

/// Whether a migration is the one that creates the order facts (its backfill then runs). Told
/// by its content rather than its position, so the migration's number may change.
pub(super) fn creates_order_facts(sql: &str) -> bool {
    sql.contains("CREATE TABLE order_facts")
}

impl SqliteStorage {
    /// Projects records into the sales tables (opportunity, customer and order facts) at their
    /// scope, in one transaction, through the projection a push runs, without storing the
    /// documents: for the sales benchmark, which builds a dataset of millions of rows that
    /// reads exactly as the server would have written it. The server never calls it.
    #[doc(hidden)]
    pub fn project_sales_records(&self, records: &[(AnyRecord, Scope)], now: Millis) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        for (record, scope) in records {
            project(&tx, record, scope, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The same storage with other sales settings (from the command line).
    pub fn with_sales_settings(mut self, settings: SalesSettings) -> Self {
        self.sales = settings;
        self
    }
}

impl Sales for SqliteStorage {
    fn sales_settings(&self) -> SalesSettings {
        self.sales
    }

    fn pipeline(&self, viewer: &Principal, filter: &PipelineFilter) -> Result<Vec<PipelineRow>> {
        reads::pipeline(&self.read(), viewer, filter)
    }

    fn forecast(
        &self,
        viewer: &Principal,
        from: Millis,
        to: Millis,
        currency: Option<&str>,
    ) -> Result<(Vec<MonthRow>, Vec<MonthRow>)> {
        reads::forecast(&self.read(), viewer, from, to, currency)
    }

    fn funnel(&self, viewer: &Principal, from: Millis, to: Millis) -> Result<FunnelRows> {
        reads::funnel(&self.read(), viewer, from, to)
    }

    fn win_rates(&self, viewer: &Principal, from: Millis, to: Millis) -> Result<Vec<RepClosed>> {
        reads::win_rates(&self.read(), viewer, from, to)
    }

    fn big_deals(
        &self,
        viewer: &Principal,
        min_amount_minor: i64,
        currency: Option<&str>,
        limit: u32,
    ) -> Result<Vec<BigDeal>> {
        reads::big_deals(&self.read(), viewer, min_amount_minor, currency, limit)
    }

    fn revenue(
        &self,
        viewer: &Principal,
        by: RevenueBy,
        from: Millis,
        to: Millis,
        currency: Option<&str>,
        limit: u32,
    ) -> Result<RevenueRows> {
        revenue::revenue(&self.read(), viewer, by, from, to, currency, limit)
    }

    fn unknown_product_lines(
        &self,
        viewer: &Principal,
        from: Millis,
        to: Millis,
        limit: u32,
    ) -> Result<(u64, Vec<UnknownProductLine>)> {
        revenue::unknown_products(&self.read(), viewer, from, to, limit)
    }

    fn set_target(
        &self,
        rep_id: &str,
        period: &str,
        target: &Target,
        set_by: &str,
        now: Millis,
    ) -> Result<TargetWrite> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let outcome = targets::set(&tx, rep_id, period, target, set_by, now)?;
        tx.commit()?;
        Ok(outcome)
    }

    fn targets(&self, rep_ids: &[String], period: &str) -> Result<Vec<(String, Target)>> {
        targets::of_reps(&self.read(), rep_ids, period)
    }

    fn rep_actuals(
        &self,
        viewer: &Principal,
        reps: &[RepInfo],
        from: Millis,
        to: Millis,
    ) -> Result<Vec<RepActuals>> {
        targets::actuals(&self.read(), viewer, reps, from, to)
    }
}

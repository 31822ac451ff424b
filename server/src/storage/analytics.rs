//! Customer analytics in storage: what a run reads, its results stored under the run's id and
//! made current only when it succeeds, and the reads of the current results through a
//! viewer's sight: the [`AnalyticsStorage`] supertrait of [`super::Storage`].

use fieldcrm_core::Millis;
use fieldcrm_core::cross_sell::CrossSellRule;

use super::Result;
use crate::analytics::clusters::Cluster;
use crate::analytics::run::{RunInput, RunOutput};
use crate::scope::Principal;

/// Succeeded runs kept with their results; older ones are deleted when a run succeeds.
pub const KEPT_RUNS: i64 = 3;
/// Customers' results one read returns at most.
pub const MAX_INSIGHTS_PAGE: u32 = 1_000;

/// A run as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub started_at: Millis,
    pub finished_at: Option<Millis>,
    pub as_of: Millis,
    pub currency: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    pub error: Option<String>,
    /// The run's JSON report.
    pub report: Option<String>,
}

/// A customer's stored results, with its name.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightRow {
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub recency_days: Option<i64>,
    pub frequency: Option<i64>,
    pub monetary_minor: Option<i64>,
    pub r: Option<u8>,
    pub f: Option<u8>,
    pub m: Option<u8>,
    pub segment: String,
    pub abc_class: String,
    pub revenue_minor: i64,
    pub cluster: Option<u16>,
    pub expected_purchases_90d: Option<f64>,
    pub p_alive: Option<f64>,
    pub clv_12m_minor: Option<f64>,
    pub churn_level: Option<String>,
    pub churn_score: Option<f64>,
    /// JSON arrays, as stored.
    pub next_best: String,
    pub bought: String,
}

/// A run's results summed over the customers in a viewer's sight.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InsightsSummary {
    /// Customers per R score (index 0 for R 1) and F score.
    pub rfm_grid: [[u64; 5]; 5],
    /// Customers per named RFM segment.
    pub segments: Vec<(String, u64)>,
    /// Per ABC class: customers and revenue in the window.
    pub abc: Vec<(String, u64, f64)>,
    pub customers: u64,
}

/// A customer's values the dashboard's distributions read.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightValues {
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub revenue_minor: i64,
    pub abc_class: String,
    pub clv_12m_minor: Option<f64>,
    pub churn_level: Option<String>,
    pub churn_score: Option<f64>,
}

pub trait AnalyticsStorage {
    /// Every customer (not deleted, by id) and the orders and lines that count as revenue.
    fn analytics_input(&self) -> Result<RunInput>;
    /// Records a run as started; its id.
    fn start_analytics_run(&self, as_of: Millis, currency: &str, now: Millis) -> Result<i64>;
    /// Stores a run's results and makes it current, in one transaction; deletes the results
    /// of succeeded runs older than the last [`KEPT_RUNS`].
    fn store_analytics_run(
        &self,
        run_id: i64,
        output: &RunOutput,
        report: &str,
        now: Millis,
    ) -> Result<()>;
    /// Records a run as failed (its partial results, if any, are never current).
    fn fail_analytics_run(&self, run_id: i64, error: &str, now: Millis) -> Result<()>;
    /// The latest runs, newest first.
    fn analytics_runs(&self, limit: u32) -> Result<Vec<RunRecord>>;
    /// The latest succeeded run.
    fn current_analytics_run(&self) -> Result<Option<RunRecord>>;
    /// The results of `run_id` for the customers in `viewer`'s sight, by customer id after
    /// `after`, at most `limit` (capped at [`MAX_INSIGHTS_PAGE`]).
    fn customer_insights(
        &self,
        viewer: &Principal,
        run_id: i64,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<InsightRow>>;
    /// The run's results summed over the customers in `viewer`'s sight.
    fn insights_summary(&self, viewer: &Principal, run_id: i64) -> Result<InsightsSummary>;
    /// The run's cross-sell rules, best first, at most `limit`.
    fn cross_sell_rules(&self, run_id: i64, limit: u32) -> Result<Vec<CrossSellRule>>;
    /// The run's k-means segments, by index.
    fn analytics_clusters(&self, run_id: i64) -> Result<Vec<Cluster>>;
    /// The run's values of every customer in `viewer`'s sight, by customer id.
    fn insight_values(&self, viewer: &Principal, run_id: i64) -> Result<Vec<InsightValues>>;
    /// The owners (user ids) of these customers, as their stored records say; customers
    /// without one are left out.
    fn customer_owners(&self, customer_ids: &[String]) -> Result<Vec<(String, String)>>;
}

//! The sales reads and targets behind `/v1/pipeline/...` and `/v1/targets`: the [`Sales`]
//! supertrait of [`super::Storage`] and its settings. The rows it answers with are
//! `crate::sales`' values; what they mean is decided there.

use fieldcrm_core::Millis;

use super::{RepInfo, Result};
use crate::sales::orders::{RevenueBy, RevenueGroup, RevenueTotal, UnknownProductLine};
use crate::sales::reports::{BigDeal, MonthRow, PipelineRow, RepClosed};
use crate::sales::targets::{RepActuals, Target};
use crate::scope::Principal;

/// Open deals at or over this amount (minor units, in any currency) are big deals unless the
/// request names another amount (`--big-deal-min-minor`).
pub const DEFAULT_BIG_DEAL_MIN_MINOR: i64 = 5_000_000;

/// Groups a report reads at most (stage × currency × rep, month × currency, reps).
pub const MAX_REPORT_GROUPS: u32 = 10_000;
/// Finished stage stays the funnel reads at most for its medians.
pub const MAX_FUNNEL_STAYS: u32 = 200_000;
/// Targets one rep holds per period at most (the five metrics, revenue in several currencies).
pub const MAX_TARGETS_PER_REP_PERIOD: u32 = 32;

/// Settings of the sales reads (from the command line, see `config.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesSettings {
    pub big_deal_min_minor: i64,
}

impl Default for SalesSettings {
    fn default() -> Self {
        SalesSettings {
            big_deal_min_minor: DEFAULT_BIG_DEAL_MIN_MINOR,
        }
    }
}

/// `GET /v1/pipeline`'s filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineFilter {
    pub rep_id: Option<String>,
    pub currency: Option<String>,
}

/// What the funnel reads: per furthest rank reached, how many deals; the finished stays
/// (stage, duration), at most [`MAX_FUNNEL_STAYS`]; whether there were more.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunnelRows {
    pub furthest: Vec<(u8, u64)>,
    pub stays: Vec<(String, Millis)>,
    pub sampled: bool,
}

/// What a revenue report reads: per currency in all, and the groups (largest net amount first,
/// at most the limit asked for); `truncated` when there were more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevenueRows {
    pub totals: Vec<RevenueTotal>,
    pub groups: Vec<RevenueGroup>,
    pub truncated: bool,
}

/// How setting a target went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetWrite {
    Stored,
    /// The rep already holds [`MAX_TARGETS_PER_REP_PERIOD`] other targets in the period.
    TooMany,
}

/// Sales reads and targets. Every read takes the viewer and keeps to their sight
/// (`scope::Sight` over the opportunity's scope: its customer's territory and team).
pub trait Sales {
    fn sales_settings(&self) -> SalesSettings;
    /// Open deals in sight per stage, currency and rep.
    fn pipeline(&self, viewer: &Principal, filter: &PipelineFilter) -> Result<Vec<PipelineRow>>;
    /// Open deals in sight by expected-close month, and deals won by close month, within
    /// `[from, to)`, per currency.
    fn forecast(
        &self,
        viewer: &Principal,
        from: Millis,
        to: Millis,
        currency: Option<&str>,
    ) -> Result<(Vec<MonthRow>, Vec<MonthRow>)>;
    /// The deals in sight that entered the funnel within `[from, to)`.
    fn funnel(&self, viewer: &Principal, from: Millis, to: Millis) -> Result<FunnelRows>;
    /// Per rep, deals in sight won and lost within `[from, to)`.
    fn win_rates(&self, viewer: &Principal, from: Millis, to: Millis) -> Result<Vec<RepClosed>>;
    /// Open deals in sight of at least `min_amount_minor`, largest first.
    fn big_deals(
        &self,
        viewer: &Principal,
        min_amount_minor: i64,
        currency: Option<&str>,
        limit: u32,
    ) -> Result<Vec<BigDeal>>;
    /// Orders in sight that count as revenue (`sales::orders::counts_as_revenue`) ordered
    /// within `[from, to)`, per currency, in all and by rep, customer or product (at most
    /// `limit` groups).
    fn revenue(
        &self,
        viewer: &Principal,
        by: RevenueBy,
        from: Millis,
        to: Millis,
        currency: Option<&str>,
        limit: u32,
    ) -> Result<RevenueRows>;
    /// Lines of orders in sight ordered within `[from, to)` that name a product the server
    /// does not know: how many, and the latest `limit`.
    fn unknown_product_lines(
        &self,
        viewer: &Principal,
        from: Millis,
        to: Millis,
        limit: u32,
    ) -> Result<(u64, Vec<UnknownProductLine>)>;
    /// Sets (or replaces) one target of a rep for a period.
    fn set_target(
        &self,
        rep_id: &str,
        period: &str,
        target: &Target,
        set_by: &str,
        now: Millis,
    ) -> Result<TargetWrite>;
    /// The targets of these reps for a period, per rep id.
    fn targets(&self, rep_ids: &[String], period: &str) -> Result<Vec<(String, Target)>>;
    /// What each rep did within `[from, to)` (revenue: their orders that count as revenue, net,
    /// per currency), in the order of `reps`. Verified visits count as the team overview counts them for `viewer`.
    fn rep_actuals(
        &self,
        viewer: &Principal,
        reps: &[RepInfo],
        from: Millis,
        to: Millis,
    ) -> Result<Vec<RepActuals>>;
}

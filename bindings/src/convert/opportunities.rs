//! The uniffi mirrors of the pipeline by stage: a deal as listed, a stage's totals per
//! currency, and a stage with its deals.

use fieldcrm_core as fc;

use super::*;

/// One deal as the pipeline lists it. `weighted_minor` is the amount weighted by the
/// probability (core's one rule: `amount × probability / 100`, none counts nothing).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DealSummary {
    pub id: String,
    pub customer_id: String,
    /// `None` when the customer is not on this device.
    pub customer_name: Option<String>,
    pub title: String,
    pub stage: Stage,
    pub amount_minor: i64,
    pub currency: String,
    pub probability: Option<u8>,
    pub weighted_minor: i64,
    pub expected_close_at: Option<i64>,
    pub owner: Option<String>,
}

impl From<fc::DealSummary> for DealSummary {
    fn from(d: fc::DealSummary) -> Self {
        DealSummary {
            id: d.id,
            customer_id: d.customer_id,
            customer_name: d.customer_name,
            title: d.title,
            stage: d.stage.into(),
            amount_minor: d.amount_minor,
            currency: d.currency,
            probability: d.probability,
            weighted_minor: d.weighted_minor,
            expected_close_at: d.expected_close_at,
            owner: d.owner,
        }
    }
}

/// The deals of one stage in one currency: how many, their amount and weighted amount.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: u32,
    pub amount_minor: i64,
    pub weighted_minor: i64,
}

impl From<fc::CurrencyTotal> for CurrencyTotal {
    fn from(t: fc::CurrencyTotal) -> Self {
        CurrencyTotal {
            currency: t.currency,
            count: t.count,
            amount_minor: t.amount_minor,
            weighted_minor: t.weighted_minor,
        }
    }
}

/// One stage of the pipeline: its totals per currency (over all its deals, by currency code)
/// and its deals (soonest expected close first, at most the query's limit).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StageDeals {
    pub stage: Stage,
    pub totals: Vec<CurrencyTotal>,
    pub deals: Vec<DealSummary>,
}

impl From<fc::StageDeals> for StageDeals {
    fn from(s: fc::StageDeals) -> Self {
        StageDeals {
            stage: s.stage.into(),
            totals: s.totals.into_iter().map(Into::into).collect(),
            deals: s.deals.into_iter().map(Into::into).collect(),
        }
    }
}

//! A rep's deals: the stage change (a loss with its reason) and the pipeline by stage, with
//! counts, amounts and probability-weighted amounts per stage and currency
//! ([`Query::DealsByStage`](crate::Query::DealsByStage)).

use rusqlite::{Connection, params};

use crate::error::{Result, StoreError, ValidationError};
use crate::model::{Millis, Opportunity, Stage};
use crate::store::Store;

/// The probability (percent) a deal without its own counts with, per stage.
pub fn default_probability(stage: &Stage) -> u8 {
    match stage {
        Stage::Lead => 10,
        Stage::Qualified => 25,
        Stage::Proposal => 50,
        Stage::Negotiation => 75,
        Stage::Won => 100,
        Stage::Lost | Stage::Unknown(_) => 0,
    }
}

/// The probability a deal is weighted by: a won deal 100, a lost one 0, an open one its own
/// (capped at 100) or its stage's default ([`default_probability`]).
pub fn weight_percent(stage: &Stage, probability: Option<u8>) -> u8 {
    match stage {
        Stage::Won | Stage::Lost => default_probability(stage),
        _ => probability.map_or_else(|| default_probability(stage), |p| p.min(100)),
    }
}

/// A deal's amount weighted by [`weight_percent`], rounded half away from zero, in minor units.
/// The one rule for the weighted pipeline: the device's pipeline, the server's reports and the
/// dashboard all use it.
pub fn weighted_minor(amount_minor: i64, stage: &Stage, probability: Option<u8>) -> i64 {
    let product = i128::from(amount_minor) * i128::from(weight_percent(stage, probability));
    let rounded = (product + product.signum() * 50) / 100;
    i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
}

/// One deal as the pipeline lists it.
#[derive(Debug, Clone, PartialEq)]
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
    /// [`weighted_minor`] of the amount.
    pub weighted_minor: i64,
    pub expected_close_at: Option<Millis>,
    pub owner: Option<String>,
}

/// The deals of one stage in one currency: how many, their amount and weighted amount.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: u32,
    pub amount_minor: i64,
    pub weighted_minor: i64,
}

/// One stage of the pipeline: its totals per currency (over all its deals) and its deals
/// (soonest expected close first, then the largest amount; at most the query's limit).
#[derive(Debug, Clone, PartialEq)]
pub struct StageDeals {
    pub stage: Stage,
    pub totals: Vec<CurrencyTotal>,
    pub deals: Vec<DealSummary>,
}

impl StageDeals {
    fn new(stage: Stage) -> Self {
        StageDeals {
            stage,
            totals: Vec::new(),
            deals: Vec::new(),
        }
    }

    fn add(&mut self, deal: DealSummary, limit: usize) {
        let total = match self
            .totals
            .iter_mut()
            .position(|t| t.currency == deal.currency)
        {
            Some(i) => &mut self.totals[i],
            None => {
                self.totals.push(CurrencyTotal {
                    currency: deal.currency.clone(),
                    count: 0,
                    amount_minor: 0,
                    weighted_minor: 0,
                });
                let last = self.totals.len() - 1;
                &mut self.totals[last]
            }
        };
        total.count = total.count.saturating_add(1);
        total.amount_minor = total.amount_minor.saturating_add(deal.amount_minor);
        total.weighted_minor = total.weighted_minor.saturating_add(deal.weighted_minor);
        if self.deals.len() < limit {
            self.deals.push(deal);
        }
    }
}

/// The pipeline: every known stage in order (empty ones included, so a board shows each
/// column), then stages a newer app wrote that this code does not know, by name; with `stage`
/// only that one. Deals of `owner` (everyone's on this device when `None`); at most `limit`
/// deals listed per stage (0 means 50), while the totals count them all.
pub(crate) fn deals_by_stage(
    conn: &Connection,
    owner: Option<&str>,
    stage: Option<&Stage>,
    limit: u32,
) -> Result<Vec<StageDeals>> {
    let limit = if limit == 0 { 50 } else { limit.min(10_000) } as usize;
    let mut stages: Vec<StageDeals> = match stage {
        Some(stage) => vec![StageDeals::new(stage.clone())],
        None => Stage::ALL.iter().cloned().map(StageDeals::new).collect(),
    };
    let mut statement = conn.prepare_cached(
        "SELECT o.id, o.customer_id, c.name, o.title, o.stage, o.amount_minor, o.currency,
                o.probability, o.expected_close_at, o.owner
         FROM opportunities o LEFT JOIN customers c ON c.id = o.customer_id
         WHERE o.deleted = 0 AND (?1 IS NULL OR o.owner = ?1) AND (?2 IS NULL OR o.stage = ?2)
         ORDER BY o.expected_close_at IS NULL, o.expected_close_at, o.amount_minor DESC, o.id",
    )?;
    let rows = statement.query_map(params![owner, stage.map(Stage::as_str)], |row| {
        let amount_minor: i64 = row.get(5)?;
        // The projection holds what validation let through: 0 to 100.
        let probability = row
            .get::<_, Option<i64>>(7)?
            .and_then(|p| u8::try_from(p).ok());
        let deal_stage = Stage::parse(&row.get::<_, String>(4)?);
        Ok(DealSummary {
            id: row.get(0)?,
            customer_id: row.get(1)?,
            customer_name: row.get(2)?,
            title: row.get(3)?,
            weighted_minor: weighted_minor(amount_minor, &deal_stage, probability),
            stage: deal_stage,
            amount_minor,
            currency: row.get(6)?,
            probability,
            expected_close_at: row.get(8)?,
            owner: row.get(9)?,
        })
    })?;
    for deal in rows {
        let deal = deal?;
        let index = match stages.iter().position(|s| s.stage == deal.stage) {
            Some(index) => index,
            None => {
                stages.push(StageDeals::new(deal.stage.clone()));
                stages.len() - 1
            }
        };
        stages[index].add(deal, limit);
    }
    // Known stages keep their order; unknown ones follow by name (`Stage`'s order).
    stages.sort_by(|a, b| a.stage.cmp(&b.stage));
    for stage in &mut stages {
        stage.totals.sort_by(|a, b| a.currency.cmp(&b.currency));
    }
    Ok(stages)
}

impl Store {
    /// Moves the deal `id` to `stage`; the store appends the change to its stage history. A
    /// loss needs its reason (`lost_reason`, not blank: else
    /// [`ValidationError::Required`] for `lost_reason`, and nothing is written); moving to any
    /// other stage clears the reason. The target must be a stage this code knows.
    pub fn change_stage(
        &self,
        id: &str,
        stage: Stage,
        lost_reason: Option<String>,
    ) -> Result<Opportunity> {
        if stage.is_unknown() {
            return Err(StoreError::Validation(ValidationError::UnknownValue {
                field: "stage".into(),
                value: stage.as_str().to_owned(),
            }));
        }
        let mut deal: Opportunity = self
            .get(id)?
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        deal.lost_reason = match stage {
            Stage::Lost => lost_reason
                .map(|reason| reason.trim().to_owned())
                .filter(|reason| !reason.is_empty()),
            _ => None,
        };
        if stage == Stage::Lost && deal.lost_reason.is_none() {
            return Err(StoreError::Validation(ValidationError::Required {
                field: "lost_reason".into(),
            }));
        }
        deal.stage = stage;
        self.update(deal)
    }
}

#[cfg(test)]
mod tests;

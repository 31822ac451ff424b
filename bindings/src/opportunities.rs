//! A rep's deals: the pipeline by stage (also live, as [`Query::DealsByStage`]), the stage
//! change with a loss's reason, and amounts as people type and read them.

use fieldcrm_core as fc;

use super::*;

#[uniffi::export]
impl FieldStore {
    /// The pipeline by stage: every known stage in order, empty ones included (then stages a
    /// newer app wrote, shown as unknown), each with count, amount and probability-weighted
    /// amount per currency over all its deals, and its deals, soonest expected close first, at
    /// most `limit` per stage (0 means 50). Deals of `owner` (the rep's own: pass the
    /// signed-in user; `None` for every deal on the device), of one `stage` when given. For a
    /// screen that follows changes, `subscribe` to `Query.DealsByStage` instead.
    pub fn deals_by_stage(
        &self,
        owner: Option<String>,
        stage: Option<Stage>,
        limit: u32,
    ) -> Result<Vec<StageDeals>> {
        let query = fc::Query::DealsByStage {
            owner,
            stage: stage.map(Into::into),
            limit,
        };
        self.with("deals_by_stage", |s| match s.query(&query)? {
            fc::QueryResult::DealsByStage(stages) => {
                Ok(stages.into_iter().map(Into::into).collect())
            }
            _ => Err(internal("pipeline query returned other rows")),
        })
    }

    /// Moves the deal `id` to `stage` and returns it as stored; the store appends the change
    /// to its stage history. A loss needs its reason: without one (or a blank one) this is
    /// `InvalidValue` for the field `lost_reason` with the rule `Required`, and nothing is
    /// written. Any other stage clears the reason. A stage this app does not know (`Unknown`)
    /// is `InvalidValue` with the rule `UnknownValue`.
    pub fn change_stage(
        &self,
        id: String,
        stage: Stage,
        lost_reason: Option<String>,
    ) -> Result<Opportunity> {
        self.with("change_stage", |s| {
            Ok(s.change_stage(&id, stage.into(), lost_reason)?.into())
        })
    }
}

/// Parses an amount as typed (`1250`, `1250.5`, `1250,50`) in `currency`'s minor units (two
/// digits for most currencies, none for JPY, three for KWD). Refused as `InvalidValue`: a
/// sign, more digits than the currency has, anything but digits, a code that is not three
/// upper-case letters.
#[uniffi::export]
pub fn parse_amount(text: String, currency: String) -> Result<Money> {
    guarded("parse_amount", || {
        Ok(fc::amounts::parse_amount(&text, &currency)?.into())
    })
}

/// `1250.50 EUR`, `1250 JPY`: an amount in minor units with its currency's digits.
#[uniffi::export]
pub fn format_amount(minor: i64, currency: String) -> String {
    fc::amounts::format_amount(minor, &currency)
}

/// The amount weighted by the deal's probability, or its stage's default without one (won 100,
/// lost 0), rounded half away from zero: core's one rule for the weighted pipeline, the same
/// the server's reports use.
#[uniffi::export]
pub fn weighted_minor(amount_minor: i64, stage: Stage, probability: Option<u8>) -> i64 {
    fc::weighted_minor(amount_minor, &stage.into(), probability)
}

#[cfg(test)]
mod tests;

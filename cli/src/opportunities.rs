//! `fieldcrm opportunity`: a rep's deals. The pipeline by stage with totals per currency, one
//! deal in full, a new deal, its amount, probability and expected close date, and its stage
//! (a loss with its reason: core's rule, `Store::change_stage`).

use crate::output::out;
use std::path::Path;

use clap::{Args, Subcommand};
use fieldcrm_core::amounts::{format_amount, parse_amount};
use fieldcrm_core::{
    Customer, Millis, Opportunity, Query, QueryResult, Stage, StageDeals, Store, StoreError,
    ValidationError,
};

use crate::error::{CliError, validation_as_usage};
use crate::session::Session;
use crate::time_text::{at, date, date_start};

#[derive(Debug, Subcommand)]
pub enum OpportunityCommand {
    /// Your deals by stage, with count, amount and probability-weighted amount per stage and
    /// currency.
    List {
        /// Only this stage (lead, qualified, proposal, negotiation, won or lost).
        #[arg(long, value_parser = parse_stage)]
        stage: Option<Stage>,
        /// Every deal on this device, not only yours.
        #[arg(long)]
        all: bool,
        /// At most this many deals listed per stage, 1 to 10000 (the totals count them all).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// Show one deal in full, with its stage history.
    Show {
        /// The deal's id.
        id: String,
    },
    /// Create a deal of yours for a customer, at the lead stage.
    Add {
        /// The customer's id.
        #[arg(long)]
        customer: String,
        /// What is being sold.
        #[arg(long)]
        title: String,
        #[command(flatten)]
        terms: DealTerms,
    },
    /// Change a deal's amount, probability or expected close date (only those given).
    Edit {
        /// The deal's id.
        id: String,
        #[command(flatten)]
        terms: DealTerms,
    },
    /// Move a deal to another stage; a loss needs --reason.
    Stage {
        /// The deal's id.
        id: String,
        /// The new stage: lead, qualified, proposal, negotiation, won or lost.
        #[arg(value_parser = parse_stage)]
        stage: Stage,
        /// Why the deal was lost (required for lost).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct DealTerms {
    /// The amount, e.g. 1250.50, in the currency of --currency.
    #[arg(long, requires = "currency", allow_negative_numbers = true)]
    amount: Option<String>,
    /// ISO 4217 code of the amount, e.g. EUR.
    #[arg(long, requires = "amount")]
    currency: Option<String>,
    /// Chance of winning, in percent (0 to 100).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    probability: Option<u8>,
    /// Expected close date, YYYY-MM-DD (UTC).
    #[arg(long, value_parser = date_start)]
    close: Option<Millis>,
}

fn parse_stage(text: &str) -> Result<Stage, String> {
    Stage::parse_known(&text.to_ascii_lowercase())
        .ok_or_else(|| "expected lead, qualified, proposal, negotiation, won or lost".to_owned())
}

/// A stage as shown: one a newer app wrote and this one does not know is shown as unknown.
fn stage_label(stage: &Stage) -> String {
    match stage {
        Stage::Unknown(value) => format!("unknown ({value})"),
        known => known.to_string(),
    }
}

/// Runs an `opportunity` subcommand.
pub fn run(
    store: &Store,
    session_path: &Path,
    command: OpportunityCommand,
) -> Result<(), CliError> {
    match command {
        OpportunityCommand::List { stage, all, limit } => {
            // Before login the store's deals belong to nobody yet: show them all.
            let mine = !all && Session::load(session_path)?.is_some();
            let query = Query::DealsByStage {
                owner: mine.then(|| store.user()),
                stage,
                limit,
            };
            match store.query(&query)? {
                QueryResult::DealsByStage(stages) => print_pipeline(&stages),
                _ => out!("no deals"),
            }
            Ok(())
        }
        OpportunityCommand::Show { id } => {
            let deal = get(store, &id)?;
            let customer: Option<Customer> = store.get(&deal.customer_id).ok().flatten();
            print_deal(&deal, customer.as_ref().map(|c| c.name.as_str()));
            Ok(())
        }
        OpportunityCommand::Add {
            customer,
            title,
            terms,
        } => {
            let (Some(amount), Some(currency)) = (&terms.amount, &terms.currency) else {
                return Err(CliError::Usage(
                    "a new deal needs --amount and --currency".into(),
                ));
            };
            let amount = parse_amount(amount, currency).map_err(usage)?;
            if store.get::<Customer>(&customer)?.is_none() {
                return Err(CliError::NotFound(customer));
            }
            let mut deal = Opportunity::new(customer, title, amount);
            deal.probability = terms.probability;
            deal.expected_close_at = terms.close;
            // Before login the store has no user yet: the deal is nobody's until edited.
            if Session::load(session_path)?.is_some() {
                deal.owner = Some(store.user());
            }
            let deal = store.create(deal).map_err(validation_as_usage)?;
            out!("opportunity {} created: {}", deal.meta.id, deal.title);
            Ok(())
        }
        OpportunityCommand::Edit { id, terms } => {
            let mut deal = get(store, &id)?;
            if let (Some(amount), Some(currency)) = (&terms.amount, &terms.currency) {
                deal.amount = parse_amount(amount, currency).map_err(usage)?;
            }
            if let Some(probability) = terms.probability {
                deal.probability = Some(probability);
            }
            if let Some(close) = terms.close {
                deal.expected_close_at = Some(close);
            }
            let deal = store.update(deal).map_err(validation_as_usage)?;
            out!("opportunity {} saved: {}", deal.meta.id, deal.title);
            Ok(())
        }
        OpportunityCommand::Stage { id, stage, reason } => {
            let deal = store
                .change_stage(&id, stage, reason)
                .map_err(|e| match e {
                    StoreError::NotFound { id } => CliError::NotFound(id),
                    StoreError::Validation(ValidationError::Required { field })
                        if field == "lost_reason" =>
                    {
                        CliError::Usage("a lost deal needs the reason: pass --reason".into())
                    }
                    other => validation_as_usage(other),
                })?;
            out!(
                "opportunity {} is now {}: {}",
                deal.meta.id,
                stage_label(&deal.stage),
                deal.title
            );
            Ok(())
        }
    }
}

fn get(store: &Store, id: &str) -> Result<Opportunity, CliError> {
    match store.get::<Opportunity>(id) {
        Ok(Some(deal)) => Ok(deal),
        Ok(None) => Err(CliError::NotFound(id.to_owned())),
        Err(StoreError::WrongKind { actual, .. }) => Err(CliError::Usage(format!(
            "{id} is a {actual}, not an opportunity"
        ))),
        Err(other) => Err(other.into()),
    }
}

fn usage(e: ValidationError) -> CliError {
    CliError::Usage(e.to_string())
}

fn probability_label(probability: Option<u8>) -> String {
    probability.map_or("-".to_owned(), |p| format!("{p}%"))
}

fn print_pipeline(stages: &[StageDeals]) {
    if stages.iter().all(|s| s.deals.is_empty()) {
        out!("no deals");
        return;
    }
    for stage in stages.iter().filter(|s| !s.totals.is_empty()) {
        let count: u32 = stage.totals.iter().map(|t| t.count).sum();
        out!("{} ({count})", stage_label(&stage.stage));
        for total in &stage.totals {
            out!(
                "  total {:>3}  {:>20}  weighted {:>20}",
                total.count,
                format_amount(total.amount_minor, &total.currency),
                format_amount(total.weighted_minor, &total.currency),
            );
        }
        for deal in &stage.deals {
            out!(
                "  {}  {:<30} {:<24} {:>20} {:>4}  close {}",
                deal.id,
                deal.title,
                deal.customer_name.as_deref().unwrap_or("-"),
                format_amount(deal.amount_minor, &deal.currency),
                probability_label(deal.probability),
                deal.expected_close_at.map_or("-".to_owned(), date),
            );
        }
        // The stage's own count (its totals), not a guess.
        let listed = stage.deals.len() as u32;
        if listed < count {
            out!("  {listed} of {count} shown; use --limit for more");
        }
    }
}

fn print_deal(d: &Opportunity, customer_name: Option<&str>) {
    out!("{}  {}", d.meta.id, d.title);
    let line = |label: &str, value: String| out!("  {label:<12} {value}");
    line(
        "customer",
        format!("{} ({})", customer_name.unwrap_or("-"), d.customer_id),
    );
    line("stage", stage_label(&d.stage));
    if let Some(reason) = d.lost_reason.as_ref().filter(|_| d.stage == Stage::Lost) {
        line("lost reason", reason.clone());
    }
    line("amount", format_amount(d.amount.minor, &d.amount.currency));
    line("probability", probability_label(d.probability));
    line(
        "weighted",
        format_amount(
            fieldcrm_core::weighted_minor(d.amount.minor, &d.stage, d.probability),
            &d.amount.currency,
        ),
    );
    line("close", d.expected_close_at.map_or("-".to_owned(), date));
    line("owner", d.owner.clone().unwrap_or_else(|| "-".to_owned()));
    for change in &d.stage_history {
        line(
            "history",
            format!(
                "{} {} by {}",
                at(change.at),
                stage_label(&change.stage),
                change.by
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_in_either_case_and_unknown_ones_show_as_such() {
        assert_eq!(parse_stage("Lost"), Ok(Stage::Lost));
        assert!(
            parse_stage("on_hold").is_err(),
            "input takes known stages only"
        );
        assert_eq!(stage_label(&Stage::parse("on_hold")), "unknown (on_hold)");
        assert_eq!(probability_label(Some(40)), "40%");
        assert_eq!(probability_label(None), "-");
    }
}

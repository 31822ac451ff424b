//! The demo's opportunities with the stage history a real pipeline leaves: deals entered the
//! funnel over the last four months, spent days to weeks in each stage, and were won, lost or
//! are still open, so the funnel's conversions and times in stage, the win rate and the forecast
//! have something to show.

use fieldcrm_core::default_probability;

use super::*;

const DEAL_TITLES: &[&str] = &[
    "Annual supply agreement",
    "Display refit",
    "Service contract",
    "Seasonal order",
    "Loyalty programme",
    "Delivery framework",
    "Second location fit-out",
];

/// Deals per rep.
pub(super) const DEALS_PER_REP: usize = 40;

/// The open stages in funnel order, with the chance that a deal in one moves on to the next
/// (the rest are lost there, or are still in it when it entered recently).
const FUNNEL: [(Stage, f64); 4] = [
    (Stage::Lead, 0.8),
    (Stage::Qualified, 0.75),
    (Stage::Proposal, 0.7),
    (Stage::Negotiation, 0.65),
];

/// [`DEALS_PER_REP`] opportunities per rep, each as it stands now, its `stage_history` the
/// stages it went through and when (seeding replays them in order, at those times).
pub(super) fn deals(
    rng: &mut Rng,
    rep_ids: &[String; REPS],
    customers: &[(usize, Customer)],
    today: Millis,
    now: Millis,
) -> Vec<(usize, Opportunity)> {
    let mut opportunities = Vec::new();
    for (rep, rep_id) in rep_ids.iter().enumerate() {
        let own: Vec<&Customer> = customers
            .iter()
            .filter(|(owner, _)| *owner == rep)
            .map(|(_, c)| c)
            .collect();
        for _ in 0..DEALS_PER_REP {
            let customer = own[rng.below(own.len())];
            let amount = Money {
                minor: rng.int(10, 800) * 10_000,
                currency: "EUR".to_owned(),
            };
            let mut deal = Opportunity::new(
                customer.meta.id.clone(),
                rng.pick(DEAL_TITLES).to_string(),
                amount,
            );
            // Entered between 120 and 2 days ago, during working hours.
            let mut at = today - rng.int(2, 120) * DAY_MS + rng.int(8 * 60, 17 * 60) * MINUTE;
            deal.meta.id = rng.id(at);
            deal.owner = Some(rep_id.clone());
            let mut history = vec![StageChange {
                stage: Stage::Lead,
                at,
                by: rep_id.clone(),
            }];
            let mut stage = Stage::Lead;
            for (index, (_, onward)) in FUNNEL.iter().enumerate() {
                let next_at = at + rng.int(2, 21) * DAY_MS + rng.int(0, 8 * 60) * MINUTE;
                if next_at > now {
                    break; // Still in this stage.
                }
                let next = if rng.chance(*onward) {
                    FUNNEL
                        .get(index + 1)
                        .map_or(Stage::Won, |(stage, _)| stage.clone())
                } else if rng.chance(0.6) {
                    Stage::Lost
                } else {
                    break; // Stalled: still in this stage.
                };
                at = next_at;
                history.push(StageChange {
                    stage: next.clone(),
                    at,
                    by: rep_id.clone(),
                });
                stage = next;
                if stage.is_closed() {
                    break;
                }
            }
            deal.probability = Some(default_probability(&stage));
            deal.expected_close_at = Some(if stage.is_closed() {
                at
            } else {
                today + rng.int(7, 90) * DAY_MS
            });
            if stage == Stage::Lost {
                deal.lost_reason = Some(
                    rng.pick(&["Price", "Competitor", "No budget", "Timing"])
                        .to_string(),
                );
            }
            deal.stage = stage;
            deal.stage_history = history;
            opportunities.push((rep, deal));
        }
    }
    opportunities
}

//! The demo's opportunities, at every stage.

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

/// Ten opportunities per rep, at every stage.
pub(super) fn deals(
    rng: &mut Rng,
    rep_ids: &[String; REPS],
    customers: &[(usize, Customer)],
    today: Millis,
    now: Millis,
) -> Vec<(usize, Opportunity)> {
    let mut opportunities = Vec::new();
    let stages = [
        (Stage::Lead, 10),
        (Stage::Qualified, 25),
        (Stage::Proposal, 50),
        (Stage::Negotiation, 75),
        (Stage::Won, 100),
        (Stage::Lost, 0),
    ];
    for (rep, rep_id) in rep_ids.iter().enumerate() {
        let own: Vec<&Customer> = customers
            .iter()
            .filter(|(owner, _)| *owner == rep)
            .map(|(_, c)| c)
            .collect();
        for i in 0..10 {
            let customer = own[rng.below(own.len())];
            let (stage, probability) = stages[i % stages.len()].clone();
            let amount = Money {
                minor: rng.int(10, 800) * 10_000,
                currency: "EUR".to_owned(),
            };
            let mut deal = Opportunity::new(
                customer.meta.id.clone(),
                rng.pick(DEAL_TITLES).to_string(),
                amount,
            );
            deal.meta.id = rng.id(now);
            deal.stage = stage.clone();
            deal.probability = Some(probability);
            deal.owner = Some(rep_id.clone());
            deal.expected_close_at = Some(if stage.is_closed() {
                today - rng.int(2, 20) * DAY_MS
            } else {
                today + rng.int(7, 90) * DAY_MS
            });
            if stage == Stage::Lost {
                deal.lost_reason =
                    Some(rng.pick(&["Price", "Competitor", "No budget"]).to_string());
            }
            opportunities.push((rep, deal));
        }
    }
    opportunities
}

//! Everything seeding writes, generated from the fixed seed.

use super::*;

/// Everything seeding writes, by the index of the rep whose device writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoPlan {
    pub customers: Vec<(usize, Customer)>,
    pub visits: Vec<(usize, Visit)>,
    /// Each deal as it stands now; its stage history is replayed at its times.
    pub opportunities: Vec<(usize, Opportunity)>,
    /// The product catalog, written by the admin.
    pub products: Vec<Product>,
    /// Orders taken at the past week's visits; each status history is replayed at its times.
    pub orders: Vec<(usize, Order)>,
    /// Location pings per rep along the routes of the days with visits.
    pub pings: Vec<(usize, Vec<Fix>)>,
}

/// The demo data for reps `rep_ids` (altona, altona, eppendorf), relative to `now`. The same
/// inputs give the same plan.
pub fn plan(rep_ids: &[String; REPS], now: Millis) -> DemoPlan {
    let mut rng = Rng(DEMO_SEED);
    let customers = customers(&mut rng, rep_ids, now);
    let today = now - now.rem_euclid(DAY_MS);
    let visits = week_of_visits(&mut rng, rep_ids, &customers, today, now);
    let opportunities = deals(&mut rng, rep_ids, &customers, today, now);
    let products = catalog(&mut rng, now);
    let orders = orders(&mut rng, rep_ids, &visits, &products, now);
    let pings = (0..REPS)
        .map(|rep| (rep, route_pings(&mut rng, rep, &visits)))
        .collect();
    DemoPlan {
        customers,
        visits,
        opportunities,
        products,
        orders,
        pings,
    }
}

//! The demo's week of visits: done ones with GPS check-in and check-out near the customer,
//! planned ones today and tomorrow.

use super::*;

/// The outcome of a visit at which an order was taken (`orders.rs` takes one at each).
pub(super) const ORDER_PLACED: &str = "Order placed";

/// Outcomes of a done visit; an order at about a third of them.
const OUTCOMES: &[&str] = &[
    ORDER_PLACED,
    ORDER_PLACED,
    ORDER_PLACED,
    "Follow-up needed",
    "Samples left",
    "Decision maker absent",
    "Price negotiation",
    "Relationship visit",
];

pub(super) const MINUTE: Millis = 60_000;

/// Each rep's past week of working days (done visits, a few skipped) and planned visits today
/// and tomorrow, starting on the day that begins at `today`.
pub(super) fn week_of_visits(
    rng: &mut Rng,
    rep_ids: &[String; REPS],
    customers: &[(usize, Customer)],
    today: Millis,
    now: Millis,
) -> Vec<(usize, Visit)> {
    let mut visits = Vec::new();
    for (rep, rep_id) in rep_ids.iter().enumerate() {
        let own: Vec<&Customer> = customers
            .iter()
            .filter(|(owner, _)| *owner == rep)
            .map(|(_, c)| c)
            .collect();
        // The past week's working days, then today and tomorrow (planned).
        for days_ago in (-1..=7i64).rev() {
            let day = today - days_ago * DAY_MS;
            // 1970-01-01 was a Thursday: (days + 4) % 7 is 0 on Sundays, 6 on Saturdays.
            let weekday = (day.div_euclid(DAY_MS) + 4).rem_euclid(7);
            if days_ago > 0 && (weekday == 0 || weekday == 6) {
                continue;
            }
            // 07:30 UTC is 08:30 or 09:30 in Hamburg.
            let mut clock = day + 7 * 60 * MINUTE + 30 * MINUTE;
            let count = if days_ago > 0 { rng.int(4, 6) } else { 4 };
            for _ in 0..count {
                let customer = own[rng.below(own.len())];
                let dwell = rng.int(20, 50) * MINUTE;
                let mut visit = Visit::new(customer.meta.id.clone(), rep_id.clone());
                visit.meta.id = rng.id(now);
                visit.planned_start = Some(clock);
                visit.planned_end = Some(clock + 45 * MINUTE);
                if days_ago > 0 {
                    past_visit(rng, &mut visit, customer, clock, dwell);
                }
                visits.push((rep, visit));
                clock += dwell + rng.int(15, 35) * MINUTE;
            }
        }
    }

    // What a manager should notice: one check-in from a mock-location app (the third rep's
    // first visit), one whose GPS fix was six minutes old (the second rep's third visit).
    for (rep, nth, mock) in [(2, 0, true), (1, 2, false)] {
        let stamp = visits
            .iter_mut()
            .filter(|(owner, v)| *owner == rep && v.check_in.is_some())
            .nth(nth)
            .and_then(|(_, v)| v.check_in.as_mut());
        if let Some(stamp) = stamp {
            if mock {
                stamp.mock = true;
            } else {
                stamp.fix_at = stamp.at - 6 * MINUTE;
            }
        }
    }
    visits
}

/// A visit that happened: check-in and check-out near the customer (now and then not).
fn past_visit(rng: &mut Rng, visit: &mut Visit, customer: &Customer, start: Millis, dwell: Millis) {
    let Some(location) = &customer.location else {
        return;
    };
    if rng.chance(0.05) {
        visit.status = VisitStatus::Skipped;
        visit.outcome = Some("Closed for the day".to_owned());
        return;
    }
    // Mostly at the door; one in ten a few hundred metres off (parked elsewhere, bad fix).
    let metres = if rng.chance(0.1) {
        rng.range(200.0, 500.0)
    } else {
        rng.range(5.0, 60.0)
    };
    let accuracy = rng.range(4.0, 25.0);
    let (lat, lon) = offset(rng, location.lat, location.lon, metres);
    let at = start + rng.int(-5, 10) * MINUTE;
    visit.check_in = Some(GpsStamp {
        at,
        lat,
        lon,
        accuracy_m: accuracy.round(),
        fix_at: at - rng.int(0, 20) * 1_000,
        mock: false,
    });
    let out_metres = rng.range(5.0, 40.0);
    let (out_lat, out_lon) = offset(rng, location.lat, location.lon, out_metres);
    let out_at = at + dwell;
    visit.check_out = Some(GpsStamp {
        at: out_at,
        lat: out_lat,
        lon: out_lon,
        accuracy_m: rng.range(4.0, 20.0).round(),
        fix_at: out_at - rng.int(0, 20) * 1_000,
        mock: false,
    });
    if let Some(stamp) = &visit.check_in {
        visit.verification = Some(customer.verify_check_in(stamp));
    }
    visit.status = VisitStatus::Done;
    let outcome = *rng.pick(OUTCOMES);
    visit.outcome = Some(outcome.to_owned());
    if rng.chance(0.4) {
        visit.next_step = Some(
            rng.pick(&[
                "Send offer",
                "Call back next week",
                "Bring new catalogue",
                "Check delivery date",
            ])
            .to_string(),
        );
    }
}

//! The demo's location pings along each rep's routes.

use super::*;

/// Pings every 30 s while driving and every 2 min while on site, along straight lines between
/// the day's check-ins, with GPS noise; the route starts 20 min before the first check-in and
/// ends 15 min after the last check-out. A few days carry what a route review must catch: the
/// first rep's phone is off for 25 minutes once (a gap), the second rep's GPS jumps 30 km
/// for one fix (implausible speed).
pub(super) fn route_pings(rng: &mut Rng, rep: usize, visits: &[(usize, Visit)]) -> Vec<Fix> {
    let mut by_day: std::collections::BTreeMap<Millis, Vec<&Visit>> = Default::default();
    for (_, visit) in visits.iter().filter(|(owner, _)| *owner == rep) {
        if let Some(check_in) = &visit.check_in {
            by_day
                .entry(check_in.at.div_euclid(DAY_MS))
                .or_default()
                .push(visit);
        }
    }
    let mut pings = Vec::new();
    for (day_index, (_, mut day)) in by_day.into_iter().enumerate() {
        day.sort_by_key(|v| v.check_in.as_ref().map(|c| c.at));
        let Some(first) = day.first().and_then(|v| v.check_in.clone()) else {
            continue;
        };
        let home = offset(rng, first.lat, first.lon, 2_500.0);
        let mut position = (home.0, home.1, first.at - 20 * MINUTE);
        let gap_leg = (rep == 0 && day_index == 1).then_some(1);
        let jump_leg = (rep == 1 && day_index == 2).then_some(2);
        for (leg, visit) in day.iter().enumerate() {
            let (Some(check_in), Some(check_out)) = (&visit.check_in, &visit.check_out) else {
                continue;
            };
            let target = (check_in.lat, check_in.lon, check_in.at);
            let mut t = position.2;
            while t < target.2 {
                let f = (t - position.2) as f64 / (target.2 - position.2).max(1) as f64;
                let silent = gap_leg == Some(leg)
                    && f > 0.1
                    && f < 0.1 + 25.0 * MINUTE as f64 / (target.2 - position.2).max(1) as f64;
                if !silent {
                    let lat = position.0 + (target.0 - position.0) * f;
                    let lon = position.1 + (target.1 - position.1) * f;
                    let noise = rng.range(2.0, 12.0);
                    let (lat, lon) = offset(rng, lat, lon, noise);
                    pings.push(demo_fix(t, lat, lon, rng.range(4.0, 15.0)));
                }
                if jump_leg == Some(leg) && (f - 0.5).abs() < 0.02 {
                    pings.push(demo_fix(t + 5_000, position.0 + 0.27, position.1, 20.0));
                }
                t += 30_000;
            }
            let mut t = check_in.at + 60_000;
            while t < check_out.at {
                let noise = rng.range(2.0, 20.0);
                let (lat, lon) = offset(rng, check_in.lat, check_in.lon, noise);
                pings.push(demo_fix(t, lat, lon, rng.range(5.0, 25.0)));
                t += 2 * MINUTE;
            }
            position = (check_out.lat, check_out.lon, check_out.at + 30_000);
        }
        let away = offset(rng, position.0, position.1, 3_000.0);
        let mut t = position.2;
        while t < position.2 + 15 * MINUTE {
            let f = (t - position.2) as f64 / (15 * MINUTE) as f64;
            pings.push(demo_fix(
                t,
                position.0 + (away.0 - position.0) * f,
                position.1 + (away.1 - position.1) * f,
                8.0,
            ));
            t += 30_000;
        }
    }
    pings
}

fn demo_fix(at: Millis, lat: f64, lon: f64, accuracy_m: f64) -> Fix {
    Fix {
        at,
        lat,
        lon,
        accuracy_m: accuracy_m.round(),
        mock: false,
    }
}

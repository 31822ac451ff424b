//! Offline geography for a rep's day: check-in verification against the customer's location,
//! and the order of the day's planned visits.
//!
//! Both are pure functions of their inputs, so the device and the server compute the same
//! result (the server recomputes verification after sync; its result is what managers see).

use crate::model::{Customer, GpsStamp, LatLon, Verification};

/// Where a check-in was, against where the customer is:
/// - verified when the whole accuracy circle lies inside the visit radius
///   (distance + accuracy <= radius);
/// - out of range when it lies wholly outside (distance - accuracy > radius);
/// - uncertain otherwise;
/// - no customer location when the customer has none (or an invalid one) to compare with.
///
/// The stamp is assumed validated (finite coordinates in range, accuracy >= 0); an invalid
/// stamp is never verified.
pub fn verify_check_in(customer: Option<LatLon>, radius_m: f64, stamp: &GpsStamp) -> Verification {
    let Some(customer) = customer.filter(LatLon::is_valid) else {
        return Verification::NoCustomerLocation;
    };
    let fix = LatLon::new(stamp.lat, stamp.lon);
    if !fix.is_valid() || !stamp.accuracy_m.is_finite() || stamp.accuracy_m < 0.0 {
        return Verification::Uncertain;
    }
    let distance = customer.distance_m(&fix);
    if distance + stamp.accuracy_m <= radius_m {
        Verification::Verified
    } else if distance - stamp.accuracy_m > radius_m {
        Verification::OutOfRange
    } else {
        Verification::Uncertain
    }
}

impl Customer {
    /// [`verify_check_in`] against this customer's location and visit radius.
    pub fn verify_check_in(&self, stamp: &GpsStamp) -> Verification {
        verify_check_in(
            self.location.as_ref().map(|l| LatLon::new(l.lat, l.lon)),
            f64::from(self.visit_radius_m),
            stamp,
        )
    }
}

/// The order in which to visit the day's stops from the current position (an open route: it
/// ends at the last stop), and its length.
#[derive(Debug, Clone, PartialEq)]
pub struct DayPlan {
    /// Indexes into the stops given, in visiting order.
    pub order: Vec<usize>,
    /// Great-circle metres from the start through every stop in order.
    pub total_m: f64,
}

/// Up to this many stops the plan is exact (Held-Karp dynamic programming, n^2 * 2^n steps:
/// under a millisecond at 12); above it, nearest neighbour improved by 2-opt and or-opt.
pub const EXACT_UP_TO: usize = 12;

/// Orders `stops` from `start`. Stops with invalid coordinates go last, in the order given
/// (the plan cannot place them).
pub fn plan_day(start: LatLon, stops: &[LatLon]) -> DayPlan {
    let (placeable, unplaceable): (Vec<usize>, Vec<usize>) =
        (0..stops.len()).partition(|&i| stops[i].is_valid());
    let points: Vec<LatLon> = placeable.iter().map(|&i| stops[i]).collect();
    let matrix = DistanceMatrix::new(start, &points);
    let local = if points.len() <= EXACT_UP_TO {
        exact_order(&matrix)
    } else {
        heuristic_order(&matrix)
    };
    let total_m = matrix.route_length(&local);
    let mut order: Vec<usize> = local.into_iter().map(|i| placeable[i]).collect();
    order.extend(unplaceable);
    DayPlan { order, total_m }
}

/// The heuristic alone (nearest neighbour, then 2-opt and or-opt until neither improves), for
/// any number of stops. `plan_day` uses it above [`EXACT_UP_TO`]; the benchmark measures its
/// gap to the exact plan on small instances.
pub fn plan_day_heuristic(start: LatLon, stops: &[LatLon]) -> DayPlan {
    let matrix = DistanceMatrix::new(start, stops);
    let order = heuristic_order(&matrix);
    DayPlan {
        total_m: matrix.route_length(&order),
        order,
    }
}

/// The shortest open route, by trying every order (for tests and the benchmark; n <= 9).
pub fn plan_day_brute_force(start: LatLon, stops: &[LatLon]) -> DayPlan {
    let matrix = DistanceMatrix::new(start, stops);
    let mut current: Vec<usize> = (0..stops.len()).collect();
    let mut best = (matrix.route_length(&current), current.clone());
    permute(&mut current, 0, &mut |order| {
        let length = matrix.route_length(order);
        if length < best.0 {
            best = (length, order.to_vec());
        }
    });
    DayPlan {
        total_m: best.0,
        order: best.1,
    }
}

fn permute(items: &mut [usize], k: usize, visit: &mut impl FnMut(&[usize])) {
    if k == items.len() {
        visit(items);
        return;
    }
    for i in k..items.len() {
        items.swap(k, i);
        permute(items, k + 1, visit);
        items.swap(k, i);
    }
}

/// Distances between the start (index 0) and the stops (index i + 1).
struct DistanceMatrix {
    size: usize,
    metres: Vec<f64>,
}

impl DistanceMatrix {
    fn new(start: LatLon, stops: &[LatLon]) -> Self {
        let points: Vec<LatLon> = std::iter::once(start)
            .chain(stops.iter().copied())
            .collect();
        let size = points.len();
        let mut metres = vec![0.0; size * size];
        for i in 0..size {
            for j in (i + 1)..size {
                let d = points[i].distance_m(&points[j]);
                metres[i * size + j] = d;
                metres[j * size + i] = d;
            }
        }
        DistanceMatrix { size, metres }
    }

    /// Between nodes (0 = start, i + 1 = stop i).
    fn node(&self, a: usize, b: usize) -> f64 {
        self.metres[a * self.size + b]
    }

    /// Length of the open route start -> stops in `order`.
    fn route_length(&self, order: &[usize]) -> f64 {
        let mut at = 0;
        let mut total = 0.0;
        for &stop in order {
            total += self.node(at, stop + 1);
            at = stop + 1;
        }
        total
    }
}

/// Held-Karp over subsets of stops: best[set][last] = shortest route from the start through
/// `set` ending at `last`.
fn exact_order(matrix: &DistanceMatrix) -> Vec<usize> {
    let n = matrix.size - 1;
    if n <= 1 {
        return (0..n).collect();
    }
    let full = 1usize << n;
    let mut best = vec![f64::INFINITY; full * n];
    let mut previous = vec![usize::MAX; full * n];
    for stop in 0..n {
        best[(1 << stop) * n + stop] = matrix.node(0, stop + 1);
    }
    for set in 1..full {
        for last in 0..n {
            if set & (1 << last) == 0 {
                continue;
            }
            let here = best[set * n + last];
            if !here.is_finite() {
                continue;
            }
            for next in 0..n {
                if set & (1 << next) != 0 {
                    continue;
                }
                let grown = set | (1 << next);
                let length = here + matrix.node(last + 1, next + 1);
                if length < best[grown * n + next] {
                    best[grown * n + next] = length;
                    previous[grown * n + next] = last;
                }
            }
        }
    }
    let all = full - 1;
    let mut last = (0..n)
        .min_by(|&a, &b| best[all * n + a].total_cmp(&best[all * n + b]))
        .unwrap_or(0);
    let mut set = all;
    let mut order = Vec::with_capacity(n);
    while last != usize::MAX {
        order.push(last);
        let before = previous[set * n + last];
        set &= !(1 << last);
        last = before;
    }
    order.reverse();
    order
}

fn heuristic_order(matrix: &DistanceMatrix) -> Vec<usize> {
    let n = matrix.size - 1;
    let mut order = nearest_neighbour(matrix);
    // Each pass strictly shortens the route, so this ends; the cap only bounds pathological
    // floating-point cases.
    for _ in 0..(10 * n + 10) {
        let improved = two_opt(matrix, &mut order) | or_opt(matrix, &mut order);
        if !improved {
            break;
        }
    }
    order
}

fn nearest_neighbour(matrix: &DistanceMatrix) -> Vec<usize> {
    let n = matrix.size - 1;
    let mut left: Vec<usize> = (0..n).collect();
    let mut order = Vec::with_capacity(n);
    let mut at = 0;
    while !left.is_empty() {
        let pos = (0..left.len())
            .min_by(|&a, &b| {
                matrix
                    .node(at, left[a] + 1)
                    .total_cmp(&matrix.node(at, left[b] + 1))
            })
            .unwrap_or(0);
        let stop = left.swap_remove(pos);
        order.push(stop);
        at = stop + 1;
    }
    order
}

/// Improvement smaller than this (metres) does not count, so rounding cannot loop.
const EPSILON_M: f64 = 1e-6;

/// Reverses segments while that shortens the open route (start fixed, end free).
fn two_opt(matrix: &DistanceMatrix, order: &mut [usize]) -> bool {
    let n = order.len();
    let node = |order: &[usize], i: usize| order[i] + 1;
    let mut improved = false;
    for i in 0..n {
        let before = if i == 0 { 0 } else { node(order, i - 1) };
        for j in (i + 1)..n {
            let (first, last) = (node(order, i), node(order, j));
            let mut delta = matrix.node(before, last) - matrix.node(before, first);
            if j + 1 < n {
                let after = node(order, j + 1);
                delta += matrix.node(first, after) - matrix.node(last, after);
            }
            if delta < -EPSILON_M {
                order[i..=j].reverse();
                improved = true;
            }
        }
    }
    improved
}

/// Moves runs of one to three stops to a better place (either direction kept as is).
fn or_opt(matrix: &DistanceMatrix, order: &mut Vec<usize>) -> bool {
    let mut improved = false;
    for run in 1..=3usize {
        let mut i = 0;
        while i + run <= order.len() {
            let base = matrix.route_length(order);
            let segment: Vec<usize> = order[i..i + run].to_vec();
            let mut rest: Vec<usize> = order[..i].to_vec();
            rest.extend_from_slice(&order[i + run..]);
            let mut best: Option<(f64, usize)> = None;
            for at in 0..=rest.len() {
                if at == i {
                    continue;
                }
                let mut candidate = rest[..at].to_vec();
                candidate.extend_from_slice(&segment);
                candidate.extend_from_slice(&rest[at..]);
                let length = matrix.route_length(&candidate);
                if length < base - EPSILON_M && best.is_none_or(|(b, _)| length < b) {
                    best = Some((length, at));
                }
            }
            if let Some((_, at)) = best {
                let mut candidate = rest[..at].to_vec();
                candidate.extend_from_slice(&segment);
                candidate.extend_from_slice(&rest[at..]);
                *order = candidate;
                improved = true;
            }
            i += 1;
        }
    }
    improved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(lat: f64, lon: f64, accuracy_m: f64) -> GpsStamp {
        GpsStamp {
            at: 1_000,
            lat,
            lon,
            accuracy_m,
            fix_at: 1_000,
            mock: false,
        }
    }

    /// A point `north_m` metres north of `p` (good enough at city scale).
    fn north(p: LatLon, north_m: f64) -> LatLon {
        LatLon::new(p.lat + north_m / 111_195.0, p.lon)
    }

    #[test]
    fn verification_follows_the_accuracy_circle() {
        let shop = LatLon::new(53.55, 9.99);
        let cases = [
            // (metres away, accuracy, radius, expected)
            (0.0, 10.0, 100.0, Verification::Verified),
            (80.0, 19.0, 100.0, Verification::Verified),
            (80.0, 25.0, 100.0, Verification::Uncertain),
            (150.0, 60.0, 100.0, Verification::Uncertain),
            (150.0, 40.0, 100.0, Verification::OutOfRange),
            (5_000.0, 0.0, 100.0, Verification::OutOfRange),
            (0.0, 0.0, 0.0, Verification::Verified),
        ];
        for (away, accuracy, radius, expected) in cases {
            let at = north(shop, away);
            assert_eq!(
                verify_check_in(Some(shop), radius, &stamp(at.lat, at.lon, accuracy)),
                expected,
                "{away} m away, accuracy {accuracy} m, radius {radius} m"
            );
        }
    }

    #[test]
    fn verification_without_a_usable_customer_location_says_so() {
        let s = stamp(53.55, 9.99, 5.0);
        assert_eq!(
            verify_check_in(None, 100.0, &s),
            Verification::NoCustomerLocation
        );
        assert_eq!(
            verify_check_in(Some(LatLon::new(f64::NAN, 9.99)), 100.0, &s),
            Verification::NoCustomerLocation
        );
        let bad_fix = stamp(91.0, 9.99, 5.0);
        assert_eq!(
            verify_check_in(Some(LatLon::new(53.55, 9.99)), 100.0, &bad_fix),
            Verification::Uncertain
        );
    }

    fn city(seed: u64, n: usize) -> (LatLon, Vec<LatLon>) {
        // SplitMix64: deterministic points in a 20 km square.
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as f64 / u64::MAX as f64
        };
        let mut point = || LatLon::new(53.45 + 0.18 * next(), 9.85 + 0.30 * next());
        let start = point();
        let stops = (0..n).map(|_| point()).collect();
        (start, stops)
    }

    fn is_permutation(order: &[usize], n: usize) -> bool {
        let mut seen = order.to_vec();
        seen.sort_unstable();
        seen == (0..n).collect::<Vec<_>>()
    }

    #[test]
    fn small_days_are_planned_exactly() {
        for seed in 0..30 {
            let n = 1 + (seed as usize % 8);
            let (start, stops) = city(seed, n);
            let plan = plan_day(start, &stops);
            let exact = plan_day_brute_force(start, &stops);
            assert!(is_permutation(&plan.order, n));
            assert!(
                (plan.total_m - exact.total_m).abs() < 1e-6,
                "seed {seed}: {} vs {}",
                plan.total_m,
                exact.total_m
            );
        }
    }

    #[test]
    fn the_heuristic_visits_every_stop_and_never_loses_to_nearest_neighbour() {
        for seed in 0..20 {
            let (start, stops) = city(100 + seed, 30);
            let plan = plan_day(start, &stops);
            assert!(is_permutation(&plan.order, 30));
            let matrix = DistanceMatrix::new(start, &stops);
            let greedy = matrix.route_length(&nearest_neighbour(&matrix));
            assert!(plan.total_m <= greedy + 1e-6, "seed {seed}");
            assert!((matrix.route_length(&plan.order) - plan.total_m).abs() < 1e-6);
        }
    }

    #[test]
    fn the_heuristic_is_close_to_optimal_on_small_days() {
        let mut gaps = Vec::new();
        for seed in 0..40 {
            let n = 5 + (seed as usize % 5);
            let (start, stops) = city(1_000 + seed, n);
            let heuristic = plan_day_heuristic(start, &stops).total_m;
            let exact = plan_day_brute_force(start, &stops).total_m;
            assert!(heuristic + 1e-6 >= exact);
            gaps.push((heuristic - exact) / exact * 100.0);
        }
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!(mean <= 5.0, "mean gap {mean:.2} %: {gaps:?}");
    }

    #[test]
    fn unplaceable_stops_go_last_and_empty_days_are_empty() {
        let (start, mut stops) = city(7, 4);
        stops.insert(1, LatLon::new(f64::NAN, 0.0));
        let plan = plan_day(start, &stops);
        assert_eq!(plan.order.len(), 5);
        assert_eq!(plan.order.last(), Some(&1));
        assert!(plan.total_m.is_finite());
        let empty = plan_day(start, &[]);
        assert!(empty.order.is_empty());
        assert_eq!(empty.total_m, 0.0);
    }
}

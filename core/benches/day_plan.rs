//! Day planning benchmark: fixed, seeded instances in a 20 km square (a city's sales area).
//!
//! Run with `cargo bench -p fieldcrm-core --bench day_plan`. Prints one line per figure,
//! `bench: <name> = <value> <unit>`; everything else starts with `#`. `FIELDCRM_BENCH_SCALE`
//! (default 1.0) scales the number of instances.
//!
//! - `day_plan_30_stops_ms`: median time of `plan_day` for 30 stops from the current position
//!   (nearest neighbour, then 2-opt and or-opt; days of up to 12 stops are solved exactly).
//! - `day_plan_gap_to_optimal_pct`: the mean gap of that heuristic (`plan_day_heuristic`, what
//!   `plan_day` uses above 12 stops) to the optimum found by brute force, over instances of 2 to
//!   9 stops. `plan_day` itself is exact at these sizes, so its own gap there is 0.

use std::time::Instant;

use fieldcrm_bench_support::{comment, emit, ms, scale, scaled};
use fieldcrm_core::{LatLon, plan_day, plan_day_brute_force, plan_day_heuristic};

const SEED: u64 = 0x0DA7_F1A2;

/// SplitMix64, so the instances are the same on every machine.
struct Points(u64);

impl Points {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }

    fn point(&mut self) -> LatLon {
        LatLon::new(52.40 + 0.18 * self.unit(), 13.20 + 0.30 * self.unit())
    }

    fn day(&mut self, stops: usize) -> (LatLon, Vec<LatLon>) {
        (self.point(), (0..stops).map(|_| self.point()).collect())
    }
}

fn main() {
    let instances = scaled(200, scale()).max(5);
    let mut points = Points(SEED);

    let days: Vec<(LatLon, Vec<LatLon>)> = (0..instances).map(|_| points.day(30)).collect();
    let mut times = Vec::with_capacity(days.len());
    let mut total_km = 0.0;
    for (start, stops) in &days {
        let t = Instant::now();
        let plan = plan_day(*start, stops);
        times.push(ms(t.elapsed()));
        total_km += plan.total_m / 1e3;
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    emit("day_plan_30_stops_ms", median, "ms");
    comment(&format!(
        "day_plan: {} days of 30 stops, p90 {:.3} ms, max {:.3} ms, mean route {:.1} km",
        days.len(),
        times[times.len() * 9 / 10],
        times[times.len() - 1],
        total_km / days.len() as f64
    ));

    let mut gaps = Vec::new();
    let mut worst: f64 = 0.0;
    for i in 0..instances {
        let (start, stops) = points.day(2 + i % 8);
        let heuristic = plan_day_heuristic(start, &stops).total_m;
        let optimum = plan_day_brute_force(start, &stops).total_m;
        let gap = if optimum > 0.0 {
            (heuristic - optimum) / optimum * 100.0
        } else {
            0.0
        };
        worst = worst.max(gap);
        gaps.push(gap);
    }
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let optimal = gaps.iter().filter(|g| **g < 1e-9).count();
    emit("day_plan_gap_to_optimal_pct", mean, "pct");
    comment(&format!(
        "day_plan gap: {} instances of 2-9 stops, heuristic optimal on {optimal}, worst gap {worst:.2} %",
        gaps.len()
    ));
}

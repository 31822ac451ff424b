//! Route review for one rep and one day: the path from location pings (split into segments at
//! gaps instead of a straight line across them), the visits in the order they happened with
//! dwell time and distance from the customer, legs between visits, and the flags a manager
//! needs (implausible speed, mock and stale fixes, visits out of planned order, planned visits
//! not made).
//!
//! Pure functions of their inputs: the server runs them on what it stored, a device can run
//! them on its own pings.

use serde::{Deserialize, Serialize};

pub use crate::model::Fix;
use crate::model::{GpsStamp, LatLon, Millis, Verification, VisitStatus};

/// No fix for longer than this starts a new segment.
pub const GAP_AFTER_MS: Millis = 15 * 60 * 1000;
/// Consecutive fixes further apart than this start a new segment.
pub const GAP_AFTER_M: f64 = 4_000.0;
/// Faster than this between consecutive fixes is not a car on a road.
pub const MAX_PLAUSIBLE_KMH: f64 = 200.0;
/// A check-in or check-out whose fix is older than this at the moment of the button press.
pub const STALE_AFTER_MS: Millis = 2 * 60 * 1000;
/// A fix may be this far ahead of the clock it is compared with (clock drift); further is
/// refused as a fix time in the future.
pub const FUTURE_TOLERANCE_MS: Millis = 10 * 60 * 1000;

/// What lies between two consecutive fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Travel: counted in the distance.
    Travel,
    /// Too long or too far without a fix: the route is broken here, nothing is counted.
    Gap,
    /// Faster than [`MAX_PLAUSIBLE_KMH`] even allowing for both fixes' accuracy: flagged, not
    /// counted, and the route is broken here.
    Implausible,
}

/// The step from `previous` to `next` (`next.at >= previous.at`) and its great-circle length.
pub fn classify_step(previous: &Fix, next: &Fix) -> (StepKind, f64) {
    let distance = previous.point().distance_m(&next.point());
    let elapsed_ms = next.at.saturating_sub(previous.at);
    // Both fixes may be off by their accuracy; only movement beyond that is evidence of speed.
    let surely_moved = (distance - previous.accuracy_m - next.accuracy_m).max(0.0);
    let implausible = if elapsed_ms <= 0 {
        surely_moved > 0.0
    } else {
        surely_moved / (elapsed_ms as f64 / 1000.0) * 3.6 > MAX_PLAUSIBLE_KMH
    };
    let kind = if implausible {
        StepKind::Implausible
    } else if elapsed_ms > GAP_AFTER_MS || distance > GAP_AFTER_M {
        StepKind::Gap
    } else {
        StepKind::Travel
    };
    (kind, distance)
}

/// Speed between two fixes in km/h (0 when no time passed).
fn speed_kmh(distance_m: f64, elapsed_ms: Millis) -> f64 {
    if elapsed_ms <= 0 {
        return 0.0;
    }
    distance_m / (elapsed_ms as f64 / 1000.0) * 3.6
}

/// Fixes sorted by time with repeats of the same fix time dropped (a ping uploaded twice, or
/// pings arriving out of order, give the same route).
pub fn normalise_fixes(fixes: &mut Vec<Fix>) {
    fixes.sort_by_key(|f| f.at);
    fixes.dedup_by_key(|f| f.at);
}

/// A visit as the review needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitFacts {
    pub visit_id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub customer_location: Option<LatLon>,
    pub planned_start: Option<Millis>,
    pub status: VisitStatus,
    pub check_in: Option<GpsStamp>,
    pub check_out: Option<GpsStamp>,
    /// The verification to report (the server's, recomputed after sync).
    pub verification: Option<Verification>,
    /// How far the rep moved the customer's pin (metres) in the push that carried this
    /// check-in, when further than the server allows unflagged.
    pub pin_moved_m: Option<f64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// `[lat, lon]` pairs, in order.
    pub points: Vec<[f64; 2]>,
    /// The fix time of each point.
    pub times: Vec<Millis>,
    pub start_at: Millis,
    pub end_at: Millis,
    pub distance_m: f64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteGap {
    pub from_at: Millis,
    pub to_at: Millis,
    pub duration_ms: Millis,
    /// Straight-line distance across the gap (not counted in the route's distance).
    pub distance_m: f64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    ImplausibleSpeed,
    MockLocation,
    StaleFix,
    OutOfPlannedOrder,
    PlannedNotVisited,
    OutOfRange,
    /// The rep moved the customer's pin in the push of this check-in (verified against the
    /// pin before it).
    PinMovedAtCheckIn,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteFlag {
    pub kind: FlagKind,
    pub at: Option<Millis>,
    pub visit_id: Option<String>,
    pub detail: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitReview {
    pub visit_id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    /// 1-based position among the day's check-ins.
    pub sequence: u32,
    /// 1-based position in the day's plan (by planned start), when planned.
    pub planned_sequence: Option<u32>,
    #[serde(with = "status_code")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: VisitStatus,
    pub planned_start: Option<Millis>,
    pub check_in_at: Millis,
    pub check_out_at: Option<Millis>,
    pub dwell_ms: Option<Millis>,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// From the check-in fix to the customer's location.
    pub distance_from_customer_m: Option<f64>,
    pub customer_lat: Option<f64>,
    pub customer_lon: Option<f64>,
    #[serde(with = "verification_code")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub verification: Option<Verification>,
    pub mock: bool,
    pub stale: bool,
}

/// Travel between two consecutive check-ins (or before the first / after the last).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    pub from_visit_id: Option<String>,
    pub to_visit_id: Option<String>,
    pub start_at: Millis,
    pub end_at: Millis,
    pub distance_m: f64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteReview {
    pub segments: Vec<Segment>,
    pub total_distance_m: f64,
    pub pings: usize,
    pub gaps: Vec<RouteGap>,
    pub visits: Vec<VisitReview>,
    pub legs: Vec<Leg>,
    pub flags: Vec<RouteFlag>,
    /// Visit ids by planned start (planned visits of the day only).
    pub planned_order: Vec<String>,
    /// Visit ids by check-in time.
    pub actual_order: Vec<String>,
    pub first_check_in_at: Option<Millis>,
    pub last_check_in_at: Option<Millis>,
}

/// Status and verification travel as their stable codes (`in_progress`, `out_of_range`) in
/// JSON, as everywhere else in the API.
mod status_code {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::VisitStatus;

    pub fn serialize<S: Serializer>(status: &VisitStatus, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(status.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VisitStatus, D::Error> {
        let code = String::deserialize(d)?;
        Ok(VisitStatus::parse(&code))
    }
}

mod verification_code {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Verification;

    pub fn serialize<S: Serializer>(value: &Option<Verification>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_some(v.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Verification>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(code) => Ok(Some(Verification::parse(&code))),
        }
    }
}

fn stamp_is_stale(stamp: &GpsStamp) -> bool {
    stamp.at - stamp.fix_at > STALE_AFTER_MS
}

fn minutes(ms: Millis) -> Millis {
    ms / 60_000
}

/// Reviews one rep-day. `fixes` are the day's pings in any order (duplicates allowed);
/// `visits` the rep's visits of the day (checked in, or planned for it).
pub fn review_route(mut fixes: Vec<Fix>, visits: &[VisitFacts]) -> RouteReview {
    normalise_fixes(&mut fixes);
    let mut flags = Vec::new();
    let mut segments: Vec<Segment> = Vec::new();
    let mut gaps = Vec::new();
    let mut steps: Vec<(Millis, f64)> = Vec::with_capacity(fixes.len());
    let mut total = 0.0;
    for (index, fix) in fixes.iter().enumerate() {
        if fix.mock {
            flags.push(RouteFlag {
                kind: FlagKind::MockLocation,
                at: Some(fix.at),
                visit_id: None,
                detail: "location ping from a mock-location provider".into(),
            });
        }
        let new_segment = match index.checked_sub(1).map(|i| &fixes[i]) {
            None => true,
            Some(previous) => {
                let (kind, distance) = classify_step(previous, fix);
                let elapsed = fix.at - previous.at;
                match kind {
                    StepKind::Travel => {
                        total += distance;
                        steps.push((fix.at, distance));
                        if let Some(segment) = segments.last_mut() {
                            segment.distance_m += distance;
                        }
                        false
                    }
                    StepKind::Gap => {
                        gaps.push(RouteGap {
                            from_at: previous.at,
                            to_at: fix.at,
                            duration_ms: elapsed,
                            distance_m: distance,
                        });
                        true
                    }
                    StepKind::Implausible => {
                        flags.push(RouteFlag {
                            kind: FlagKind::ImplausibleSpeed,
                            at: Some(fix.at),
                            visit_id: None,
                            detail: format!(
                                "{:.0} km/h over {:.0} m in {} s",
                                speed_kmh(distance, elapsed),
                                distance,
                                elapsed / 1000
                            ),
                        });
                        true
                    }
                }
            }
        };
        if new_segment {
            segments.push(Segment {
                points: Vec::new(),
                times: Vec::new(),
                start_at: fix.at,
                end_at: fix.at,
                distance_m: 0.0,
            });
        }
        if let Some(segment) = segments.last_mut() {
            segment.points.push([fix.lat, fix.lon]);
            segment.times.push(fix.at);
            segment.end_at = fix.at;
        }
    }

    // Visits in the order they happened.
    let mut checked_in: Vec<&VisitFacts> = visits.iter().filter(|v| v.check_in.is_some()).collect();
    checked_in.sort_by_key(|v| v.check_in.as_ref().map(|c| c.at));
    let mut planned: Vec<&VisitFacts> = visits
        .iter()
        .filter(|v| v.planned_start.is_some())
        .collect();
    planned.sort_by_key(|v| (v.planned_start, v.visit_id.clone()));
    let planned_order: Vec<String> = planned.iter().map(|v| v.visit_id.clone()).collect();
    let actual_order: Vec<String> = checked_in.iter().map(|v| v.visit_id.clone()).collect();
    let planned_position = |id: &str| planned_order.iter().position(|p| p == id);

    let mut reviews = Vec::with_capacity(checked_in.len());
    for (index, visit) in checked_in.iter().enumerate() {
        let Some(check_in) = &visit.check_in else {
            continue;
        };
        let distance = visit
            .customer_location
            .map(|c| c.distance_m(&LatLon::new(check_in.lat, check_in.lon)));
        let stale =
            stamp_is_stale(check_in) || visit.check_out.as_ref().is_some_and(stamp_is_stale);
        let mock = check_in.mock || visit.check_out.as_ref().is_some_and(|c| c.mock);
        let id = Some(visit.visit_id.clone());
        if mock {
            flags.push(RouteFlag {
                kind: FlagKind::MockLocation,
                at: Some(check_in.at),
                visit_id: id.clone(),
                detail: "check-in or check-out from a mock-location provider".into(),
            });
        }
        if stale {
            flags.push(RouteFlag {
                kind: FlagKind::StaleFix,
                at: Some(check_in.at),
                visit_id: id.clone(),
                detail: format!(
                    "the GPS fix was {} min old at check-in",
                    minutes(check_in.at - check_in.fix_at)
                ),
            });
        }
        if let Some(moved) = visit.pin_moved_m {
            flags.push(RouteFlag {
                kind: FlagKind::PinMovedAtCheckIn,
                at: Some(check_in.at),
                visit_id: id.clone(),
                detail: format!(
                    "the rep moved the customer's pin {moved:.0} m when sending this check-in; \
                     verified against the pin before"
                ),
            });
        }
        if visit.verification == Some(Verification::OutOfRange) {
            flags.push(RouteFlag {
                kind: FlagKind::OutOfRange,
                at: Some(check_in.at),
                visit_id: id.clone(),
                detail: format!(
                    "checked in {:.0} m from the customer",
                    distance.unwrap_or_default()
                ),
            });
        }
        reviews.push(VisitReview {
            visit_id: visit.visit_id.clone(),
            customer_id: visit.customer_id.clone(),
            customer_name: visit.customer_name.clone(),
            sequence: index as u32 + 1,
            planned_sequence: planned_position(&visit.visit_id).map(|p| p as u32 + 1),
            status: visit.status.clone(),
            planned_start: visit.planned_start,
            check_in_at: check_in.at,
            check_out_at: visit.check_out.as_ref().map(|c| c.at),
            dwell_ms: visit.check_out.as_ref().map(|c| c.at - check_in.at),
            lat: check_in.lat,
            lon: check_in.lon,
            accuracy_m: check_in.accuracy_m,
            distance_from_customer_m: distance,
            customer_lat: visit.customer_location.map(|c| c.lat),
            customer_lon: visit.customer_location.map(|c| c.lon),
            verification: visit.verification.clone(),
            mock,
            stale,
        });
    }

    // Planned versus actual: a visit made earlier than a visit planned before it.
    let made_in_plan: Vec<&VisitReview> = reviews
        .iter()
        .filter(|r| r.planned_sequence.is_some())
        .collect();
    for pair in made_in_plan.windows(2) {
        if let [before, after] = pair
            && after.planned_sequence < before.planned_sequence
        {
            flags.push(RouteFlag {
                kind: FlagKind::OutOfPlannedOrder,
                at: Some(after.check_in_at),
                visit_id: Some(after.visit_id.clone()),
                detail: format!(
                    "planned as stop {}, made after stop {}",
                    after.planned_sequence.unwrap_or_default(),
                    before.planned_sequence.unwrap_or_default()
                ),
            });
        }
    }
    for visit in &planned {
        if visit.check_in.is_none() {
            flags.push(RouteFlag {
                kind: FlagKind::PlannedNotVisited,
                at: visit.planned_start,
                visit_id: Some(visit.visit_id.clone()),
                detail: format!("planned, not visited ({})", visit.status),
            });
        }
    }

    let legs = legs_between(&reviews, &fixes, &steps);
    flags.sort_by_key(|f| f.at);
    RouteReview {
        total_distance_m: total,
        pings: fixes.len(),
        segments,
        gaps,
        first_check_in_at: reviews.first().map(|r| r.check_in_at),
        last_check_in_at: reviews.last().map(|r| r.check_in_at),
        visits: reviews,
        legs,
        flags,
        planned_order,
        actual_order,
    }
}

/// Legs from the day's first fix to the first check-in, between consecutive visits (check-out,
/// or check-in when there was none, to the next check-in), and from the last visit to the last
/// fix. A travel step belongs to the leg its later fix falls in.
fn legs_between(visits: &[VisitReview], fixes: &[Fix], steps: &[(Millis, f64)]) -> Vec<Leg> {
    let (Some(first_fix), Some(last_fix)) = (fixes.first(), fixes.last()) else {
        return Vec::new();
    };
    let travelled = |from: Millis, to: Millis| -> f64 {
        let start = steps.partition_point(|(at, _)| *at <= from);
        let end = steps.partition_point(|(at, _)| *at <= to);
        steps[start..end.max(start)].iter().map(|(_, d)| d).sum()
    };
    let mut legs = Vec::new();
    let mut from: (Option<String>, Millis) = (None, first_fix.at);
    for visit in visits {
        if visit.check_in_at > from.1 {
            legs.push(Leg {
                from_visit_id: from.0.clone(),
                to_visit_id: Some(visit.visit_id.clone()),
                start_at: from.1,
                end_at: visit.check_in_at,
                distance_m: travelled(from.1, visit.check_in_at),
            });
        }
        let left_at = visit.check_out_at.unwrap_or(visit.check_in_at).max(from.1);
        from = (Some(visit.visit_id.clone()), left_at);
    }
    if last_fix.at > from.1 && from.0.is_some() {
        legs.push(Leg {
            from_visit_id: from.0,
            to_visit_id: None,
            start_at: from.1,
            end_at: last_fix.at,
            distance_m: travelled(from.1, last_fix.at),
        });
    }
    legs
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_790_000_000_000;
    const MIN: Millis = 60_000;

    fn fix(minute: i64, lat: f64, lon: f64) -> Fix {
        Fix {
            at: T0 + minute * MIN,
            lat,
            lon,
            accuracy_m: 10.0,
            mock: false,
        }
    }

    fn stamp(minute: i64, lat: f64, lon: f64) -> GpsStamp {
        GpsStamp {
            at: T0 + minute * MIN,
            lat,
            lon,
            accuracy_m: 15.0,
            fix_at: T0 + minute * MIN - 5_000,
            mock: false,
        }
    }

    fn visit(id: &str, planned_minute: Option<i64>, check_in: Option<GpsStamp>) -> VisitFacts {
        VisitFacts {
            visit_id: id.into(),
            customer_id: format!("c-{id}"),
            customer_name: Some(format!("Customer {id}")),
            customer_location: Some(LatLon::new(52.52, 13.40)),
            planned_start: planned_minute.map(|m| T0 + m * MIN),
            status: if check_in.is_some() {
                VisitStatus::Done
            } else {
                VisitStatus::Planned
            },
            check_out: check_in.as_ref().map(|c| GpsStamp {
                at: c.at + 20 * MIN,
                fix_at: c.at + 20 * MIN,
                ..c.clone()
            }),
            check_in,
            verification: Some(Verification::Verified),
            pin_moved_m: None,
        }
    }

    #[test]
    fn steps_are_travel_gaps_or_implausible() {
        let a = fix(0, 52.5200, 13.4000);
        // ~680 m in a minute: 41 km/h.
        assert_eq!(
            classify_step(&a, &fix(1, 52.5261, 13.4000)).0,
            StepKind::Travel
        );
        // 16 minutes without a fix.
        assert_eq!(
            classify_step(&a, &fix(16, 52.5210, 13.4000)).0,
            StepKind::Gap
        );
        // 5.6 km in 10 minutes (33 km/h) with no fix in between: a gap, not a straight line.
        assert_eq!(
            classify_step(&a, &fix(10, 52.5700, 13.4000)).0,
            StepKind::Gap
        );
        // 11 km in one minute: 667 km/h.
        assert_eq!(
            classify_step(&a, &fix(1, 52.6200, 13.4000)).0,
            StepKind::Implausible
        );
        // Jitter within the accuracy circles at the same instant is not speed.
        assert_eq!(
            classify_step(&a, &fix(0, 52.52005, 13.4000)).0,
            StepKind::Travel
        );
    }

    #[test]
    fn segments_break_at_gaps_and_distance_skips_them() {
        let fixes = vec![
            fix(0, 52.5200, 13.4000),
            fix(1, 52.5250, 13.4000),
            fix(2, 52.5300, 13.4000),
            // 30 minutes of silence.
            fix(32, 52.5350, 13.4000),
            fix(33, 52.5400, 13.4000),
        ];
        let review = review_route(fixes, &[]);
        assert_eq!(review.segments.len(), 2);
        assert_eq!(review.segments[0].points.len(), 3);
        assert_eq!(review.gaps.len(), 1);
        assert_eq!(review.gaps[0].duration_ms, 30 * MIN);
        let expected = 3.0 * LatLon::new(52.52, 13.4).distance_m(&LatLon::new(52.525, 13.4));
        assert!(
            (review.total_distance_m - expected).abs() < 1.0,
            "{}",
            review.total_distance_m
        );
    }

    #[test]
    fn duplicated_and_out_of_order_pings_give_the_same_route() {
        let ordered = vec![
            fix(0, 52.5200, 13.4000),
            fix(1, 52.5250, 13.4000),
            fix(2, 52.5300, 13.4050),
        ];
        let mut shuffled = vec![ordered[2], ordered[0], ordered[1], ordered[0], ordered[2]];
        shuffled.rotate_left(1);
        assert_eq!(review_route(ordered, &[]), review_route(shuffled, &[]));
    }

    #[test]
    fn visits_in_order_with_dwell_legs_and_flags() {
        let mut late = stamp(120, 52.5300, 13.4000);
        late.fix_at = late.at - 10 * MIN; // stale
        late.mock = true;
        let visits = vec![
            visit("a", Some(60), Some(stamp(60, 52.5200, 13.4000))),
            // Planned second, made third.
            visit("b", Some(90), Some(late)),
            visit("c", Some(120), Some(stamp(90, 52.5250, 13.4000))),
            visit("d", Some(150), None),
        ];
        let fixes: Vec<Fix> = (40..=160)
            .map(|m| fix(m, 52.5200 + (m - 40) as f64 * 0.0001, 13.4))
            .collect();
        let review = review_route(fixes, &visits);
        assert_eq!(review.actual_order, ["a", "c", "b"]);
        assert_eq!(review.planned_order, ["a", "b", "c", "d"]);
        assert_eq!(review.visits[0].dwell_ms, Some(20 * MIN));
        assert_eq!(review.visits[2].planned_sequence, Some(2));
        let kinds: Vec<FlagKind> = review.flags.iter().map(|f| f.kind).collect();
        assert!(kinds.contains(&FlagKind::OutOfPlannedOrder), "{kinds:?}");
        assert!(kinds.contains(&FlagKind::StaleFix));
        assert!(kinds.contains(&FlagKind::MockLocation));
        assert!(kinds.contains(&FlagKind::PlannedNotVisited));
        // Before a, a -> c, c -> b, after b.
        assert_eq!(review.legs.len(), 4);
        let legs: f64 = review.legs.iter().map(|l| l.distance_m).sum();
        assert!(legs <= review.total_distance_m + 1e-6);
        assert_eq!(review.first_check_in_at, Some(T0 + 60 * MIN));
    }

    #[test]
    fn a_pin_moved_with_the_check_in_is_flagged() {
        let mut moved = visit("a", None, Some(stamp(60, 52.52, 13.40)));
        moved.pin_moved_m = Some(11_000.0);
        let review = review_route(
            Vec::new(),
            &[moved, visit("b", None, Some(stamp(90, 52.52, 13.40)))],
        );
        let flags: Vec<(FlagKind, Option<&str>)> = review
            .flags
            .iter()
            .map(|f| (f.kind, f.visit_id.as_deref()))
            .collect();
        assert_eq!(flags, [(FlagKind::PinMovedAtCheckIn, Some("a"))]);
        assert!(
            review.flags[0].detail.contains("11000 m"),
            "{}",
            review.flags[0].detail
        );
    }

    #[test]
    fn implausible_jumps_are_flagged_and_not_counted() {
        let fixes = vec![
            fix(0, 52.5200, 13.4000),
            fix(1, 52.5250, 13.4000),
            // A teleport to Hamburg and back.
            fix(2, 53.5500, 10.0000),
            fix(3, 52.5300, 13.4000),
        ];
        let review = review_route(fixes, &[]);
        let implausible = review
            .flags
            .iter()
            .filter(|f| f.kind == FlagKind::ImplausibleSpeed)
            .count();
        assert_eq!(implausible, 2);
        assert_eq!(review.segments.len(), 3);
        assert!(
            review.total_distance_m < 600.0,
            "{}",
            review.total_distance_m
        );
    }
}

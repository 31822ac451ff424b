//! Visits in the field: check in and check out with a GPS fix (verified offline against the
//! customer's location), and the order of the day's planned visits.

use rusqlite::params;

use crate::ValidationError;
use crate::error::{Result, StoreError};
use crate::geo::{plan_day, verify_check_in};
use crate::model::{
    Customer, Fix, GpsStamp, LatLon, Millis, Verification, Visit, VisitStatus, check_coordinates,
    timestamp,
};
use crate::route::FUTURE_TOLERANCE_MS;
use crate::store::{Store, now_ms};

impl Fix {
    /// Checks a fix reported by the OS before anything stores it: finite coordinates in range,
    /// a non-negative accuracy, and a fix time that is plausible and not ahead of `now` by more
    /// than [`FUTURE_TOLERANCE_MS`].
    pub fn validate(&self, field: &str, now: Millis) -> std::result::Result<(), ValidationError> {
        check_coordinates(field, self.lat, self.lon)?;
        let accuracy = format!("{field}.accuracy_m");
        if !self.accuracy_m.is_finite() {
            return Err(ValidationError::NotFinite { field: accuracy });
        }
        if self.accuracy_m < 0.0 {
            return Err(ValidationError::out_of_range(
                &accuracy,
                "accuracy cannot be negative",
            ));
        }
        let at = format!("{field}.fix_at");
        timestamp(&at, self.at)?;
        if self.at > now.saturating_add(FUTURE_TOLERANCE_MS) {
            return Err(ValidationError::out_of_range(
                &at,
                "the fix time is in the future",
            ));
        }
        Ok(())
    }
}

/// One stop of a day plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStop {
    pub visit_id: String,
    pub customer_id: String,
    pub customer_name: String,
    pub lat: f64,
    pub lon: f64,
    /// Great-circle metres from the previous stop (from the start for the first).
    pub leg_m: f64,
}

/// The day's planned visits in visiting order from where the rep is.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRoute {
    pub stops: Vec<PlannedStop>,
    pub total_m: f64,
    /// Planned visits whose customer has no location: they cannot be placed on the route.
    pub unplaced_visit_ids: Vec<String>,
}

impl Store {
    /// Checks in to a planned visit: stores the fix (written once), moves the visit to
    /// "in progress" and verifies the fix against the customer's location, offline.
    pub fn check_in(&self, visit_id: &str, fix: Fix) -> Result<Visit> {
        let now = now_ms();
        fix.validate("check_in", now)?;
        let mut visit = self.visit(visit_id)?;
        if visit.check_in.is_some() {
            return Err(ValidationError::Immutable {
                field: "check_in".into(),
            }
            .into());
        }
        visit.status.check_move_to(&VisitStatus::InProgress)?;
        let stamp = stamp(now, &fix);
        visit.verification = Some(self.verify(&visit.customer_id, &stamp)?);
        visit.check_in = Some(stamp);
        visit.status = VisitStatus::InProgress;
        self.update(visit)
    }

    /// Checks out of a visit checked in before: stores the fix (written once), the outcome,
    /// and moves the visit to "done".
    pub fn check_out(&self, visit_id: &str, fix: Fix, outcome: Option<String>) -> Result<Visit> {
        let now = now_ms();
        fix.validate("check_out", now)?;
        let mut visit = self.visit(visit_id)?;
        if visit.check_in.is_none() {
            return Err(ValidationError::required("check_in").into());
        }
        if visit.check_out.is_some() {
            return Err(ValidationError::Immutable {
                field: "check_out".into(),
            }
            .into());
        }
        visit.status.check_move_to(&VisitStatus::Done)?;
        visit.check_out = Some(stamp(now, &fix));
        visit.status = VisitStatus::Done;
        if outcome.is_some() {
            visit.outcome = outcome;
        }
        self.update(visit)
    }

    /// Verification of `stamp` against the customer as this device knows it.
    pub fn verify(&self, customer_id: &str, stamp: &GpsStamp) -> Result<Verification> {
        Ok(match self.get::<Customer>(customer_id)? {
            Some(customer) => customer.verify_check_in(stamp),
            None => verify_check_in(None, 0.0, stamp),
        })
    }

    fn visit(&self, visit_id: &str) -> Result<Visit> {
        self.get::<Visit>(visit_id)?
            .filter(|v| !v.meta.deleted)
            .ok_or_else(|| StoreError::NotFound {
                id: visit_id.to_owned(),
            })
    }

    /// Orders the signed-in rep's planned visits of `[day_start, day_end)` from `from` (exact
    /// up to [`crate::EXACT_UP_TO`] stops, nearest neighbour with 2-opt and or-opt above).
    pub fn plan_day(&self, from: LatLon, day_start: Millis, day_end: Millis) -> Result<DayRoute> {
        check_coordinates("from", from.lat, from.lon)?;
        let user = self.user();
        type Row = (String, String, String, Option<f64>, Option<f64>);
        let rows: Vec<Row> = self.with_conn(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT v.id, v.customer_id, coalesce(c.name, ''), c.lat, c.lon
                     FROM visits v LEFT JOIN customers c ON c.id = v.customer_id AND c.deleted = 0
                     WHERE v.rep = ?1 AND v.day_at >= ?2 AND v.day_at < ?3 AND v.deleted = 0
                       AND v.status = 'planned'
                     ORDER BY v.planned_start, v.id",
                )?
                .query_map(params![user, day_start, day_end], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })?;
        let (placeable, unplaced): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(
            |r| matches!((r.3, r.4), (Some(lat), Some(lon)) if LatLon::new(lat, lon).is_valid()),
        );
        let points: Vec<LatLon> = placeable
            .iter()
            .map(|r| LatLon::new(r.3.unwrap_or_default(), r.4.unwrap_or_default()))
            .collect();
        let plan = plan_day(from, &points);
        let mut previous = from;
        let stops = plan
            .order
            .iter()
            .filter_map(|&i| placeable.get(i).zip(points.get(i)))
            .map(|(row, point)| {
                let leg_m = previous.distance_m(point);
                previous = *point;
                PlannedStop {
                    visit_id: row.0.clone(),
                    customer_id: row.1.clone(),
                    customer_name: row.2.clone(),
                    lat: point.lat,
                    lon: point.lon,
                    leg_m,
                }
            })
            .collect();
        Ok(DayRoute {
            stops,
            total_m: plan.total_m,
            unplaced_visit_ids: unplaced.into_iter().map(|r| r.0).collect(),
        })
    }
}

fn stamp(now: Millis, fix: &Fix) -> GpsStamp {
    GpsStamp {
        at: now,
        lat: fix.lat,
        lon: fix.lon,
        accuracy_m: fix.accuracy_m,
        fix_at: fix.at,
        mock: fix.mock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DAY_MS, GeoLocation, LocationSource};

    fn store(dir: &tempfile::TempDir) -> Store {
        let store = Store::open(dir.path().join("d.sqlite")).unwrap();
        store.set_user("rep-1").unwrap();
        store
    }

    fn customer_at(store: &Store, name: &str, at: Option<(f64, f64)>) -> Customer {
        let mut customer = Customer::new(name);
        customer.visit_radius_m = 100;
        customer.location = at.map(|(lat, lon)| GeoLocation {
            lat,
            lon,
            source: LocationSource::Gps,
            at: now_ms(),
        });
        store.create(customer).unwrap()
    }

    fn planned(store: &Store, customer: &Customer, start: Millis) -> Visit {
        let mut visit = Visit::new(&customer.meta.id, "rep-1");
        visit.planned_start = Some(start);
        store.create(visit).unwrap()
    }

    fn fix(lat: f64, lon: f64, accuracy_m: f64) -> Fix {
        Fix {
            at: now_ms() - 2_000,
            lat,
            lon,
            accuracy_m,
            mock: false,
        }
    }

    #[test]
    fn check_in_verifies_offline_and_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let bakery = customer_at(&store, "Bakery", Some((52.5200, 13.4050)));
        let nowhere = customer_at(&store, "No pin", None);
        let now = now_ms();
        let cases = [
            // ~30 m away, 20 m accuracy: inside the 100 m radius whatever the error.
            (
                &bakery,
                fix(52.52027, 13.4050, 20.0),
                Verification::Verified,
            ),
            // ~90 m away, 30 m accuracy: could be either side.
            (
                &bakery,
                fix(52.52081, 13.4050, 30.0),
                Verification::Uncertain,
            ),
            // ~1.1 km away.
            (
                &bakery,
                fix(52.5300, 13.4050, 25.0),
                Verification::OutOfRange,
            ),
            (
                &nowhere,
                fix(52.5300, 13.4050, 5.0),
                Verification::NoCustomerLocation,
            ),
        ];
        for (customer, fix, expected) in cases {
            let visit = planned(&store, customer, now);
            let checked_in = store.check_in(&visit.meta.id, fix).unwrap();
            assert_eq!(checked_in.verification, Some(expected));
            assert_eq!(checked_in.status, VisitStatus::InProgress);
            let stamp = checked_in.check_in.clone().unwrap();
            assert_eq!((stamp.fix_at, stamp.lat), (fix.at, fix.lat));
            // Written once: a second check-in is refused and changes nothing.
            let err = store.check_in(&visit.meta.id, fix).unwrap_err();
            assert!(
                matches!(
                    err,
                    StoreError::Validation(ValidationError::Immutable { .. })
                ),
                "{err}"
            );
            let done = store
                .check_out(&visit.meta.id, fix, Some("ordered".into()))
                .unwrap();
            assert_eq!(
                (done.status, done.check_in),
                (VisitStatus::Done, Some(stamp))
            );
            assert!(store.check_out(&visit.meta.id, fix, None).is_err());
        }
    }

    #[test]
    fn bad_fixes_and_wrong_states_are_refused_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let bakery = customer_at(&store, "Bakery", Some((52.52, 13.405)));
        let visit = planned(&store, &bakery, now_ms());
        let pending = store.sync_status().unwrap().pending_changes;
        let good = fix(52.52, 13.405, 10.0);
        for bad in [
            Fix { lat: 90.5, ..good },
            Fix { lon: 181.0, ..good },
            Fix {
                lat: f64::NAN,
                ..good
            },
            Fix {
                accuracy_m: -3.0,
                ..good
            },
            Fix {
                accuracy_m: f64::INFINITY,
                ..good
            },
            Fix {
                at: now_ms() + DAY_MS,
                ..good
            },
        ] {
            assert!(matches!(
                store.check_in(&visit.meta.id, bad),
                Err(StoreError::Validation(_))
            ));
        }
        assert!(matches!(
            store.check_out(&visit.meta.id, good, None),
            Err(StoreError::Validation(_))
        ));
        assert!(matches!(
            store.check_in("no-such-visit", good),
            Err(StoreError::NotFound { .. })
        ));
        let mut cancelled = store.get::<Visit>(&visit.meta.id).unwrap().unwrap();
        cancelled.status = VisitStatus::Cancelled;
        store.update(cancelled).unwrap();
        assert!(matches!(
            store.check_in(&visit.meta.id, good),
            Err(StoreError::Validation(_))
        ));
        assert_eq!(
            store.sync_status().unwrap().pending_changes,
            pending + 1,
            "only the cancel"
        );
        assert!(
            store
                .get::<Visit>(&visit.meta.id)
                .unwrap()
                .unwrap()
                .check_in
                .is_none()
        );
    }

    #[test]
    fn the_day_plan_orders_planned_visits_from_where_the_rep_is() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let day = now_ms() - now_ms() % DAY_MS;
        // On a line going east; planned in the reverse order.
        let far = customer_at(&store, "Far", Some((52.52, 13.50)));
        let middle = customer_at(&store, "Middle", Some((52.52, 13.45)));
        let near = customer_at(&store, "Near", Some((52.52, 13.41)));
        let unplaced = customer_at(&store, "No pin", None);
        let v_far = planned(&store, &far, day + 1);
        let v_middle = planned(&store, &middle, day + 2);
        let v_near = planned(&store, &near, day + 3);
        let v_unplaced = planned(&store, &unplaced, day + 4);
        planned(&store, &near, day + DAY_MS + 1); // tomorrow
        let done = planned(&store, &middle, day + 5);
        store
            .check_in(&done.meta.id, fix(52.52, 13.45, 5.0))
            .unwrap();

        let route = store
            .plan_day(LatLon::new(52.52, 13.40), day, day + DAY_MS)
            .unwrap();
        let order: Vec<&str> = route.stops.iter().map(|s| s.visit_id.as_str()).collect();
        assert_eq!(order, [&v_near.meta.id, &v_middle.meta.id, &v_far.meta.id]);
        assert_eq!(route.unplaced_visit_ids, [v_unplaced.meta.id]);
        let legs: f64 = route.stops.iter().map(|s| s.leg_m).sum();
        assert!((legs - route.total_m).abs() < 1e-6);
        assert!((route.total_m - 6_780.0).abs() < 50.0, "{}", route.total_m);
        assert!(
            store
                .plan_day(LatLon::new(f64::NAN, 0.0), day, day + DAY_MS)
                .is_err()
        );
    }
}

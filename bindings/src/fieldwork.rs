//! Visits in the field: check-in and check-out with a GPS fix, location pings, the day's
//! plan, and distances.

use fieldcrm_core as fc;

use super::*;

#[uniffi::export]
impl FieldStore {
    /// Checks in to a planned visit with the current fix: written once, verified offline
    /// against the customer's location and visit radius (`verification` on the visit).
    pub fn check_in(&self, visit_id: String, fix: GpsFix) -> Result<Visit> {
        self.with("check_in", |s| {
            Ok(s.check_in(&visit_id, fix.into())?.into())
        })
    }

    /// What a check-in with `fix` at `customer_id` would be verified as, against the customer's
    /// location and radius on this device, without writing anything (for showing "you are
    /// 180 m from the customer" before the rep checks in). The fix is validated as a check-in's.
    pub fn preview_verification(&self, customer_id: String, fix: GpsFix) -> Result<Verification> {
        self.with("preview_verification", |s| {
            let now = fc::now_ms();
            let fix: fc::Fix = fix.into();
            fix.validate("check_in", now)?;
            let stamp = fc::GpsStamp {
                at: now,
                lat: fix.lat,
                lon: fix.lon,
                accuracy_m: fix.accuracy_m,
                fix_at: fix.at,
                mock: fix.mock,
            };
            Ok(s.verify(&customer_id, &stamp)?.into())
        })
    }

    /// Checks out of a visit checked in before (written once); the visit becomes done.
    pub fn check_out(
        &self,
        visit_id: String,
        fix: GpsFix,
        outcome: Option<String>,
    ) -> Result<Visit> {
        self.with("check_out", |s| {
            Ok(s.check_out(&visit_id, fix.into(), outcome)?.into())
        })
    }

    /// Records location pings between visits (append-only; a repeated fix time is kept once).
    /// They upload in batches with the next sync. Returns how many were new.
    pub fn record_pings(&self, pings: Vec<GpsFix>) -> Result<u32> {
        self.with("record_pings", |s| {
            let fixes: Vec<fc::Fix> = pings.into_iter().map(Into::into).collect();
            Ok(s.record_pings(&fixes)?)
        })
    }

    /// The pings recorded with fix times in `[from, to)`, in time order.
    pub fn pings_between(&self, from: i64, to: i64) -> Result<Vec<GpsFix>> {
        self.with("pings_between", |s| {
            Ok(s.pings_between(from, to)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Pings the server refused, with its reasons.
    pub fn refused_pings(&self) -> Result<Vec<RefusedPing>> {
        self.with("refused_pings", |s| {
            Ok(s.refused_pings()?.into_iter().map(Into::into).collect())
        })
    }

    /// The signed-in rep's planned visits of `[day_start, day_end)` in visiting order from
    /// (`lat`, `lon`), with the total distance.
    pub fn plan_day(&self, lat: f64, lon: f64, day_start: i64, day_end: i64) -> Result<DayRoute> {
        self.with("plan_day", |s| {
            Ok(s.plan_day(fc::LatLon::new(lat, lon), day_start, day_end)?
                .into())
        })
    }
}

/// Great-circle (haversine) distance in metres between two positions.
#[uniffi::export]
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    fc::distance_m(lat1, lon1, lat2, lon2)
}

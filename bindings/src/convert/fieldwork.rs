//! The uniffi mirrors of fieldwork values: GPS fixes as the OS reports them, refused pings and
//! the day's route.

use fieldcrm_core as fc;

/// A GPS fix as the OS reports it: for a check-in, a check-out or a location ping.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GpsFix {
    pub lat: f64,
    pub lon: f64,
    /// Radius of the 68% confidence circle, metres (Android `getAccuracy`, iOS
    /// `horizontalAccuracy`).
    pub accuracy_m: f64,
    /// When the fix was taken, milliseconds since 1970 (Android `getTime`, iOS `timestamp`).
    pub fix_at: i64,
    /// The OS reports a mock-location provider (Android `isMock`, iOS
    /// `sourceInformation.isSimulatedBySoftware`).
    #[uniffi(default)]
    pub mock: bool,
}

impl From<GpsFix> for fc::Fix {
    fn from(f: GpsFix) -> Self {
        fc::Fix {
            at: f.fix_at,
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
            mock: f.mock,
        }
    }
}

impl From<fc::Fix> for GpsFix {
    fn from(f: fc::Fix) -> Self {
        GpsFix {
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
            fix_at: f.at,
            mock: f.mock,
        }
    }
}

/// A ping the server refused, kept on the device with the reason.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RefusedPing {
    pub fix: GpsFix,
    pub reason: String,
}

impl From<fc::RefusedPingRecord> for RefusedPing {
    fn from(r: fc::RefusedPingRecord) -> Self {
        RefusedPing {
            fix: r.fix.into(),
            reason: r.reason,
        }
    }
}

/// One stop of the day's plan.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PlannedStop {
    pub visit_id: String,
    pub customer_id: String,
    pub customer_name: String,
    pub lat: f64,
    pub lon: f64,
    /// Metres from the previous stop (from the start for the first).
    pub leg_m: f64,
}

/// The day's planned visits in visiting order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DayRoute {
    pub stops: Vec<PlannedStop>,
    pub total_m: f64,
    /// Planned visits whose customer has no location.
    pub unplaced_visit_ids: Vec<String>,
}

impl From<fc::DayRoute> for DayRoute {
    fn from(r: fc::DayRoute) -> Self {
        DayRoute {
            stops: r
                .stops
                .into_iter()
                .map(|s| PlannedStop {
                    visit_id: s.visit_id,
                    customer_id: s.customer_id,
                    customer_name: s.customer_name,
                    lat: s.lat,
                    lon: s.lon,
                    leg_m: s.leg_m,
                })
                .collect(),
            total_m: r.total_m,
            unplaced_visit_ids: r.unplaced_visit_ids,
        }
    }
}

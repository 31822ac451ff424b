//! Where things are: points on the map, GPS fixes and the distance between them. Leaf types of
//! the model, shared by the pure geography (`geo.rs`, `route.rs`), the store and the protocol.

use geo::{Distance, Haversine, Point};
use serde::{Deserialize, Serialize};

use super::Millis;

/// A point on the map, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    pub fn new(lat: f64, lon: f64) -> Self {
        LatLon { lat, lon }
    }

    /// Within [-90, 90] x [-180, 180] and finite.
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }

    pub fn distance_m(&self, other: &LatLon) -> f64 {
        distance_m(self.lat, self.lon, other.lat, other.lon)
    }
}

/// One GPS fix: a location ping, or the fix of a check-in/out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// When the fix was taken (milliseconds since 1970).
    pub at: Millis,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub mock: bool,
}

impl Fix {
    pub fn point(&self) -> LatLon {
        LatLon::new(self.lat, self.lon)
    }
}

/// Haversine distance in metres.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    Haversine.distance(Point::new(lon1, lat1), Point::new(lon2, lat2))
}

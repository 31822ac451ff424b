//! The uniffi mirrors of the values records hold: the common fields, addresses, locations,
//! money and GPS stamps.

use fieldcrm_core as fc;

use super::*;

/// Fields every record carries; the store fills them in on create (leave them empty then).
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct RecordMeta {
    /// UUID v7 made on the device; empty on create lets the store choose it.
    #[uniffi(default)]
    pub id: String,
    #[uniffi(default)]
    pub created_at: i64,
    #[uniffi(default)]
    pub created_by: String,
    #[uniffi(default)]
    pub updated_at: i64,
    /// Tombstone: deleted records stay so the deletion syncs.
    #[uniffi(default)]
    pub deleted: bool,
}

impl From<fc::RecordMeta> for RecordMeta {
    fn from(m: fc::RecordMeta) -> Self {
        RecordMeta {
            id: m.id,
            created_at: m.created_at,
            created_by: m.created_by,
            updated_at: m.updated_at,
            deleted: m.deleted,
        }
    }
}

impl From<RecordMeta> for fc::RecordMeta {
    fn from(m: RecordMeta) -> Self {
        fc::RecordMeta {
            id: m.id,
            created_at: m.created_at,
            created_by: m.created_by,
            updated_at: m.updated_at,
            deleted: m.deleted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct Address {
    #[uniffi(default)]
    pub line: Option<String>,
    #[uniffi(default)]
    pub city: Option<String>,
    #[uniffi(default)]
    pub region: Option<String>,
    #[uniffi(default)]
    pub postal_code: Option<String>,
    #[uniffi(default)]
    pub country: Option<String>,
}

impl From<fc::Address> for Address {
    fn from(a: fc::Address) -> Self {
        Address {
            line: a.line,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

impl From<Address> for fc::Address {
    fn from(a: Address) -> Self {
        fc::Address {
            line: a.line,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GeoLocation {
    pub lat: f64,
    pub lon: f64,
    pub source: LocationSource,
    pub at: i64,
}

impl From<fc::GeoLocation> for GeoLocation {
    fn from(g: fc::GeoLocation) -> Self {
        GeoLocation {
            lat: g.lat,
            lon: g.lon,
            source: g.source.into(),
            at: g.at,
        }
    }
}

impl From<GeoLocation> for fc::GeoLocation {
    fn from(g: GeoLocation) -> Self {
        fc::GeoLocation {
            lat: g.lat,
            lon: g.lon,
            source: g.source.into(),
            at: g.at,
        }
    }
}

/// Integer minor units (cents) and an ISO 4217 code.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

impl From<fc::Money> for Money {
    fn from(m: fc::Money) -> Self {
        Money {
            minor: m.minor,
            currency: m.currency,
        }
    }
}

impl From<Money> for fc::Money {
    fn from(m: Money) -> Self {
        fc::Money {
            minor: m.minor,
            currency: m.currency,
        }
    }
}

/// A GPS fix taken at check-in or check-out.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GpsStamp {
    pub at: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub fix_at: i64,
    #[uniffi(default)]
    pub mock: bool,
}

impl From<fc::GpsStamp> for GpsStamp {
    fn from(s: fc::GpsStamp) -> Self {
        GpsStamp {
            at: s.at,
            lat: s.lat,
            lon: s.lon,
            accuracy_m: s.accuracy_m,
            fix_at: s.fix_at,
            mock: s.mock,
        }
    }
}

impl From<GpsStamp> for fc::GpsStamp {
    fn from(s: GpsStamp) -> Self {
        fc::GpsStamp {
            at: s.at,
            lat: s.lat,
            lon: s.lon,
            accuracy_m: s.accuracy_m,
            fix_at: s.fix_at,
            mock: s.mock,
        }
    }
}

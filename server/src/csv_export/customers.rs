//! Customers as CSV: the import's columns (so a file exported can be edited and imported
//! again after dropping `id`, `created_at` and `updated_at`), with the territory the server
//! holds and the owner's username.

use fieldcrm_core::{AnyRecord, Kind};

use super::{ExportRows, joined, opt, time};
use crate::storage::ExportRow;

pub struct Customers;

impl ExportRows for Customers {
    const KIND: Kind = Kind::Customer;
    const HEADER: &'static [&'static str] = &[
        "id",
        "external_id",
        "name",
        "territory",
        "owner",
        "kind",
        "grade",
        "phones",
        "emails",
        "segments",
        "address_line",
        "city",
        "region",
        "postal_code",
        "country",
        "lat",
        "lon",
        "visit_radius_m",
        "visit_cadence_days",
        "notes",
        "created_at",
        "updated_at",
    ];

    fn cells(row: &ExportRow) -> Option<Vec<String>> {
        let AnyRecord::Customer(c) = &row.record else {
            return None;
        };
        Some(vec![
            c.meta.id.clone(),
            opt(row.external_id.as_deref()),
            c.name.clone(),
            opt(row.territory.as_deref().or(c.territory.as_deref())),
            opt(row.owner.as_deref()),
            c.customer_kind.as_str().to_owned(),
            opt(c.grade.as_ref().map(|g| g.as_str())),
            joined(&c.phones),
            joined(&c.emails),
            joined(&c.segments),
            opt(c.address.line.as_deref()),
            opt(c.address.city.as_deref()),
            opt(c.address.region.as_deref()),
            opt(c.address.postal_code.as_deref()),
            opt(c.address.country.as_deref()),
            opt(c.location.as_ref().map(|l| l.lat)),
            opt(c.location.as_ref().map(|l| l.lon)),
            c.visit_radius_m.to_string(),
            opt(c.visit_cadence_days),
            c.notes.clone(),
            time(c.meta.created_at),
            time(c.meta.updated_at),
        ])
    }
}

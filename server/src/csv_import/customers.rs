//! Customers from CSV. A customer names its territory (which must exist) and optionally its
//! owner by username; lists (phones, emails, segments) are separated by `;`.

use std::collections::BTreeSet;

use fieldcrm_core::{
    Customer, CustomerKind, DEFAULT_VISIT_RADIUS_M, GeoLocation, Grade, LocationSource,
};

use super::{Column, References, Row, RowError, RowImport};
use crate::model::now_ms;
use crate::storage::StorageError;

pub struct Customers;

impl RowImport for Customers {
    type Record = Customer;
    const COLUMNS: &'static [Column] = &[
        Column::required("external_id"),
        Column::required("name"),
        Column::required("territory"),
        Column::optional("owner"),
        Column::optional("kind"),
        Column::optional("grade"),
        Column::optional("phones"),
        Column::optional("emails"),
        Column::optional("segments"),
        Column::optional("address_line"),
        Column::optional("city"),
        Column::optional("region"),
        Column::optional("postal_code"),
        Column::optional("country"),
        Column::optional("lat"),
        Column::optional("lon"),
        Column::optional("visit_radius_m"),
        Column::optional("visit_cadence_days"),
        Column::optional("notes"),
    ];

    fn build(
        row: &Row<'_>,
        existing: Option<Customer>,
        id: &str,
        references: &mut References<'_>,
    ) -> Result<Customer, RowError> {
        let mut customer = existing.unwrap_or_else(|| {
            let mut customer = Customer::new("");
            customer.meta.id = id.to_owned();
            customer
        });
        customer.name = row.required("name")?.to_owned();
        let territory = row.required("territory")?;
        if references.territory(territory)?.is_none() {
            return Err(RowError::Rejected(format!(
                "no territory named {territory:?}"
            )));
        }
        customer.territory = Some(territory.to_owned());
        if let Some(owner) = row.get("owner") {
            customer.owner = match owner {
                Some(username) => Some(
                    references
                        .user(username)?
                        .ok_or_else(|| format!("no user named {username:?} (owner)"))?,
                ),
                None => None,
            };
        }
        if let Some(kind) = row.get("kind") {
            customer.customer_kind = match kind {
                Some(text) => CustomerKind::parse_known(&text.to_ascii_lowercase())
                    .ok_or_else(|| format!("kind {text:?} is not company or person"))?,
                None => CustomerKind::Company,
            };
        }
        if let Some(grade) = row.get("grade") {
            customer.grade = match grade {
                Some(text) => Some(
                    Grade::parse_known(&text.to_ascii_uppercase())
                        .ok_or_else(|| format!("grade {text:?} is not A, B or C"))?,
                ),
                None => None,
            };
        }
        for (column, set) in [
            ("phones", &mut customer.phones),
            ("emails", &mut customer.emails),
            ("segments", &mut customer.segments),
        ] {
            if let Some(cell) = row.get(column) {
                *set = list(cell);
            }
        }
        let address = &mut customer.address;
        for (column, field) in [
            ("address_line", &mut address.line),
            ("city", &mut address.city),
            ("region", &mut address.region),
            ("postal_code", &mut address.postal_code),
            ("country", &mut address.country),
        ] {
            if let Some(cell) = row.get(column) {
                *field = cell.map(str::to_owned);
            }
        }
        match (row.get("lat"), row.get("lon")) {
            (None, None) => {}
            (Some(None), Some(None)) => customer.location = None,
            (Some(Some(lat)), Some(Some(lon))) => {
                let lat = number::<f64>("lat", lat)?;
                let lon = number::<f64>("lon", lon)?;
                // The same point keeps its source and time (an unchanged row writes nothing).
                if customer
                    .location
                    .as_ref()
                    .is_none_or(|l| l.lat != lat || l.lon != lon)
                {
                    customer.location = Some(GeoLocation {
                        lat,
                        lon,
                        source: LocationSource::Manual,
                        at: now_ms(),
                    });
                }
            }
            _ => {
                return Err(RowError::Rejected(
                    "lat and lon are given together or not at all".into(),
                ));
            }
        }
        if let Some(cell) = row.get("visit_radius_m") {
            customer.visit_radius_m = match cell {
                Some(text) => number("visit_radius_m", text)?,
                None => DEFAULT_VISIT_RADIUS_M,
            };
        }
        if let Some(cell) = row.get("visit_cadence_days") {
            customer.visit_cadence_days = cell
                .map(|text| number("visit_cadence_days", text))
                .transpose()?;
        }
        if let Some(cell) = row.get("notes") {
            customer.notes = cell.unwrap_or_default().to_owned();
        }
        Ok(customer)
    }

    /// A customer whose row names another territory than the one it is assigned to moves
    /// there (the server's assignment decides who sees it, not the document's field).
    fn after_update(
        customer: &Customer,
        references: &mut References<'_>,
    ) -> Result<(), StorageError> {
        let Some(name) = customer.territory.as_deref() else {
            return Ok(());
        };
        let Some(territory_id) = references.territory(name)? else {
            return Ok(());
        };
        let storage = references.storage();
        if storage.customer_territory(&customer.meta.id)?.as_deref() != Some(&territory_id) {
            storage.assign_customer_territory(&customer.meta.id, &territory_id)?;
        }
        Ok(())
    }
}

/// A `;`-separated list cell as a set (an empty cell: the empty set).
pub(super) fn list(cell: Option<&str>) -> BTreeSet<String> {
    cell.unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn number<T: std::str::FromStr>(column: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{column} {text:?} is not a valid number"))
}

//! `fieldcrm checkin`: check in to a visit with a GPS fix, verified offline.

use std::path::Path;

use fieldcrm_core::{AnyRecord, Customer, Fix, Store, StoreError, Visit, distance_m, now_ms};

use crate::error::CliError;
use crate::session::Session;

pub fn checkin(
    store: &Store,
    session_path: &Path,
    id: &str,
    lat: f64,
    lon: f64,
    accuracy: f64,
) -> Result<(), CliError> {
    // The visit is recorded in the signed-in rep's name.
    Session::require(session_path)?;
    let now = now_ms();
    let fix = Fix {
        at: now,
        lat,
        lon,
        accuracy_m: accuracy,
        mock: false,
    };
    // Checked before a visit is started at a customer, so a bad fix leaves nothing behind.
    fix.validate("check_in", now)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let visit_id = match store.get_any(id)? {
        Some(AnyRecord::Visit(visit)) => visit.meta.id,
        Some(AnyRecord::Customer(customer)) => {
            let mut visit = Visit::new(customer.meta.id.clone(), store.user());
            visit.planned_start = Some(now);
            store.create(visit)?.meta.id
        }
        Some(other) => {
            return Err(CliError::Usage(format!(
                "{id} is a {}, not a visit or a customer",
                other.kind()
            )));
        }
        None => return Err(CliError::NotFound(id.to_owned())),
    };
    // Written once and verified offline by the store.
    let visit = store.check_in(&visit_id, fix).map_err(|e| match e {
        StoreError::Validation(e) => CliError::Usage(format!("visit {visit_id}: {e}")),
        other => other.into(),
    })?;
    let customer: Option<Customer> = store.get(&visit.customer_id)?;
    let distance = customer
        .as_ref()
        .and_then(|c| c.location.as_ref())
        .map_or(String::new(), |l| {
            format!(
                ", {:.0} m from the customer",
                distance_m(l.lat, l.lon, lat, lon)
            )
        });
    let name = customer.map(|c| c.name).unwrap_or_default();
    let verification = visit
        .verification
        .map_or("unverified".to_owned(), |v| v.to_string());
    println!(
        "checked in: visit {} at {name} ({verification}{distance})",
        visit.meta.id
    );
    Ok(())
}

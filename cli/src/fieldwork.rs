//! `fieldcrm checkin` and `checkout`: check in to a visit with a GPS fix, verified offline,
//! and check out of it.

use crate::output::out;
use std::path::Path;

use fieldcrm_core::{
    AnyRecord, Customer, Fix, Store, StoreError, ValidationError, Visit, distance_m, now_ms,
};

use crate::error::{CliError, validation_as_usage};
use crate::session::Session;
use crate::time_text::at;

pub fn checkin(
    store: &Store,
    session_path: &Path,
    id: &str,
    typed: &FixArgs,
) -> Result<(), CliError> {
    // The visit is recorded in the signed-in rep's name.
    Session::require(session_path)?;
    // Checked before a visit is started at a customer, so a bad fix leaves nothing behind.
    let fix = typed.fix("check_in")?;
    let now = fix.at;
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
                distance_m(l.lat, l.lon, typed.lat, typed.lon)
            )
        });
    let name = customer.map(|c| c.name).unwrap_or_default();
    let verification = visit
        .verification
        .map_or("unverified".to_owned(), |v| v.to_string());
    out!(
        "checked in: visit {} at {name} ({verification}{distance})",
        visit.meta.id
    );
    Ok(())
}

/// `fieldcrm checkout`: check out of a visit checked in before (core's `Store::check_out`):
/// the fix is written once and the visit is done.
pub fn checkout(
    store: &Store,
    session_path: &Path,
    visit_id: &str,
    typed: &FixArgs,
    outcome: Option<String>,
) -> Result<(), CliError> {
    Session::require(session_path)?;
    let fix = typed.fix("check_out")?;
    let visit = store
        .check_out(visit_id, fix, outcome)
        .map_err(|e| match e {
            StoreError::Validation(ValidationError::Required { field }) if field == "check_in" => {
                CliError::Usage(format!(
                    "visit {visit_id} is not checked in: `fieldcrm checkin {visit_id}` first"
                ))
            }
            StoreError::Validation(ValidationError::Immutable { field })
                if field == "check_out" =>
            {
                CliError::Usage(format!("visit {visit_id} is checked out already"))
            }
            other => validation_as_usage(other),
        })?;
    let customer: Option<Customer> = store.get(&visit.customer_id)?;
    let name = customer.map(|c| c.name).unwrap_or_default();
    let stay = match (&visit.check_in, &visit.check_out) {
        (Some(check_in), Some(check_out)) => format!(
            ", {} min after check-in at {}",
            (check_out.at - check_in.at).max(0) / 60_000,
            at(check_in.at)
        ),
        _ => String::new(),
    };
    out!(
        "checked out: visit {} at {name} is {}{stay}",
        visit.meta.id,
        visit.status
    );
    Ok(())
}

/// The GPS fix typed on the command line, for `checkin` and `checkout`.
#[derive(Debug, clap::Args)]
pub struct FixArgs {
    /// Latitude of the fix, in degrees.
    #[arg(long, allow_negative_numbers = true)]
    pub lat: f64,
    /// Longitude of the fix, in degrees.
    #[arg(long, allow_negative_numbers = true)]
    pub lon: f64,
    /// Accuracy of the fix, in metres.
    #[arg(long, default_value_t = 10.0)]
    pub accuracy: f64,
}

impl FixArgs {
    /// The fix, taken now and checked as the store will check it for `field` (`check_in`,
    /// `check_out`): a bad one is a wrong argument, refused before anything is written.
    fn fix(&self, field: &str) -> Result<Fix, CliError> {
        let now = now_ms();
        let fix = Fix {
            at: now,
            lat: self.lat,
            lon: self.lon,
            accuracy_m: self.accuracy,
            mock: false,
        };
        fix.validate(field, now)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(fix)
    }
}

//! FieldCRM bindings: a thin uniffi wrapper over `fieldcrm-core` for Kotlin and Swift apps.
//!
//! No business logic lives here: every call converts its arguments to core's types, calls the
//! core [`fieldcrm_core::Store`], and converts the result (or error) back. The uniffi types are
//! declared under `convert/` so that core never depends on uniffi.
//!
//! Every method is blocking (SQLite, and the network for sync): call it off the UI thread. A
//! [`FieldStore`] may be used from any number of threads at once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard, PoisonError};

mod activities;
mod cases;
mod catalog;
mod convert;
mod error;
mod fieldwork;
mod live;
mod opportunities;
mod queries;
mod records;
mod store;
mod sync;

pub use activities::new_activity;
pub use cases::{CaseDetail, case_is_overdue};
pub use catalog::LineEdit;
pub use convert::*;
pub use error::{FieldCrmError, ValidationRule};
pub use fieldwork::distance_m;
pub use live::{QueryListener, Subscription};
pub use opportunities::{format_amount, parse_amount, weighted_minor};
pub use records::{
    new_case, new_contact, new_customer, new_opportunity, new_product, new_task, new_visit,
};
pub use store::FieldStore;
pub use sync::{SyncCancellation, SyncTransport};

uniffi::setup_scaffolding!();

type Result<T, E = FieldCrmError> = std::result::Result<T, E>;

/// Runs `f`, turning a panic into [`FieldCrmError::Internal`] so that the host receives a typed
/// error instead of uniffi's generic one. The panic payload is left out: it may quote data.
fn guarded<T>(operation: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(FieldCrmError::Internal {
            operation: operation.to_owned(),
        })
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data is an `Option`: nothing a panicking holder can leave half-done.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn internal(operation: &str) -> FieldCrmError {
    FieldCrmError::Internal {
        operation: operation.to_owned(),
    }
}

#[cfg(test)]
mod tests;

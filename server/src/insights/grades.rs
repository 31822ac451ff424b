//! The grade from the ABC class, when the organisation chooses it (`--grade-from-abc ADMIN`):
//! after a successful run, each customer whose `grade` differs from its ABC class gets the
//! class as its grade.
//!
//! The grade is a field of the customer record, so it is written like any edit: a device the
//! server runs for the named admin ([`ServerDevice`]) updates the customer and the change goes
//! through [`Storage::push_changes`] as that admin's, so the authority checks apply and the
//! devices receive it through normal sync. A rep's later edit of the grade merges like any
//! concurrent edit, and the next run sets it back if it differs.

use fieldcrm_core::{Customer, Grade, Kind, StoreError};

use crate::model::Role;
use crate::server_device::{DeviceError, ServerDevice};
use crate::storage::{Storage, StorageError};

/// Customers read, updated and pushed together.
const BATCH_CUSTOMERS: u32 = 500;

/// What setting the grades did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GradesSet {
    /// Customers whose grade was set to their class.
    pub changed: u64,
    /// Customers whose grade already was their class.
    pub unchanged: u64,
    /// Updates the store or the push refused (logged).
    pub refused: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error("--grade-from-abc: {0:?} is not an enabled admin")]
    NotAdmin(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the grade store failed: {0}")]
    Store(#[from] StoreError),
    #[error("the grade push failed: {0}")]
    Device(#[from] DeviceError),
}

/// The grade of an ABC class as stored (`A`, `B`, `C`).
fn grade_of(class: &str) -> Option<Grade> {
    match class {
        "A" => Some(Grade::A),
        "B" => Some(Grade::B),
        "C" => Some(Grade::C),
        _ => None,
    }
}

/// Sets each customer's grade to its ABC class in run `run_id` where it differs, as the admin
/// named `admin`.
pub fn grade_from_abc(
    storage: &dyn Storage,
    run_id: i64,
    admin: &str,
) -> Result<GradesSet, GradeError> {
    let user = storage
        .user_by_username(admin)?
        .filter(|u| u.role == Role::Admin)
        .ok_or_else(|| GradeError::NotAdmin(admin.to_owned()))?;
    if storage.user_disabled(&user.id)? {
        return Err(GradeError::NotAdmin(admin.to_owned()));
    }
    let principal = storage.principal(&user)?;
    let mut device = ServerDevice::open(storage, &user)?;
    let mut set = GradesSet::default();
    let mut after: Option<String> = None;
    let outcome = (|| -> Result<(), GradeError> {
        loop {
            let page =
                storage.customer_insights(&principal, run_id, after.as_deref(), BATCH_CUSTOMERS)?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.customer_id.clone());
            let doc_ids: Vec<String> = page.iter().map(|r| r.customer_id.clone()).collect();
            device.load(Kind::Customer, &doc_ids)?;
            for row in &page {
                let Some(grade) = grade_of(&row.abc_class) else {
                    continue;
                };
                let Some(mut customer) = device.get::<Customer>(&row.customer_id)? else {
                    continue;
                };
                if customer.meta.deleted {
                    continue;
                }
                if customer.grade.as_ref() == Some(&grade) {
                    set.unchanged += 1;
                    continue;
                }
                customer.grade = Some(grade);
                match device.update(customer) {
                    Ok(_) => {}
                    Err(StoreError::Validation(error)) => {
                        tracing::warn!(customer = %row.customer_id, %error, "grade not set");
                        set.refused += 1;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            let pushed = device.push_all()?;
            for (customer, reason) in &pushed.refused {
                tracing::warn!(%customer, %reason, "grade refused");
            }
            let refused = pushed.refused.len() as u64;
            set.refused += refused;
            set.changed += (pushed.documents as u64).saturating_sub(refused);
            device.forget(&doc_ids)?;
        }
    })();
    device.close()?;
    outcome.map(|()| set)
}

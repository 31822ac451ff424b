//! Typed create/update/get/delete/restore for each kind of record, the records' conflicts, and
//! new records with core's defaults.

use fieldcrm_core as fc;

use super::*;

#[uniffi::export]
impl FieldStore {
    /// Fields of a record on which concurrent edits disagreed, with the values that lost.
    pub fn conflicts(&self, id: String) -> Result<Vec<FieldConflict>> {
        self.with("conflicts", |s| {
            Ok(s.conflicts(&id)?.into_iter().map(Into::into).collect())
        })
    }
}

/// Typed create/update/get/delete/restore for one record kind.
macro_rules! record_api {
    ($ty:ident, $create:ident, $update:ident, $get:ident, $delete:ident, $restore:ident) => {
        #[uniffi::export]
        impl FieldStore {
            /// Creates the record; the store fills in `meta` (an empty id gets a new UUID v7)
            /// and returns the record as stored.
            pub fn $create(&self, record: $ty) -> Result<$ty> {
                self.with(stringify!($create), |s| {
                    Ok(s.create(fc::$ty::from(record))?.into())
                })
            }

            /// Saves an edited record (as returned by get or create): only the fields that
            /// differ are written, so concurrent edits of other fields on other devices survive.
            pub fn $update(&self, record: $ty) -> Result<$ty> {
                self.with(stringify!($update), |s| {
                    Ok(s.update(fc::$ty::from(record))?.into())
                })
            }

            /// The record, deleted or not (see `meta.deleted`); `None` if absent.
            pub fn $get(&self, id: String) -> Result<Option<$ty>> {
                self.with(stringify!($get), |s| {
                    Ok(s.get::<fc::$ty>(&id)?.map(Into::into))
                })
            }

            /// Marks the record deleted; the deletion syncs and `restore` undoes it.
            pub fn $delete(&self, id: String) -> Result<()> {
                self.with(stringify!($delete), |s| {
                    // Checks the kind first: deleting by a stale id of another kind is a bug.
                    s.get::<fc::$ty>(&id)?
                        .ok_or_else(|| FieldCrmError::NotFound { id: id.clone() })?;
                    Ok(s.delete(&id)?)
                })
            }

            pub fn $restore(&self, id: String) -> Result<()> {
                self.with(stringify!($restore), |s| {
                    s.get::<fc::$ty>(&id)?
                        .ok_or_else(|| FieldCrmError::NotFound { id: id.clone() })?;
                    Ok(s.restore(&id)?)
                })
            }
        }
    };
}

record_api!(
    Customer,
    create_customer,
    update_customer,
    get_customer,
    delete_customer,
    restore_customer
);
record_api!(
    Contact,
    create_contact,
    update_contact,
    get_contact,
    delete_contact,
    restore_contact
);
record_api!(
    Opportunity,
    create_opportunity,
    update_opportunity,
    get_opportunity,
    delete_opportunity,
    restore_opportunity
);
record_api!(
    Visit,
    create_visit,
    update_visit,
    get_visit,
    delete_visit,
    restore_visit
);
record_api!(
    Task,
    create_task,
    update_task,
    get_task,
    delete_task,
    restore_task
);
record_api!(
    Case,
    create_case,
    update_case,
    get_case,
    delete_case,
    restore_case
);

record_api!(
    Product,
    create_product,
    update_product,
    get_product,
    delete_product,
    restore_product
);
record_api!(
    Order,
    create_order_record,
    update_order,
    get_order,
    delete_order,
    restore_order
);
record_api!(
    Activity,
    create_activity,
    update_activity,
    get_activity,
    delete_activity,
    restore_activity
);

// -- record constructors with core's defaults -------------------------------------------------

/// A new company customer with core's defaults (visit radius 150 m, no cadence).
#[uniffi::export]
pub fn new_customer(name: String) -> Customer {
    fc::Customer::new(name).into()
}

#[uniffi::export]
pub fn new_contact(customer_id: String, name: String) -> Contact {
    fc::Contact::new(customer_id, name).into()
}

/// A new opportunity at stage lead.
#[uniffi::export]
pub fn new_opportunity(customer_id: String, title: String, amount: Money) -> Opportunity {
    fc::Opportunity::new(customer_id, title, amount.into()).into()
}

/// A new planned visit.
#[uniffi::export]
pub fn new_visit(customer_id: String, rep: String) -> Visit {
    fc::Visit::new(customer_id, rep).into()
}

/// A new open task.
#[uniffi::export]
pub fn new_task(title: String) -> Task {
    fc::Task::new(title).into()
}

/// A new open case of medium severity.
#[uniffi::export]
pub fn new_case(customer_id: String, subject: String) -> Case {
    fc::Case::new(customer_id, subject).into()
}

/// A new active product without prices (an admin fills them in; only admins' product writes
/// are accepted by the server).
#[uniffi::export]
pub fn new_product(sku: String, name: String) -> Product {
    fc::Product::new(sku, name).into()
}

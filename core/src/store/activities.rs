//! Logging an activity on the device: the contact, when given, must be one of the activity's
//! customer's contacts, as the server checks again on the merged record. (An activity created
//! without a time takes now, by the store's clock, however it is created: `records/activity.rs`.)

use crate::error::{Result, StoreError, ValidationError};
use crate::model::{Activity, Contact};

use super::Store;

impl Store {
    /// Stores a new activity. An `occurred_at` of 0 (no valid time) is set to now; a
    /// `contact_id` must name a contact this device holds
    /// ([`StoreError::NotFound`] otherwise) of the same customer
    /// ([`ValidationError::ContactOfAnotherCustomer`] otherwise).
    pub fn log_activity(&self, activity: Activity) -> Result<Activity> {
        if let Some(contact_id) = &activity.contact_id {
            let contact: Contact = self.get(contact_id)?.ok_or_else(|| StoreError::NotFound {
                id: contact_id.clone(),
            })?;
            if contact.customer_id != activity.customer_id {
                return Err(ValidationError::ContactOfAnotherCustomer {
                    contact_id: contact_id.clone(),
                }
                .into());
            }
        }
        self.create(activity)
    }
}

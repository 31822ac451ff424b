//! Contacts from CSV. A contact names its customer by the external id the customer was
//! imported with; a contact's customer never changes (a row naming another one is refused).

use fieldcrm_core::Contact;

use super::customers::list;
use super::{Column, References, Row, RowError, RowImport};

pub struct Contacts;

impl RowImport for Contacts {
    type Record = Contact;
    const COLUMNS: &'static [Column] = &[
        Column::required("external_id"),
        Column::required("customer_external_id"),
        Column::required("name"),
        Column::optional("title"),
        Column::optional("phones"),
        Column::optional("emails"),
        Column::optional("notes"),
    ];

    fn build(
        row: &Row<'_>,
        existing: Option<Contact>,
        id: &str,
        references: &mut References<'_>,
    ) -> Result<Contact, RowError> {
        let customer = row.required("customer_external_id")?;
        let customer_id = references
            .customer(customer)?
            .ok_or_else(|| format!("no customer imported with external id {customer:?}"))?;
        let mut contact = existing.unwrap_or_else(|| {
            let mut contact = Contact::new(customer_id.clone(), "");
            contact.meta.id = id.to_owned();
            contact
        });
        if contact.customer_id != customer_id {
            return Err(RowError::Rejected(
                "the contact belongs to another customer: a contact's customer never changes"
                    .into(),
            ));
        }
        contact.name = row.required("name")?.to_owned();
        if let Some(title) = row.get("title") {
            contact.title = title.map(str::to_owned);
        }
        if let Some(cell) = row.get("phones") {
            contact.phones = list(cell);
        }
        if let Some(cell) = row.get("emails") {
            contact.emails = list(cell);
        }
        if let Some(cell) = row.get("notes") {
            contact.notes = cell.unwrap_or_default().to_owned();
        }
        Ok(contact)
    }
}

//! Contacts (people at a customer): their document mapping, their projection (`contacts`, and
//! the customer's search row, which holds its contacts' names and phones), their validation,
//! and the rule that a contact's customer is written once.

use automerge::ROOT;
use rusqlite::{OptionalExtension, params};

use super::customer;
use super::fields::*;
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

pub(super) fn read(
    f: &Fields,
    meta: RecordMeta,
    u: &mut Unread,
) -> Result<Contact, ValidationError> {
    Ok(Contact {
        meta,
        customer_id: req_str(f, "customer_id")?,
        name: req_str(f, "name")?,
        title: u.opt_str(f, "title")?,
        phones: u.set(f, "phones")?,
        emails: u.set(f, "emails")?,
        notes: u.text(f, "notes")?,
    })
}

/// Writes the fields of `n` that differ from `old` (`None` at creation).
pub(super) fn write(tx: &mut impl DocWrite, old: Option<&Contact>, n: &Contact) -> Am {
    put(
        tx,
        &ROOT,
        "customer_id",
        old.map(|o| &o.customer_id),
        &n.customer_id,
    )?;
    put(tx, &ROOT, "name", old.map(|o| &o.name), &n.name)?;
    put(tx, &ROOT, "title", old.map(|o| &o.title), &n.title)?;
    put_set(tx, "phones", old.map(|o| &o.phones), &n.phones)?;
    put_set(tx, "emails", old.map(|o| &o.emails), &n.emails)?;
    put_text(tx, "notes", old.map(|o| &o.notes), &n.notes)
}

/// A contact's customer never changes (checked on the writing device and by the server).
pub(super) fn check_written_once(old: &Contact, new: &Contact) -> Result<(), ValidationError> {
    if old.customer_id != new.customer_id {
        return Err(ValidationError::Immutable {
            field: "customer_id".to_owned(),
        });
    }
    Ok(())
}

pub(crate) fn project(tx: &rusqlite::Transaction<'_>, c: &Contact) -> crate::error::Result<()> {
    tx.prepare_cached(
        "INSERT INTO contacts (id, customer_id, name, title, phones, emails, deleted, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(id) DO UPDATE SET customer_id = excluded.customer_id, name = excluded.name,
           title = excluded.title, phones = excluded.phones, emails = excluded.emails,
           deleted = excluded.deleted, updated_at = excluded.updated_at",
    )?
    .execute(params![
        c.meta.id,
        c.customer_id,
        c.name,
        c.title,
        join(&c.phones),
        join(&c.emails),
        c.meta.deleted,
        c.meta.updated_at
    ])?;
    customer::refresh_search(tx, &c.customer_id)
}

pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> crate::error::Result<()> {
    let customer: Option<String> = tx
        .prepare_cached("DELETE FROM contacts WHERE id = ?1 RETURNING customer_id")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    if let Some(customer) = customer {
        customer::refresh_search(tx, &customer)?;
    }
    Ok(())
}

impl Contact {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        required_text("name", &self.name, MAX_NAME)?;
        optional_text("title", &self.title, MAX_SHORT)?;
        set_items("phones", &self.phones)?;
        set_items("emails", &self.emails)?;
        max_len("notes", &self.notes, MAX_NOTES)
    }
}

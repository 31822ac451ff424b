//! Activities (calls, emails, meetings): their document mapping, their projection
//! (`activities`), their validation and the field an update keeps.
//!
//! Document: every field is a root scalar merged last writer wins per field, except `notes`,
//! an Automerge Text merged character by character (created with the document, like a
//! visit's). `customer_id` is written once: it gives the activity its scope on the server,
//! and its contact is checked against it.

use automerge::ROOT;
use rusqlite::params;

use super::fields::*;
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

/// Longest outcome and next step of an activity.
const MAX_ACTIVITY_TEXT: usize = 2_000;

pub(super) fn read(
    f: &Fields,
    meta: RecordMeta,
    u: &mut Unread,
) -> Result<Activity, ValidationError> {
    Ok(Activity {
        meta,
        customer_id: req_str(f, "customer_id")?,
        contact_id: u.opt_str(f, "contact_id")?,
        channel: req_enum(f, "channel", ActivityChannel::parse)?,
        direction: u.optional(
            "direction",
            opt_enum(f, "direction", ActivityDirection::parse),
        )?,
        occurred_at: req_int(f, "occurred_at")?,
        duration_s: u.opt_small(f, "duration_s")?,
        subject: req_str(f, "subject")?,
        notes: u.text(f, "notes")?,
        outcome: u.opt_str(f, "outcome")?,
        next_step: u.opt_str(f, "next_step")?,
        next_step_due_at: u.opt_int(f, "next_step_due_at")?,
    })
}

/// Writes the fields of `n` that differ from `old` (`None` at creation).
pub(super) fn write(tx: &mut impl DocWrite, old: Option<&Activity>, n: &Activity) -> Am {
    put(
        tx,
        &ROOT,
        "customer_id",
        old.map(|o| &o.customer_id),
        &n.customer_id,
    )?;
    put(
        tx,
        &ROOT,
        "contact_id",
        old.map(|o| &o.contact_id),
        &n.contact_id,
    )?;
    put(tx, &ROOT, "channel", old.map(|o| &o.channel), &n.channel)?;
    put(
        tx,
        &ROOT,
        "direction",
        old.map(|o| &o.direction),
        &n.direction,
    )?;
    put(
        tx,
        &ROOT,
        "occurred_at",
        old.map(|o| &o.occurred_at),
        &n.occurred_at,
    )?;
    put(
        tx,
        &ROOT,
        "duration_s",
        old.map(|o| &o.duration_s),
        &n.duration_s,
    )?;
    put(tx, &ROOT, "subject", old.map(|o| &o.subject), &n.subject)?;
    put_text(tx, "notes", old.map(|o| &o.notes), &n.notes)?;
    put(tx, &ROOT, "outcome", old.map(|o| &o.outcome), &n.outcome)?;
    put(
        tx,
        &ROOT,
        "next_step",
        old.map(|o| &o.next_step),
        &n.next_step,
    )?;
    put(
        tx,
        &ROOT,
        "next_step_due_at",
        old.map(|o| &o.next_step_due_at),
        &n.next_step_due_at,
    )
}

/// An activity logged without a time (0, as `Activity::new` may be given) took place now,
/// like an order's `ordered_at`.
pub(super) fn prepare_create(a: &mut Activity, now: Millis) {
    if a.occurred_at == 0 {
        a.occurred_at = now;
    }
}

/// The customer is written once (checked on the writing device and by the server on the
/// merged document).
pub(super) fn check_written_once(old: &Activity, new: &Activity) -> Result<(), ValidationError> {
    if old.customer_id != new.customer_id {
        return Err(ValidationError::Immutable {
            field: "customer_id".to_owned(),
        });
    }
    Ok(())
}

pub(crate) fn project(tx: &rusqlite::Transaction<'_>, a: &Activity) -> crate::error::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO activities (id, customer_id, contact_id, channel, direction, occurred_at,
           duration_s, subject, outcome, next_step, next_step_due_at, deleted, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        a.meta.id,
        a.customer_id,
        a.contact_id,
        a.channel.as_str(),
        a.direction.as_ref().map(ActivityDirection::as_str),
        a.occurred_at,
        a.duration_s,
        a.subject,
        a.outcome,
        a.next_step,
        a.next_step_due_at,
        a.meta.deleted,
        a.meta.updated_at
    ])?;
    Ok(())
}

pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> crate::error::Result<()> {
    tx.prepare_cached("DELETE FROM activities WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

impl Activity {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        if let Some(contact_id) = &self.contact_id {
            reference("contact_id", contact_id)?;
        }
        timestamp("occurred_at", self.occurred_at)?;
        if let Some(duration) = self.duration_s
            && duration > Activity::MAX_DURATION_S
        {
            return Err(ValidationError::out_of_range(
                "duration_s",
                format!("at most {} seconds", Activity::MAX_DURATION_S),
            ));
        }
        required_text("subject", &self.subject, MAX_NAME)?;
        max_len("notes", &self.notes, MAX_NOTES)?;
        optional_text("outcome", &self.outcome, MAX_ACTIVITY_TEXT)?;
        optional_text("next_step", &self.next_step, MAX_ACTIVITY_TEXT)?;
        optional_timestamp("next_step_due_at", self.next_step_due_at)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{field_of, meta};
    use super::*;

    #[test]
    fn activity_rules() {
        let ok = Activity {
            meta: meta(),
            contact_id: Some("0190a0b0-0000-7000-8000-000000000002".into()),
            direction: Some(ActivityDirection::Outbound),
            duration_s: Some(Activity::MAX_DURATION_S),
            outcome: Some("Interested".into()),
            next_step: Some("Send the price list".into()),
            next_step_due_at: Some(1_790_100_000_000),
            ..Activity::new("c1", ActivityChannel::Call, 1_790_000_000_000, "Price call")
        };
        assert_eq!(ok.validate(), Ok(()));
        let broken = |edit: fn(&mut Activity)| {
            let mut a = ok.clone();
            edit(&mut a);
            field_of(a.validate().expect_err("refused"))
        };
        assert_eq!(broken(|a| a.customer_id.clear()), "customer_id");
        assert_eq!(broken(|a| a.contact_id = Some(" ".into())), "contact_id");
        assert_eq!(broken(|a| a.occurred_at = 0), "occurred_at");
        assert_eq!(
            broken(|a| a.duration_s = Some(Activity::MAX_DURATION_S + 1)),
            "duration_s"
        );
        assert_eq!(broken(|a| a.subject = " ".into()), "subject");
        assert_eq!(broken(|a| a.subject = "x".repeat(MAX_NAME + 1)), "subject");
        assert_eq!(broken(|a| a.notes = "x".repeat(MAX_NOTES + 1)), "notes");
        assert_eq!(
            broken(|a| a.outcome = Some("x".repeat(MAX_ACTIVITY_TEXT + 1))),
            "outcome"
        );
        assert_eq!(
            broken(|a| a.next_step = Some("x".repeat(MAX_ACTIVITY_TEXT + 1))),
            "next_step"
        );
        assert_eq!(
            broken(|a| a.next_step_due_at = Some(12)),
            "next_step_due_at"
        );
    }

    #[test]
    fn the_customer_is_written_once() {
        let old = Activity::new("c1", ActivityChannel::Email, 1_790_000_000_000, "Offer");
        let mut moved = old.clone();
        moved.customer_id = "c2".into();
        assert_eq!(
            check_written_once(&old, &moved),
            Err(ValidationError::Immutable {
                field: "customer_id".into()
            })
        );
        let mut edited = old.clone();
        edited.outcome = Some("Accepted".into());
        assert_eq!(check_written_once(&old, &edited), Ok(()));
    }
}

//! Service cases: their document mapping, their projection (`cases`) and their validation.

use automerge::ROOT;
use rusqlite::params;

use super::fields::*;
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

pub(super) fn read(f: &Fields, meta: RecordMeta, u: &mut Unread) -> Result<Case, ValidationError> {
    Ok(Case {
        meta,
        customer_id: req_str(f, "customer_id")?,
        subject: req_str(f, "subject")?,
        severity: req_enum(f, "severity", Severity::parse)?,
        status: req_enum(f, "status", CaseStatus::parse)?,
        resolution: u.opt_str(f, "resolution")?,
        satisfaction: u.opt_small(f, "satisfaction")?,
    })
}

/// Writes the fields of `n` that differ from `old` (`None` at creation).
pub(super) fn write(tx: &mut impl DocWrite, old: Option<&Case>, n: &Case) -> Am {
    put(
        tx,
        &ROOT,
        "customer_id",
        old.map(|o| &o.customer_id),
        &n.customer_id,
    )?;
    put(tx, &ROOT, "subject", old.map(|o| &o.subject), &n.subject)?;
    put(tx, &ROOT, "severity", old.map(|o| &o.severity), &n.severity)?;
    put(tx, &ROOT, "status", old.map(|o| &o.status), &n.status)?;
    put(
        tx,
        &ROOT,
        "resolution",
        old.map(|o| &o.resolution),
        &n.resolution,
    )?;
    put(
        tx,
        &ROOT,
        "satisfaction",
        old.map(|o| &o.satisfaction),
        &n.satisfaction,
    )
}

pub(crate) fn project(tx: &rusqlite::Transaction<'_>, c: &Case) -> crate::error::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO cases (id, customer_id, subject, severity, status, satisfaction, deleted, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        c.meta.id,
        c.customer_id,
        c.subject,
        c.severity.as_str(),
        c.status.as_str(),
        c.satisfaction,
        c.meta.deleted,
        c.meta.updated_at
    ])?;
    Ok(())
}

pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> crate::error::Result<()> {
    tx.prepare_cached("DELETE FROM cases WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

impl Case {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        required_text("subject", &self.subject, MAX_NAME)?;
        optional_text("resolution", &self.resolution, MAX_NOTES)?;
        if let Some(score) = self.satisfaction
            && !(1..=5).contains(&score)
        {
            return Err(ValidationError::out_of_range(
                "satisfaction",
                "score must be 1 to 5",
            ));
        }
        Ok(())
    }
}

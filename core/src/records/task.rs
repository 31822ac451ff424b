//! Tasks (follow-ups): their document mapping, their projection (`tasks`) and their validation.

use automerge::ROOT;
use rusqlite::params;

use super::fields::*;
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

pub(super) fn read(f: &Fields, meta: RecordMeta, u: &mut Unread) -> Result<Task, ValidationError> {
    Ok(Task {
        meta,
        title: req_str(f, "title")?,
        due_at: u.opt_int(f, "due_at")?,
        status: req_enum(f, "status", TaskStatus::parse)?,
        assignee: u.opt_str(f, "assignee")?,
        linked_id: u.opt_str(f, "linked_id")?,
    })
}

/// Writes the fields of `n` that differ from `old` (`None` at creation).
pub(super) fn write(tx: &mut impl DocWrite, old: Option<&Task>, n: &Task) -> Am {
    put(tx, &ROOT, "title", old.map(|o| &o.title), &n.title)?;
    put(tx, &ROOT, "due_at", old.map(|o| &o.due_at), &n.due_at)?;
    put(tx, &ROOT, "status", old.map(|o| &o.status), &n.status)?;
    put(tx, &ROOT, "assignee", old.map(|o| &o.assignee), &n.assignee)?;
    put(
        tx,
        &ROOT,
        "linked_id",
        old.map(|o| &o.linked_id),
        &n.linked_id,
    )
}

pub(crate) fn project(tx: &rusqlite::Transaction<'_>, t: &Task) -> crate::error::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO tasks (id, title, due_at, status, assignee, linked_id, deleted, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        t.meta.id,
        t.title,
        t.due_at,
        t.status.as_str(),
        t.assignee,
        t.linked_id,
        t.meta.deleted,
        t.meta.updated_at
    ])?;
    Ok(())
}

pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> crate::error::Result<()> {
    tx.prepare_cached("DELETE FROM tasks WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

impl Task {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        required_text("title", &self.title, MAX_NAME)?;
        optional_timestamp("due_at", self.due_at)?;
        optional_text("assignee", &self.assignee, 100)?;
        optional_text("linked_id", &self.linked_id, 100)
    }
}

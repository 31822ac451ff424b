//! Service cases: their document mapping, their projection (`cases`), their validation and the
//! rules an update keeps.
//!
//! Document: `assignee`, `due_at` and `escalated_at` are root scalars (last writer wins;
//! `escalated_at` is written once, by the server); `status_history` is a list the store appends
//! to, like the opportunity's stage history (both sides' entries survive a merge); `survey` is a
//! small map written whole (atomic last writer wins: never one phone's score with another's
//! comment). The rules of [`check_written_once`] are checked on the writing device and by the
//! server on the merged result of every push (`authority/invariants.rs`).

use automerge::{ROOT, ScalarValue};
use rusqlite::params;

use super::fields::*;
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

/// Most entries of a status history (a crafted case may hold more than a real one ever does).
const MAX_STATUS_HISTORY: usize = 200;
/// Longest note of a status change and longest survey comment.
const MAX_CASE_NOTE: usize = 2_000;

pub(super) fn read(f: &Fields, meta: RecordMeta, u: &mut Unread) -> Result<Case, ValidationError> {
    let status_history = u
        .optional("status_history", list(f, "status_history"))?
        .iter()
        .map(|node| match node {
            Node::Map(m) => Ok(CaseStatusChange {
                from: opt_enum(m, "from", CaseStatus::parse)?,
                to: req_enum(m, "to", CaseStatus::parse)?,
                at: req_int(m, "at")?,
                by: req_str(m, "by")?,
                note: opt_str(m, "note")?,
                escalation: bool_or_false(m, "escalation")?,
            }),
            _ => Err(wrong_type("status_history", "a list of maps")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Case {
        meta,
        customer_id: req_str(f, "customer_id")?,
        subject: req_str(f, "subject")?,
        severity: req_enum(f, "severity", Severity::parse)?,
        status: req_enum(f, "status", CaseStatus::parse)?,
        resolution: u.opt_str(f, "resolution")?,
        satisfaction: u.opt_small(f, "satisfaction")?,
        assignee: u.opt_str(f, "assignee")?,
        due_at: u.opt_int(f, "due_at")?,
        status_history,
        escalated_at: u.opt_int(f, "escalated_at")?,
        survey: u.optional("survey", read_survey(f))?,
    })
}

fn read_survey(f: &Fields) -> Result<Option<CaseSurvey>, ValidationError> {
    let Some(m) = map(f, "survey")? else {
        return Ok(None);
    };
    Ok(Some(CaseSurvey {
        score: opt_small(m, "score")?.ok_or_else(|| ValidationError::required("survey.score"))?,
        comment: opt_str(m, "comment")?,
        entered_by: req_enum(m, "entered_by", SurveyEntrant::parse)?,
        at: req_int(m, "at")?,
        by: req_str(m, "by")?,
    }))
}

fn status_change_fields(c: &CaseStatusChange) -> Vec<(&'static str, ScalarValue)> {
    let mut fields = vec![
        ("to", ScalarValue::from(c.to.as_str())),
        ("at", ScalarValue::Int(c.at)),
        ("by", ScalarValue::from(c.by.as_str())),
    ];
    if let Some(from) = &c.from {
        fields.push(("from", ScalarValue::from(from.as_str())));
    }
    if let Some(note) = &c.note {
        fields.push(("note", ScalarValue::from(note.as_str())));
    }
    if c.escalation {
        fields.push(("escalation", ScalarValue::Boolean(true)));
    }
    fields
}

fn survey_fields(s: &CaseSurvey) -> Vec<(&'static str, ScalarValue)> {
    let mut fields = vec![
        ("score", ScalarValue::Int(i64::from(s.score))),
        ("entered_by", ScalarValue::from(s.entered_by.as_str())),
        ("at", ScalarValue::Int(s.at)),
        ("by", ScalarValue::from(s.by.as_str())),
    ];
    if let Some(comment) = &s.comment {
        fields.push(("comment", ScalarValue::from(comment.as_str())));
    }
    fields
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
    )?;
    put(tx, &ROOT, "assignee", old.map(|o| &o.assignee), &n.assignee)?;
    put(tx, &ROOT, "due_at", old.map(|o| &o.due_at), &n.due_at)?;
    put(
        tx,
        &ROOT,
        "escalated_at",
        old.map(|o| &o.escalated_at),
        &n.escalated_at,
    )?;
    put_atomic(
        tx,
        "survey",
        old.map(|o| &o.survey),
        &n.survey,
        survey_fields,
    )?;
    put_list(
        tx,
        "status_history",
        old.map(|o| o.status_history.as_slice()),
        &n.status_history,
        status_change_fields,
    )
}

/// The store starts the case: its history's first entry, and its due time from the default
/// SLA when the app gave none.
pub(super) fn prepare_create(c: &mut Case, now: Millis, user: &str) {
    let note = c.status_history.last().and_then(|e| e.note.clone());
    c.status_history = vec![CaseStatusChange {
        from: None,
        to: c.status.clone(),
        at: now,
        by: user.to_owned(),
        note,
        escalation: false,
    }];
    if c.due_at.is_none() {
        c.due_at = CaseSla::default().due_at(now, &c.severity);
    }
    stamp_survey(None, c, now, user);
}

/// A survey the app entered is the phone user's, now.
fn stamp_survey(old: Option<&CaseSurvey>, n: &mut Case, now: Millis, user: &str) {
    if let Some(survey) = n.survey.as_mut()
        && old != Some(&*survey)
    {
        survey.at = now;
        user.clone_into(&mut survey.by);
    }
}

/// On the writing device the store keeps the history: whatever history the update carried is
/// replaced by the stored one, and a status change is appended (with the note the app gave
/// through [`Case::change_status`]). A changed survey is stamped with its user and time.
pub(super) fn record_status_change(old: &Case, n: &mut Case, now: Millis, user: &str) {
    stamp_survey(old.survey.as_ref(), n, now, user);
    let added = n
        .status_history
        .get(old.status_history.len()..)
        .unwrap_or(&[]);
    // The escalation the store itself writes (`Store::escalate_case`) is kept; an app cannot
    // set the escalation time (`check_not_escalated_here`).
    let escalation = (old.escalated_at.is_none() && n.escalated_at.is_some())
        .then(|| added.iter().find(|e| e.escalation).cloned())
        .flatten();
    let note = n
        .status_history
        .get(old.status_history.len()..)
        .and_then(|added| added.iter().rev().find(|e| e.to == n.status))
        .and_then(|e| e.note.clone());
    n.status_history = old.status_history.clone();
    if old.status != n.status {
        n.status_history.push(CaseStatusChange {
            from: Some(old.status.clone()),
            to: n.status.clone(),
            at: now,
            by: user.to_owned(),
            note,
            escalation: false,
        });
    }
    n.status_history.extend(escalation);
}

/// The status history is append-only (every earlier entry kept, in order) and the escalation
/// time is written once (checked on the writing device and by the server on the merged
/// document).
pub(super) fn check_written_once(old: &Case, new: &Case) -> Result<(), ValidationError> {
    let immutable = |field: &str| {
        Err(ValidationError::Immutable {
            field: field.to_owned(),
        })
    };
    if !super::history_kept(&old.status_history, &new.status_history) {
        return immutable("status_history");
    }
    if old.escalated_at.is_some() && old.escalated_at != new.escalated_at {
        return immutable("escalated_at");
    }
    Ok(())
}

/// Only the server escalates a case (its own change, which devices merge): an app neither sets
/// nor clears the escalation time.
pub(super) fn check_not_escalated_here(
    old: Option<&Case>,
    n: &Case,
) -> Result<(), ValidationError> {
    if old.and_then(|o| o.escalated_at) != n.escalated_at {
        return Err(ValidationError::Immutable {
            field: "escalated_at".to_owned(),
        });
    }
    Ok(())
}

pub(crate) fn project(tx: &rusqlite::Transaction<'_>, c: &Case) -> crate::error::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO cases (id, customer_id, subject, severity, status, satisfaction, deleted, updated_at,
                                       assignee, due_at, escalated_at, opened_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        c.meta.id,
        c.customer_id,
        c.subject,
        c.severity.as_str(),
        c.status.as_str(),
        c.satisfaction_score(),
        c.meta.deleted,
        c.meta.updated_at,
        c.assignee,
        c.due_at,
        c.escalated_at,
        c.meta.created_at
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

fn score(field: &str, value: Option<u8>) -> Check {
    match value {
        Some(score) if !(1..=5).contains(&score) => {
            Err(ValidationError::out_of_range(field, "score must be 1 to 5"))
        }
        _ => Ok(()),
    }
}

impl Case {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        required_text("subject", &self.subject, MAX_NAME)?;
        optional_text("resolution", &self.resolution, MAX_NOTES)?;
        score("satisfaction", self.satisfaction)?;
        if let Some(assignee) = &self.assignee {
            reference("assignee", assignee)?;
        }
        optional_timestamp("due_at", self.due_at)?;
        optional_timestamp("escalated_at", self.escalated_at)?;
        if self.status_history.len() > MAX_STATUS_HISTORY {
            return Err(ValidationError::out_of_range(
                "status_history",
                format!("at most {MAX_STATUS_HISTORY} entries"),
            ));
        }
        for change in &self.status_history {
            timestamp("status_history.at", change.at)?;
            reference("status_history.by", &change.by)?;
            optional_text("status_history.note", &change.note, MAX_CASE_NOTE)?;
        }
        if let Some(survey) = &self.survey {
            score("survey.score", Some(survey.score))?;
            optional_text("survey.comment", &survey.comment, MAX_CASE_NOTE)?;
            timestamp("survey.at", survey.at)?;
            reference("survey.by", &survey.by)?;
            // The history is append-only, so a merge never undoes this once both sides kept it.
            if !self.was_resolved() {
                return Err(ValidationError::SurveyBeforeResolution);
            }
        }
        Ok(())
    }
}

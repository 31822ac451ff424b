//! Opportunities (deals): their document mapping (the amount written whole, the stage history
//! an append-only list the store maintains), their projection (`opportunities`) and their
//! validation.

use automerge::{ROOT, ScalarValue};
use rusqlite::params;

use super::fields::*;
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

pub(super) fn read(
    f: &Fields,
    meta: RecordMeta,
    u: &mut Unread,
) -> Result<Opportunity, ValidationError> {
    let amount = map(f, "amount")?.ok_or_else(|| ValidationError::required("amount"))?;
    let stage_history = u
        .optional("stage_history", list(f, "stage_history"))?
        .iter()
        .map(|node| match node {
            Node::Map(m) => Ok(StageChange {
                stage: req_enum(m, "stage", Stage::parse)?,
                at: req_int(m, "at")?,
                by: req_str(m, "by")?,
            }),
            _ => Err(wrong_type("stage_history", "a list of maps")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Opportunity {
        meta,
        customer_id: req_str(f, "customer_id")?,
        title: req_str(f, "title")?,
        stage: req_enum(f, "stage", Stage::parse)?,
        amount: Money {
            minor: req_int(amount, "minor")?,
            currency: req_str(amount, "currency")?,
        },
        probability: u.opt_small(f, "probability")?,
        expected_close_at: u.opt_int(f, "expected_close_at")?,
        owner: u.opt_str(f, "owner")?,
        lost_reason: u.opt_str(f, "lost_reason")?,
        stage_history,
    })
}

fn money_fields(m: &Money) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("minor", ScalarValue::Int(m.minor)),
        ("currency", ScalarValue::from(m.currency.as_str())),
    ]
}

fn stage_change_fields(c: &StageChange) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("stage", ScalarValue::from(c.stage.as_str())),
        ("at", ScalarValue::Int(c.at)),
        ("by", ScalarValue::from(c.by.as_str())),
    ]
}

/// Writes the fields of `n` that differ from `old` (`None` at creation).
pub(super) fn write(tx: &mut impl DocWrite, old: Option<&Opportunity>, n: &Opportunity) -> Am {
    put(
        tx,
        &ROOT,
        "customer_id",
        old.map(|o| &o.customer_id),
        &n.customer_id,
    )?;
    put(tx, &ROOT, "title", old.map(|o| &o.title), &n.title)?;
    put(tx, &ROOT, "stage", old.map(|o| &o.stage), &n.stage)?;
    let old_amount = old.map(|o| Some(o.amount.clone()));
    put_atomic(
        tx,
        "amount",
        old_amount.as_ref(),
        &Some(n.amount.clone()),
        money_fields,
    )?;
    put(
        tx,
        &ROOT,
        "probability",
        old.map(|o| &o.probability),
        &n.probability,
    )?;
    put(
        tx,
        &ROOT,
        "expected_close_at",
        old.map(|o| &o.expected_close_at),
        &n.expected_close_at,
    )?;
    put(tx, &ROOT, "owner", old.map(|o| &o.owner), &n.owner)?;
    put(
        tx,
        &ROOT,
        "lost_reason",
        old.map(|o| &o.lost_reason),
        &n.lost_reason,
    )?;
    put_list(
        tx,
        "stage_history",
        old.map(|o| o.stage_history.as_slice()),
        &n.stage_history,
        stage_change_fields,
    )
}

/// The store starts the stage history at creation.
pub(super) fn prepare_create(o: &mut Opportunity, now: Millis, user: &str) {
    o.stage_history = vec![StageChange {
        stage: o.stage.clone(),
        at: now,
        by: user.to_owned(),
    }];
}

/// The store appends to the stage history when an update changes the stage; whatever the
/// update carried as history is replaced by the stored one.
pub(super) fn record_stage_change(old: &Opportunity, n: &mut Opportunity, now: Millis, user: &str) {
    n.stage_history = old.stage_history.clone();
    if old.stage != n.stage {
        n.stage_history.push(StageChange {
            stage: n.stage.clone(),
            at: now,
            by: user.to_owned(),
        });
    }
}

/// The stage history is append-only: every earlier entry stays, in order (checked on the
/// writing device and by the server).
pub(super) fn check_written_once(
    old: &Opportunity,
    new: &Opportunity,
) -> Result<(), ValidationError> {
    if !super::history_kept(&old.stage_history, &new.stage_history) {
        return Err(ValidationError::Immutable {
            field: "stage_history".to_owned(),
        });
    }
    Ok(())
}

/// A deal the device moves to lost carries the reason for the loss (a text that is not blank).
/// Kept on the writing device only, like the visit's status moves: a lost deal without a reason
/// written by an older app, or merged from concurrent edits, still reads, syncs and can be
/// edited otherwise; it cannot lose a reason it has.
pub(super) fn check_lost_reason(
    old: Option<&Opportunity>,
    n: &Opportunity,
) -> Result<(), ValidationError> {
    let has_reason = |o: &Opportunity| {
        o.lost_reason
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty())
    };
    let was_lost_without_reason = old.is_some_and(|o| o.stage == Stage::Lost && !has_reason(o));
    if n.stage == Stage::Lost && !has_reason(n) && !was_lost_without_reason {
        return Err(ValidationError::required("lost_reason"));
    }
    Ok(())
}

pub(crate) fn project(tx: &rusqlite::Transaction<'_>, o: &Opportunity) -> crate::error::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO opportunities (id, customer_id, title, stage, amount_minor, currency,
           probability, expected_close_at, owner, deleted, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        o.meta.id,
        o.customer_id,
        o.title,
        o.stage.as_str(),
        o.amount.minor,
        o.amount.currency,
        o.probability,
        o.expected_close_at,
        o.owner,
        o.meta.deleted,
        o.meta.updated_at
    ])?;
    Ok(())
}

pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> crate::error::Result<()> {
    tx.prepare_cached("DELETE FROM opportunities WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

impl Opportunity {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        required_text("title", &self.title, MAX_NAME)?;
        self.amount.validate()?;
        if let Some(p) = self.probability
            && p > 100
        {
            return Err(ValidationError::out_of_range(
                "probability",
                "percent must be 0 to 100",
            ));
        }
        optional_timestamp("expected_close_at", self.expected_close_at)?;
        optional_text("owner", &self.owner, 100)?;
        optional_text("lost_reason", &self.lost_reason, MAX_SHORT)?;
        for change in &self.stage_history {
            timestamp("stage_history.at", change.at)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{field_of, meta};
    use super::*;

    #[test]
    fn money_and_opportunity_rules() {
        let ok = Opportunity {
            meta: meta(),
            ..Opportunity::new(
                "c1",
                "Deal",
                Money {
                    minor: 0,
                    currency: "EUR".into(),
                },
            )
        };
        assert_eq!(ok.validate(), Ok(()));
        let mut negative = ok.clone();
        negative.amount.minor = -1;
        assert_eq!(
            field_of(negative.validate().expect_err("negative")),
            "amount.minor"
        );
        let mut currency = ok.clone();
        currency.amount.currency = "eur".into();
        assert_eq!(
            field_of(currency.validate().expect_err("currency")),
            "amount.currency"
        );
        let mut probability = ok.clone();
        probability.probability = Some(101);
        assert_eq!(
            field_of(probability.validate().expect_err("probability")),
            "probability"
        );
    }
}

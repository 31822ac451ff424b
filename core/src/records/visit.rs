//! Visits: their document mapping (the status a map of every state reached, of which the
//! furthest wins; check-in and check-out written whole, once; order lines a list of maps),
//! their projection (`visits`), their validation, and the rules an update must keep (rep,
//! customer, check-in and check-out written once; the status only moves forward).

use automerge::{ObjType, ROOT, ScalarValue};
use rusqlite::params;

use super::fields::*;
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

pub(super) fn read(f: &Fields, meta: RecordMeta, u: &mut Unread) -> Result<Visit, ValidationError> {
    let order_lines = u
        .optional("order_lines", list(f, "order_lines"))?
        .iter()
        .map(|node| match node {
            Node::Map(m) => Ok(VisitOrderLine {
                product: req_str(m, "product")?,
                quantity: req_int(m, "quantity")?,
                unit_price_minor: req_int(m, "unit_price_minor")?,
            }),
            _ => Err(wrong_type("order_lines", "a list of maps")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Visit {
        meta,
        customer_id: req_str(f, "customer_id")?,
        rep: req_str(f, "rep")?,
        planned_start: u.opt_int(f, "planned_start")?,
        planned_end: u.opt_int(f, "planned_end")?,
        status: read_visit_status(f)?,
        check_in: u.optional("check_in", read_gps(f, "check_in"))?,
        check_out: u.optional("check_out", read_gps(f, "check_out"))?,
        outcome: u.opt_str(f, "outcome")?,
        notes: u.text(f, "notes")?,
        next_step: u.opt_str(f, "next_step")?,
        order_lines,
        verification: u.optional(
            "verification",
            opt_enum(f, "verification", Verification::parse),
        )?,
    })
}

fn read_gps(f: &Fields, key: &str) -> Result<Option<GpsStamp>, ValidationError> {
    let Some(m) = map(f, key)? else {
        return Ok(None);
    };
    Ok(Some(GpsStamp {
        at: req_int(m, "at")?,
        lat: req_f64(m, "lat")?,
        lon: req_f64(m, "lon")?,
        accuracy_m: req_f64(m, "accuracy_m")?,
        fix_at: req_int(m, "fix_at")?,
        mock: bool_or_false(m, "mock")?,
    }))
}

/// The furthest state reached ([`VisitStatus::rank`]). A reached state this code does not know
/// makes the status unknown (the first such in text order, the same on every replica): it
/// cannot be ranked against the others.
fn read_visit_status(f: &Fields) -> Result<VisitStatus, ValidationError> {
    let reached = set(f, "status")?;
    let mut furthest = None::<VisitStatus>;
    for state in reached {
        let status = VisitStatus::parse(&state);
        if status.is_unknown() {
            return Ok(status);
        }
        if furthest
            .as_ref()
            .is_none_or(|current| status.rank() > current.rank())
        {
            furthest = Some(status);
        }
    }
    furthest.ok_or_else(|| ValidationError::required("status"))
}

fn gps_fields(g: &GpsStamp) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("at", ScalarValue::Int(g.at)),
        ("lat", ScalarValue::F64(g.lat)),
        ("lon", ScalarValue::F64(g.lon)),
        ("accuracy_m", ScalarValue::F64(g.accuracy_m)),
        ("fix_at", ScalarValue::Int(g.fix_at)),
        ("mock", ScalarValue::Boolean(g.mock)),
    ]
}

fn order_line_fields(l: &VisitOrderLine) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("product", ScalarValue::from(l.product.as_str())),
        ("quantity", ScalarValue::Int(l.quantity)),
        ("unit_price_minor", ScalarValue::Int(l.unit_price_minor)),
    ]
}

/// Writes the fields of `n` that differ from `old` (`None` at creation).
pub(super) fn write(tx: &mut impl DocWrite, old: Option<&Visit>, n: &Visit) -> Am {
    put(
        tx,
        &ROOT,
        "customer_id",
        old.map(|o| &o.customer_id),
        &n.customer_id,
    )?;
    put(tx, &ROOT, "rep", old.map(|o| &o.rep), &n.rep)?;
    put(
        tx,
        &ROOT,
        "planned_start",
        old.map(|o| &o.planned_start),
        &n.planned_start,
    )?;
    put(
        tx,
        &ROOT,
        "planned_end",
        old.map(|o| &o.planned_end),
        &n.planned_end,
    )?;
    if old.map(|o| &o.status) != Some(&n.status) {
        let id = container(tx, &ROOT, "status", ObjType::Map)?;
        tx.put(&id, n.status.as_str(), true)?;
    }
    put_atomic(
        tx,
        "check_in",
        old.map(|o| &o.check_in),
        &n.check_in,
        gps_fields,
    )?;
    put_atomic(
        tx,
        "check_out",
        old.map(|o| &o.check_out),
        &n.check_out,
        gps_fields,
    )?;
    put(tx, &ROOT, "outcome", old.map(|o| &o.outcome), &n.outcome)?;
    put_text(tx, "notes", old.map(|o| &o.notes), &n.notes)?;
    put(
        tx,
        &ROOT,
        "next_step",
        old.map(|o| &o.next_step),
        &n.next_step,
    )?;
    put_list(
        tx,
        "order_lines",
        old.map(|o| o.order_lines.as_slice()),
        &n.order_lines,
        order_line_fields,
    )?;
    put(
        tx,
        &ROOT,
        "verification",
        old.map(|o| &o.verification),
        &n.verification,
    )
}

/// A visit's rep and customer never change; a check-in and a check-out, once written, neither
/// (checked on the writing device and by the server).
pub(super) fn check_written_once(old: &Visit, new: &Visit) -> Result<(), ValidationError> {
    let immutable = |field: &str| {
        Err(ValidationError::Immutable {
            field: field.to_owned(),
        })
    };
    if old.rep != new.rep {
        return immutable("rep");
    }
    if old.customer_id != new.customer_id {
        return immutable("customer_id");
    }
    if old.check_in.is_some() && old.check_in != new.check_in {
        return immutable("check_in");
    }
    if old.check_out.is_some() && old.check_out != new.check_out {
        return immutable("check_out");
    }
    Ok(())
}

/// A visit's status only moves forward on one device ([`VisitStatus::can_move_to`]).
pub(super) fn check_status_move(old: &Visit, new: &Visit) -> Result<(), ValidationError> {
    old.status.check_move_to(&new.status)
}

pub(crate) fn project(tx: &rusqlite::Transaction<'_>, v: &Visit) -> crate::error::Result<()> {
    let day_at = v.check_in.as_ref().map(|c| c.at).or(v.planned_start);
    tx.prepare_cached(
        "INSERT OR REPLACE INTO visits (id, customer_id, rep, planned_start, planned_end, day_at, status,
           check_in_at, check_out_at, verification, deleted, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        v.meta.id,
        v.customer_id,
        v.rep,
        v.planned_start,
        v.planned_end,
        day_at,
        v.status.as_str(),
        v.check_in.as_ref().map(|c| c.at),
        v.check_out.as_ref().map(|c| c.at),
        v.verification.as_ref().map(Verification::as_str),
        v.meta.deleted,
        v.meta.updated_at
    ])?;
    Ok(())
}

pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> crate::error::Result<()> {
    tx.prepare_cached("DELETE FROM visits WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

impl Visit {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        reference("rep", &self.rep)?;
        optional_timestamp("planned_start", self.planned_start)?;
        optional_timestamp("planned_end", self.planned_end)?;
        if let (Some(start), Some(end)) = (self.planned_start, self.planned_end)
            && end < start
        {
            return Err(ValidationError::out_of_range(
                "planned_end",
                "ends before it starts",
            ));
        }
        if let Some(stamp) = &self.check_in {
            stamp.validate("check_in")?;
        }
        if let Some(stamp) = &self.check_out {
            stamp.validate("check_out")?;
            if self.check_in.is_none() {
                return Err(ValidationError::required("check_in"));
            }
        }
        optional_text("outcome", &self.outcome, MAX_SHORT)?;
        optional_text("next_step", &self.next_step, MAX_SHORT)?;
        max_len("notes", &self.notes, MAX_NOTES)?;
        for line in &self.order_lines {
            required_text("order_lines.product", &line.product, MAX_NAME)?;
            if line.quantity <= 0 {
                return Err(ValidationError::out_of_range(
                    "order_lines.quantity",
                    "quantity must be positive",
                ));
            }
            if line.unit_price_minor < 0 {
                return Err(ValidationError::out_of_range(
                    "order_lines.unit_price_minor",
                    "price cannot be negative",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{field_of, meta};
    use super::*;

    #[test]
    fn visit_rules() {
        let ok = Visit {
            meta: meta(),
            ..Visit::new("c1", "anna")
        };
        assert_eq!(ok.validate(), Ok(()));
        let stamp = GpsStamp {
            at: 1_790_000_000_000,
            lat: 52.5,
            lon: 13.4,
            accuracy_m: 5.0,
            fix_at: 1_790_000_000_000,
            mock: false,
        };
        let mut negative_accuracy = ok.clone();
        negative_accuracy.check_in = Some(GpsStamp {
            accuracy_m: -1.0,
            ..stamp.clone()
        });
        assert_eq!(
            field_of(negative_accuracy.validate().expect_err("accuracy")),
            "check_in.accuracy_m"
        );
        let mut out_without_in = ok.clone();
        out_without_in.check_out = Some(stamp.clone());
        assert_eq!(
            field_of(out_without_in.validate().expect_err("check_out")),
            "check_in"
        );
        let mut backwards = ok.clone();
        backwards.planned_start = Some(1_790_000_100_000);
        backwards.planned_end = Some(1_790_000_000_000);
        assert_eq!(
            field_of(backwards.validate().expect_err("planned")),
            "planned_end"
        );
        let mut zero_quantity = ok.clone();
        zero_quantity.order_lines.push(VisitOrderLine {
            product: "Bread".into(),
            quantity: 0,
            unit_price_minor: 100,
        });
        assert_eq!(
            field_of(zero_quantity.validate().expect_err("qty")),
            "order_lines.quantity"
        );
    }
}

//! Orders: their document mapping, their projection (`orders` and `order_lines`), their
//! validation and the rules an update keeps.
//!
//! Document: `customer_id`, `visit_id`, `currency` and `owner` are root scalars written once;
//! `status` is a map of every state the order reached, of which the furthest wins
//! ([`OrderStatus::rank`]) whatever order changes arrive in (the visit status's rule); `lines`
//! is a map from line id to a map of the line's fields, created with the document: lines added
//! on two devices are two keys, and an edit writes only the fields it changed, so a quantity
//! changed on one device and a discount on another both survive; a removed line is a deleted
//! key. `status_history` is a list the store appends to, like the opportunity's stage history.
//!
//! The rule that freezes an order lives here, once ([`check_written_once`]): once an order has
//! left draft its lines never change; only its status moves on. The store refuses such an
//! edit with [`ValidationError::OrderFrozen`], and the server re-checks it on the merged result
//! of every push (`authority/invariants.rs` calls the same function).

use std::collections::BTreeMap;

use automerge::{ObjType, ROOT, ScalarValue};
use rusqlite::params;

use super::fields::*;
use super::product::{MAX_PRICE_MINOR, MAX_SKU};
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

/// Most lines an order holds.
pub(crate) const MAX_ORDER_LINES: usize = 500;
/// Largest quantity of one line.
pub(crate) const MAX_QUANTITY: i64 = 1_000_000_000;
/// Most entries of a status history (an order has five states; a crafted one may have more).
const MAX_STATUS_HISTORY: usize = 100;

pub(super) fn read(f: &Fields, meta: RecordMeta, u: &mut Unread) -> Result<Order, ValidationError> {
    let lines = match map(f, "lines")? {
        None => Vec::new(),
        Some(lines) => lines
            .iter()
            .map(|(id, node)| match node {
                Node::Map(m) => read_line(id, m),
                _ => Err(wrong_type("lines", "a map of maps")),
            })
            .collect::<Result<_, _>>()?,
    };
    let status_history = u
        .optional("status_history", list(f, "status_history"))?
        .iter()
        .map(|node| match node {
            Node::Map(m) => Ok(OrderStatusChange {
                status: req_enum(m, "status", OrderStatus::parse)?,
                at: req_int(m, "at")?,
                by: req_str(m, "by")?,
            }),
            _ => Err(wrong_type("status_history", "a list of maps")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Order {
        meta,
        customer_id: req_str(f, "customer_id")?,
        visit_id: u.opt_str(f, "visit_id")?,
        currency: req_str(f, "currency")?,
        status: read_order_status(f)?,
        owner: req_str(f, "owner")?,
        ordered_at: req_int(f, "ordered_at")?,
        notes: u.text(f, "notes")?,
        lines,
        status_history,
    })
}

fn read_line(id: &str, m: &Fields) -> Result<OrderLine, ValidationError> {
    Ok(OrderLine {
        id: id.to_owned(),
        product_id: req_str(m, "product_id")?,
        sku: opt_str(m, "sku")?.unwrap_or_default(),
        name: opt_str(m, "name")?.unwrap_or_default(),
        quantity: req_int(m, "quantity")?,
        unit_price_minor: req_int(m, "unit_price_minor")?,
        tax_rate_bp: opt_small(m, "tax_rate_bp")?.unwrap_or(0),
        discount_bp: opt_small(m, "discount_bp")?.unwrap_or(0),
    })
}

/// The furthest state reached; a reached state this code does not know makes the status
/// unknown (the first such in text order, the same on every replica).
fn read_order_status(f: &Fields) -> Result<OrderStatus, ValidationError> {
    let mut furthest = None::<OrderStatus>;
    for state in set(f, "status")? {
        let status = OrderStatus::parse(&state);
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

fn line_fields(l: &OrderLine) -> [(&'static str, ScalarValue); 7] {
    [
        ("product_id", ScalarValue::from(l.product_id.as_str())),
        ("sku", ScalarValue::from(l.sku.as_str())),
        ("name", ScalarValue::from(l.name.as_str())),
        ("quantity", ScalarValue::Int(l.quantity)),
        ("unit_price_minor", ScalarValue::Int(l.unit_price_minor)),
        ("tax_rate_bp", ScalarValue::Int(i64::from(l.tax_rate_bp))),
        ("discount_bp", ScalarValue::Int(i64::from(l.discount_bp))),
    ]
}

fn status_change_fields(c: &OrderStatusChange) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("status", ScalarValue::from(c.status.as_str())),
        ("at", ScalarValue::Int(c.at)),
        ("by", ScalarValue::from(c.by.as_str())),
    ]
}

/// Lines by id: a new line is a new key, a changed one writes only the fields that differ, a
/// removed one is deleted.
fn write_lines(tx: &mut impl DocWrite, old: Option<&[OrderLine]>, new: &[OrderLine]) -> Am {
    if old == Some(new) {
        return Ok(());
    }
    let lines = container(tx, &ROOT, "lines", ObjType::Map)?;
    let old: BTreeMap<&str, &OrderLine> = old
        .unwrap_or(&[])
        .iter()
        .map(|l| (l.id.as_str(), l))
        .collect();
    for line in new {
        match old.get(line.id.as_str()) {
            Some(previous) if *previous == line => {}
            Some(previous) => {
                let element = container(tx, &lines, &line.id, ObjType::Map)?;
                let before = line_fields(previous);
                for (index, (field, value)) in line_fields(line).into_iter().enumerate() {
                    if before[index].1 != value {
                        tx.put(&element, field, value)?;
                    }
                }
            }
            None => {
                let element = tx.put_object(&lines, line.id.as_str(), ObjType::Map)?;
                for (field, value) in line_fields(line) {
                    tx.put(&element, field, value)?;
                }
            }
        }
    }
    for id in old.keys() {
        if !new.iter().any(|l| l.id == *id) {
            tx.delete(&lines, *id)?;
        }
    }
    Ok(())
}

/// Writes the fields of `n` that differ from `old` (`None` at creation).
pub(super) fn write(tx: &mut impl DocWrite, old: Option<&Order>, n: &Order) -> Am {
    put(
        tx,
        &ROOT,
        "customer_id",
        old.map(|o| &o.customer_id),
        &n.customer_id,
    )?;
    put(tx, &ROOT, "visit_id", old.map(|o| &o.visit_id), &n.visit_id)?;
    put(tx, &ROOT, "currency", old.map(|o| &o.currency), &n.currency)?;
    put(tx, &ROOT, "owner", old.map(|o| &o.owner), &n.owner)?;
    put(
        tx,
        &ROOT,
        "ordered_at",
        old.map(|o| &o.ordered_at),
        &n.ordered_at,
    )?;
    if old.map(|o| &o.status) != Some(&n.status) {
        let id = container(tx, &ROOT, "status", ObjType::Map)?;
        tx.put(&id, n.status.as_str(), true)?;
    }
    put_text(tx, "notes", old.map(|o| &o.notes), &n.notes)?;
    write_lines(tx, old.map(|o| o.lines.as_slice()), &n.lines)?;
    put_list(
        tx,
        "status_history",
        old.map(|o| o.status_history.as_slice()),
        &n.status_history,
        status_change_fields,
    )
}

/// Lines in the order the document reads them: by id.
fn sort_lines(o: &mut Order) {
    o.lines.sort_by(|a, b| a.id.cmp(&b.id));
}

/// The store starts the order: taken now (unless given), by its user when no owner is given,
/// and its status history.
pub(super) fn prepare_create(o: &mut Order, now: Millis, user: &str) {
    sort_lines(o);
    if o.ordered_at == 0 {
        o.ordered_at = now;
    }
    if o.owner.is_empty() {
        user.clone_into(&mut o.owner);
    }
    o.status_history = vec![OrderStatusChange {
        status: o.status.clone(),
        at: now,
        by: user.to_owned(),
    }];
}

/// On the writing device: the status only moves on, and the store appends the change to the
/// history (whatever history the update carried is replaced by the stored one).
pub(super) fn check_update(
    old: &Order,
    n: &mut Order,
    now: Millis,
    user: &str,
) -> Result<(), ValidationError> {
    old.status.check_move_to(&n.status)?;
    sort_lines(n);
    n.status_history = old.status_history.clone();
    if old.status != n.status {
        n.status_history.push(OrderStatusChange {
            status: n.status.clone(),
            at: now,
            by: user.to_owned(),
        });
    }
    Ok(())
}

/// Written once: the customer, the visit, the currency and the owner; the status history is
/// append-only; and once the order has left draft its lines never change (checked on the
/// writing device and by the server on the merged document).
pub(super) fn check_written_once(old: &Order, new: &Order) -> Result<(), ValidationError> {
    let immutable = |field: &str| {
        Err(ValidationError::Immutable {
            field: field.to_owned(),
        })
    };
    if old.customer_id != new.customer_id {
        return immutable("customer_id");
    }
    if old.visit_id != new.visit_id {
        return immutable("visit_id");
    }
    if old.currency != new.currency {
        return immutable("currency");
    }
    if old.owner != new.owner {
        return immutable("owner");
    }
    if !super::history_kept(&old.status_history, &new.status_history) {
        return immutable("status_history");
    }
    if old.status.is_frozen() && old.lines != new.lines {
        return Err(ValidationError::OrderFrozen {
            status: old.status.as_str().to_owned(),
        });
    }
    Ok(())
}

pub(crate) fn project(tx: &rusqlite::Transaction<'_>, o: &Order) -> crate::error::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO orders (id, customer_id, visit_id, owner, currency, status, ordered_at,
           deleted, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        o.meta.id,
        o.customer_id,
        o.visit_id,
        o.owner,
        o.currency,
        o.status.as_str(),
        o.ordered_at,
        o.meta.deleted,
        o.meta.updated_at
    ])?;
    tx.prepare_cached("DELETE FROM order_lines WHERE order_id = ?1")?
        .execute([&o.meta.id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO order_lines (order_id, line_id, product_id, sku, name, quantity, unit_price_minor,
           tax_rate_bp, discount_bp)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for l in &o.lines {
        insert.execute(params![
            o.meta.id,
            l.id,
            l.product_id,
            l.sku,
            l.name,
            l.quantity,
            l.unit_price_minor,
            l.tax_rate_bp,
            l.discount_bp
        ])?;
    }
    Ok(())
}

pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> crate::error::Result<()> {
    tx.prepare_cached("DELETE FROM orders WHERE id = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM order_lines WHERE order_id = ?1")?
        .execute([id])?;
    Ok(())
}

impl OrderLine {
    pub(crate) fn validate(&self) -> Check {
        reference("lines.id", &self.id)?;
        reference("lines.product_id", &self.product_id)?;
        max_len("lines.sku", &self.sku, MAX_SKU)?;
        required_text("lines.name", &self.name, MAX_NAME)?;
        if !(1..=MAX_QUANTITY).contains(&self.quantity) {
            return Err(ValidationError::out_of_range(
                "lines.quantity",
                format!("a quantity is 1 to {MAX_QUANTITY}"),
            ));
        }
        if !(0..=MAX_PRICE_MINOR).contains(&self.unit_price_minor) {
            return Err(ValidationError::out_of_range(
                "lines.unit_price_minor",
                format!("a price is 0 to {MAX_PRICE_MINOR} minor units"),
            ));
        }
        if self.tax_rate_bp > BASIS_POINTS {
            return Err(ValidationError::out_of_range(
                "lines.tax_rate_bp",
                "a tax rate is 0 to 10000 basis points",
            ));
        }
        if self.discount_bp > BASIS_POINTS {
            return Err(ValidationError::out_of_range(
                "lines.discount_bp",
                "a discount is 0 to 10000 basis points (100 %)",
            ));
        }
        Ok(())
    }
}

impl Order {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        if let Some(visit) = &self.visit_id {
            reference("visit_id", visit)?;
        }
        currency_code("currency", &self.currency)?;
        reference("owner", &self.owner)?;
        timestamp("ordered_at", self.ordered_at)?;
        max_len("notes", &self.notes, MAX_NOTES)?;
        if self.lines.len() > MAX_ORDER_LINES {
            return Err(ValidationError::out_of_range(
                "lines",
                format!("at most {MAX_ORDER_LINES} lines"),
            ));
        }
        for line in &self.lines {
            line.validate()?;
        }
        let ids: std::collections::BTreeSet<&str> =
            self.lines.iter().map(|l| l.id.as_str()).collect();
        if ids.len() != self.lines.len() {
            return Err(ValidationError::malformed(
                "lines.id",
                "two lines have one id",
            ));
        }
        if self.status_history.len() > MAX_STATUS_HISTORY {
            return Err(ValidationError::out_of_range(
                "status_history",
                format!("at most {MAX_STATUS_HISTORY} entries"),
            ));
        }
        for change in &self.status_history {
            timestamp("status_history.at", change.at)?;
            reference("status_history.by", &change.by)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{field_of, meta};
    use super::*;

    fn order() -> Order {
        let mut o = Order {
            meta: meta(),
            ordered_at: 1_790_000_000_000,
            ..Order::new("c1", "anna", "EUR")
        };
        o.lines.push(OrderLine {
            id: "l1".into(),
            product_id: "p1".into(),
            sku: "AB-1".into(),
            name: "Rye bread".into(),
            quantity: 2,
            unit_price_minor: 349,
            tax_rate_bp: 700,
            discount_bp: 0,
        });
        o
    }

    #[test]
    fn order_rules() {
        let ok = order();
        assert_eq!(ok.validate(), Ok(()));
        let broken = |edit: fn(&mut Order)| {
            let mut o = ok.clone();
            edit(&mut o);
            field_of(o.validate().expect_err("refused"))
        };
        assert_eq!(broken(|o| o.lines[0].quantity = 0), "lines.quantity");
        assert_eq!(broken(|o| o.lines[0].quantity = -3), "lines.quantity");
        assert_eq!(
            broken(|o| o.lines[0].unit_price_minor = -1),
            "lines.unit_price_minor"
        );
        assert_eq!(
            broken(|o| o.lines[0].discount_bp = 10_001),
            "lines.discount_bp"
        );
        assert_eq!(broken(|o| o.currency = "Euro".into()), "currency");
        assert_eq!(broken(|o| o.ordered_at = 0), "ordered_at");
    }

    #[test]
    fn a_submitted_order_keeps_its_lines() {
        let mut submitted = order();
        submitted.status = OrderStatus::Submitted;
        let mut edited = submitted.clone();
        edited.lines[0].quantity = 5;
        assert_eq!(
            check_written_once(&submitted, &edited),
            Err(ValidationError::OrderFrozen {
                status: "submitted".into()
            })
        );
        let mut cancelled = submitted.clone();
        cancelled.status = OrderStatus::Cancelled;
        cancelled.notes = "customer called".into();
        assert_eq!(check_written_once(&submitted, &cancelled), Ok(()));
        let draft = order();
        assert_eq!(
            check_written_once(&draft, &{
                let mut o = draft.clone();
                o.lines.clear();
                o
            }),
            Ok(())
        );
        let mut other_currency = draft.clone();
        other_currency.currency = "USD".into();
        assert_eq!(
            field_of(check_written_once(&draft, &other_currency).unwrap_err()),
            "currency"
        );
    }
}

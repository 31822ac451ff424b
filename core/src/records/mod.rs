//! Records: how each kind maps onto an Automerge document (and therefore how it merges), the
//! rows its projection writes, and its validation, one module per kind (`customer.rs`,
//! `contact.rs`, `opportunity.rs`, `visit.rs`, `task.rs`, `case.rs`, `activity.rs`). This file dispatches to
//! them; `fields.rs` holds what every kind shares (the bounded tree reader, field readers and
//! writers), `conflicts.rs` the values concurrent writers lost.
//!
//! Layout of every document (root map):
//! - `id`, `kind`, `created_at`, `created_by`: written once, at creation.
//! - `updated_at`, `deleted` and plain scalar fields: last writer wins per field; the values a
//!   concurrent writer lost stay in the document and are listed by [`conflicts`].
//! - `notes`: an Automerge Text, merged character by character.
//! - sets (`segments`, `phones`, `emails`): a map from item to `true`. A removal deletes only
//!   the entries its device saw, so a concurrent add survives: add wins.
//! - `address`, `custom_fields`: maps created with the document, merged per key.
//! - `location`, `amount`, `check_in`, `check_out`: small maps replaced as a whole on change, so
//!   a concurrent change never mixes the latitude of one writer with the longitude of another.
//! - visit `status`: a map of every state the visit has reached; the effective status is the
//!   furthest of them ([`VisitStatus::rank`]) whatever order the changes arrive in.
//! - `stage_history`, `order_lines`: lists of maps; the history is append-only.
//! - product `prices`: a map from currency to minor units, merged per currency.
//! - order `lines`: a map from line id to the line's fields, merged per line and per field;
//!   order `status` follows the visit status's rule (see `order.rs`).
//!
//! Every container object is created in the document's first change and never replaced, so
//! two devices never race to create the same container (which would make one of them lose).

mod activity;
mod case;
mod conflicts;
mod contact;
mod customer;
mod doc_write;
mod fields;
mod opportunity;
mod order;
mod product;
mod task;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
mod unknown_values;
mod unread;
mod visit;

use automerge::Automerge;

pub use conflicts::{FieldConflict, conflicts};
pub(crate) use product::parse_prices;
pub use unknown_values::UnknownValue;
pub(crate) use unknown_values::check_none_new;

use crate::error::ValidationError;
use crate::model::*;
use fields::{Am, DocWrite, Fields, doc_kind, read_meta, read_root, write_meta};
use unread::Unread;

/// A record of any kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum AnyRecord {
    Customer(Customer),
    Contact(Contact),
    Opportunity(Opportunity),
    Visit(Visit),
    Task(Task),
    Case(Case),
    Product(Product),
    Order(Order),
    Activity(Activity),
}

/// Implemented by the record types; the store's typed API is generic over it.
pub trait Record: Clone + PartialEq + Send + 'static {
    const KIND: Kind;
    fn meta(&self) -> &RecordMeta;
    fn meta_mut(&mut self) -> &mut RecordMeta;
    fn validate(&self) -> Result<(), ValidationError>;
    fn into_any(self) -> AnyRecord;
    fn from_any(any: AnyRecord) -> Option<Self>;
}

macro_rules! record_impl {
    ($($t:ident),*) => {$(
        impl Record for $t {
            const KIND: Kind = Kind::$t;
            fn meta(&self) -> &RecordMeta { &self.meta }
            fn meta_mut(&mut self) -> &mut RecordMeta { &mut self.meta }
            fn validate(&self) -> Result<(), ValidationError> { $t::validate(self) }
            fn into_any(self) -> AnyRecord { AnyRecord::$t(self) }
            fn from_any(any: AnyRecord) -> Option<Self> {
                match any { AnyRecord::$t(r) => Some(r), _ => None }
            }
        }
    )*};
}
record_impl!(
    Customer,
    Contact,
    Opportunity,
    Visit,
    Task,
    Case,
    Product,
    Order,
    Activity
);

impl AnyRecord {
    pub fn kind(&self) -> Kind {
        match self {
            AnyRecord::Customer(_) => Kind::Customer,
            AnyRecord::Contact(_) => Kind::Contact,
            AnyRecord::Opportunity(_) => Kind::Opportunity,
            AnyRecord::Visit(_) => Kind::Visit,
            AnyRecord::Task(_) => Kind::Task,
            AnyRecord::Case(_) => Kind::Case,
            AnyRecord::Product(_) => Kind::Product,
            AnyRecord::Order(_) => Kind::Order,
            AnyRecord::Activity(_) => Kind::Activity,
        }
    }

    pub fn meta(&self) -> &RecordMeta {
        match self {
            AnyRecord::Customer(r) => &r.meta,
            AnyRecord::Contact(r) => &r.meta,
            AnyRecord::Opportunity(r) => &r.meta,
            AnyRecord::Visit(r) => &r.meta,
            AnyRecord::Task(r) => &r.meta,
            AnyRecord::Case(r) => &r.meta,
            AnyRecord::Product(r) => &r.meta,
            AnyRecord::Order(r) => &r.meta,
            AnyRecord::Activity(r) => &r.meta,
        }
    }

    pub(crate) fn meta_mut(&mut self) -> &mut RecordMeta {
        match self {
            AnyRecord::Customer(r) => &mut r.meta,
            AnyRecord::Contact(r) => &mut r.meta,
            AnyRecord::Opportunity(r) => &mut r.meta,
            AnyRecord::Visit(r) => &mut r.meta,
            AnyRecord::Task(r) => &mut r.meta,
            AnyRecord::Case(r) => &mut r.meta,
            AnyRecord::Product(r) => &mut r.meta,
            AnyRecord::Order(r) => &mut r.meta,
            AnyRecord::Activity(r) => &mut r.meta,
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            AnyRecord::Customer(r) => r.validate(),
            AnyRecord::Contact(r) => r.validate(),
            AnyRecord::Opportunity(r) => r.validate(),
            AnyRecord::Visit(r) => r.validate(),
            AnyRecord::Task(r) => r.validate(),
            AnyRecord::Case(r) => r.validate(),
            AnyRecord::Product(r) => r.validate(),
            AnyRecord::Order(r) => r.validate(),
            AnyRecord::Activity(r) => r.validate(),
        }
    }

    /// Reads the record a document holds. Fails on documents that are not a valid record,
    /// a field of the wrong type included (the server's reading: it refuses such a push).
    pub fn read(doc: &Automerge) -> Result<AnyRecord, ValidationError> {
        Self::from_fields(&read_root(doc)?, &mut Unread::strict())
    }

    /// Reads the record a document holds as far as it can: an optional field whose value does
    /// not read (a string where a number is expected, written by a buggy or newer peer) reads
    /// as absent and is listed (see `unread.rs`); the device's reading. A required field that
    /// does not read still fails the read.
    pub(crate) fn read_leniently(doc: &Automerge) -> Result<LenientRead, ValidationError> {
        let mut unread = Unread::lenient();
        let record = Self::from_fields(&read_root(doc)?, &mut unread)?;
        Ok(LenientRead {
            record,
            unread_fields: unread.into_fields(),
        })
    }

    fn from_fields(f: &Fields, u: &mut Unread) -> Result<AnyRecord, ValidationError> {
        let meta = read_meta(f)?;
        Ok(match doc_kind(f)? {
            Kind::Customer => AnyRecord::Customer(customer::read(f, meta, u)?),
            Kind::Contact => AnyRecord::Contact(contact::read(f, meta, u)?),
            Kind::Opportunity => AnyRecord::Opportunity(opportunity::read(f, meta, u)?),
            Kind::Visit => AnyRecord::Visit(visit::read(f, meta, u)?),
            Kind::Task => AnyRecord::Task(task::read(f, meta, u)?),
            Kind::Case => AnyRecord::Case(case::read(f, meta, u)?),
            Kind::Product => AnyRecord::Product(product::read(f, meta, u)?),
            Kind::Order => AnyRecord::Order(order::read(f, meta, u)?),
            Kind::Activity => AnyRecord::Activity(activity::read(f, meta, u)?),
        })
    }

    /// Writes the difference between `old` (the stored record, `None` at creation) and `self`.
    pub(crate) fn write(&self, tx: &mut impl DocWrite, old: Option<&AnyRecord>) -> Am {
        write_meta(tx, self.kind(), old.map(AnyRecord::meta), self.meta())?;
        macro_rules! old {
            ($variant:ident) => {
                match old {
                    Some(AnyRecord::$variant(o)) => Some(o),
                    _ => None,
                }
            };
        }
        match self {
            AnyRecord::Customer(n) => customer::write(tx, old!(Customer), n),
            AnyRecord::Contact(n) => contact::write(tx, old!(Contact), n),
            AnyRecord::Opportunity(n) => opportunity::write(tx, old!(Opportunity), n),
            AnyRecord::Visit(n) => visit::write(tx, old!(Visit), n),
            AnyRecord::Task(n) => task::write(tx, old!(Task), n),
            AnyRecord::Case(n) => case::write(tx, old!(Case), n),
            AnyRecord::Product(n) => product::write(tx, old!(Product), n),
            AnyRecord::Order(n) => order::write(tx, old!(Order), n),
            AnyRecord::Activity(n) => activity::write(tx, old!(Activity), n),
        }
    }

    /// Rules that compare an update with the stored record, applied on the writing device.
    /// Also fills in what the store maintains itself (the opportunity stage history).
    pub(crate) fn check_update(
        &mut self,
        old: &AnyRecord,
        now: Millis,
        user: &str,
    ) -> Result<(), ValidationError> {
        check_written_once(old, self)?;
        match (old, self) {
            (AnyRecord::Visit(o), AnyRecord::Visit(n)) => visit::check_status_move(o, n),
            (AnyRecord::Opportunity(o), AnyRecord::Opportunity(n)) => {
                opportunity::record_stage_change(o, n, now, user);
                Ok(())
            }
            (AnyRecord::Order(o), AnyRecord::Order(n)) => order::check_update(o, n, now, user),
            (AnyRecord::Case(o), AnyRecord::Case(n)) => {
                case::record_status_change(o, n, now, user);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Rules of a write on this device that a merged record need not keep (`old`: the stored
    /// record, `None` at creation): a deal moved to lost carries its reason; a case is escalated
    /// by the server only.
    pub(crate) fn check_local_write(&self, old: Option<&AnyRecord>) -> Result<(), ValidationError> {
        match (old, self) {
            (None, AnyRecord::Opportunity(n)) => opportunity::check_lost_reason(None, n),
            (Some(AnyRecord::Opportunity(o)), AnyRecord::Opportunity(n)) => {
                opportunity::check_lost_reason(Some(o), n)
            }
            (old, AnyRecord::Case(n)) => case::check_not_escalated_here(
                match old {
                    Some(AnyRecord::Case(o)) => Some(o),
                    _ => None,
                },
                n,
            ),
            _ => Ok(()),
        }
    }

    /// Fills in what the store maintains at creation.
    pub(crate) fn prepare_create(&mut self, now: Millis, user: &str) {
        match self {
            AnyRecord::Opportunity(o) => opportunity::prepare_create(o, now, user),
            AnyRecord::Order(o) => order::prepare_create(o, now, user),
            AnyRecord::Case(c) => case::prepare_create(c, now, user),
            AnyRecord::Activity(a) => activity::prepare_create(a, now),
            _ => {}
        }
    }

    /// Writes the record's projection (its rows in the queryable tables); called inside the
    /// transaction that stores its document. `fresh`: the record is new to this store, so
    /// there is no earlier projection to remove.
    pub(crate) fn project(
        &self,
        tx: &rusqlite::Transaction<'_>,
        fresh: bool,
    ) -> crate::error::Result<()> {
        match self {
            AnyRecord::Customer(c) => customer::project(tx, c, fresh),
            AnyRecord::Contact(c) => contact::project(tx, c),
            AnyRecord::Opportunity(o) => opportunity::project(tx, o),
            AnyRecord::Visit(v) => visit::project(tx, v),
            AnyRecord::Task(t) => task::project(tx, t),
            AnyRecord::Case(c) => case::project(tx, c),
            AnyRecord::Product(p) => product::project(tx, p),
            AnyRecord::Order(o) => order::project(tx, o),
            AnyRecord::Activity(a) => activity::project(tx, a),
        }
    }
}

/// A record read by [`AnyRecord::read_leniently`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LenientRead {
    pub record: AnyRecord,
    /// Paths of the optional fields that did not read (`visit_cadence_days`,
    /// `check_in.accuracy_m`), in reading order; empty when the whole record read.
    pub unread_fields: Vec<String>,
}

/// Removes the projection of the record `id` of `kind` (its document left this device).
pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    kind: Kind,
    id: &str,
) -> crate::error::Result<()> {
    match kind {
        Kind::Customer => customer::remove_projection(tx, id),
        Kind::Contact => contact::remove_projection(tx, id),
        Kind::Opportunity => opportunity::remove_projection(tx, id),
        Kind::Visit => visit::remove_projection(tx, id),
        Kind::Task => task::remove_projection(tx, id),
        Kind::Case => case::remove_projection(tx, id),
        Kind::Product => product::remove_projection(tx, id),
        Kind::Order => order::remove_projection(tx, id),
        Kind::Activity => activity::remove_projection(tx, id),
    }
}

/// An append-only history (a deal's stages, an order's or a case's statuses) is kept when every
/// entry of `old` is still in `new`, in the same order; entries merged in from other devices may
/// sit between them.
fn history_kept<T: PartialEq>(old: &[T], new: &[T]) -> bool {
    let mut remaining = new.iter();
    old.iter().all(|entry| remaining.any(|e| e == entry))
}

/// Fields that are written once: the record's identity and creation, a visit's rep, customer,
/// check-in and check-out, a contact's customer, and the stage history (append-only); an
/// order's customer, visit, currency and owner, its status history (append-only), and its
/// lines once it has left draft ([`ValidationError::OrderFrozen`]); a case's status history
/// (append-only) and escalation time; an activity's customer. Checked
/// on the writing device and again by the server on the merged document.
pub fn check_written_once(old: &AnyRecord, new: &AnyRecord) -> Result<(), ValidationError> {
    let immutable = |field: &str| {
        Err(ValidationError::Immutable {
            field: field.to_owned(),
        })
    };
    let (o, n) = (old.meta(), new.meta());
    if o.id != n.id || old.kind() != new.kind() {
        return immutable("id");
    }
    if o.created_at != n.created_at || o.created_by != n.created_by {
        return immutable("created_at");
    }
    match (old, new) {
        (AnyRecord::Visit(o), AnyRecord::Visit(n)) => visit::check_written_once(o, n),
        (AnyRecord::Contact(o), AnyRecord::Contact(n)) => contact::check_written_once(o, n),
        (AnyRecord::Opportunity(o), AnyRecord::Opportunity(n)) => {
            opportunity::check_written_once(o, n)
        }
        (AnyRecord::Order(o), AnyRecord::Order(n)) => order::check_written_once(o, n),
        (AnyRecord::Case(o), AnyRecord::Case(n)) => case::check_written_once(o, n),
        (AnyRecord::Activity(o), AnyRecord::Activity(n)) => activity::check_written_once(o, n),
        _ => Ok(()),
    }
}

//! How each record kind maps onto an Automerge document, and therefore how it merges.
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
//!
//! Every container object is created in the document's first change and never replaced, so
//! two devices never race to create the same container (which would make one of them lose).

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::{Transactable, Transaction};
use automerge::{
    Automerge, AutomergeError, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, ValueRef,
};

use crate::error::ValidationError;
use crate::model::*;

// ---------------------------------------------------------------------------------------------
// Reading: one pass over the document into a small owned tree.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Str(String),
    Int(i64),
    F64(f64),
    Bool(bool),
    Null,
    Other,
    Map(Fields),
    List(Vec<Node>),
    Text(String),
}

pub(crate) type Fields = BTreeMap<String, Node>;

fn scalar_node(value: &automerge::ScalarValueRef<'_>) -> Node {
    use automerge::ScalarValueRef as S;
    match value {
        S::Str(s) => Node::Str(s.to_string()),
        S::Int(i) | S::Timestamp(i) | S::Counter(i) => Node::Int(*i),
        S::Uint(u) => i64::try_from(*u).map_or(Node::Other, Node::Int),
        S::F64(f) => Node::F64(*f),
        S::Boolean(b) => Node::Bool(*b),
        S::Null => Node::Null,
        S::Bytes(_) | S::Unknown { .. } => Node::Other,
    }
}

/// How deep a record's objects nest at most when read: the deepest record holds a list of maps
/// (order lines, stage history) under the root, so 8 leaves room to grow. Deeper objects are not
/// read: a crafted change can nest maps (or, through Automerge's run-length columns, make an
/// object its own descendant) deeper than any stack, and reading them recursively would
/// overflow it, which aborts the process (no `catch_unwind` contains that).
const MAX_DEPTH: usize = 8;

/// How many values a record holds at most when read (every scalar, map, list and text counts
/// one). A record is at most a few hundred; this bounds the work a crafted document can ask of
/// a read, however its objects are shared.
const MAX_VALUES: usize = 100_000;

/// Reads a document's objects into [`Node`]s within [`MAX_DEPTH`] and [`MAX_VALUES`].
struct TreeReader<'d> {
    doc: &'d Automerge,
    values: usize,
}

impl TreeReader<'_> {
    fn count(&mut self) -> Result<(), ValidationError> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(ValidationError::malformed(
                "document",
                format!("holds more than {MAX_VALUES} values"),
            ));
        }
        Ok(())
    }

    fn value(
        &mut self,
        value: &ValueRef<'_>,
        id: ObjId,
        depth: usize,
    ) -> Result<Node, ValidationError> {
        self.count()?;
        match value {
            ValueRef::Scalar(s) => Ok(scalar_node(s)),
            ValueRef::Object(t) => self.object(&id, *t, depth + 1),
        }
    }

    fn object(
        &mut self,
        id: &ObjId,
        obj_type: ObjType,
        depth: usize,
    ) -> Result<Node, ValidationError> {
        if depth > MAX_DEPTH {
            return Err(ValidationError::malformed(
                "document",
                format!("nests objects deeper than {MAX_DEPTH}"),
            ));
        }
        Ok(match obj_type {
            ObjType::Map | ObjType::Table => Node::Map(self.map(id, depth)?),
            ObjType::List => {
                let doc = self.doc;
                Node::List(
                    doc.list_range(id, ..)
                        .map(|item| self.value(&item.value, item.id(), depth))
                        .collect::<Result<_, _>>()?,
                )
            }
            ObjType::Text => Node::Text(self.doc.text(id).unwrap_or_default()),
        })
    }

    fn map(&mut self, obj: &ObjId, depth: usize) -> Result<Fields, ValidationError> {
        let doc = self.doc;
        doc.map_range(obj, ..)
            .map(|item| {
                Ok((
                    item.key.to_string(),
                    self.value(&item.value, item.id(), depth)?,
                ))
            })
            .collect()
    }
}

/// The document's current (merged) state as a tree.
pub(crate) fn read_root(doc: &Automerge) -> Result<Fields, ValidationError> {
    TreeReader { doc, values: 0 }.map(&ROOT, 0)
}

/// The kind a document declares, if any.
pub(crate) fn doc_kind(fields: &Fields) -> Result<Kind, ValidationError> {
    let text = req_str(fields, "kind")?;
    Kind::parse(&text).ok_or(ValidationError::UnknownValue {
        field: "kind".into(),
        value: text,
    })
}

fn wrong_type(field: &str, expected: &str) -> ValidationError {
    ValidationError::malformed(field, format!("expected {expected}"))
}

fn opt_str(f: &Fields, key: &str) -> Result<Option<String>, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(key, "a string")),
    }
}

fn req_str(f: &Fields, key: &str) -> Result<String, ValidationError> {
    opt_str(f, key)?.ok_or_else(|| ValidationError::required(key))
}

fn opt_int(f: &Fields, key: &str) -> Result<Option<i64>, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Int(i)) => Ok(Some(*i)),
        Some(_) => Err(wrong_type(key, "an integer")),
    }
}

fn req_int(f: &Fields, key: &str) -> Result<i64, ValidationError> {
    opt_int(f, key)?.ok_or_else(|| ValidationError::required(key))
}

fn opt_small<T: TryFrom<i64>>(f: &Fields, key: &str) -> Result<Option<T>, ValidationError> {
    opt_int(f, key)?
        .map(|v| T::try_from(v).map_err(|_| ValidationError::out_of_range(key, v.to_string())))
        .transpose()
}

fn req_f64(f: &Fields, key: &str) -> Result<f64, ValidationError> {
    match f.get(key) {
        Some(Node::F64(v)) => Ok(*v),
        Some(Node::Int(v)) => Ok(*v as f64),
        None | Some(Node::Null) => Err(ValidationError::required(key)),
        Some(_) => Err(wrong_type(key, "a number")),
    }
}

fn bool_or_false(f: &Fields, key: &str) -> Result<bool, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(false),
        Some(Node::Bool(b)) => Ok(*b),
        Some(_) => Err(wrong_type(key, "a boolean")),
    }
}

fn text(f: &Fields, key: &str) -> Result<String, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(String::new()),
        Some(Node::Text(s)) | Some(Node::Str(s)) => Ok(s.clone()),
        Some(_) => Err(wrong_type(key, "text")),
    }
}

fn map<'a>(f: &'a Fields, key: &str) -> Result<Option<&'a Fields>, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Map(m)) => Ok(Some(m)),
        Some(_) => Err(wrong_type(key, "a map")),
    }
}

fn list<'a>(f: &'a Fields, key: &str) -> Result<&'a [Node], ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(&[]),
        Some(Node::List(items)) => Ok(items),
        Some(_) => Err(wrong_type(key, "a list")),
    }
}

fn set(f: &Fields, key: &str) -> Result<BTreeSet<String>, ValidationError> {
    Ok(map(f, key)?
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default())
}

fn string_map(f: &Fields, key: &str) -> Result<BTreeMap<String, String>, ValidationError> {
    let Some(m) = map(f, key)? else {
        return Ok(BTreeMap::new());
    };
    m.iter()
        .map(|(k, v)| match v {
            Node::Str(s) => Ok((k.clone(), s.clone())),
            _ => Err(wrong_type(key, "string values")),
        })
        .collect()
}

/// An enum field as the document holds it: a value this code does not know reads as `Unknown`.
fn req_enum<T>(f: &Fields, key: &str, parse: fn(&str) -> T) -> Result<T, ValidationError> {
    Ok(parse(&req_str(f, key)?))
}

fn opt_enum<T>(f: &Fields, key: &str, parse: fn(&str) -> T) -> Result<Option<T>, ValidationError> {
    Ok(opt_str(f, key)?.map(|v| parse(&v)))
}

fn read_meta(f: &Fields) -> Result<RecordMeta, ValidationError> {
    Ok(RecordMeta {
        id: req_str(f, "id")?,
        created_at: req_int(f, "created_at")?,
        created_by: req_str(f, "created_by")?,
        updated_at: req_int(f, "updated_at")?,
        deleted: bool_or_false(f, "deleted")?,
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

// ---------------------------------------------------------------------------------------------
// Writing: only fields whose value differs from the stored record produce operations, so a
// device's change touches exactly the fields its user edited.

type Am<T = ()> = Result<T, AutomergeError>;

/// A value that maps to one Automerge scalar; `None` means the key is absent.
trait ToScalar: PartialEq {
    fn to_scalar(&self) -> Option<ScalarValue>;
}

impl ToScalar for String {
    fn to_scalar(&self) -> Option<ScalarValue> {
        Some(ScalarValue::from(self.as_str()))
    }
}
impl ToScalar for i64 {
    fn to_scalar(&self) -> Option<ScalarValue> {
        Some(ScalarValue::Int(*self))
    }
}
impl ToScalar for u32 {
    fn to_scalar(&self) -> Option<ScalarValue> {
        Some(ScalarValue::Int(i64::from(*self)))
    }
}
impl ToScalar for u8 {
    fn to_scalar(&self) -> Option<ScalarValue> {
        Some(ScalarValue::Int(i64::from(*self)))
    }
}
impl ToScalar for f64 {
    fn to_scalar(&self) -> Option<ScalarValue> {
        Some(ScalarValue::F64(*self))
    }
}
impl ToScalar for bool {
    fn to_scalar(&self) -> Option<ScalarValue> {
        Some(ScalarValue::Boolean(*self))
    }
}
impl<T: ToScalar> ToScalar for Option<T> {
    fn to_scalar(&self) -> Option<ScalarValue> {
        self.as_ref().and_then(ToScalar::to_scalar)
    }
}
macro_rules! enum_scalar {
    ($($t:ty),*) => {$(
        impl ToScalar for $t {
            fn to_scalar(&self) -> Option<ScalarValue> {
                Some(ScalarValue::from(self.as_str()))
            }
        }
    )*};
}
enum_scalar!(
    Kind,
    CustomerKind,
    Grade,
    Stage,
    Verification,
    TaskStatus,
    Severity,
    CaseStatus,
    LocationSource
);

fn put<T: ToScalar>(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    key: &str,
    old: Option<&T>,
    new: &T,
) -> Am {
    if old == Some(new) {
        return Ok(());
    }
    match new.to_scalar() {
        Some(value) => tx.put(obj, key, value),
        None if old.is_some() => tx.delete(obj, key),
        None => Ok(()),
    }
}

/// The id of the container at `key`, creating it when absent (only at document creation, see
/// the module docs).
fn container(tx: &mut Transaction<'_>, obj: &ObjId, key: &str, obj_type: ObjType) -> Am<ObjId> {
    if let Some((Value::Object(existing), id)) = tx.get(obj, key)?
        && existing == obj_type
    {
        return Ok(id);
    }
    tx.put_object(obj, key, obj_type)
}

fn put_text(tx: &mut Transaction<'_>, key: &str, old: Option<&String>, new: &String) -> Am {
    if old == Some(new) {
        return Ok(());
    }
    let id = container(tx, &ROOT, key, ObjType::Text)?;
    tx.update_text(&id, new.as_str())
}

fn put_set(
    tx: &mut Transaction<'_>,
    key: &str,
    old: Option<&BTreeSet<String>>,
    new: &BTreeSet<String>,
) -> Am {
    if old == Some(new) {
        return Ok(());
    }
    let id = container(tx, &ROOT, key, ObjType::Map)?;
    let empty = BTreeSet::new();
    let old = old.unwrap_or(&empty);
    for added in new.difference(old) {
        tx.put(&id, added.as_str(), true)?;
    }
    for removed in old.difference(new) {
        tx.delete(&id, removed.as_str())?;
    }
    Ok(())
}

fn put_string_map(
    tx: &mut Transaction<'_>,
    key: &str,
    old: Option<&BTreeMap<String, String>>,
    new: &BTreeMap<String, String>,
) -> Am {
    if old == Some(new) {
        return Ok(());
    }
    let id = container(tx, &ROOT, key, ObjType::Map)?;
    let empty = BTreeMap::new();
    let old = old.unwrap_or(&empty);
    for (k, v) in new {
        put(tx, &id, k, old.get(k), v)?;
    }
    for k in old.keys().filter(|k| !new.contains_key(*k)) {
        tx.delete(&id, k.as_str())?;
    }
    Ok(())
}

/// Writes a small value object as a whole (see the module docs).
fn put_atomic<T: PartialEq>(
    tx: &mut Transaction<'_>,
    key: &str,
    old: Option<&Option<T>>,
    new: &Option<T>,
    fields: fn(&T) -> Vec<(&'static str, ScalarValue)>,
) -> Am {
    if old == Some(new) {
        return Ok(());
    }
    match new {
        None if old.is_some_and(Option::is_some) => tx.delete(&ROOT, key),
        None => Ok(()),
        Some(value) => {
            let id = tx.put_object(&ROOT, key, ObjType::Map)?;
            for (field, scalar) in fields(value) {
                tx.put(&id, field, scalar)?;
            }
            Ok(())
        }
    }
}

/// Lists of small maps, diffed by position.
fn put_list<T: PartialEq>(
    tx: &mut Transaction<'_>,
    key: &str,
    old: Option<&[T]>,
    new: &[T],
    fields: fn(&T) -> Vec<(&'static str, ScalarValue)>,
) -> Am {
    if old == Some(new) {
        return Ok(());
    }
    let id = container(tx, &ROOT, key, ObjType::List)?;
    let old = old.unwrap_or(&[]);
    for (index, item) in new.iter().enumerate() {
        let element = match old.get(index) {
            Some(previous) if previous == item => continue,
            Some(_) => tx.put_object(&id, index, ObjType::Map)?,
            None => tx.insert_object(&id, index, ObjType::Map)?,
        };
        for (field, scalar) in fields(item) {
            tx.put(&element, field, scalar)?;
        }
    }
    for index in (new.len()..old.len()).rev() {
        tx.delete(&id, index)?;
    }
    Ok(())
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

fn location_fields(l: &GeoLocation) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("lat", ScalarValue::F64(l.lat)),
        ("lon", ScalarValue::F64(l.lon)),
        ("source", ScalarValue::from(l.source.as_str())),
        ("at", ScalarValue::Int(l.at)),
    ]
}

fn money_fields(m: &Money) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("minor", ScalarValue::Int(m.minor)),
        ("currency", ScalarValue::from(m.currency.as_str())),
    ]
}

fn order_line_fields(l: &OrderLine) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("product", ScalarValue::from(l.product.as_str())),
        ("quantity", ScalarValue::Int(l.quantity)),
        ("unit_price_minor", ScalarValue::Int(l.unit_price_minor)),
    ]
}

fn stage_change_fields(c: &StageChange) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("stage", ScalarValue::from(c.stage.as_str())),
        ("at", ScalarValue::Int(c.at)),
        ("by", ScalarValue::from(c.by.as_str())),
    ]
}

fn write_meta(
    tx: &mut Transaction<'_>,
    kind: Kind,
    old: Option<&RecordMeta>,
    new: &RecordMeta,
) -> Am {
    if old.is_none() {
        tx.put(&ROOT, "id", new.id.as_str())?;
        tx.put(&ROOT, "kind", kind.as_str())?;
        tx.put(&ROOT, "created_at", new.created_at)?;
        tx.put(&ROOT, "created_by", new.created_by.as_str())?;
    }
    put(
        tx,
        &ROOT,
        "updated_at",
        old.map(|o| &o.updated_at),
        &new.updated_at,
    )?;
    put(tx, &ROOT, "deleted", old.map(|o| &o.deleted), &new.deleted)
}

// ---------------------------------------------------------------------------------------------
// Per-kind mapping.

/// A record of any kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum AnyRecord {
    Customer(Customer),
    Contact(Contact),
    Opportunity(Opportunity),
    Visit(Visit),
    Task(Task),
    Case(Case),
}

/// Implemented by the six record types; the store's typed API is generic over it.
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
record_impl!(Customer, Contact, Opportunity, Visit, Task, Case);

impl AnyRecord {
    pub fn kind(&self) -> Kind {
        match self {
            AnyRecord::Customer(_) => Kind::Customer,
            AnyRecord::Contact(_) => Kind::Contact,
            AnyRecord::Opportunity(_) => Kind::Opportunity,
            AnyRecord::Visit(_) => Kind::Visit,
            AnyRecord::Task(_) => Kind::Task,
            AnyRecord::Case(_) => Kind::Case,
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
        }
    }

    /// Reads the record a document holds. Fails on documents that are not a valid record.
    pub fn read(doc: &Automerge) -> Result<AnyRecord, ValidationError> {
        Self::from_fields(&read_root(doc)?)
    }

    pub(crate) fn from_fields(f: &Fields) -> Result<AnyRecord, ValidationError> {
        let meta = read_meta(f)?;
        Ok(match doc_kind(f)? {
            Kind::Customer => {
                let address = map(f, "address")?;
                let addr = |key: &str| address.map_or(Ok(None), |a| opt_str(a, key));
                let location = match map(f, "location")? {
                    None => None,
                    Some(l) => Some(GeoLocation {
                        lat: req_f64(l, "lat")?,
                        lon: req_f64(l, "lon")?,
                        source: req_enum(l, "source", LocationSource::parse)?,
                        at: req_int(l, "at")?,
                    }),
                };
                AnyRecord::Customer(Customer {
                    meta,
                    name: req_str(f, "name")?,
                    customer_kind: req_enum(f, "customer_kind", CustomerKind::parse)?,
                    grade: opt_enum(f, "grade", Grade::parse)?,
                    segments: set(f, "segments")?,
                    phones: set(f, "phones")?,
                    emails: set(f, "emails")?,
                    address: Address {
                        line: addr("line")?,
                        city: addr("city")?,
                        region: addr("region")?,
                        postal_code: addr("postal_code")?,
                        country: addr("country")?,
                    },
                    location,
                    visit_radius_m: opt_small(f, "visit_radius_m")?
                        .unwrap_or(DEFAULT_VISIT_RADIUS_M),
                    visit_cadence_days: opt_small(f, "visit_cadence_days")?,
                    owner: opt_str(f, "owner")?,
                    territory: opt_str(f, "territory")?,
                    notes: text(f, "notes")?,
                    custom_fields: string_map(f, "custom_fields")?,
                })
            }
            Kind::Contact => AnyRecord::Contact(Contact {
                meta,
                customer_id: req_str(f, "customer_id")?,
                name: req_str(f, "name")?,
                title: opt_str(f, "title")?,
                phones: set(f, "phones")?,
                emails: set(f, "emails")?,
                notes: text(f, "notes")?,
            }),
            Kind::Opportunity => {
                let amount =
                    map(f, "amount")?.ok_or_else(|| ValidationError::required("amount"))?;
                let stage_history = list(f, "stage_history")?
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
                AnyRecord::Opportunity(Opportunity {
                    meta,
                    customer_id: req_str(f, "customer_id")?,
                    title: req_str(f, "title")?,
                    stage: req_enum(f, "stage", Stage::parse)?,
                    amount: Money {
                        minor: req_int(amount, "minor")?,
                        currency: req_str(amount, "currency")?,
                    },
                    probability: opt_small(f, "probability")?,
                    expected_close_at: opt_int(f, "expected_close_at")?,
                    owner: opt_str(f, "owner")?,
                    lost_reason: opt_str(f, "lost_reason")?,
                    stage_history,
                })
            }
            Kind::Visit => {
                let order_lines = list(f, "order_lines")?
                    .iter()
                    .map(|node| match node {
                        Node::Map(m) => Ok(OrderLine {
                            product: req_str(m, "product")?,
                            quantity: req_int(m, "quantity")?,
                            unit_price_minor: req_int(m, "unit_price_minor")?,
                        }),
                        _ => Err(wrong_type("order_lines", "a list of maps")),
                    })
                    .collect::<Result<_, _>>()?;
                AnyRecord::Visit(Visit {
                    meta,
                    customer_id: req_str(f, "customer_id")?,
                    rep: req_str(f, "rep")?,
                    planned_start: opt_int(f, "planned_start")?,
                    planned_end: opt_int(f, "planned_end")?,
                    status: read_visit_status(f)?,
                    check_in: read_gps(f, "check_in")?,
                    check_out: read_gps(f, "check_out")?,
                    outcome: opt_str(f, "outcome")?,
                    notes: text(f, "notes")?,
                    next_step: opt_str(f, "next_step")?,
                    order_lines,
                    verification: opt_enum(f, "verification", Verification::parse)?,
                })
            }
            Kind::Task => AnyRecord::Task(Task {
                meta,
                title: req_str(f, "title")?,
                due_at: opt_int(f, "due_at")?,
                status: req_enum(f, "status", TaskStatus::parse)?,
                assignee: opt_str(f, "assignee")?,
                linked_id: opt_str(f, "linked_id")?,
            }),
            Kind::Case => AnyRecord::Case(Case {
                meta,
                customer_id: req_str(f, "customer_id")?,
                subject: req_str(f, "subject")?,
                severity: req_enum(f, "severity", Severity::parse)?,
                status: req_enum(f, "status", CaseStatus::parse)?,
                resolution: opt_str(f, "resolution")?,
                satisfaction: opt_small(f, "satisfaction")?,
            }),
        })
    }

    /// Writes the difference between `old` (the stored record, `None` at creation) and `self`.
    pub(crate) fn write(&self, tx: &mut Transaction<'_>, old: Option<&AnyRecord>) -> Am {
        write_meta(tx, self.kind(), old.map(AnyRecord::meta), self.meta())?;
        macro_rules! old_field {
            ($variant:ident, $field:ident) => {
                match old {
                    Some(AnyRecord::$variant(o)) => Some(&o.$field),
                    _ => None,
                }
            };
        }
        match self {
            AnyRecord::Customer(n) => {
                put(tx, &ROOT, "name", old_field!(Customer, name), &n.name)?;
                put(
                    tx,
                    &ROOT,
                    "customer_kind",
                    old_field!(Customer, customer_kind),
                    &n.customer_kind,
                )?;
                put(tx, &ROOT, "grade", old_field!(Customer, grade), &n.grade)?;
                put_set(tx, "segments", old_field!(Customer, segments), &n.segments)?;
                put_set(tx, "phones", old_field!(Customer, phones), &n.phones)?;
                put_set(tx, "emails", old_field!(Customer, emails), &n.emails)?;
                let old_address = old_field!(Customer, address);
                if old_address != Some(&n.address) {
                    let id = container(tx, &ROOT, "address", ObjType::Map)?;
                    let a = &n.address;
                    put(tx, &id, "line", old_address.map(|a| &a.line), &a.line)?;
                    put(tx, &id, "city", old_address.map(|a| &a.city), &a.city)?;
                    put(tx, &id, "region", old_address.map(|a| &a.region), &a.region)?;
                    put(
                        tx,
                        &id,
                        "postal_code",
                        old_address.map(|a| &a.postal_code),
                        &a.postal_code,
                    )?;
                    put(
                        tx,
                        &id,
                        "country",
                        old_address.map(|a| &a.country),
                        &a.country,
                    )?;
                }
                put_atomic(
                    tx,
                    "location",
                    old_field!(Customer, location),
                    &n.location,
                    location_fields,
                )?;
                put(
                    tx,
                    &ROOT,
                    "visit_radius_m",
                    old_field!(Customer, visit_radius_m),
                    &n.visit_radius_m,
                )?;
                put(
                    tx,
                    &ROOT,
                    "visit_cadence_days",
                    old_field!(Customer, visit_cadence_days),
                    &n.visit_cadence_days,
                )?;
                put(tx, &ROOT, "owner", old_field!(Customer, owner), &n.owner)?;
                put(
                    tx,
                    &ROOT,
                    "territory",
                    old_field!(Customer, territory),
                    &n.territory,
                )?;
                put_text(tx, "notes", old_field!(Customer, notes), &n.notes)?;
                put_string_map(
                    tx,
                    "custom_fields",
                    old_field!(Customer, custom_fields),
                    &n.custom_fields,
                )
            }
            AnyRecord::Contact(n) => {
                put(
                    tx,
                    &ROOT,
                    "customer_id",
                    old_field!(Contact, customer_id),
                    &n.customer_id,
                )?;
                put(tx, &ROOT, "name", old_field!(Contact, name), &n.name)?;
                put(tx, &ROOT, "title", old_field!(Contact, title), &n.title)?;
                put_set(tx, "phones", old_field!(Contact, phones), &n.phones)?;
                put_set(tx, "emails", old_field!(Contact, emails), &n.emails)?;
                put_text(tx, "notes", old_field!(Contact, notes), &n.notes)
            }
            AnyRecord::Opportunity(n) => {
                put(
                    tx,
                    &ROOT,
                    "customer_id",
                    old_field!(Opportunity, customer_id),
                    &n.customer_id,
                )?;
                put(tx, &ROOT, "title", old_field!(Opportunity, title), &n.title)?;
                put(tx, &ROOT, "stage", old_field!(Opportunity, stage), &n.stage)?;
                let old_amount = old_field!(Opportunity, amount).map(|a| Some(a.clone()));
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
                    old_field!(Opportunity, probability),
                    &n.probability,
                )?;
                put(
                    tx,
                    &ROOT,
                    "expected_close_at",
                    old_field!(Opportunity, expected_close_at),
                    &n.expected_close_at,
                )?;
                put(tx, &ROOT, "owner", old_field!(Opportunity, owner), &n.owner)?;
                put(
                    tx,
                    &ROOT,
                    "lost_reason",
                    old_field!(Opportunity, lost_reason),
                    &n.lost_reason,
                )?;
                put_list(
                    tx,
                    "stage_history",
                    old_field!(Opportunity, stage_history).map(Vec::as_slice),
                    &n.stage_history,
                    stage_change_fields,
                )
            }
            AnyRecord::Visit(n) => {
                put(
                    tx,
                    &ROOT,
                    "customer_id",
                    old_field!(Visit, customer_id),
                    &n.customer_id,
                )?;
                put(tx, &ROOT, "rep", old_field!(Visit, rep), &n.rep)?;
                put(
                    tx,
                    &ROOT,
                    "planned_start",
                    old_field!(Visit, planned_start),
                    &n.planned_start,
                )?;
                put(
                    tx,
                    &ROOT,
                    "planned_end",
                    old_field!(Visit, planned_end),
                    &n.planned_end,
                )?;
                if old_field!(Visit, status) != Some(&n.status) {
                    let id = container(tx, &ROOT, "status", ObjType::Map)?;
                    tx.put(&id, n.status.as_str(), true)?;
                }
                put_atomic(
                    tx,
                    "check_in",
                    old_field!(Visit, check_in),
                    &n.check_in,
                    gps_fields,
                )?;
                put_atomic(
                    tx,
                    "check_out",
                    old_field!(Visit, check_out),
                    &n.check_out,
                    gps_fields,
                )?;
                put(tx, &ROOT, "outcome", old_field!(Visit, outcome), &n.outcome)?;
                put_text(tx, "notes", old_field!(Visit, notes), &n.notes)?;
                put(
                    tx,
                    &ROOT,
                    "next_step",
                    old_field!(Visit, next_step),
                    &n.next_step,
                )?;
                put_list(
                    tx,
                    "order_lines",
                    old_field!(Visit, order_lines).map(Vec::as_slice),
                    &n.order_lines,
                    order_line_fields,
                )?;
                put(
                    tx,
                    &ROOT,
                    "verification",
                    old_field!(Visit, verification),
                    &n.verification,
                )
            }
            AnyRecord::Task(n) => {
                put(tx, &ROOT, "title", old_field!(Task, title), &n.title)?;
                put(tx, &ROOT, "due_at", old_field!(Task, due_at), &n.due_at)?;
                put(tx, &ROOT, "status", old_field!(Task, status), &n.status)?;
                put(
                    tx,
                    &ROOT,
                    "assignee",
                    old_field!(Task, assignee),
                    &n.assignee,
                )?;
                put(
                    tx,
                    &ROOT,
                    "linked_id",
                    old_field!(Task, linked_id),
                    &n.linked_id,
                )
            }
            AnyRecord::Case(n) => {
                put(
                    tx,
                    &ROOT,
                    "customer_id",
                    old_field!(Case, customer_id),
                    &n.customer_id,
                )?;
                put(tx, &ROOT, "subject", old_field!(Case, subject), &n.subject)?;
                put(
                    tx,
                    &ROOT,
                    "severity",
                    old_field!(Case, severity),
                    &n.severity,
                )?;
                put(tx, &ROOT, "status", old_field!(Case, status), &n.status)?;
                put(
                    tx,
                    &ROOT,
                    "resolution",
                    old_field!(Case, resolution),
                    &n.resolution,
                )?;
                put(
                    tx,
                    &ROOT,
                    "satisfaction",
                    old_field!(Case, satisfaction),
                    &n.satisfaction,
                )
            }
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
            (AnyRecord::Visit(o), AnyRecord::Visit(n)) => o.status.check_move_to(&n.status)?,
            (AnyRecord::Opportunity(o), AnyRecord::Opportunity(n)) => {
                n.stage_history = o.stage_history.clone();
                if o.stage != n.stage {
                    n.stage_history.push(StageChange {
                        stage: n.stage.clone(),
                        at: now,
                        by: user.to_owned(),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Fills in what the store maintains at creation.
    pub(crate) fn prepare_create(&mut self, now: Millis, user: &str) {
        if let AnyRecord::Opportunity(o) = self {
            o.stage_history = vec![StageChange {
                stage: o.stage.clone(),
                at: now,
                by: user.to_owned(),
            }];
        }
    }
}

/// Fields that are written once: the record's identity and creation, a visit's rep, customer,
/// check-in and check-out, a contact's customer, and the stage history (append-only). Checked
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
        (AnyRecord::Visit(o), AnyRecord::Visit(n)) => {
            if o.rep != n.rep {
                return immutable("rep");
            }
            if o.customer_id != n.customer_id {
                return immutable("customer_id");
            }
            if o.check_in.is_some() && o.check_in != n.check_in {
                return immutable("check_in");
            }
            if o.check_out.is_some() && o.check_out != n.check_out {
                return immutable("check_out");
            }
        }
        (AnyRecord::Contact(o), AnyRecord::Contact(n)) if o.customer_id != n.customer_id => {
            return immutable("customer_id");
        }
        (AnyRecord::Opportunity(o), AnyRecord::Opportunity(n)) => {
            let mut remaining = n.stage_history.iter();
            let kept_in_order = o
                .stage_history
                .iter()
                .all(|entry| remaining.any(|e| e == entry));
            if !kept_in_order {
                return immutable("stage_history");
            }
        }
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Conflicts

/// A field on which concurrent writers disagreed. `values[0]` is the value every replica shows;
/// the others lost the last-writer-wins merge but stay readable.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldConflict {
    pub field: String,
    pub values: Vec<String>,
}

/// Bookkeeping keys whose concurrent writes are expected and not worth showing.
const NOT_CONFLICTS: &[&str] = &["updated_at", "status"];

fn render(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(text) => text.to_string(),
            other => other.to_string(),
        },
        Value::Object(ObjType::Map) => "{…}".to_owned(),
        Value::Object(other) => format!("{other:?}"),
    }
}

fn conflicts_in(doc: &Automerge, obj: &ObjId, prefix: &str, out: &mut Vec<FieldConflict>) {
    for item in doc.map_range(obj, ..) {
        let key = item.key.to_string();
        let field = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        // Only the root's address is a nested map whose fields merge; a crafted document may
        // nest "address" in itself without end.
        if let ValueRef::Object(ObjType::Map) = item.value
            && key == "address"
            && prefix.is_empty()
        {
            conflicts_in(doc, &item.id(), &field, out);
        }
        if !item.conflict || NOT_CONFLICTS.contains(&key.as_str()) {
            continue;
        }
        let winner = item.id();
        let Ok(all) = doc.get_all(obj, key.as_str()) else {
            continue;
        };
        let mut values: Vec<(bool, String)> = all
            .iter()
            .map(|(value, id)| (*id != winner, render(value)))
            .collect();
        values.sort();
        out.push(FieldConflict {
            field,
            values: values.into_iter().map(|(_, v)| v).collect(),
        });
    }
}

/// Fields whose concurrent values were merged by last-writer-wins, with the losing values.
pub fn conflicts(doc: &Automerge) -> Vec<FieldConflict> {
    let mut out = Vec::new();
    conflicts_in(doc, &ROOT, "", &mut out);
    out
}

//! What every record kind shares to map onto an Automerge document: reading a document into a
//! small owned tree within bounds, typed readers of its fields, and writers that turn only the
//! fields that changed into operations (see the merge rules in `mod.rs`).

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Automerge, AutomergeError, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, ValueRef};

pub(super) use super::doc_write::DocWrite;
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

pub(super) fn wrong_type(field: &str, expected: &str) -> ValidationError {
    ValidationError::malformed(field, format!("expected {expected}"))
}

pub(super) fn opt_str(f: &Fields, key: &str) -> Result<Option<String>, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(key, "a string")),
    }
}

pub(super) fn req_str(f: &Fields, key: &str) -> Result<String, ValidationError> {
    opt_str(f, key)?.ok_or_else(|| ValidationError::required(key))
}

pub(super) fn opt_int(f: &Fields, key: &str) -> Result<Option<i64>, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Int(i)) => Ok(Some(*i)),
        Some(_) => Err(wrong_type(key, "an integer")),
    }
}

pub(super) fn req_int(f: &Fields, key: &str) -> Result<i64, ValidationError> {
    opt_int(f, key)?.ok_or_else(|| ValidationError::required(key))
}

pub(super) fn opt_small<T: TryFrom<i64>>(
    f: &Fields,
    key: &str,
) -> Result<Option<T>, ValidationError> {
    opt_int(f, key)?
        .map(|v| T::try_from(v).map_err(|_| ValidationError::out_of_range(key, v.to_string())))
        .transpose()
}

pub(super) fn req_f64(f: &Fields, key: &str) -> Result<f64, ValidationError> {
    match f.get(key) {
        Some(Node::F64(v)) => Ok(*v),
        Some(Node::Int(v)) => Ok(*v as f64),
        None | Some(Node::Null) => Err(ValidationError::required(key)),
        Some(_) => Err(wrong_type(key, "a number")),
    }
}

pub(super) fn bool_or_false(f: &Fields, key: &str) -> Result<bool, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(false),
        Some(Node::Bool(b)) => Ok(*b),
        Some(_) => Err(wrong_type(key, "a boolean")),
    }
}

pub(super) fn opt_bool(f: &Fields, key: &str) -> Result<Option<bool>, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong_type(key, "a boolean")),
    }
}

pub(super) fn text(f: &Fields, key: &str) -> Result<String, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(String::new()),
        Some(Node::Text(s)) | Some(Node::Str(s)) => Ok(s.clone()),
        Some(_) => Err(wrong_type(key, "text")),
    }
}

pub(super) fn map<'a>(f: &'a Fields, key: &str) -> Result<Option<&'a Fields>, ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Map(m)) => Ok(Some(m)),
        Some(_) => Err(wrong_type(key, "a map")),
    }
}

pub(super) fn list<'a>(f: &'a Fields, key: &str) -> Result<&'a [Node], ValidationError> {
    match f.get(key) {
        None | Some(Node::Null) => Ok(&[]),
        Some(Node::List(items)) => Ok(items),
        Some(_) => Err(wrong_type(key, "a list")),
    }
}

pub(super) fn set(f: &Fields, key: &str) -> Result<BTreeSet<String>, ValidationError> {
    Ok(map(f, key)?
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default())
}

pub(super) fn string_map(
    f: &Fields,
    key: &str,
) -> Result<BTreeMap<String, String>, ValidationError> {
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

/// A map of integers (a product's prices per currency).
pub(super) fn int_map(f: &Fields, key: &str) -> Result<BTreeMap<String, i64>, ValidationError> {
    let Some(m) = map(f, key)? else {
        return Ok(BTreeMap::new());
    };
    m.iter()
        .map(|(k, v)| match v {
            Node::Int(i) => Ok((k.clone(), *i)),
            _ => Err(wrong_type(key, "integer values")),
        })
        .collect()
}

/// An enum field as the document holds it: a value this code does not know reads as `Unknown`.
pub(super) fn req_enum<T>(
    f: &Fields,
    key: &str,
    parse: fn(&str) -> T,
) -> Result<T, ValidationError> {
    Ok(parse(&req_str(f, key)?))
}

pub(super) fn opt_enum<T>(
    f: &Fields,
    key: &str,
    parse: fn(&str) -> T,
) -> Result<Option<T>, ValidationError> {
    Ok(opt_str(f, key)?.map(|v| parse(&v)))
}

pub(super) fn read_meta(f: &Fields) -> Result<RecordMeta, ValidationError> {
    Ok(RecordMeta {
        id: req_str(f, "id")?,
        created_at: req_int(f, "created_at")?,
        created_by: req_str(f, "created_by")?,
        updated_at: req_int(f, "updated_at")?,
        deleted: bool_or_false(f, "deleted")?,
    })
}

// ---------------------------------------------------------------------------------------------
// Writing: only fields whose value differs from the stored record produce operations, so a
// device's change touches exactly the fields its user edited.

pub(super) type Am<T = ()> = Result<T, AutomergeError>;

/// A value that maps to one Automerge scalar; `None` means the key is absent.
pub(super) trait ToScalar: PartialEq {
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
    LocationSource,
    OrderStatus,
    ActivityChannel,
    ActivityDirection
);

pub(super) fn put<T: ToScalar>(
    tx: &mut impl DocWrite,
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
pub(super) fn container(
    tx: &mut impl DocWrite,
    obj: &ObjId,
    key: &str,
    obj_type: ObjType,
) -> Am<ObjId> {
    if let Some((existing, id)) = tx.object_at(obj, key)?
        && existing == obj_type
    {
        return Ok(id);
    }
    tx.put_object(obj, key, obj_type)
}

pub(super) fn put_text(
    tx: &mut impl DocWrite,
    key: &str,
    old: Option<&String>,
    new: &String,
) -> Am {
    if old == Some(new) {
        return Ok(());
    }
    let id = container(tx, &ROOT, key, ObjType::Text)?;
    tx.update_text(&id, new.as_str())
}

pub(super) fn put_set(
    tx: &mut impl DocWrite,
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

/// A map merged per key (custom fields, a product's prices).
pub(super) fn put_string_map<T: ToScalar>(
    tx: &mut impl DocWrite,
    key: &str,
    old: Option<&BTreeMap<String, T>>,
    new: &BTreeMap<String, T>,
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
pub(super) fn put_atomic<T: PartialEq>(
    tx: &mut impl DocWrite,
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
pub(super) fn put_list<T: PartialEq>(
    tx: &mut impl DocWrite,
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

pub(super) fn write_meta(
    tx: &mut impl DocWrite,
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
// Projection: what the kinds' rows share.

/// Set items one per line (items such as phone numbers contain spaces).
pub(super) fn join(values: &BTreeSet<String>) -> String {
    values
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

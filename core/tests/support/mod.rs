//! What several of core's test binaries share: a store in its own folder, the vocabularies and
//! typed customer edits the property tests pick from, how a lossy exchange delivers a message,
//! and reading a scalar out of a raw Automerge document.

// Each test binary uses a part of these helpers.
#![allow(dead_code)]

use automerge::{AutoCommit, ObjId, ReadDoc, ScalarValue, Value};
use fieldcrm_core::{Customer, GeoLocation, Grade, LocationSource, Store};
use proptest::prelude::*;
use tempfile::TempDir;

/// Products and orders for the property tests.
pub mod catalog;

// ---------------------------------------------------------------------------------------------
// Fixed vocabularies the random operations pick from.

/// 2023-11-14T22:13:20Z: planned visits and check-ins are around here.
pub const T0: i64 = 1_700_000_000_000;
pub const HOUR: i64 = 3_600_000;
pub const NAMES: &[&str] = &[
    "Acme",
    "Bolt Works",
    "Cedar Trading",
    "Delta Foods",
    "acme labs",
    "Echo Pharma",
];
pub const CITIES: &[&str] = &["Berlin", "Potsdam", "Bernau"];
pub const PHONES: &[&str] = &["030 1234", "030 5678", "+49 170 111", "0331 999"];
pub const SEGMENTS: &[&str] = &["retail", "wholesale", "pharma", "horeca"];
pub const TERRITORIES: &[&str] = &["north", "south"];
pub const SNIPPETS: &[&str] = &["call back ", "met the buyer. ", "x", "Grüße "];
pub const POINTS: &[(f64, f64)] = &[
    (52.52, 13.405),
    (52.53, 13.41),
    (52.40, 13.06),
    (52.68, 13.58),
    (48.14, 11.58),
];

/// The user of replica `replica`.
pub fn user(replica: usize) -> String {
    format!("rep{replica}")
}

/// A store in a folder of its own, signed in as `user_id`.
pub fn open_store(user_id: &str) -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = Store::open(dir.path().join("store.sqlite")).unwrap();
    store.set_user(user_id).unwrap();
    (dir, store)
}

// ---------------------------------------------------------------------------------------------
// Typed edits of a customer. Indices are taken modulo the size of whatever they pick from, so
// every generated value is meaningful and shrinks towards "the first one".

#[derive(Debug, Clone)]
pub enum CustomerEdit {
    Name(usize),
    Grade(Option<usize>),
    City(Option<usize>),
    AddPhone(usize),
    RemovePhone(usize),
    AddSegment(usize),
    RemoveSegment(usize),
    InsertNote { at: usize, snippet: usize },
    DeleteNote { at: usize, len: usize },
    Location(Option<usize>),
    Owner(Option<usize>),
    Territory(Option<usize>),
    Cadence(Option<u32>),
}

pub fn customer_edit() -> impl Strategy<Value = CustomerEdit> {
    prop_oneof![
        (0..NAMES.len()).prop_map(CustomerEdit::Name),
        proptest::option::of(0..3usize).prop_map(CustomerEdit::Grade),
        proptest::option::of(0..CITIES.len()).prop_map(CustomerEdit::City),
        (0..PHONES.len()).prop_map(CustomerEdit::AddPhone),
        (0..PHONES.len()).prop_map(CustomerEdit::RemovePhone),
        (0..SEGMENTS.len()).prop_map(CustomerEdit::AddSegment),
        (0..SEGMENTS.len()).prop_map(CustomerEdit::RemoveSegment),
        (0..64usize, 0..SNIPPETS.len())
            .prop_map(|(at, snippet)| CustomerEdit::InsertNote { at, snippet }),
        (0..64usize, 1..8usize).prop_map(|(at, len)| CustomerEdit::DeleteNote { at, len }),
        proptest::option::of(0..POINTS.len()).prop_map(CustomerEdit::Location),
        proptest::option::of(0..4usize).prop_map(CustomerEdit::Owner),
        proptest::option::of(0..TERRITORIES.len()).prop_map(CustomerEdit::Territory),
        proptest::option::of(1..60u32).prop_map(CustomerEdit::Cadence),
    ]
}

pub fn edit_customer(c: &mut Customer, edit: &CustomerEdit) {
    let opt = |index: Option<usize>, values: &[&str]| index.map(|i| values[i].to_owned());
    match *edit {
        CustomerEdit::Name(i) => c.name = NAMES[i].to_owned(),
        CustomerEdit::Grade(i) => c.grade = i.map(|i| Grade::ALL[i].clone()),
        CustomerEdit::City(i) => c.address.city = opt(i, CITIES),
        CustomerEdit::AddPhone(i) => {
            c.phones.insert(PHONES[i].to_owned());
        }
        CustomerEdit::RemovePhone(i) => {
            c.phones.remove(PHONES[i]);
        }
        CustomerEdit::AddSegment(i) => {
            c.segments.insert(SEGMENTS[i].to_owned());
        }
        CustomerEdit::RemoveSegment(i) => {
            c.segments.remove(SEGMENTS[i]);
        }
        CustomerEdit::InsertNote { at, snippet } => {
            let chars: Vec<char> = c.notes.chars().collect();
            let at = at % (chars.len() + 1);
            let mut notes: String = chars[..at].iter().collect();
            notes.push_str(SNIPPETS[snippet]);
            notes.extend(&chars[at..]);
            c.notes = notes;
        }
        CustomerEdit::DeleteNote { at, len } => {
            let chars: Vec<char> = c.notes.chars().collect();
            let at = at % (chars.len() + 1);
            let end = (at + len).min(chars.len());
            c.notes = chars[..at].iter().chain(&chars[end..]).collect();
        }
        CustomerEdit::Location(i) => {
            c.location = i.map(|i| GeoLocation {
                lat: POINTS[i].0,
                lon: POINTS[i].1,
                source: LocationSource::Manual,
                at: T0 + HOUR,
            });
        }
        CustomerEdit::Owner(i) => c.owner = i.map(user),
        CustomerEdit::Territory(i) => c.territory = opt(i, TERRITORIES),
        CustomerEdit::Cadence(days) => c.visit_cadence_days = days,
    }
}

// ---------------------------------------------------------------------------------------------
// A lossy exchange.

/// What the exchange does with the messages it picks: delivers them; delivers them and keeps
/// them queued (they arrive again later); or drops them (the sender re-sends).
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Normal,
    Duplicate,
    Drop,
}

/// Mostly delivered, sometimes duplicated or dropped.
pub fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![4 => Just(Mode::Normal), 1 => Just(Mode::Duplicate), 1 => Just(Mode::Drop)]
}

/// Picks up to `batch` in-flight messages going the same way as the `pick`-th one (`same_way`)
/// and applies `mode` to the queue: taken off it unless duplicated. Returns the messages to
/// deliver, none when they are dropped (the sender sends them again later).
pub fn take_batch<M: Clone>(
    inflight: &mut Vec<M>,
    pick: usize,
    batch: usize,
    mode: Mode,
    same_way: impl Fn(&M, &M) -> bool,
) -> Vec<M> {
    if inflight.is_empty() {
        return Vec::new();
    }
    let len = inflight.len();
    let first = pick % len;
    let mut chosen = vec![first];
    for k in 1..len {
        let i = (first + k) % len;
        if chosen.len() < batch && same_way(&inflight[first], &inflight[i]) {
            chosen.push(i);
        }
    }
    let messages: Vec<M> = chosen.iter().map(|&i| inflight[i].clone()).collect();
    if !matches!(mode, Mode::Duplicate) {
        chosen.sort_unstable();
        for &i in chosen.iter().rev() {
            inflight.remove(i);
        }
    }
    if matches!(mode, Mode::Drop) {
        return Vec::new();
    }
    messages
}

// ---------------------------------------------------------------------------------------------
// Raw documents.

/// The scalar at `key` of the map `obj`, if it holds one.
pub fn scalar_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key).unwrap() {
        Some((Value::Scalar(s), _)) => Some(s.into_owned()),
        _ => None,
    }
}

/// The string at `key` of the map `obj`, if it holds one.
pub fn string_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match scalar_at(doc, obj, key)? {
        ScalarValue::Str(text) => Some(text.to_string()),
        _ => None,
    }
}

//! Two schema versions on the same documents: an older replica (a real `Store`, editing through
//! the typed API) and a newer app's replica that writes, with raw Automerge, fields this code
//! does not know (root keys, keys inside the address map this code knows, keys inside a map
//! this code does not know) besides edits of fields it knows. They edit the same customers in
//! random interleavings and exchange their changes both ways through a lossy exchange that
//! delivers in random order, duplicates and drops (the sender re-sends what was not delivered),
//! and sometimes sends a whole document. When everything has been delivered:
//! - both replicas hold the same history of every document (same heads, same changes);
//! - the older replica's typed record equals what it reads from the newer replica's document;
//! - every field the newer replica wrote holds its last value in the older replica's saved
//!   document, also after the store is closed and opened again.
//!
//! The older replica never writes a key it does not know, and Automerge keeps every key it did
//! not write (docs/ARCHITECTURE.md, "Architecture invariants"); `newer_peer.rs` shows the same
//! on a committed fixture.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::{BTreeMap, BTreeSet, HashSet};

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Change, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use fieldcrm_core::{AnyRecord, Customer, IncomingDoc, IncomingPayload, Store, authority};
use proptest::prelude::*;
use tempfile::TempDir;

mod support;
use support::{
    CITIES, CustomerEdit, Mode, NAMES, PHONES, customer_edit, edit_customer, mode, open_store,
    scalar_at, take_batch,
};

const OLDER_USER: &str = "rep0";
const SEED_CUSTOMERS: usize = 3;

// ---------------------------------------------------------------------------------------------
// What the newer app writes that this code does not know.

/// Where a field of the newer schema lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Root,
    /// Inside `address`, a map this code knows and writes too.
    Address,
    /// Inside `loyalty`, a map this code does not know (created by the newer app's first write
    /// into it).
    Loyalty,
}

impl Place {
    const ALL: [Place; 3] = [Place::Root, Place::Address, Place::Loyalty];

    /// Keys of the newer schema in this place (none of them known to this code).
    fn keys(self) -> &'static [&'static str] {
        match self {
            Place::Root => &["instagram", "vat_id"],
            Place::Address => &["district", "floor"],
            Place::Loyalty => &["tier", "points"],
        }
    }
}

const WORDS: &[&str] = &[
    "https://acme.example",
    "gold",
    "Mitte",
    "DE123456789",
    "Grüße",
];

#[derive(Debug, Clone)]
enum NewerEdit {
    /// Puts a value at a key of the newer schema.
    Put {
        place: usize,
        key: usize,
        value: ScalarValue,
    },
    /// Deletes a root key of the newer schema (when present).
    Delete {
        key: usize,
    },
    /// Known fields, written with the layout this code reads (core/src/record.rs).
    Name(usize),
    City(Option<usize>),
    Note {
        at_end: bool,
    },
    AddPhone(usize),
}

fn scalar() -> impl Strategy<Value = ScalarValue> {
    prop_oneof![
        (0..WORDS.len()).prop_map(|i| ScalarValue::Str(WORDS[i].into())),
        (-5..5_000i64).prop_map(ScalarValue::Int),
        any::<bool>().prop_map(ScalarValue::Boolean),
    ]
}

fn newer_edit() -> impl Strategy<Value = NewerEdit> {
    prop_oneof![
        4 => (0..Place::ALL.len(), 0..2usize, scalar())
            .prop_map(|(place, key, value)| NewerEdit::Put { place, key, value }),
        1 => (0..2usize).prop_map(|key| NewerEdit::Delete { key }),
        1 => (0..NAMES.len()).prop_map(NewerEdit::Name),
        1 => proptest::option::of(0..CITIES.len()).prop_map(NewerEdit::City),
        1 => any::<bool>().prop_map(|at_end| NewerEdit::Note { at_end }),
        1 => (0..PHONES.len()).prop_map(NewerEdit::AddPhone),
    ]
}

// ---------------------------------------------------------------------------------------------
// Operations.

#[derive(Debug, Clone)]
enum Op {
    /// The older replica edits a customer through the typed API.
    OlderEdit { target: usize, edit: CustomerEdit },
    /// The older replica creates a customer.
    OlderCreate { name: usize },
    /// The newer replica edits a customer it holds with raw Automerge.
    NewerEdit { target: usize, edit: NewerEdit },
    /// A replica sends the changes it made that the other one has not received and that are
    /// not on their way: messages of `chunk` changes, each grouped by document.
    Send {
        from_older: bool,
        chunk: usize,
        reverse: bool,
    },
    /// The exchange delivers the message at `pick` and up to `batch - 1` more for the same
    /// replica; or drops them; or delivers them and keeps them queued.
    Deliver {
        pick: usize,
        batch: usize,
        mode: Mode,
    },
    /// A whole document goes from one replica to the other.
    Snapshot { to_older: bool, target: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let target = 0..16usize;
    prop_oneof![
        4 => (target.clone(), customer_edit())
            .prop_map(|(target, edit)| Op::OlderEdit { target, edit }),
        1 => (0..NAMES.len()).prop_map(|name| Op::OlderCreate { name }),
        5 => (target.clone(), newer_edit())
            .prop_map(|(target, edit)| Op::NewerEdit { target, edit }),
        4 => (any::<bool>(), prop_oneof![Just(usize::MAX), 1..3usize], any::<bool>())
            .prop_map(|(from_older, chunk, reverse)| Op::Send { from_older, chunk, reverse }),
        5 => (0..64usize, 1..4usize, mode())
            .prop_map(|(pick, batch, mode)| Op::Deliver { pick, batch, mode }),
        1 => (any::<bool>(), target)
            .prop_map(|(to_older, target)| Op::Snapshot { to_older, target }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The two replicas and the exchange between them.

/// A change in transit: to the older replica (from the newer) or to the newer one.
#[derive(Debug, Clone)]
struct Message {
    to_older: bool,
    /// (document, raw changes), in the order the receiver gets them.
    docs: Vec<(String, Vec<Vec<u8>>)>,
    hashes: Vec<String>,
}

/// A change the newer replica made.
struct Made {
    hash: String,
    doc_id: String,
    bytes: Vec<u8>,
}

struct World {
    older: Store,
    older_dir: TempDir,
    /// The newer app's documents, by id.
    newer: BTreeMap<String, AutoCommit>,
    /// Every change the newer replica made, in order.
    made: Vec<Made>,
    /// Customers created by the older replica, in creation order.
    ids: Vec<String>,
    inflight: Vec<Message>,
    /// Hashes of changes the other replica has imported (a change is made on one side only, so
    /// one set serves both directions).
    delivered: HashSet<String>,
    /// The last value the newer replica wrote at (document, place, key); `None` once deleted.
    newer_fields: BTreeMap<(String, Place, &'static str), Option<ScalarValue>>,
}

fn newer_actor() -> ActorId {
    ActorId::from(b"newer-app-device".to_vec())
}

fn change_hash(change: &Change) -> String {
    hex::encode(change.hash().0)
}

/// The map at `key` of the root, if there is one.
fn map_at(doc: &AutoCommit, key: &str) -> Option<ObjId> {
    match doc.get(ROOT, key).unwrap() {
        Some((Value::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    }
}

fn text_at(doc: &AutoCommit, key: &str) -> Option<ObjId> {
    match doc.get(ROOT, key).unwrap() {
        Some((Value::Object(ObjType::Text), id)) => Some(id),
        _ => None,
    }
}

/// The value at `key` of `place` in `doc`.
fn newer_field(doc: &AutoCommit, place: Place, key: &str) -> Option<ScalarValue> {
    let obj = match place {
        Place::Root => ROOT,
        Place::Address => map_at(doc, "address")?,
        Place::Loyalty => map_at(doc, "loyalty")?,
    };
    scalar_at(doc, &obj, key)
}

impl World {
    /// The older replica creates the seed customers; the newer one loads them as snapshots.
    fn new() -> World {
        let (older_dir, older) = open_store(OLDER_USER);
        let mut world = World {
            older,
            older_dir,
            newer: BTreeMap::new(),
            made: Vec::new(),
            ids: Vec::new(),
            inflight: Vec::new(),
            delivered: HashSet::new(),
            newer_fields: BTreeMap::new(),
        };
        for name in NAMES.iter().take(SEED_CUSTOMERS) {
            let mut customer = Customer::new(*name);
            customer.address.city = Some(CITIES[0].to_owned());
            customer.notes = "first contact. ".to_owned();
            let id = world.older.create(customer).unwrap().meta.id;
            let doc = AutoCommit::load(&world.older.document_bytes(&id).unwrap().unwrap())
                .unwrap()
                .with_actor(newer_actor());
            world.newer.insert(id.clone(), doc);
            world.ids.push(id);
        }
        let seeded: Vec<String> = world
            .older
            .pending_changes(u32::MAX)
            .unwrap()
            .into_iter()
            .map(|c| c.hash)
            .collect();
        world.older.acknowledge(&seeded).unwrap();
        world
    }

    fn pick(&self, target: usize) -> &str {
        &self.ids[target % self.ids.len()]
    }

    fn apply(&mut self, op: &Op) {
        match op.clone() {
            Op::OlderEdit { target, edit } => {
                let id = self.pick(target).to_owned();
                let mut customer: Customer = self.older.get(&id).unwrap().unwrap();
                edit_customer(&mut customer, &edit);
                self.older.update(customer).unwrap();
            }
            Op::OlderCreate { name } => {
                let id = self
                    .older
                    .create(Customer::new(NAMES[name]))
                    .unwrap()
                    .meta
                    .id;
                self.ids.push(id);
            }
            Op::NewerEdit { target, edit } => {
                let id = self.pick(target).to_owned();
                self.newer_edit(&id, &edit);
            }
            Op::Send {
                from_older,
                chunk,
                reverse,
            } => {
                if from_older {
                    self.send_older(chunk, reverse);
                } else {
                    self.send_newer(chunk, reverse);
                }
            }
            Op::Deliver { pick, batch, mode } => self.deliver(pick, batch, mode),
            Op::Snapshot { to_older, target } => {
                let id = self.pick(target).to_owned();
                self.snapshot(&id, to_older);
            }
        }
    }

    /// One edit of the newer app, committed as one change; skipped while the newer replica
    /// does not hold the document yet (its first change has not arrived).
    fn newer_edit(&mut self, id: &str, edit: &NewerEdit) {
        let Some(doc) = self.newer.get_mut(id) else {
            return;
        };
        if doc.get(ROOT, "kind").unwrap().is_none() {
            return;
        }
        match edit {
            NewerEdit::Put { place, key, value } => {
                let place = Place::ALL[*place];
                let key = place.keys()[*key];
                let obj = match place {
                    Place::Root => ROOT,
                    Place::Address => map_at(doc, "address").expect("created with the customer"),
                    Place::Loyalty => match map_at(doc, "loyalty") {
                        Some(loyalty) => loyalty,
                        None => doc.put_object(ROOT, "loyalty", ObjType::Map).unwrap(),
                    },
                };
                doc.put(&obj, key, value.clone()).unwrap();
                self.newer_fields
                    .insert((id.to_owned(), place, key), Some(value.clone()));
            }
            NewerEdit::Delete { key } => {
                let key = Place::Root.keys()[*key];
                if doc.get(ROOT, key).unwrap().is_none() {
                    return;
                }
                doc.delete(ROOT, key).unwrap();
                self.newer_fields
                    .insert((id.to_owned(), Place::Root, key), None);
            }
            NewerEdit::Name(i) => doc.put(ROOT, "name", NAMES[*i]).unwrap(),
            NewerEdit::City(i) => {
                let address = map_at(doc, "address").expect("created with the customer");
                match i {
                    Some(i) => doc.put(&address, "city", CITIES[*i]).unwrap(),
                    None if doc.get(&address, "city").unwrap().is_some() => {
                        doc.delete(&address, "city").unwrap();
                    }
                    None => return,
                }
            }
            NewerEdit::Note { at_end } => {
                let notes = text_at(doc, "notes").expect("created with the customer");
                let at = if *at_end { doc.length(&notes) } else { 0 };
                doc.splice_text(&notes, at, 0, "seen by the new app. ")
                    .unwrap();
            }
            NewerEdit::AddPhone(i) => {
                let phones = map_at(doc, "phones").expect("created with the customer");
                doc.put(&phones, PHONES[*i], true).unwrap();
            }
        }
        // Automerge makes no change of a write that changes nothing (the value already there).
        let Some(hash) = doc.commit() else {
            return;
        };
        let change = doc
            .get_change_by_hash(&hash)
            .expect("the edit's change")
            .clone();
        self.made.push(Made {
            hash: change_hash(&change),
            doc_id: id.to_owned(),
            bytes: change.raw_bytes().to_vec(),
        });
    }

    fn queued(&self, hash: &str) -> bool {
        self.delivered.contains(hash)
            || self
                .inflight
                .iter()
                .any(|m| m.hashes.iter().any(|h| h == hash))
    }

    /// Queues `changes` (hash, document, bytes) in messages of `chunk` changes.
    fn queue(&mut self, to_older: bool, changes: Vec<(String, String, Vec<u8>)>, chunk: usize) {
        for part in changes.chunks(chunk.max(1)) {
            let mut docs: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
            for (_, doc_id, bytes) in part {
                match docs.iter_mut().find(|(id, _)| id == doc_id) {
                    Some((_, list)) => list.push(bytes.clone()),
                    None => docs.push((doc_id.clone(), vec![bytes.clone()])),
                }
            }
            self.inflight.push(Message {
                to_older,
                docs,
                hashes: part.iter().map(|(hash, _, _)| hash.clone()).collect(),
            });
        }
    }

    /// The older replica forgets what the newer one has, and sends the rest.
    fn send_older(&mut self, chunk: usize, reverse: bool) {
        let pending = self.older.pending_changes(u32::MAX).unwrap();
        let arrived: Vec<String> = pending
            .iter()
            .filter(|c| self.delivered.contains(&c.hash))
            .map(|c| c.hash.clone())
            .collect();
        self.older.acknowledge(&arrived).unwrap();
        let mut todo: Vec<(String, String, Vec<u8>)> = pending
            .into_iter()
            .filter(|c| !self.queued(&c.hash))
            .map(|c| (c.hash, c.doc_id, c.bytes))
            .collect();
        if reverse {
            todo.reverse();
        }
        self.queue(false, todo, chunk);
    }

    fn send_newer(&mut self, chunk: usize, reverse: bool) {
        let mut todo: Vec<(String, String, Vec<u8>)> = self
            .made
            .iter()
            .filter(|m| !self.queued(&m.hash))
            .map(|m| (m.hash.clone(), m.doc_id.clone(), m.bytes.clone()))
            .collect();
        if reverse {
            todo.reverse();
        }
        self.queue(true, todo, chunk);
    }

    fn deliver(&mut self, pick: usize, batch: usize, mode: Mode) {
        let messages = take_batch(&mut self.inflight, pick, batch, mode, |a, b| {
            a.to_older == b.to_older
        });
        let Some(to_older) = messages.first().map(|m| m.to_older) else {
            return;
        };
        let docs = messages.iter().flat_map(|m| m.docs.clone());
        if to_older {
            let batch = docs
                .map(|(doc_id, changes)| IncomingDoc {
                    doc_id,
                    payload: IncomingPayload::Changes(changes),
                })
                .collect();
            let report = self.older.import(batch).unwrap();
            assert!(report.refused.is_empty(), "refused: {report:?}");
        } else {
            for (doc_id, changes) in docs {
                let changes = changes
                    .into_iter()
                    .map(|bytes| Change::from_bytes(bytes).unwrap())
                    .collect::<Vec<_>>();
                self.newer
                    .entry(doc_id)
                    .or_insert_with(|| AutoCommit::new().with_actor(newer_actor()))
                    .apply_changes(changes)
                    .unwrap();
            }
        }
        for message in &messages {
            self.delivered.extend(message.hashes.iter().cloned());
        }
    }

    /// The whole document of one replica goes to the other (its changes are not marked
    /// delivered: they are sent again later, duplicates the receiver must ignore).
    fn snapshot(&mut self, id: &str, to_older: bool) {
        if to_older {
            let Some(doc) = self.newer.get_mut(id) else {
                return;
            };
            if doc.get(ROOT, "kind").unwrap().is_none() {
                return; // nothing the older replica could read yet
            }
            let report = self
                .older
                .import(vec![IncomingDoc {
                    doc_id: id.to_owned(),
                    payload: IncomingPayload::Snapshot(doc.save()),
                }])
                .unwrap();
            assert!(report.refused.is_empty(), "refused: {report:?}");
        } else {
            let bytes = self.older.document_bytes(id).unwrap().unwrap();
            let mut theirs = AutoCommit::load(&bytes).unwrap();
            self.newer
                .entry(id.to_owned())
                .or_insert_with(|| AutoCommit::new().with_actor(newer_actor()))
                .merge(&mut theirs)
                .unwrap();
        }
    }

    /// Delivers everything: whatever either side made is re-sent until the other has it. The
    /// last message goes first and each carries one change, so chains of changes arrive out of
    /// order and wait for their dependencies.
    fn settle(&mut self) {
        for _ in 0..10 {
            while !self.inflight.is_empty() {
                self.deliver(self.inflight.len() - 1, 1, Mode::Normal);
            }
            self.send_older(1, false);
            self.send_newer(1, false);
            if self.inflight.is_empty() {
                return;
            }
        }
        panic!("the exchange never drained");
    }

    fn check(mut self) {
        assert!(
            self.older.pending_changes(u32::MAX).unwrap().is_empty(),
            "the older replica's upload queue drained"
        );
        assert_eq!(self.older.sync_status().unwrap().pending_changes, 0);
        for id in &self.ids {
            let newer = self.newer.get_mut(id).expect("the newer replica has it");
            let saved = self.older.document_bytes(id).unwrap().unwrap();
            let mut older = AutoCommit::load(&saved).unwrap();

            // The same history.
            let heads =
                |doc: &mut AutoCommit| -> BTreeSet<_> { doc.get_heads().into_iter().collect() };
            assert_eq!(heads(&mut older), heads(newer), "heads of {id}");
            let newer_changes: BTreeSet<String> =
                newer.get_changes(&[]).iter().map(change_hash).collect();
            let older_changes: BTreeSet<String> = self
                .older
                .document_changes(id)
                .unwrap()
                .iter()
                .map(|bytes| authority::change_hash(bytes).expect("a change chunk"))
                .collect();
            assert_eq!(older_changes, newer_changes, "changes of {id}");

            // The same record, read by this code from either replica's document.
            let read_from_newer = AnyRecord::read(newer.document()).unwrap();
            assert_eq!(
                self.older.get_any(id).unwrap(),
                Some(read_from_newer),
                "record of {id}"
            );
        }

        self.assert_newer_fields_kept();
        // And they survive closing the store and opening it again.
        let path = self.older_dir.path().join("store.sqlite");
        self.older = Store::open(path).unwrap();
        self.assert_newer_fields_kept();
    }

    /// Every field of the newer schema holds, in the older replica's saved document, the last
    /// value the newer replica wrote (and the newer replica's document agrees).
    fn assert_newer_fields_kept(&mut self) {
        for ((id, place, key), expected) in &self.newer_fields {
            let saved = self.older.document_bytes(id).unwrap().unwrap();
            let older = AutoCommit::load(&saved).unwrap();
            assert_eq!(
                &newer_field(&older, *place, key),
                expected,
                "{place:?}.{key} of {id} in the older replica's document"
            );
            assert_eq!(
                &newer_field(&self.newer[id], *place, key),
                expected,
                "{place:?}.{key} of {id} in the newer replica's document"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn two_schema_versions_converge_and_keep_the_newer_fields(
        ops in prop::collection::vec(op(), 0..64),
    ) {
        let mut world = World::new();
        for op in &ops {
            world.apply(op);
        }
        world.settle();
        world.check();
    }
}

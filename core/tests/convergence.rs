//! Convergence property tests: 2 to 4 replicas (each a `Store` in its own directory, each with
//! its own user) run random operations and exchange their changes through a lossy "server" that
//! delivers messages in random order, duplicates some, drops some (the sender re-sends whatever
//! was not delivered to every other replica) and sometimes sends whole documents as snapshots.
//! When everything has been delivered, every replica must hold the same documents, the same
//! records and the same query results, every projection must match its documents, the upload
//! queues must be empty and no acknowledged edit may be lost.
//!
//! Plain tests at the end cover duplicate delivery, out-of-order delivery and corrupt input,
//! followed by minimal reproductions of the library bugs the property test found.

// Tests report failures by panicking; unwrap/expect are the plainest way to do so here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use fieldcrm_core::Record as _;
use fieldcrm_core::{
    AnyRecord, Case, CaseStatus, CaseSummary, CategorySummary, Customer, CustomerFilter,
    CustomerSummary, EARLIEST_TIMESTAMP, GeoLocation, GpsStamp, Grade, ImportError, ImportReport,
    IncomingDoc, IncomingPayload, Kind, LATEST_TIMESTAMP, LocationSource, Money, Opportunity,
    Order, OrderStatus, OrderStatusChange, PendingChange, Product, Query, QueryResult, Severity,
    Stage, StageChange, StageTotal, Store, Task, TaskStatus, TaskSummary, Visit, VisitStatus,
    VisitSummary, distance_m,
};
use proptest::prelude::*;
use tempfile::TempDir;

mod support;
use support::catalog::{
    OrderEdit, PRODUCT_TERMS, ProductEdit, catalog_product, check_order_projection, edit_order,
    edit_product, order_edit, product_edit,
};
use support::{
    CITIES, CustomerEdit, HOUR, Mode, NAMES, PHONES, POINTS, SEGMENTS, T0, customer_edit,
    edit_customer, mode, open_store, take_batch, user,
};

// ---------------------------------------------------------------------------------------------
// Fixed vocabularies the random operations pick from.

const CENTER: (f64, f64) = (52.52, 13.405);
const SEARCH_TERMS: &[&str] = &[
    "acme",
    "ber",
    "030",
    "0301234",
    "delta foods",
    "pots",
    "zzz",
];
const SEED_CUSTOMERS: usize = 3;
const SEED_VISITS: usize = 3;
const SEED_OPPORTUNITIES: usize = 2;

fn check_in_stamp(at: i64, point: (f64, f64)) -> GpsStamp {
    GpsStamp {
        at,
        lat: point.0,
        lon: point.1,
        accuracy_m: 12.0,
        fix_at: at,
        mock: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Operations. Indices are taken modulo the size of whatever they pick from, so every generated
// value is meaningful and shrinks towards "the first one".

#[derive(Debug, Clone)]
enum NewRecord {
    Customer {
        name: usize,
    },
    Visit {
        customer: usize,
        hours: i64,
    },
    Opportunity {
        customer: usize,
        minor: i64,
        usd: bool,
    },
    Task {
        hours: Option<i64>,
    },
    Case {
        customer: usize,
        severity: usize,
    },
    Product {
        index: usize,
        minor: i64,
    },
    Order {
        customer: usize,
    },
}

#[derive(Debug, Clone)]
enum Op {
    EditCustomer {
        replica: usize,
        target: usize,
        edit: CustomerEdit,
    },
    SetDeleted {
        replica: usize,
        target: usize,
        deleted: bool,
    },
    AdvanceVisit {
        replica: usize,
        target: usize,
        status: usize,
    },
    CheckIn {
        replica: usize,
        target: usize,
        minutes: i64,
        point: usize,
    },
    SetStage {
        replica: usize,
        target: usize,
        stage: usize,
    },
    SetAmount {
        replica: usize,
        target: usize,
        minor: i64,
    },
    SetTaskStatus {
        replica: usize,
        target: usize,
        status: usize,
    },
    SetCaseStatus {
        replica: usize,
        target: usize,
        status: usize,
    },
    EditProduct {
        replica: usize,
        target: usize,
        edit: ProductEdit,
    },
    EditOrder {
        replica: usize,
        target: usize,
        edit: OrderEdit,
    },
    Create {
        replica: usize,
        record: NewRecord,
    },
    /// The replica uploads (up to `limit` of) its pending changes: one message per recipient.
    Send {
        replica: usize,
        limit: u32,
        chunk: usize,
        reverse: bool,
    },
    /// The server delivers the message at `pick` and up to `batch - 1` more for the same
    /// recipient, in one import call; or drops them; or delivers them and keeps them queued.
    Deliver {
        pick: usize,
        batch: usize,
        mode: Mode,
    },
    /// A whole document goes from one replica to another as a snapshot, possibly in the same
    /// batch as some of its raw changes.
    Snapshot {
        from: usize,
        to: usize,
        target: usize,
        with_changes: Option<usize>,
        changes_first: bool,
    },
}

fn new_record() -> impl Strategy<Value = NewRecord> {
    prop_oneof![
        (0..NAMES.len()).prop_map(|name| NewRecord::Customer { name }),
        (0..16usize, 0..48i64).prop_map(|(customer, hours)| NewRecord::Visit { customer, hours }),
        (0..16usize, 0..100_000i64, any::<bool>()).prop_map(|(customer, minor, usd)| {
            NewRecord::Opportunity {
                customer,
                minor,
                usd,
            }
        }),
        proptest::option::of(0..48i64).prop_map(|hours| NewRecord::Task { hours }),
        (0..16usize, 0..4usize)
            .prop_map(|(customer, severity)| NewRecord::Case { customer, severity }),
        (0..8usize, 0..10_000i64).prop_map(|(index, minor)| NewRecord::Product { index, minor }),
        (0..16usize).prop_map(|customer| NewRecord::Order { customer }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let replica = 0..4usize;
    let target = 0..32usize;
    prop_oneof![
        6 => (replica.clone(), target.clone(), customer_edit())
            .prop_map(|(replica, target, edit)| Op::EditCustomer { replica, target, edit }),
        2 => (replica.clone(), target.clone(), any::<bool>())
            .prop_map(|(replica, target, deleted)| Op::SetDeleted { replica, target, deleted }),
        2 => (replica.clone(), target.clone(), 0..VisitStatus::ALL.len())
            .prop_map(|(replica, target, status)| Op::AdvanceVisit { replica, target, status }),
        1 => (replica.clone(), target.clone(), 0..120i64, 0..POINTS.len()).prop_map(
            |(replica, target, minutes, point)| Op::CheckIn { replica, target, minutes, point }
        ),
        2 => (replica.clone(), target.clone(), 0..Stage::ALL.len())
            .prop_map(|(replica, target, stage)| Op::SetStage { replica, target, stage }),
        1 => (replica.clone(), target.clone(), 0..100_000i64)
            .prop_map(|(replica, target, minor)| Op::SetAmount { replica, target, minor }),
        1 => (replica.clone(), target.clone(), 0..TaskStatus::ALL.len())
            .prop_map(|(replica, target, status)| Op::SetTaskStatus { replica, target, status }),
        1 => (replica.clone(), target.clone(), 0..CaseStatus::ALL.len())
            .prop_map(|(replica, target, status)| Op::SetCaseStatus { replica, target, status }),
        2 => (replica.clone(), target.clone(), product_edit())
            .prop_map(|(replica, target, edit)| Op::EditProduct { replica, target, edit }),
        5 => (replica.clone(), target.clone(), order_edit())
            .prop_map(|(replica, target, edit)| Op::EditOrder { replica, target, edit }),
        2 => (replica.clone(), new_record())
            .prop_map(|(replica, record)| Op::Create { replica, record }),
        5 => (
            replica.clone(),
            prop_oneof![Just(u32::MAX), 1..4u32],
            prop_oneof![Just(usize::MAX), 1..3usize],
            any::<bool>()
        )
            .prop_map(|(replica, limit, chunk, reverse)| Op::Send {
                replica,
                limit,
                chunk,
                reverse
            }),
        6 => (
            0..64usize,
            1..4usize,
            mode()
        )
            .prop_map(|(pick, batch, mode)| Op::Deliver { pick, batch, mode }),
        1 => (
            replica.clone(),
            replica,
            target,
            proptest::option::of(1..4usize),
            any::<bool>()
        )
            .prop_map(|(from, to, target, with_changes, changes_first)| Op::Snapshot {
                from,
                to,
                target,
                with_changes,
                changes_first
            }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The simulated world.

struct Replica {
    store: Store,
    _dir: TempDir,
}

#[derive(Debug, Clone)]
struct Message {
    from: usize,
    to: usize,
    docs: Vec<IncomingDoc>,
    /// Hashes of the sender's pending changes this message carries.
    hashes: Vec<String>,
}

/// Who wrote a field after the record was created, and the last value written.
#[derive(Debug, Default)]
struct Writes {
    writers: BTreeSet<usize>,
    last: String,
}

struct World {
    replicas: Vec<Replica>,
    /// Every record created anywhere, in creation order.
    ids: Vec<(Kind, String)>,
    inflight: Vec<Message>,
    /// (change hash, recipient) pairs that have been imported by the recipient.
    delivered: HashSet<(String, usize)>,
    /// Field values at creation, per (id, field).
    created: BTreeMap<(String, &'static str), String>,
    /// Later writes, per (id, field).
    writes: BTreeMap<(String, &'static str), Writes>,
    /// The furthest status any replica moved each visit to.
    furthest: BTreeMap<String, VisitStatus>,
    /// Every stage change any replica made.
    stage_changes: Vec<(String, StageChange)>,
    /// The furthest status any replica moved each order to.
    order_furthest: BTreeMap<String, OrderStatus>,
    /// Every order status change any replica made.
    order_status_changes: Vec<(String, OrderStatusChange)>,
}

/// The fields whose final value the "nothing acknowledged is lost" check follows, rendered.
fn tracked_fields(record: &AnyRecord) -> Vec<(&'static str, String)> {
    let deleted = ("deleted", format!("{:?}", record.meta().deleted));
    let mut fields = match record {
        AnyRecord::Customer(c) => vec![
            ("name", format!("{:?}", c.name)),
            ("grade", format!("{:?}", c.grade)),
            ("segments", format!("{:?}", c.segments)),
            ("phones", format!("{:?}", c.phones)),
            ("city", format!("{:?}", c.address.city)),
            ("location", format!("{:?}", c.location)),
            ("owner", format!("{:?}", c.owner)),
            ("territory", format!("{:?}", c.territory)),
            ("notes", format!("{:?}", c.notes)),
            ("visit_cadence_days", format!("{:?}", c.visit_cadence_days)),
        ],
        AnyRecord::Visit(v) => vec![
            ("status", format!("{:?}", v.status)),
            ("check_in", format!("{:?}", v.check_in)),
        ],
        AnyRecord::Opportunity(o) => vec![
            ("stage", format!("{:?}", o.stage)),
            ("stage_history", format!("{:?}", o.stage_history)),
            ("amount", format!("{:?}", o.amount)),
        ],
        AnyRecord::Task(t) => vec![("status", format!("{:?}", t.status))],
        AnyRecord::Product(p) => vec![
            ("prices", format!("{:?}", p.prices)),
            ("active", format!("{:?}", p.active)),
        ],
        AnyRecord::Order(o) => vec![
            ("status", format!("{:?}", o.status)),
            ("lines", format!("{:?}", o.lines)),
        ],
        AnyRecord::Case(c) => vec![("status", format!("{:?}", c.status))],
        AnyRecord::Contact(_) => vec![],
    };
    fields.push(deleted);
    fields
}

impl World {
    /// `n` replicas; replica 0 creates the seed records and every replica loads them as
    /// snapshots before the random phase.
    fn new(n: usize) -> World {
        let replicas = (0..n)
            .map(|i| {
                let (dir, store) = open_store(&user(i));
                Replica { store, _dir: dir }
            })
            .collect();
        let mut world = World {
            replicas,
            ids: Vec::new(),
            inflight: Vec::new(),
            delivered: HashSet::new(),
            created: BTreeMap::new(),
            writes: BTreeMap::new(),
            furthest: BTreeMap::new(),
            stage_changes: Vec::new(),
            order_furthest: BTreeMap::new(),
            order_status_changes: Vec::new(),
        };
        for k in 0..SEED_CUSTOMERS {
            let mut c = Customer::new(NAMES[k % NAMES.len()]);
            c.address.city = Some(CITIES[k % CITIES.len()].to_owned());
            c.phones = BTreeSet::from([PHONES[k % PHONES.len()].to_owned()]);
            c.segments = BTreeSet::from([SEGMENTS[k % SEGMENTS.len()].to_owned()]);
            c.location = Some(GeoLocation {
                lat: POINTS[k % POINTS.len()].0,
                lon: POINTS[k % POINTS.len()].1,
                source: LocationSource::Geocoded,
                at: T0,
            });
            c.owner = Some(user(k % n));
            c.notes = "first contact. ".to_owned();
            world.create(0, c);
        }
        let customers = world.ids_of(Kind::Customer);
        for k in 0..SEED_VISITS {
            let mut v = Visit::new(&customers[k % customers.len()], user(k % n));
            v.planned_start = Some(T0 + k as i64 * HOUR);
            v.planned_end = Some(T0 + k as i64 * HOUR + HOUR / 2);
            world.create(0, v);
        }
        for k in 0..SEED_OPPORTUNITIES {
            let amount = Money {
                minor: 10_000 * (k as i64 + 1),
                currency: "EUR".to_owned(),
            };
            let mut o = Opportunity::new(&customers[k % customers.len()], "Deal", amount);
            o.owner = Some(user(k % n));
            world.create(0, o);
        }
        let mut task = Task::new("Send the price list");
        task.assignee = Some(user(0));
        task.due_at = Some(T0 + HOUR);
        world.create(0, task);
        world.create(0, Case::new(&customers[0], "Pump leaks"));
        world.create(0, catalog_product(0, 349));
        world.create(0, catalog_product(1, 229));
        world.create(0, Order::new(&customers[0], user(0), "EUR"));
        let (order, products) = (world.ids_of(Kind::Order), world.ids_of(Kind::Product));
        let seeded_order = world.replicas[0]
            .store
            .add_order_line(&order[0], &products[0], 2)
            .unwrap()
            .into_any();
        for (field, value) in tracked_fields(&seeded_order) {
            world.created.insert((order[0].clone(), field), value);
        }

        let snapshot: Vec<IncomingDoc> = world
            .ids
            .iter()
            .map(|(_, id)| IncomingDoc {
                doc_id: id.clone(),
                payload: IncomingPayload::Snapshot(
                    world.replicas[0].store.document_bytes(id).unwrap().unwrap(),
                ),
            })
            .collect();
        for replica in &world.replicas[1..] {
            let report = replica.store.import(snapshot.clone()).unwrap();
            assert!(report.refused.is_empty(), "{report:?}");
            assert_eq!(report.applied as usize, snapshot.len(), "{report:?}");
        }
        let seeded: Vec<String> = world.replicas[0]
            .store
            .pending_changes(u32::MAX)
            .unwrap()
            .into_iter()
            .map(|c| c.hash)
            .collect();
        world.replicas[0].store.acknowledge(&seeded).unwrap();
        world
    }

    fn n(&self) -> usize {
        self.replicas.len()
    }

    fn store(&self, replica: usize) -> &Store {
        &self.replicas[replica % self.n()].store
    }

    fn ids_of(&self, kind: Kind) -> Vec<String> {
        self.ids
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id.clone())
            .collect()
    }

    fn pick(&self, kind: Kind, index: usize) -> Option<String> {
        let ids = self.ids_of(kind);
        (!ids.is_empty()).then(|| ids[index % ids.len()].clone())
    }

    fn create<R: fieldcrm_core::Record>(&mut self, replica: usize, record: R) {
        let stored = self.store(replica).create(record).unwrap().into_any();
        let id = stored.meta().id.clone();
        self.ids.push((stored.kind(), id.clone()));
        for (field, value) in tracked_fields(&stored) {
            self.created.insert((id.clone(), field), value);
        }
        self.track_extras(&stored);
    }

    /// Notes which fields a local write changed, as this replica saw them.
    fn track(&mut self, replica: usize, before: &AnyRecord, after: &AnyRecord) {
        let id = after.meta().id.clone();
        for ((field, old), (_, new)) in tracked_fields(before)
            .into_iter()
            .zip(tracked_fields(after))
        {
            if old != new {
                let writes = self.writes.entry((id.clone(), field)).or_default();
                writes.writers.insert(replica % self.replicas.len());
                writes.last = new;
            }
        }
        self.track_extras(after);
    }

    fn track_extras(&mut self, record: &AnyRecord) {
        match record {
            AnyRecord::Visit(v) => {
                let furthest = self
                    .furthest
                    .entry(v.meta.id.clone())
                    .or_insert(v.status.clone());
                if v.status.rank() > furthest.rank() {
                    *furthest = v.status.clone();
                }
            }
            AnyRecord::Opportunity(o) => {
                for change in &o.stage_history {
                    let entry = (o.meta.id.clone(), change.clone());
                    if !self.stage_changes.contains(&entry) {
                        self.stage_changes.push(entry);
                    }
                }
            }
            AnyRecord::Order(o) => {
                let furthest = self
                    .order_furthest
                    .entry(o.meta.id.clone())
                    .or_insert(o.status.clone());
                if o.status.rank() > furthest.rank() {
                    *furthest = o.status.clone();
                }
                for change in &o.status_history {
                    let entry = (o.meta.id.clone(), change.clone());
                    if !self.order_status_changes.contains(&entry) {
                        self.order_status_changes.push(entry);
                    }
                }
            }
            _ => {}
        }
    }

    /// Reads the record, lets `edit` change it (returning false to skip), saves it and tracks
    /// the write.
    fn edit<R: fieldcrm_core::Record>(
        &mut self,
        replica: usize,
        id: &str,
        edit: impl FnOnce(&mut R) -> bool,
    ) {
        let store = self.store(replica);
        let Some(before) = store.get::<R>(id).unwrap() else {
            return; // not yet synced to this replica
        };
        let mut record = before.clone();
        if !edit(&mut record) {
            return;
        }
        store.update(record).unwrap();
        let after = store.get_any(id).unwrap().unwrap();
        self.track(replica, &before.into_any(), &after);
    }

    fn apply(&mut self, op: &Op) {
        match op.clone() {
            Op::EditCustomer {
                replica,
                target,
                edit,
            } => {
                let Some(id) = self.pick(Kind::Customer, target) else {
                    return;
                };
                self.edit::<Customer>(replica, &id, |c| {
                    edit_customer(c, &edit);
                    true
                });
            }
            Op::SetDeleted {
                replica,
                target,
                deleted,
            } => {
                let (_, id) = self.ids[target % self.ids.len()].clone();
                let store = self.store(replica);
                let Some(before) = store.get_any(&id).unwrap() else {
                    return;
                };
                if deleted {
                    store.delete(&id).unwrap();
                } else {
                    store.restore(&id).unwrap();
                }
                let after = store.get_any(&id).unwrap().unwrap();
                assert_eq!(after.meta().deleted, deleted);
                self.track(replica, &before, &after);
            }
            Op::AdvanceVisit {
                replica,
                target,
                status,
            } => {
                let Some(id) = self.pick(Kind::Visit, target) else {
                    return;
                };
                let next = VisitStatus::ALL[status].clone();
                self.edit::<Visit>(replica, &id, |v| {
                    if !v.status.can_move_to(&next) {
                        return false;
                    }
                    v.status = next;
                    true
                });
            }
            Op::CheckIn {
                replica,
                target,
                minutes,
                point,
            } => {
                let Some(id) = self.pick(Kind::Visit, target) else {
                    return;
                };
                self.edit::<Visit>(replica, &id, |v| {
                    if v.check_in.is_some() {
                        return false;
                    }
                    let at = v.planned_start.unwrap_or(T0) + minutes * 60_000;
                    v.check_in = Some(check_in_stamp(at, POINTS[point]));
                    if v.status == VisitStatus::Planned {
                        v.status = VisitStatus::InProgress;
                    }
                    true
                });
            }
            Op::SetStage {
                replica,
                target,
                stage,
            } => {
                let Some(id) = self.pick(Kind::Opportunity, target) else {
                    return;
                };
                self.edit::<Opportunity>(replica, &id, |o| {
                    o.stage = Stage::ALL[stage].clone();
                    if o.stage == Stage::Lost {
                        // A device moves a deal to lost only with the reason.
                        o.lost_reason = Some("went with a competitor".into());
                    }
                    true
                });
            }
            Op::SetAmount {
                replica,
                target,
                minor,
            } => {
                let Some(id) = self.pick(Kind::Opportunity, target) else {
                    return;
                };
                self.edit::<Opportunity>(replica, &id, |o| {
                    o.amount.minor = minor;
                    true
                });
            }
            Op::SetTaskStatus {
                replica,
                target,
                status,
            } => {
                let Some(id) = self.pick(Kind::Task, target) else {
                    return;
                };
                self.edit::<Task>(replica, &id, |t| {
                    t.status = TaskStatus::ALL[status].clone();
                    true
                });
            }
            Op::SetCaseStatus {
                replica,
                target,
                status,
            } => {
                let Some(id) = self.pick(Kind::Case, target) else {
                    return;
                };
                self.edit::<Case>(replica, &id, |c| {
                    c.status = CaseStatus::ALL[status].clone();
                    true
                });
            }
            Op::EditProduct {
                replica,
                target,
                edit,
            } => {
                let Some(id) = self.pick(Kind::Product, target) else {
                    return;
                };
                self.edit::<Product>(replica, &id, |p| {
                    edit_product(p, &edit);
                    true
                });
            }
            Op::EditOrder {
                replica,
                target,
                edit,
            } => {
                let Some(id) = self.pick(Kind::Order, target) else {
                    return;
                };
                let store = self.store(replica);
                let Some(before) = store.get_any(&id).unwrap() else {
                    return;
                };
                if edit_order(store, &id, &self.ids_of(Kind::Product), &edit) {
                    let after = store.get_any(&id).unwrap().unwrap();
                    self.track(replica, &before, &after);
                }
            }
            Op::Create { replica, record } => self.create_new(replica % self.n(), record),
            Op::Send {
                replica,
                limit,
                chunk,
                reverse,
            } => self.send(replica % self.n(), limit, chunk, reverse),
            Op::Deliver { pick, batch, mode } => self.deliver(pick, batch, mode),
            Op::Snapshot {
                from,
                to,
                target,
                with_changes,
                changes_first,
            } => self.snapshot(from, to, target, with_changes, changes_first),
        }
    }

    fn create_new(&mut self, replica: usize, record: NewRecord) {
        let me = user(replica);
        match record {
            NewRecord::Customer { name } => {
                let mut c = Customer::new(NAMES[name]);
                c.owner = Some(me);
                self.create(replica, c);
            }
            NewRecord::Visit { customer, hours } => {
                let Some(customer) = self.pick(Kind::Customer, customer) else {
                    return;
                };
                let mut v = Visit::new(customer, me);
                v.planned_start = Some(T0 + hours * HOUR);
                v.planned_end = Some(T0 + hours * HOUR + HOUR);
                self.create(replica, v);
            }
            NewRecord::Opportunity {
                customer,
                minor,
                usd,
            } => {
                let Some(customer) = self.pick(Kind::Customer, customer) else {
                    return;
                };
                let currency = if usd { "USD" } else { "EUR" };
                let amount = Money {
                    minor,
                    currency: currency.to_owned(),
                };
                let mut o = Opportunity::new(customer, "New deal", amount);
                o.owner = Some(me);
                self.create(replica, o);
            }
            NewRecord::Task { hours } => {
                let mut t = Task::new("Follow up");
                t.due_at = hours.map(|h| T0 + h * HOUR);
                t.assignee = Some(me);
                self.create(replica, t);
            }
            NewRecord::Case { customer, severity } => {
                let Some(customer) = self.pick(Kind::Customer, customer) else {
                    return;
                };
                let mut c = Case::new(customer, "Complaint");
                c.severity = Severity::ALL[severity].clone();
                self.create(replica, c);
            }
            NewRecord::Product { index, minor } => {
                self.create(replica, catalog_product(index, minor));
            }
            NewRecord::Order { customer } => {
                let Some(customer) = self.pick(Kind::Customer, customer) else {
                    return;
                };
                self.create(replica, Order::new(customer, me, "EUR"));
            }
        }
    }

    /// Uploads pending changes: for every other replica, one message with the changes it has
    /// not received and that are not on their way to it (a dropped message is re-sent by a
    /// later upload), grouped by document; or several messages of `chunk` changes each.
    fn send(&mut self, from: usize, limit: u32, chunk: usize, reverse: bool) {
        let pending = self.replicas[from].store.pending_changes(limit).unwrap();
        let mut everywhere = Vec::new();
        for change in &pending {
            if (0..self.n())
                .all(|to| to == from || self.delivered.contains(&(change.hash.clone(), to)))
            {
                everywhere.push(change.hash.clone());
            }
        }
        self.replicas[from].store.acknowledge(&everywhere).unwrap();
        for to in (0..self.n()).filter(|&to| to != from) {
            let todo: Vec<&PendingChange> = pending
                .iter()
                .filter(|c| {
                    !self.delivered.contains(&(c.hash.clone(), to))
                        && !self
                            .inflight
                            .iter()
                            .any(|m| m.to == to && m.hashes.contains(&c.hash))
                })
                .collect();
            for part in todo.chunks(chunk.max(1)) {
                let mut groups: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
                for change in part {
                    groups
                        .entry(change.doc_id.as_str())
                        .or_default()
                        .push(change.bytes.clone());
                }
                let docs = groups
                    .into_iter()
                    .map(|(doc_id, mut changes)| {
                        if reverse {
                            changes.reverse();
                        }
                        IncomingDoc {
                            doc_id: doc_id.to_owned(),
                            payload: IncomingPayload::Changes(changes),
                        }
                    })
                    .collect();
                self.inflight.push(Message {
                    from,
                    to,
                    docs,
                    hashes: part.iter().map(|c| c.hash.clone()).collect(),
                });
            }
        }
    }

    fn deliver(&mut self, pick: usize, batch: usize, mode: Mode) {
        let messages = take_batch(&mut self.inflight, pick, batch, mode, |a, b| a.to == b.to);
        let Some(to) = messages.first().map(|m| m.to) else {
            return;
        };
        let docs: Vec<IncomingDoc> = messages.iter().flat_map(|m| m.docs.clone()).collect();
        let report = self.replicas[to].store.import(docs).unwrap();
        assert!(report.refused.is_empty(), "refused: {report:?}");
        for message in &messages {
            for hash in &message.hashes {
                self.delivered.insert((hash.clone(), to));
            }
        }
        // A sender forgets a change once every other replica has it.
        for message in &messages {
            let done: Vec<String> = message
                .hashes
                .iter()
                .filter(|h| {
                    (0..self.n())
                        .all(|r| r == message.from || self.delivered.contains(&((*h).clone(), r)))
                })
                .cloned()
                .collect();
            self.replicas[message.from]
                .store
                .acknowledge(&done)
                .unwrap();
        }
    }

    fn snapshot(
        &mut self,
        from: usize,
        to: usize,
        target: usize,
        with_changes: Option<usize>,
        changes_first: bool,
    ) {
        let from = from % self.n();
        let to = to % self.n();
        if from == to {
            return;
        }
        let (_, id) = self.ids[target % self.ids.len()].clone();
        let sender = &self.replicas[from].store;
        if sender.get_any(&id).unwrap().is_none() {
            return;
        }
        let mut docs = vec![IncomingDoc {
            doc_id: id.clone(),
            payload: IncomingPayload::Snapshot(sender.document_bytes(&id).unwrap().unwrap()),
        }];
        if let Some(last) = with_changes {
            let changes = sender.document_changes(&id).unwrap();
            let tail = changes[changes.len().saturating_sub(last)..].to_vec();
            let entry = IncomingDoc {
                doc_id: id,
                payload: IncomingPayload::Changes(tail),
            };
            if changes_first {
                docs.insert(0, entry);
            } else {
                docs.push(entry);
            }
        }
        let report = self.replicas[to].store.import(docs).unwrap();
        assert!(report.refused.is_empty(), "refused: {report:?}");
    }

    /// Delivers everything: every pending change is re-sent until every replica has it. The
    /// last message goes first, and each carries one change, so chains of changes arrive out of
    /// order and wait for their dependencies.
    fn settle(&mut self) {
        for _ in 0..10 {
            while !self.inflight.is_empty() {
                self.deliver(self.inflight.len() - 1, 1, Mode::Normal);
            }
            let mut sent = false;
            for from in 0..self.n() {
                if !self.replicas[from]
                    .store
                    .pending_changes(u32::MAX)
                    .unwrap()
                    .is_empty()
                {
                    sent = true;
                    self.send(from, u32::MAX, 1, false);
                }
            }
            if !sent && self.inflight.is_empty() {
                return;
            }
        }
        panic!("the upload queues never drained");
    }

    fn check(&self) {
        for (i, replica) in self.replicas.iter().enumerate() {
            let pending = replica.store.pending_changes(u32::MAX).unwrap();
            assert!(pending.is_empty(), "replica {i} still has {pending:?}");
            assert_eq!(replica.store.sync_status().unwrap().pending_changes, 0);
        }

        // Same documents everywhere, and every record created anywhere is among them.
        let reference = &self.replicas[0].store;
        for kind in Kind::ALL {
            let ids = reference.document_ids(kind).unwrap();
            let mut created = self.ids_of(kind);
            created.sort();
            assert_eq!(ids, created, "{kind} documents of replica 0");
            for (i, replica) in self.replicas.iter().enumerate().skip(1) {
                assert_eq!(
                    replica.store.document_ids(kind).unwrap(),
                    ids,
                    "{kind} documents of replica {i}"
                );
            }
        }
        for (_, id) in &self.ids {
            let record = reference.get_any(id).unwrap();
            assert!(record.is_some(), "{id} missing on replica 0");
            let conflicts = reference.conflicts(id).unwrap();
            for (i, replica) in self.replicas.iter().enumerate().skip(1) {
                assert_eq!(
                    replica.store.get_any(id).unwrap(),
                    record,
                    "{id} on replica {i}"
                );
                assert_eq!(
                    replica.store.conflicts(id).unwrap(),
                    conflicts,
                    "conflicts of {id} on replica {i}"
                );
            }
        }
        let queries = queries(self.n());
        for query in &queries {
            let expected = reference.query(query).unwrap();
            for (i, replica) in self.replicas.iter().enumerate().skip(1) {
                assert_eq!(
                    replica.store.query(query).unwrap(),
                    expected,
                    "{query:?} on replica {i}"
                );
            }
        }

        // Nothing acknowledged is lost.
        for ((id, field), value) in &self.created {
            let record = reference.get_any(id).unwrap().unwrap();
            let actual = tracked_fields(&record)
                .into_iter()
                .find(|(f, _)| f == field)
                .map(|(_, v)| v)
                .unwrap();
            match self.writes.get(&(id.clone(), field)) {
                None => assert_eq!(&actual, value, "{field} of {id}: nobody edited it"),
                Some(w) if w.writers.len() == 1 => assert_eq!(
                    actual, w.last,
                    "{field} of {id}: replica {:?} was the only writer",
                    w.writers
                ),
                Some(_) => {}
            }
        }
        for (id, furthest) in &self.furthest {
            let visit: Visit = reference.get(id).unwrap().unwrap();
            assert_eq!(visit.status, *furthest, "status of visit {id}");
        }
        for (id, furthest) in &self.order_furthest {
            let order: Order = reference.get(id).unwrap().unwrap();
            assert_eq!(order.status, *furthest, "status of order {id}");
        }
        for (id, change) in &self.order_status_changes {
            let order: Order = reference.get(id).unwrap().unwrap();
            assert!(
                order.status_history.contains(change),
                "{id} lost the status change {change:?}: {:?}",
                order.status_history
            );
        }
        for replica in &self.replicas {
            for order in all::<Order>(&replica.store) {
                check_order_projection(&replica.store, &order);
            }
        }
        for (id, change) in &self.stage_changes {
            let opportunity: Opportunity = reference.get(id).unwrap().unwrap();
            assert!(
                opportunity.stage_history.contains(change),
                "{id} lost the stage change {change:?}: {:?}",
                opportunity.stage_history
            );
        }

        // Every replica's projections agree with its documents.
        for replica in &self.replicas {
            check_projections(&replica.store, self.n());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queries, and the same answers computed from the documents.

fn queries(replicas: usize) -> Vec<Query> {
    let mut queries = vec![
        Query::Customers(CustomerFilter {
            limit: 10_000,
            ..CustomerFilter::default()
        }),
        Query::Customers(CustomerFilter {
            grade: Some(Grade::A),
            limit: 10_000,
            ..CustomerFilter::default()
        }),
        Query::Customers(CustomerFilter {
            segment: Some("retail".to_owned()),
            territory: Some("north".to_owned()),
            limit: 10_000,
            ..CustomerFilter::default()
        }),
        Query::Pipeline { owner: None },
        Query::Pipeline {
            owner: Some(user(0)),
        },
        Query::OpenTasks { assignee: None },
        Query::OpenCases { customer_id: None },
        Query::NearbyCustomers {
            lat: CENTER.0,
            lon: CENTER.1,
            max_distance_m: Some(50_000.0),
            limit: 5,
        },
        Query::NearbyCustomers {
            lat: CENTER.0,
            lon: CENTER.1,
            max_distance_m: None,
            limit: 100,
        },
        Query::OverdueCustomers {
            now: T0 + 30 * 24 * HOUR,
            owner: None,
            limit: 1_000,
        },
    ];
    for term in SEARCH_TERMS {
        queries.push(Query::SearchCustomers {
            text: (*term).to_owned(),
            limit: 1_000,
        });
    }
    for term in PRODUCT_TERMS {
        queries.push(Query::SearchProducts {
            text: (*term).to_owned(),
            limit: 1_000,
        });
    }
    queries.push(Query::ProductCategories {
        limit: 1_000,
        offset: 0,
    });
    for category in ["bakery", "dairy"] {
        queries.push(Query::ProductsInCategory {
            category: category.to_owned(),
            limit: 1_000,
            offset: 0,
        });
    }
    for r in 0..replicas {
        queries.push(Query::VisitsForRep {
            rep: user(r),
            from: EARLIEST_TIMESTAMP,
            to: LATEST_TIMESTAMP,
        });
    }
    queries
}

fn all<R: fieldcrm_core::Record>(store: &Store) -> Vec<R> {
    store
        .document_ids(R::KIND)
        .unwrap()
        .iter()
        .map(|id| store.get::<R>(id).unwrap().unwrap())
        .collect()
}

fn customer_rows(store: &Store, query: &Query) -> Vec<CustomerSummary> {
    match store.query(query).unwrap() {
        QueryResult::Customers(rows) => rows,
        other => panic!("{query:?} answered {other:?}"),
    }
}

fn summary(c: &Customer, visits: &[Visit]) -> CustomerSummary {
    CustomerSummary {
        id: c.meta.id.clone(),
        name: c.name.clone(),
        city: c.address.city.clone(),
        grade: c.grade.clone(),
        owner: c.owner.clone(),
        territory: c.territory.clone(),
        lat: c.location.as_ref().map(|l| l.lat),
        lon: c.location.as_ref().map(|l| l.lon),
        visit_cadence_days: c.visit_cadence_days,
        last_visit_at: visits
            .iter()
            .filter(|v| {
                v.customer_id == c.meta.id && !v.meta.deleted && v.status == VisitStatus::Done
            })
            .filter_map(|v| v.check_in.as_ref().map(|s| s.at))
            .max(),
        distance_m: None,
    }
}

/// Lower-cased words as the full-text index splits them (ASCII vocabularies only).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Every projection-backed query answered from the documents themselves.
fn check_projections(store: &Store, replicas: usize) {
    let customers: Vec<Customer> = all(store);
    let visits: Vec<Visit> = all(store);
    let live: Vec<&Customer> = customers.iter().filter(|c| !c.meta.deleted).collect();

    // Customers, by name (case-insensitively) then id.
    let mut expected: Vec<CustomerSummary> = live.iter().map(|c| summary(c, &visits)).collect();
    expected.sort_by(|a, b| {
        (a.name.to_ascii_lowercase(), &a.id).cmp(&(b.name.to_ascii_lowercase(), &b.id))
    });
    let filter = CustomerFilter {
        limit: 10_000,
        ..CustomerFilter::default()
    };
    assert_eq!(
        customer_rows(store, &Query::Customers(filter.clone())),
        expected,
        "customer projection"
    );
    let segment_filter = CustomerFilter {
        segment: Some("retail".to_owned()),
        territory: Some("north".to_owned()),
        ..filter
    };
    let in_segment: Vec<CustomerSummary> = expected
        .iter()
        .filter(|s| {
            s.territory.as_deref() == Some("north")
                && live
                    .iter()
                    .any(|c| c.meta.id == s.id && c.segments.contains("retail"))
        })
        .cloned()
        .collect();
    assert_eq!(
        customer_rows(store, &Query::Customers(segment_filter)),
        in_segment,
        "segment projection"
    );

    // Nearby: exact distances, closest first, ties by id.
    let mut nearby: Vec<CustomerSummary> = live
        .iter()
        .filter_map(|c| {
            let l = c.location.as_ref()?;
            let mut s = summary(c, &visits);
            s.distance_m = Some(distance_m(CENTER.0, CENTER.1, l.lat, l.lon));
            Some(s)
        })
        .collect();
    nearby.sort_by(|a, b| {
        a.distance_m
            .unwrap_or(f64::MAX)
            .total_cmp(&b.distance_m.unwrap_or(f64::MAX))
            .then_with(|| a.id.cmp(&b.id))
    });
    let within: Vec<CustomerSummary> = nearby
        .iter()
        .filter(|s| s.distance_m.is_some_and(|d| d <= 50_000.0))
        .take(5)
        .cloned()
        .collect();
    let query = Query::NearbyCustomers {
        lat: CENTER.0,
        lon: CENTER.1,
        max_distance_m: Some(50_000.0),
        limit: 5,
    };
    assert_eq!(customer_rows(store, &query), within, "nearby projection");

    // Search: the same customers (ranking is the index's business).
    for term in SEARCH_TERMS {
        let terms = words(term);
        let mut expected: Vec<String> = live
            .iter()
            .filter(|c| {
                let mut indexed = words(&c.name);
                indexed.extend(words(c.address.city.as_deref().unwrap_or("")));
                for phone in &c.phones {
                    indexed.extend(words(phone));
                    indexed.push(phone.chars().filter(char::is_ascii_digit).collect());
                }
                terms
                    .iter()
                    .all(|t| indexed.iter().any(|w| w.starts_with(t.as_str())))
            })
            .map(|c| c.meta.id.clone())
            .collect();
        expected.sort();
        let query = Query::SearchCustomers {
            text: (*term).to_owned(),
            limit: 1_000,
        };
        let mut found: Vec<String> = customer_rows(store, &query)
            .into_iter()
            .map(|s| s.id)
            .collect();
        found.sort();
        assert_eq!(found, expected, "search for {term:?}");
    }

    // Visits per rep, by day then id.
    let names: BTreeMap<&str, &str> = customers
        .iter()
        .map(|c| (c.meta.id.as_str(), c.name.as_str()))
        .collect();
    for r in 0..replicas {
        let rep = user(r);
        let mut expected: Vec<(i64, VisitSummary)> = visits
            .iter()
            .filter(|v| v.rep == rep && !v.meta.deleted)
            .filter_map(|v| {
                let day = v.check_in.as_ref().map(|s| s.at).or(v.planned_start)?;
                Some((
                    day,
                    VisitSummary {
                        id: v.meta.id.clone(),
                        customer_id: v.customer_id.clone(),
                        customer_name: names.get(v.customer_id.as_str()).map(|n| (*n).to_owned()),
                        rep: v.rep.clone(),
                        planned_start: v.planned_start,
                        planned_end: v.planned_end,
                        status: v.status.clone(),
                        check_in_at: v.check_in.as_ref().map(|s| s.at),
                        check_out_at: v.check_out.as_ref().map(|s| s.at),
                        verification: v.verification.clone(),
                    },
                ))
            })
            .collect();
        expected.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        let expected: Vec<VisitSummary> = expected.into_iter().map(|(_, v)| v).collect();
        let query = Query::VisitsForRep {
            rep: rep.clone(),
            from: EARLIEST_TIMESTAMP,
            to: LATEST_TIMESTAMP,
        };
        assert_eq!(
            store.query(&query).unwrap(),
            QueryResult::Visits(expected),
            "visits of {rep}"
        );
    }

    // Pipeline totals per stage and currency.
    let opportunities: Vec<Opportunity> = all(store);
    let mut totals: BTreeMap<(Stage, String), (u32, i64)> = BTreeMap::new();
    for o in opportunities.iter().filter(|o| !o.meta.deleted) {
        let total = totals
            .entry((o.stage.clone(), o.amount.currency.clone()))
            .or_default();
        total.0 += 1;
        total.1 += o.amount.minor;
    }
    let expected: Vec<StageTotal> = totals
        .into_iter()
        .map(|((stage, currency), (count, amount_minor))| StageTotal {
            stage,
            currency,
            count,
            amount_minor,
        })
        .collect();
    assert_eq!(
        store.query(&Query::Pipeline { owner: None }).unwrap(),
        QueryResult::Pipeline(expected),
        "pipeline"
    );

    // Open tasks: dated first by due date, then undated, ties by id.
    let tasks: Vec<Task> = all(store);
    let mut expected: Vec<TaskSummary> = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Open && !t.meta.deleted)
        .map(|t| TaskSummary {
            id: t.meta.id.clone(),
            title: t.title.clone(),
            due_at: t.due_at,
            assignee: t.assignee.clone(),
            linked_id: t.linked_id.clone(),
        })
        .collect();
    expected.sort_by(|a, b| {
        (a.due_at.is_none(), a.due_at, &a.id).cmp(&(b.due_at.is_none(), b.due_at, &b.id))
    });
    assert_eq!(
        store.query(&Query::OpenTasks { assignee: None }).unwrap(),
        QueryResult::Tasks(expected),
        "open tasks"
    );

    // Open cases: most severe first, ties by id.
    let cases: Vec<Case> = all(store);
    let mut expected: Vec<CaseSummary> = cases
        .iter()
        .filter(|c| {
            matches!(c.status, CaseStatus::Open | CaseStatus::InProgress) && !c.meta.deleted
        })
        .map(|c| CaseSummary {
            id: c.meta.id.clone(),
            customer_id: c.customer_id.clone(),
            subject: c.subject.clone(),
            severity: c.severity.clone(),
            status: c.status.clone(),
        })
        .collect();
    let severity_rank = |s: &Severity| match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low | Severity::Unknown(_) => 3,
    };
    expected.sort_by(|a, b| {
        (severity_rank(&a.severity), &a.id).cmp(&(severity_rank(&b.severity), &b.id))
    });
    assert_eq!(
        store
            .query(&Query::OpenCases { customer_id: None })
            .unwrap(),
        QueryResult::Cases(expected),
        "open cases"
    );

    // The category list: per category of a live product, its active and all products.
    let mut counts: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for p in all::<Product>(store).iter().filter(|p| !p.meta.deleted) {
        if let Some(category) = p.category.clone().filter(|c| !c.is_empty()) {
            let count = counts.entry(category).or_default();
            count.0 += u32::from(p.active);
            count.1 += 1;
        }
    }
    let mut expected: Vec<CategorySummary> = counts
        .into_iter()
        .map(|(name, (active_products, products))| CategorySummary {
            name,
            active_products,
            products,
        })
        .collect();
    expected.sort_by_key(|c| (c.name.to_lowercase(), c.name.clone()));
    assert_eq!(
        store
            .query(&Query::ProductCategories {
                limit: 1_000,
                offset: 0
            })
            .unwrap(),
        QueryResult::Categories(expected),
        "product categories"
    );
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn replicas_converge(replicas in 2usize..=4, ops in prop::collection::vec(op(), 0..40)) {
        let mut world = World::new(replicas);
        for op in &ops {
            world.apply(op);
        }
        world.settle();
        world.check();
    }
}

// ---------------------------------------------------------------------------------------------
// Plain tests of the import contract.

/// A customer created on `a` and edited twice: three pending changes, oldest first.
fn three_changes(a: &Store) -> (String, Vec<PendingChange>) {
    let mut c = Customer::new("Acme");
    c.phones = BTreeSet::from(["030 1234".to_owned()]);
    let c = a.create(c).unwrap();
    let id = c.meta.id.clone();
    let mut renamed = c.clone();
    renamed.name = "Acme Holding".to_owned();
    let renamed = a.update(renamed).unwrap();
    let mut moved = renamed;
    moved.address.city = Some("Potsdam".to_owned());
    a.update(moved).unwrap();
    let pending = a.pending_changes(u32::MAX).unwrap();
    assert_eq!(pending.len(), 3);
    (id, pending)
}

fn changes(id: &str, pending: &[&PendingChange]) -> Vec<IncomingDoc> {
    vec![IncomingDoc {
        doc_id: id.to_owned(),
        payload: IncomingPayload::Changes(pending.iter().map(|c| c.bytes.clone()).collect()),
    }]
}

fn all_customers(store: &Store) -> Vec<CustomerSummary> {
    customer_rows(
        store,
        &Query::Customers(CustomerFilter {
            limit: 10_000,
            ..CustomerFilter::default()
        }),
    )
}

#[test]
fn duplicate_delivery_is_idempotent() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let (id, pending) = three_changes(&a);
    let batch = changes(&id, &pending.iter().collect::<Vec<_>>());

    let first = b.import(batch.clone()).unwrap();
    assert_eq!(
        first,
        ImportReport {
            applied: 1,
            ..ImportReport::default()
        }
    );
    let record = b.get_any(&id).unwrap();
    assert_eq!(record, a.get_any(&id).unwrap());
    let bytes = b.document_bytes(&id).unwrap();
    let rows = all_customers(&b);

    let second = b.import(batch.clone()).unwrap();
    assert_eq!(
        second,
        ImportReport {
            unchanged: 1,
            ..ImportReport::default()
        }
    );
    assert_eq!(b.get_any(&id).unwrap(), record);
    assert_eq!(b.document_bytes(&id).unwrap(), bytes);
    assert_eq!(all_customers(&b), rows);

    // The same changes twice within one payload, and a snapshot of what is already there.
    let mut doubled = pending.iter().map(|c| c.bytes.clone()).collect::<Vec<_>>();
    doubled.extend(doubled.clone());
    let third = b
        .import(vec![
            IncomingDoc {
                doc_id: id.clone(),
                payload: IncomingPayload::Changes(doubled),
            },
            IncomingDoc {
                doc_id: id.clone(),
                payload: IncomingPayload::Snapshot(a.document_bytes(&id).unwrap().unwrap()),
            },
        ])
        .unwrap();
    assert_eq!(
        third,
        ImportReport {
            unchanged: 2,
            ..ImportReport::default()
        }
    );
    assert_eq!(b.get_any(&id).unwrap(), record);
    assert_eq!(all_customers(&b), rows);
    assert!(b.pending_changes(u32::MAX).unwrap().is_empty());
}

#[test]
fn out_of_order_changes_are_held_until_their_dependencies_arrive() {
    let (_da, a) = open_store("rep-a");
    let (db, b) = open_store("rep-b");
    let (id, pending) = three_changes(&a);
    let [create, rename, relocate] = [&pending[0], &pending[1], &pending[2]];

    // Change 3 alone: held; nothing is visible.
    let report = b.import(changes(&id, &[relocate])).unwrap();
    assert_eq!(report.held_changes, 1, "{report:?}");
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(b.get_any(&id).unwrap(), None);
    assert!(b.document_ids(Kind::Customer).unwrap().is_empty());
    assert!(all_customers(&b).is_empty());

    // Change 1: the customer appears as created; change 3 is still waiting for change 2.
    let report = b.import(changes(&id, &[create])).unwrap();
    assert_eq!(report.held_changes, 0, "{report:?}");
    assert_eq!(report.applied, 1, "{report:?}");
    let c: Customer = b.get(&id).unwrap().unwrap();
    assert_eq!((c.name.as_str(), c.address.city.as_deref()), ("Acme", None));
    let rows = all_customers(&b);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].name.as_str(), rows[0].city.as_deref()),
        ("Acme", None)
    );

    // The held change survives closing and reopening the store.
    drop(b);
    let b = Store::open(db.path().join("store.sqlite")).unwrap();

    // Change 2: both apply.
    let report = b.import(changes(&id, &[rename])).unwrap();
    assert_eq!(report.held_changes, 0, "{report:?}");
    assert_eq!(report.applied, 1, "{report:?}");
    assert_eq!(b.get_any(&id).unwrap(), a.get_any(&id).unwrap());
    let rows = all_customers(&b);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].name.as_str(), rows[0].city.as_deref()),
        ("Acme Holding", Some("Potsdam"))
    );
    assert_eq!(rows, all_customers(&a));
}

#[test]
fn corrupt_bytes_refuse_only_their_document() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let (id, pending) = three_changes(&a);
    let other = a.create(Customer::new("Bolt Works")).unwrap().meta.id;
    let third = a.create(Customer::new("Cedar Trading")).unwrap().meta.id;

    // b knows the first version of `id`.
    b.import(changes(&id, &[&pending[0]])).unwrap();
    let stored = b.get_any(&id).unwrap();
    let stored_bytes = b.document_bytes(&id).unwrap();
    assert!(stored.is_some());

    let mut flipped = pending[1].bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    for garbage in [
        IncomingPayload::Changes(vec![pending[1].bytes.clone(), flipped]),
        IncomingPayload::Changes(vec![pending[1].bytes[..10].to_vec()]),
        IncomingPayload::Snapshot(b"not an automerge document".to_vec()),
    ] {
        let batch = vec![
            IncomingDoc {
                doc_id: other.clone(),
                payload: IncomingPayload::Snapshot(a.document_bytes(&other).unwrap().unwrap()),
            },
            IncomingDoc {
                doc_id: id.clone(),
                payload: garbage.clone(),
            },
            IncomingDoc {
                doc_id: third.clone(),
                payload: IncomingPayload::Changes(a.document_changes(&third).unwrap()),
            },
        ];
        let report = b.import(batch).unwrap();
        assert_eq!(report.refused.len(), 1, "{garbage:?}: {report:?}");
        assert_eq!(report.refused[0].doc_id, id);
        assert!(
            matches!(report.refused[0].error, ImportError::MalformedData(_)),
            "{report:?}"
        );
        assert_eq!(b.get_any(&id).unwrap(), stored, "{garbage:?}");
        assert_eq!(b.document_bytes(&id).unwrap(), stored_bytes, "{garbage:?}");
        assert_eq!(b.get_any(&other).unwrap(), a.get_any(&other).unwrap());
        assert_eq!(b.get_any(&third).unwrap(), a.get_any(&third).unwrap());
    }
    let names: Vec<String> = all_customers(&b).into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Acme", "Bolt Works", "Cedar Trading"]);
}

// ---------------------------------------------------------------------------------------------
// Minimal reproductions of library bugs the property test found (see each test's comment).

fn search_ids(store: &Store, text: &str) -> Vec<String> {
    let query = Query::SearchCustomers {
        text: text.to_owned(),
        limit: 100,
    };
    customer_rows(store, &query)
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// A server page may hold several entries for one document (changes from two senders, or a
/// snapshot and some changes). Every entry must apply, also when the document is in the
/// receiver's document cache.
#[test]
fn two_entries_for_one_cached_document_in_one_batch_both_apply() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let (id, pending) = three_changes(&a);
    b.import(changes(&id, &[&pending[0]])).unwrap();
    assert!(b.get_any(&id).unwrap().is_some()); // now in b's document cache

    let mut batch = changes(&id, &[&pending[1]]);
    batch.extend(changes(&id, &[&pending[2]]));
    let report = b.import(batch).unwrap();
    assert_eq!(
        b.get_any(&id).unwrap(),
        a.get_any(&id).unwrap(),
        "{report:?}"
    );
}

/// Replicas holding the same records must answer a search identically, ties included.
#[test]
fn search_ties_are_ordered_the_same_on_every_replica() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let first = a.create(Customer::new("Acme")).unwrap().meta.id;
    let second = a.create(Customer::new("Acme")).unwrap().meta.id;
    for id in [&second, &first] {
        let snapshot = a.document_bytes(id).unwrap().unwrap();
        b.import(vec![IncomingDoc {
            doc_id: id.clone(),
            payload: IncomingPayload::Snapshot(snapshot),
        }])
        .unwrap();
    }
    assert_eq!(search_ids(&a, "acme"), search_ids(&b, "acme"));
}

/// "030 1234" must be found by "0301234" also when the customer has a second phone number.
#[test]
fn customer_with_two_phones_is_found_by_the_digits_of_each() {
    let (_d, store) = open_store("rep-a");
    let mut c = Customer::new("Acme");
    c.phones = BTreeSet::from(["030 1234".to_owned(), "+49 170 111".to_owned()]);
    let id = store.create(c).unwrap().meta.id;
    for text in ["030", "170", "0301234", "49170111"] {
        assert_eq!(
            search_ids(&store, text),
            std::slice::from_ref(&id),
            "search for {text:?}"
        );
    }
}

/// A document that so far holds only changes waiting for their dependencies has no visible
/// content: the report should say so as it does for a document that already exists.
#[test]
fn a_new_document_holding_only_held_changes_is_not_reported_applied() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let (_dc, c) = open_store("rep-c");
    let (id, pending) = three_changes(&a);

    c.import(changes(&id, &[&pending[0]])).unwrap();
    let existing = c.import(changes(&id, &[&pending[2]])).unwrap();
    assert_eq!(
        existing,
        ImportReport {
            unchanged: 1,
            held_changes: 1,
            ..ImportReport::default()
        }
    );
    let new = b.import(changes(&id, &[&pending[2]])).unwrap();
    assert_eq!(new, existing);
}

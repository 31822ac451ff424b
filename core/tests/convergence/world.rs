//! The simulated world: replicas, the lossy server between them, and the final checks.

use super::*;

// ---------------------------------------------------------------------------------------------
// The simulated world.

pub(crate) struct Replica {
    pub(crate) store: Store,
    pub(crate) _dir: TempDir,
}

#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) docs: Vec<IncomingDoc>,
    /// Hashes of the sender's pending changes this message carries.
    pub(crate) hashes: Vec<String>,
}

/// Who wrote a field after the record was created, and the last value written.
#[derive(Debug, Default)]
pub(crate) struct Writes {
    pub(crate) writers: BTreeSet<usize>,
    pub(crate) last: String,
}

pub(crate) struct World {
    pub(crate) replicas: Vec<Replica>,
    /// Every record created anywhere, in creation order.
    pub(crate) ids: Vec<(Kind, String)>,
    pub(crate) inflight: Vec<Message>,
    /// (change hash, recipient) pairs that have been imported by the recipient.
    pub(crate) delivered: HashSet<(String, usize)>,
    /// Field values at creation, per (id, field).
    pub(crate) created: BTreeMap<(String, &'static str), String>,
    /// Later writes, per (id, field).
    pub(crate) writes: BTreeMap<(String, &'static str), Writes>,
    /// The furthest status any replica moved each visit to.
    pub(crate) furthest: BTreeMap<String, VisitStatus>,
    /// Every stage change any replica made.
    pub(crate) stage_changes: Vec<(String, StageChange)>,
    /// The furthest status any replica moved each order to.
    pub(crate) order_furthest: BTreeMap<String, OrderStatus>,
    /// Every order status change any replica made.
    pub(crate) order_status_changes: Vec<(String, OrderStatusChange)>,
}

/// The fields whose final value the "nothing acknowledged is lost" check follows, rendered.
pub(crate) fn tracked_fields(record: &AnyRecord) -> Vec<(&'static str, String)> {
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
        AnyRecord::Activity(a) => vec![
            ("outcome", format!("{:?}", a.outcome)),
            ("notes", format!("{:?}", a.notes)),
        ],
        AnyRecord::Contact(_) => vec![],
    };
    fields.push(deleted);
    fields
}

impl World {
    /// `n` replicas; replica 0 creates the seed records and every replica loads them as
    /// snapshots before the random phase.
    pub(crate) fn new(n: usize) -> World {
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

    pub(crate) fn n(&self) -> usize {
        self.replicas.len()
    }

    pub(crate) fn store(&self, replica: usize) -> &Store {
        &self.replicas[replica % self.n()].store
    }

    pub(crate) fn ids_of(&self, kind: Kind) -> Vec<String> {
        self.ids
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| id.clone())
            .collect()
    }

    pub(crate) fn pick(&self, kind: Kind, index: usize) -> Option<String> {
        let ids = self.ids_of(kind);
        (!ids.is_empty()).then(|| ids[index % ids.len()].clone())
    }

    pub(crate) fn create<R: fieldcrm_core::Record>(&mut self, replica: usize, record: R) {
        let stored = self.store(replica).create(record).unwrap().into_any();
        let id = stored.meta().id.clone();
        self.ids.push((stored.kind(), id.clone()));
        for (field, value) in tracked_fields(&stored) {
            self.created.insert((id.clone(), field), value);
        }
        self.track_extras(&stored);
    }

    /// Notes which fields a local write changed, as this replica saw them.
    pub(crate) fn track(&mut self, replica: usize, before: &AnyRecord, after: &AnyRecord) {
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

    pub(crate) fn track_extras(&mut self, record: &AnyRecord) {
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
    pub(crate) fn edit<R: fieldcrm_core::Record>(
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

    pub(crate) fn apply(&mut self, op: &Op) {
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
            Op::EditActivity {
                replica,
                target,
                outcome,
            } => {
                let Some(id) = self.pick(Kind::Activity, target) else {
                    return;
                };
                self.edit::<Activity>(replica, &id, |a| {
                    a.outcome = Some(format!("outcome {outcome}"));
                    a.notes.push_str(&format!("r{replica}. "));
                    true
                });
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

    /// Uploads pending changes: for every other replica, one message with the changes it has
    /// not received and that are not on their way to it (a dropped message is re-sent by a
    /// later upload), grouped by document; or several messages of `chunk` changes each.
    pub(crate) fn send(&mut self, from: usize, limit: u32, chunk: usize, reverse: bool) {
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

    pub(crate) fn deliver(&mut self, pick: usize, batch: usize, mode: Mode) {
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

    pub(crate) fn snapshot(
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
    pub(crate) fn settle(&mut self) {
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

    pub(crate) fn check(&self) {
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

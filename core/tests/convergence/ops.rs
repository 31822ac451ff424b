//! The random operations replicas run, and the strategies that draw them.

use super::*;

// ---------------------------------------------------------------------------------------------
// Fixed vocabularies the random operations pick from.

pub(crate) const CENTER: (f64, f64) = (52.52, 13.405);
pub(crate) const SEARCH_TERMS: &[&str] = &[
    "acme",
    "ber",
    "030",
    "0301234",
    "delta foods",
    "pots",
    "zzz",
];
pub(crate) const SEED_CUSTOMERS: usize = 3;
pub(crate) const SEED_VISITS: usize = 3;
pub(crate) const SEED_OPPORTUNITIES: usize = 2;

pub(crate) fn check_in_stamp(at: i64, point: (f64, f64)) -> GpsStamp {
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
pub(crate) enum NewRecord {
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
    Activity {
        customer: usize,
        channel: usize,
    },
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
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
    /// Sets an activity's outcome and appends to its notes (both sides' notes survive).
    EditActivity {
        replica: usize,
        target: usize,
        outcome: usize,
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

pub(crate) fn new_record() -> impl Strategy<Value = NewRecord> {
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
        (0..16usize, 0..ActivityChannel::ALL.len())
            .prop_map(|(customer, channel)| NewRecord::Activity { customer, channel }),
    ]
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
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
        1 => (replica.clone(), target.clone(), 0..4usize)
            .prop_map(|(replica, target, outcome)| Op::EditActivity { replica, target, outcome }),
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
// Creating the records of `Op::Create`.

impl World {
    pub(crate) fn create_new(&mut self, replica: usize, record: NewRecord) {
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
            NewRecord::Activity { customer, channel } => {
                let Some(customer) = self.pick(Kind::Customer, customer) else {
                    return;
                };
                let channel = ActivityChannel::ALL[channel].clone();
                self.create(
                    replica,
                    Activity::new(customer, channel, T0, "Called about the order"),
                );
            }
        }
    }
}

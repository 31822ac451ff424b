//! The uniffi mirrors of core's model and query types, and the `From` conversions both ways.
//!
//! Core stays free of uniffi: every type that crosses the FFI boundary is declared here, field
//! for field. Sets (`BTreeSet`) cross as sorted lists and maps as maps; timestamps stay `i64`
//! milliseconds since 1970 (UTC).

use std::collections::HashMap;

use fieldcrm_core as fc;

/// Declares a uniffi enum with the same variants as a core enum, and both `From`s. Closed
/// enums are field-less; enums whose values records hold (`stored`) add
/// `Unknown { value }`, as core's do: a value a newer app wrote, kept and shown as read.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident = $core:path { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name { $($variant),+ }

        impl From<$core> for $name {
            fn from(value: $core) -> Self {
                use $core as C;
                match value { $(C::$variant => $name::$variant),+ }
            }
        }

        impl From<$name> for $core {
            fn from(value: $name) -> Self {
                use $core as C;
                match value { $($name::$variant => C::$variant),+ }
            }
        }
    };
    (stored $(#[$meta:meta])* $name:ident = $core:path { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name {
            $($variant,)+
            /// A value a newer app version wrote that this one does not know, as the record
            /// holds it: show it as unknown. It is kept when the record is saved, and the store
            /// refuses one the app did not read from the record.
            Unknown { value: String },
        }

        impl From<$core> for $name {
            fn from(value: $core) -> Self {
                use $core as C;
                match value {
                    $(C::$variant => $name::$variant,)+
                    C::Unknown(value) => $name::Unknown { value },
                }
            }
        }

        impl From<$name> for $core {
            fn from(value: $name) -> Self {
                use $core as C;
                match value {
                    $($name::$variant => C::$variant,)+
                    $name::Unknown { value } => C::Unknown(value),
                }
            }
        }
    };
}

mirror_enum!(
    /// The six kinds of record.
    RecordKind = fc::Kind { Customer, Contact, Opportunity, Visit, Task, Case }
);
mirror_enum!(stored CustomerKind = fc::CustomerKind { Company, Person });
mirror_enum!(stored Grade = fc::Grade { A, B, C });
mirror_enum!(
    stored LocationSource = fc::LocationSource {
        Gps,
        Geocoded,
        Manual
    }
);
mirror_enum!(
    stored Stage = fc::Stage {
        Lead,
        Qualified,
        Proposal,
        Negotiation,
        Won,
        Lost
    }
);
mirror_enum!(
    stored
    /// Visit states only move forward: planned < in progress < skipped < cancelled < done. From
    /// an unknown state the store refuses any change of status (`UnknownStatus`).
    VisitStatus = fc::VisitStatus { Planned, InProgress, Done, Cancelled, Skipped }
);
mirror_enum!(
    stored
    /// Whether a check-in happened at the customer (distance against the visit radius).
    Verification = fc::Verification { Verified, Uncertain, OutOfRange, NoCustomerLocation }
);
mirror_enum!(
    stored TaskStatus = fc::TaskStatus {
        Open,
        Done,
        Cancelled
    }
);
mirror_enum!(
    stored Severity = fc::Severity {
        Low,
        Medium,
        High,
        Critical
    }
);
mirror_enum!(
    stored CaseStatus = fc::CaseStatus {
        Open,
        InProgress,
        Resolved,
        Closed
    }
);
mirror_enum!(
    /// Why the server refused a local change.
    RejectCode = fc::protocol::RejectCode {
        Forbidden,
        MalformedChange,
        ForeignActor,
        InvalidRecord,
        ImmutableField,
    }
);

fn to_list(set: std::collections::BTreeSet<String>) -> Vec<String> {
    set.into_iter().collect()
}

fn to_set(list: Vec<String>) -> std::collections::BTreeSet<String> {
    list.into_iter().collect()
}

fn count(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// Fields every record carries; the store fills them in on create (leave them empty then).
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct RecordMeta {
    /// UUID v7 made on the device; empty on create lets the store choose it.
    #[uniffi(default)]
    pub id: String,
    #[uniffi(default)]
    pub created_at: i64,
    #[uniffi(default)]
    pub created_by: String,
    #[uniffi(default)]
    pub updated_at: i64,
    /// Tombstone: deleted records stay so the deletion syncs.
    #[uniffi(default)]
    pub deleted: bool,
}

impl From<fc::RecordMeta> for RecordMeta {
    fn from(m: fc::RecordMeta) -> Self {
        RecordMeta {
            id: m.id,
            created_at: m.created_at,
            created_by: m.created_by,
            updated_at: m.updated_at,
            deleted: m.deleted,
        }
    }
}

impl From<RecordMeta> for fc::RecordMeta {
    fn from(m: RecordMeta) -> Self {
        fc::RecordMeta {
            id: m.id,
            created_at: m.created_at,
            created_by: m.created_by,
            updated_at: m.updated_at,
            deleted: m.deleted,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct Address {
    #[uniffi(default)]
    pub line: Option<String>,
    #[uniffi(default)]
    pub city: Option<String>,
    #[uniffi(default)]
    pub region: Option<String>,
    #[uniffi(default)]
    pub postal_code: Option<String>,
    #[uniffi(default)]
    pub country: Option<String>,
}

impl From<fc::Address> for Address {
    fn from(a: fc::Address) -> Self {
        Address {
            line: a.line,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

impl From<Address> for fc::Address {
    fn from(a: Address) -> Self {
        fc::Address {
            line: a.line,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GeoLocation {
    pub lat: f64,
    pub lon: f64,
    pub source: LocationSource,
    pub at: i64,
}

impl From<fc::GeoLocation> for GeoLocation {
    fn from(g: fc::GeoLocation) -> Self {
        GeoLocation {
            lat: g.lat,
            lon: g.lon,
            source: g.source.into(),
            at: g.at,
        }
    }
}

impl From<GeoLocation> for fc::GeoLocation {
    fn from(g: GeoLocation) -> Self {
        fc::GeoLocation {
            lat: g.lat,
            lon: g.lon,
            source: g.source.into(),
            at: g.at,
        }
    }
}

/// Integer minor units (cents) and an ISO 4217 code.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Money {
    pub minor: i64,
    pub currency: String,
}

impl From<fc::Money> for Money {
    fn from(m: fc::Money) -> Self {
        Money {
            minor: m.minor,
            currency: m.currency,
        }
    }
}

impl From<Money> for fc::Money {
    fn from(m: Money) -> Self {
        fc::Money {
            minor: m.minor,
            currency: m.currency,
        }
    }
}

/// A GPS fix taken at check-in or check-out.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct GpsStamp {
    pub at: i64,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    pub fix_at: i64,
    #[uniffi(default)]
    pub mock: bool,
}

impl From<fc::GpsStamp> for GpsStamp {
    fn from(s: fc::GpsStamp) -> Self {
        GpsStamp {
            at: s.at,
            lat: s.lat,
            lon: s.lon,
            accuracy_m: s.accuracy_m,
            fix_at: s.fix_at,
            mock: s.mock,
        }
    }
}

impl From<GpsStamp> for fc::GpsStamp {
    fn from(s: GpsStamp) -> Self {
        fc::GpsStamp {
            at: s.at,
            lat: s.lat,
            lon: s.lon,
            accuracy_m: s.accuracy_m,
            fix_at: s.fix_at,
            mock: s.mock,
        }
    }
}

/// A GPS fix as the OS reports it: for a check-in, a check-out or a location ping.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GpsFix {
    pub lat: f64,
    pub lon: f64,
    /// Radius of the 68% confidence circle, metres (Android `getAccuracy`, iOS
    /// `horizontalAccuracy`).
    pub accuracy_m: f64,
    /// When the fix was taken, milliseconds since 1970 (Android `getTime`, iOS `timestamp`).
    pub fix_at: i64,
    /// The OS reports a mock-location provider (Android `isMock`, iOS
    /// `sourceInformation.isSimulatedBySoftware`).
    #[uniffi(default)]
    pub mock: bool,
}

impl From<GpsFix> for fc::Fix {
    fn from(f: GpsFix) -> Self {
        fc::Fix {
            at: f.fix_at,
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
            mock: f.mock,
        }
    }
}

impl From<fc::Fix> for GpsFix {
    fn from(f: fc::Fix) -> Self {
        GpsFix {
            lat: f.lat,
            lon: f.lon,
            accuracy_m: f.accuracy_m,
            fix_at: f.at,
            mock: f.mock,
        }
    }
}

/// A ping the server refused, kept on the device with the reason.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RefusedPing {
    pub fix: GpsFix,
    pub reason: String,
}

impl From<fc::RefusedPingRecord> for RefusedPing {
    fn from(r: fc::RefusedPingRecord) -> Self {
        RefusedPing {
            fix: r.fix.into(),
            reason: r.reason,
        }
    }
}

/// One stop of the day's plan.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PlannedStop {
    pub visit_id: String,
    pub customer_id: String,
    pub customer_name: String,
    pub lat: f64,
    pub lon: f64,
    /// Metres from the previous stop (from the start for the first).
    pub leg_m: f64,
}

/// The day's planned visits in visiting order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DayRoute {
    pub stops: Vec<PlannedStop>,
    pub total_m: f64,
    /// Planned visits whose customer has no location.
    pub unplaced_visit_ids: Vec<String>,
}

impl From<fc::DayRoute> for DayRoute {
    fn from(r: fc::DayRoute) -> Self {
        DayRoute {
            stops: r
                .stops
                .into_iter()
                .map(|s| PlannedStop {
                    visit_id: s.visit_id,
                    customer_id: s.customer_id,
                    customer_name: s.customer_name,
                    lat: s.lat,
                    lon: s.lon,
                    leg_m: s.leg_m,
                })
                .collect(),
            total_m: r.total_m,
            unplaced_visit_ids: r.unplaced_visit_ids,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrderLine {
    pub product: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

impl From<fc::OrderLine> for OrderLine {
    fn from(l: fc::OrderLine) -> Self {
        OrderLine {
            product: l.product,
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
        }
    }
}

impl From<OrderLine> for fc::OrderLine {
    fn from(l: OrderLine) -> Self {
        fc::OrderLine {
            product: l.product,
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StageChange {
    pub stage: Stage,
    pub at: i64,
    pub by: String,
}

impl From<fc::StageChange> for StageChange {
    fn from(c: fc::StageChange) -> Self {
        StageChange {
            stage: c.stage.into(),
            at: c.at,
            by: c.by,
        }
    }
}

impl From<StageChange> for fc::StageChange {
    fn from(c: StageChange) -> Self {
        fc::StageChange {
            stage: c.stage.into(),
            at: c.at,
            by: c.by,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Customer {
    pub meta: RecordMeta,
    pub name: String,
    pub customer_kind: CustomerKind,
    #[uniffi(default)]
    pub grade: Option<Grade>,
    #[uniffi(default)]
    pub segments: Vec<String>,
    #[uniffi(default)]
    pub phones: Vec<String>,
    #[uniffi(default)]
    pub emails: Vec<String>,
    pub address: Address,
    #[uniffi(default)]
    pub location: Option<GeoLocation>,
    /// How close a check-in must be to count as at the customer.
    pub visit_radius_m: u32,
    #[uniffi(default)]
    pub visit_cadence_days: Option<u32>,
    #[uniffi(default)]
    pub owner: Option<String>,
    #[uniffi(default)]
    pub territory: Option<String>,
    #[uniffi(default)]
    pub notes: String,
    #[uniffi(default)]
    pub custom_fields: HashMap<String, String>,
}

impl From<fc::Customer> for Customer {
    fn from(c: fc::Customer) -> Self {
        Customer {
            meta: c.meta.into(),
            name: c.name,
            customer_kind: c.customer_kind.into(),
            grade: c.grade.map(Into::into),
            segments: to_list(c.segments),
            phones: to_list(c.phones),
            emails: to_list(c.emails),
            address: c.address.into(),
            location: c.location.map(Into::into),
            visit_radius_m: c.visit_radius_m,
            visit_cadence_days: c.visit_cadence_days,
            owner: c.owner,
            territory: c.territory,
            notes: c.notes,
            custom_fields: c.custom_fields.into_iter().collect(),
        }
    }
}

impl From<Customer> for fc::Customer {
    fn from(c: Customer) -> Self {
        fc::Customer {
            meta: c.meta.into(),
            name: c.name,
            customer_kind: c.customer_kind.into(),
            grade: c.grade.map(Into::into),
            segments: to_set(c.segments),
            phones: to_set(c.phones),
            emails: to_set(c.emails),
            address: c.address.into(),
            location: c.location.map(Into::into),
            visit_radius_m: c.visit_radius_m,
            visit_cadence_days: c.visit_cadence_days,
            owner: c.owner,
            territory: c.territory,
            notes: c.notes,
            custom_fields: c.custom_fields.into_iter().collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Contact {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub name: String,
    #[uniffi(default)]
    pub title: Option<String>,
    #[uniffi(default)]
    pub phones: Vec<String>,
    #[uniffi(default)]
    pub emails: Vec<String>,
    #[uniffi(default)]
    pub notes: String,
}

impl From<fc::Contact> for Contact {
    fn from(c: fc::Contact) -> Self {
        Contact {
            meta: c.meta.into(),
            customer_id: c.customer_id,
            name: c.name,
            title: c.title,
            phones: to_list(c.phones),
            emails: to_list(c.emails),
            notes: c.notes,
        }
    }
}

impl From<Contact> for fc::Contact {
    fn from(c: Contact) -> Self {
        fc::Contact {
            meta: c.meta.into(),
            customer_id: c.customer_id,
            name: c.name,
            title: c.title,
            phones: to_set(c.phones),
            emails: to_set(c.emails),
            notes: c.notes,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Opportunity {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub title: String,
    pub stage: Stage,
    pub amount: Money,
    /// Percent, 0 to 100.
    #[uniffi(default)]
    pub probability: Option<u8>,
    #[uniffi(default)]
    pub expected_close_at: Option<i64>,
    #[uniffi(default)]
    pub owner: Option<String>,
    #[uniffi(default)]
    pub lost_reason: Option<String>,
    /// Appended by the store when the stage changes; entries sent back are ignored.
    #[uniffi(default)]
    pub stage_history: Vec<StageChange>,
}

impl From<fc::Opportunity> for Opportunity {
    fn from(o: fc::Opportunity) -> Self {
        Opportunity {
            meta: o.meta.into(),
            customer_id: o.customer_id,
            title: o.title,
            stage: o.stage.into(),
            amount: o.amount.into(),
            probability: o.probability,
            expected_close_at: o.expected_close_at,
            owner: o.owner,
            lost_reason: o.lost_reason,
            stage_history: o.stage_history.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Opportunity> for fc::Opportunity {
    fn from(o: Opportunity) -> Self {
        fc::Opportunity {
            meta: o.meta.into(),
            customer_id: o.customer_id,
            title: o.title,
            stage: o.stage.into(),
            amount: o.amount.into(),
            probability: o.probability,
            expected_close_at: o.expected_close_at,
            owner: o.owner,
            lost_reason: o.lost_reason,
            stage_history: o.stage_history.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Visit {
    pub meta: RecordMeta,
    pub customer_id: String,
    /// User id of the rep; fixed at creation.
    pub rep: String,
    #[uniffi(default)]
    pub planned_start: Option<i64>,
    #[uniffi(default)]
    pub planned_end: Option<i64>,
    pub status: VisitStatus,
    /// Written once.
    #[uniffi(default)]
    pub check_in: Option<GpsStamp>,
    /// Written once.
    #[uniffi(default)]
    pub check_out: Option<GpsStamp>,
    #[uniffi(default)]
    pub outcome: Option<String>,
    #[uniffi(default)]
    pub notes: String,
    #[uniffi(default)]
    pub next_step: Option<String>,
    #[uniffi(default)]
    pub order_lines: Vec<OrderLine>,
    /// Computed by the store at check-in.
    #[uniffi(default)]
    pub verification: Option<Verification>,
}

impl From<fc::Visit> for Visit {
    fn from(v: fc::Visit) -> Self {
        Visit {
            meta: v.meta.into(),
            customer_id: v.customer_id,
            rep: v.rep,
            planned_start: v.planned_start,
            planned_end: v.planned_end,
            status: v.status.into(),
            check_in: v.check_in.map(Into::into),
            check_out: v.check_out.map(Into::into),
            outcome: v.outcome,
            notes: v.notes,
            next_step: v.next_step,
            order_lines: v.order_lines.into_iter().map(Into::into).collect(),
            verification: v.verification.map(Into::into),
        }
    }
}

impl From<Visit> for fc::Visit {
    fn from(v: Visit) -> Self {
        fc::Visit {
            meta: v.meta.into(),
            customer_id: v.customer_id,
            rep: v.rep,
            planned_start: v.planned_start,
            planned_end: v.planned_end,
            status: v.status.into(),
            check_in: v.check_in.map(Into::into),
            check_out: v.check_out.map(Into::into),
            outcome: v.outcome,
            notes: v.notes,
            next_step: v.next_step,
            order_lines: v.order_lines.into_iter().map(Into::into).collect(),
            verification: v.verification.map(Into::into),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Task {
    pub meta: RecordMeta,
    pub title: String,
    #[uniffi(default)]
    pub due_at: Option<i64>,
    pub status: TaskStatus,
    #[uniffi(default)]
    pub assignee: Option<String>,
    /// Id of the record the task follows up.
    #[uniffi(default)]
    pub linked_id: Option<String>,
}

impl From<fc::Task> for Task {
    fn from(t: fc::Task) -> Self {
        Task {
            meta: t.meta.into(),
            title: t.title,
            due_at: t.due_at,
            status: t.status.into(),
            assignee: t.assignee,
            linked_id: t.linked_id,
        }
    }
}

impl From<Task> for fc::Task {
    fn from(t: Task) -> Self {
        fc::Task {
            meta: t.meta.into(),
            title: t.title,
            due_at: t.due_at,
            status: t.status.into(),
            assignee: t.assignee,
            linked_id: t.linked_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Case {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub subject: String,
    pub severity: Severity,
    pub status: CaseStatus,
    #[uniffi(default)]
    pub resolution: Option<String>,
    /// 1 (unhappy) to 5 (happy).
    #[uniffi(default)]
    pub satisfaction: Option<u8>,
}

impl From<fc::Case> for Case {
    fn from(c: fc::Case) -> Self {
        Case {
            meta: c.meta.into(),
            customer_id: c.customer_id,
            subject: c.subject,
            severity: c.severity.into(),
            status: c.status.into(),
            resolution: c.resolution,
            satisfaction: c.satisfaction,
        }
    }
}

impl From<Case> for fc::Case {
    fn from(c: Case) -> Self {
        fc::Case {
            meta: c.meta.into(),
            customer_id: c.customer_id,
            subject: c.subject,
            severity: c.severity.into(),
            status: c.status.into(),
            resolution: c.resolution,
            satisfaction: c.satisfaction,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queries

/// Filters for [`Query::Customers`]; every given filter must match. A limit of 0 means 50.
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct CustomerFilter {
    #[uniffi(default)]
    pub owner: Option<String>,
    #[uniffi(default)]
    pub territory: Option<String>,
    #[uniffi(default)]
    pub grade: Option<Grade>,
    #[uniffi(default)]
    pub segment: Option<String>,
    #[uniffi(default)]
    pub limit: u32,
    #[uniffi(default)]
    pub offset: u32,
}

impl From<CustomerFilter> for fc::CustomerFilter {
    fn from(f: CustomerFilter) -> Self {
        fc::CustomerFilter {
            owner: f.owner,
            territory: f.territory,
            grade: f.grade.map(Into::into),
            segment: f.segment,
            limit: f.limit,
            offset: f.offset,
        }
    }
}

impl From<fc::CustomerFilter> for CustomerFilter {
    fn from(f: fc::CustomerFilter) -> Self {
        CustomerFilter {
            owner: f.owner,
            territory: f.territory,
            grade: f.grade.map(Into::into),
            segment: f.segment,
            limit: f.limit,
            offset: f.offset,
        }
    }
}

/// Everything the store can answer, directly or as a live query. A limit of 0 means 50.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Query {
    /// Prefix search over customer name, contact names, city and phone numbers.
    SearchCustomers {
        text: String,
        limit: u32,
    },
    /// Nearest customers with a location, closest first, optionally within a distance.
    NearbyCustomers {
        lat: f64,
        lon: f64,
        max_distance_m: Option<f64>,
        limit: u32,
    },
    Customers {
        filter: CustomerFilter,
    },
    /// Customers whose visit cadence has lapsed, most overdue first.
    OverdueCustomers {
        now: i64,
        owner: Option<String>,
        limit: u32,
    },
    /// A rep's visits checked in (or planned) in `[from, to)`.
    VisitsForRep {
        rep: String,
        from: i64,
        to: i64,
    },
    /// A customer's visits, newest first.
    VisitsForCustomer {
        customer_id: String,
        limit: u32,
    },
    /// A customer's contacts, by name.
    ContactsOfCustomer {
        customer_id: String,
    },
    Pipeline {
        owner: Option<String>,
    },
    OpenTasks {
        assignee: Option<String>,
    },
    OpenCases {
        customer_id: Option<String>,
    },
    /// The sync status; live, it follows writes, acknowledgements, rejections and rounds.
    SyncStatus,
}

impl From<Query> for fc::Query {
    fn from(q: Query) -> Self {
        match q {
            Query::SearchCustomers { text, limit } => fc::Query::SearchCustomers { text, limit },
            Query::NearbyCustomers {
                lat,
                lon,
                max_distance_m,
                limit,
            } => fc::Query::NearbyCustomers {
                lat,
                lon,
                max_distance_m,
                limit,
            },
            Query::Customers { filter } => fc::Query::Customers(filter.into()),
            Query::OverdueCustomers { now, owner, limit } => {
                fc::Query::OverdueCustomers { now, owner, limit }
            }
            Query::VisitsForRep { rep, from, to } => fc::Query::VisitsForRep { rep, from, to },
            Query::VisitsForCustomer { customer_id, limit } => {
                fc::Query::VisitsForCustomer { customer_id, limit }
            }
            Query::ContactsOfCustomer { customer_id } => {
                fc::Query::ContactsOfCustomer { customer_id }
            }
            Query::Pipeline { owner } => fc::Query::Pipeline { owner },
            Query::OpenTasks { assignee } => fc::Query::OpenTasks { assignee },
            Query::OpenCases { customer_id } => fc::Query::OpenCases { customer_id },
            Query::SyncStatus => fc::Query::SyncStatus,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CustomerSummary {
    pub id: String,
    pub name: String,
    pub city: Option<String>,
    pub grade: Option<Grade>,
    pub owner: Option<String>,
    pub territory: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub visit_cadence_days: Option<u32>,
    pub last_visit_at: Option<i64>,
    /// Set by nearby queries.
    pub distance_m: Option<f64>,
}

impl From<fc::CustomerSummary> for CustomerSummary {
    fn from(c: fc::CustomerSummary) -> Self {
        CustomerSummary {
            id: c.id,
            name: c.name,
            city: c.city,
            grade: c.grade.map(Into::into),
            owner: c.owner,
            territory: c.territory,
            lat: c.lat,
            lon: c.lon,
            visit_cadence_days: c.visit_cadence_days,
            last_visit_at: c.last_visit_at,
            distance_m: c.distance_m,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitSummary {
    pub id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub rep: String,
    pub planned_start: Option<i64>,
    pub planned_end: Option<i64>,
    pub status: VisitStatus,
    pub check_in_at: Option<i64>,
    pub check_out_at: Option<i64>,
    pub verification: Option<Verification>,
}

impl From<fc::VisitSummary> for VisitSummary {
    fn from(v: fc::VisitSummary) -> Self {
        VisitSummary {
            id: v.id,
            customer_id: v.customer_id,
            customer_name: v.customer_name,
            rep: v.rep,
            planned_start: v.planned_start,
            planned_end: v.planned_end,
            status: v.status.into(),
            check_in_at: v.check_in_at,
            check_out_at: v.check_out_at,
            verification: v.verification.map(Into::into),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StageTotal {
    pub stage: Stage,
    pub currency: String,
    pub count: u32,
    pub amount_minor: i64,
}

impl From<fc::StageTotal> for StageTotal {
    fn from(s: fc::StageTotal) -> Self {
        StageTotal {
            stage: s.stage.into(),
            currency: s.currency,
            count: s.count,
            amount_minor: s.amount_minor,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskSummary {
    pub id: String,
    pub title: String,
    pub due_at: Option<i64>,
    pub assignee: Option<String>,
    pub linked_id: Option<String>,
}

impl From<fc::TaskSummary> for TaskSummary {
    fn from(t: fc::TaskSummary) -> Self {
        TaskSummary {
            id: t.id,
            title: t.title,
            due_at: t.due_at,
            assignee: t.assignee,
            linked_id: t.linked_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseSummary {
    pub id: String,
    pub customer_id: String,
    pub subject: String,
    pub severity: Severity,
    pub status: CaseStatus,
}

impl From<fc::CaseSummary> for CaseSummary {
    fn from(c: fc::CaseSummary) -> Self {
        CaseSummary {
            id: c.id,
            customer_id: c.customer_id,
            subject: c.subject,
            severity: c.severity.into(),
            status: c.status.into(),
        }
    }
}

/// A contact of a customer, as lists show it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ContactSummary {
    pub id: String,
    pub customer_id: String,
    pub name: String,
    pub title: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
}

impl From<fc::ContactSummary> for ContactSummary {
    fn from(c: fc::ContactSummary) -> Self {
        ContactSummary {
            id: c.id,
            customer_id: c.customer_id,
            name: c.name,
            title: c.title,
            phones: c.phones,
            emails: c.emails,
        }
    }
}

/// A query's rows; the variant follows the query (customers for the three customer queries).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum QueryResult {
    Customers { rows: Vec<CustomerSummary> },
    Visits { rows: Vec<VisitSummary> },
    Contacts { rows: Vec<ContactSummary> },
    Pipeline { rows: Vec<StageTotal> },
    Tasks { rows: Vec<TaskSummary> },
    Cases { rows: Vec<CaseSummary> },
    SyncStatus { status: SyncStatus },
}

fn rows<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(Into::into).collect()
}

impl From<fc::QueryResult> for QueryResult {
    fn from(r: fc::QueryResult) -> Self {
        match r {
            fc::QueryResult::Customers(r) => QueryResult::Customers { rows: rows(r) },
            fc::QueryResult::Visits(r) => QueryResult::Visits { rows: rows(r) },
            fc::QueryResult::Contacts(r) => QueryResult::Contacts { rows: rows(r) },
            fc::QueryResult::Pipeline(r) => QueryResult::Pipeline { rows: rows(r) },
            fc::QueryResult::Tasks(r) => QueryResult::Tasks { rows: rows(r) },
            fc::QueryResult::Cases(r) => QueryResult::Cases { rows: rows(r) },
            fc::QueryResult::SyncStatus(s) => QueryResult::SyncStatus { status: s.into() },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sync-facing values

/// Upload queue and last sync outcome, for a status line in the app.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncStatus {
    /// Local changes not yet acknowledged by the server.
    pub pending_changes: u64,
    /// Changes the server refused (see `rejected_changes`).
    pub rejected_changes: u64,
    pub last_sync_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// The last failed attempt's error, cleared by a successful sync.
    pub last_error: Option<String>,
    /// Its stable code: `offline`, the server's error code (`token_expired`, ...), a protocol
    /// code (`malformed_message`, ...) or `storage`.
    pub last_error_code: Option<String>,
    /// The server position this device has pulled up to.
    pub cursor: i64,
    /// A sync is running on this store now.
    pub syncing: bool,
    /// Location pings not yet acknowledged by the server.
    pub pending_pings: u64,
    /// Documents from the server this device could not load (see `refused_documents`); while
    /// any remain, `last_error_code` is `document_refused` unless a later error replaced it.
    /// Each sync fetches them again.
    pub refused_documents: u64,
    /// Records of pulled snapshots sent in a format this version of the library does not know
    /// (a newer server) and read from the documents instead, since the store was made. Nothing
    /// was lost; a growing number says the app is older than the server.
    pub records_read_from_documents: u64,
    /// Documents this device holds that read without some of their fields: a field held a value
    /// of the wrong type (a string where a number is expected, written by a buggy or newer
    /// peer). The record shows without it and the value stays in the document; each counts
    /// until a later version of it reads whole.
    pub partly_read_documents: u64,
}

impl From<fc::SyncStatus> for SyncStatus {
    fn from(s: fc::SyncStatus) -> Self {
        SyncStatus {
            pending_changes: s.pending_changes,
            rejected_changes: s.rejected_changes,
            last_sync_at: s.last_sync_at,
            last_attempt_at: s.last_attempt_at,
            last_error: s.last_error,
            last_error_code: s.last_error_code,
            cursor: s.cursor,
            syncing: s.syncing,
            pending_pings: s.pending_pings,
            refused_documents: s.refused_documents,
            records_read_from_documents: s.records_read_from_documents,
            partly_read_documents: s.partly_read_documents,
        }
    }
}

/// A local change the server refused; the edit stays in the local record.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RejectedChange {
    pub doc_id: String,
    pub kind: RecordKind,
    pub hash: String,
    pub code: RejectCode,
    /// The server's explanation, for people.
    pub reason: String,
    pub at: i64,
}

impl From<fc::RejectedChange> for RejectedChange {
    fn from(r: fc::RejectedChange) -> Self {
        RejectedChange {
            doc_id: r.doc_id,
            kind: r.kind.into(),
            hash: r.hash,
            code: r.code.into(),
            reason: r.reason,
            at: r.at,
        }
    }
}

/// What one sync round did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncReport {
    pub pushed: u64,
    pub rejected: u64,
    pub pulled_docs: u32,
    pub removed: u64,
    pub pages: u32,
    pub pings_uploaded: u32,
    /// Refused documents that loaded once fetched again in this round.
    pub refetched: u64,
    /// Documents still refused after this round: when not 0 the round is not a clean success
    /// (see `SyncStatus.refused_documents`).
    pub refused_documents: u64,
}

impl From<fc::SyncReport> for SyncReport {
    fn from(r: fc::SyncReport) -> Self {
        SyncReport {
            pushed: count(r.pushed),
            rejected: count(r.rejected),
            pulled_docs: r.pulled_docs,
            removed: count(r.removed),
            pages: r.pages,
            pings_uploaded: r.pings_uploaded,
            refetched: count(r.refetched),
            refused_documents: r.refused_documents,
        }
    }
}

/// A document from the server this device could not load; fetched again at every sync until
/// it loads.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RefusedDocument {
    pub doc_id: String,
    /// `malformed_data`, `invalid_record`, `id_mismatch`, `incomplete_history` or
    /// `not_returned`.
    pub code: String,
    /// For people.
    pub reason: String,
    pub first_refused_at: i64,
    pub last_refused_at: i64,
    /// Times it was refused: the first import, then each refetch that failed.
    pub attempts: u32,
}

impl From<fc::RefusedDocument> for RefusedDocument {
    fn from(r: fc::RefusedDocument) -> Self {
        RefusedDocument {
            doc_id: r.doc_id,
            code: r.code,
            reason: r.reason,
            first_refused_at: r.first_refused_at,
            last_refused_at: r.last_refused_at,
            attempts: r.attempts,
        }
    }
}

/// Result of checking documents that arrived in a bootstrap against their projections.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VerifyReport {
    pub verified: u32,
    /// Ids of documents that did not read as the record they arrived with.
    pub failed_ids: Vec<String>,
    /// Unverified documents left for a later call.
    pub remaining: u64,
}

impl From<fc::VerifyReport> for VerifyReport {
    fn from(r: fc::VerifyReport) -> Self {
        VerifyReport {
            verified: r.verified,
            failed_ids: r.failed.into_iter().map(|f| f.doc_id).collect(),
            remaining: r.remaining,
        }
    }
}

/// A field on which concurrent edits disagreed, with the values that lost.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FieldConflict {
    pub field: String,
    pub values: Vec<String>,
}

impl From<fc::FieldConflict> for FieldConflict {
    fn from(c: fc::FieldConflict) -> Self {
        FieldConflict {
            field: c.field,
            values: c.values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_round_trips_through_the_mirror() {
        let mut core = fc::Customer::new("Café Mitte");
        core.segments.insert("bakery".into());
        core.segments.insert("alpha".into());
        core.custom_fields.insert("vat".into(), "DE1".into());
        core.location = Some(fc::GeoLocation {
            lat: 53.55,
            lon: 9.99,
            source: fc::LocationSource::Gps,
            at: 1_790_000_000_000,
        });
        let mirror = Customer::from(core.clone());
        assert_eq!(mirror.segments, ["alpha", "bakery"], "sorted list");
        assert_eq!(fc::Customer::from(mirror), core);
    }

    #[test]
    fn visit_and_opportunity_round_trip() {
        let mut visit = fc::Visit::new("c1", "anna");
        visit.status = fc::VisitStatus::InProgress;
        visit.check_in = Some(fc::GpsStamp {
            at: 1_790_000_000_000,
            lat: 1.0,
            lon: 2.0,
            accuracy_m: 5.0,
            fix_at: 1_790_000_000_000,
            mock: true,
        });
        visit.order_lines.push(fc::OrderLine {
            product: "Bread".into(),
            quantity: 2,
            unit_price_minor: 250,
        });
        assert_eq!(fc::Visit::from(Visit::from(visit.clone())), visit);
        let mut deal = fc::Opportunity::new(
            "c1",
            "Deal",
            fc::Money {
                minor: 100,
                currency: "EUR".into(),
            },
        );
        deal.stage_history.push(fc::StageChange {
            stage: fc::Stage::Won,
            at: 1_790_000_000_000,
            by: "anna".into(),
        });
        assert_eq!(fc::Opportunity::from(Opportunity::from(deal.clone())), deal);
    }

    #[test]
    fn every_enum_variant_maps_back() {
        for kind in fc::Kind::ALL {
            assert_eq!(fc::Kind::from(RecordKind::from(kind)), kind);
        }
        for status in fc::VisitStatus::ALL {
            assert_eq!(
                fc::VisitStatus::from(VisitStatus::from(status.clone())),
                *status
            );
        }
        for stage in fc::Stage::ALL {
            assert_eq!(fc::Stage::from(Stage::from(stage.clone())), *stage);
        }
        let unknown = fc::Stage::parse("on_hold");
        assert_eq!(
            Stage::from(unknown.clone()),
            Stage::Unknown {
                value: "on_hold".into()
            }
        );
        assert_eq!(fc::Stage::from(Stage::from(unknown.clone())), unknown);
    }
}

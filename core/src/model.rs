//! The domain model: typed records as apps read and write them, with their validation rules.
//!
//! Each record is stored as one Automerge document; `records/` holds each kind's mapping (and
//! so the merge rule of every field), projection and `validate()`. Timestamps are milliseconds since the Unix epoch (UTC). Money is
//! an integer amount of minor units (cents) plus an ISO 4217 currency code.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

mod place;
pub use place::{Fix, LatLon, distance_m};
mod sync_status;
pub use sync_status::SyncStatus;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z: anything outside is a clock or unit bug
/// (seconds passed as milliseconds, a zeroed clock, ...).
pub const EARLIEST_TIMESTAMP: Millis = 946_684_800_000;
pub const LATEST_TIMESTAMP: Millis = 4_102_444_800_000;

pub(crate) const MAX_NAME: usize = 200;
pub(crate) const MAX_SHORT: usize = 500;
pub(crate) const MAX_NOTES: usize = 100_000;

/// The six kinds of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Customer,
    Contact,
    Opportunity,
    Visit,
    Task,
    Case,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Customer,
        Kind::Contact,
        Kind::Opportunity,
        Kind::Visit,
        Kind::Task,
        Kind::Case,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Contact => "contact",
            Kind::Opportunity => "opportunity",
            Kind::Visit => "visit",
            Kind::Task => "task",
            Kind::Case => "case",
        }
    }

    pub fn parse(value: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares a closed set of string-coded values with `as_str`/`parse`.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(value: &str) -> Option<Self> {
                match value { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(CustomerKind { Company = "company", Person = "person" });
string_enum!(Grade { A = "A", B = "B", C = "C" });
string_enum!(LocationSource { Gps = "gps", Geocoded = "geocoded", Manual = "manual" });
string_enum!(Stage {
    Lead = "lead",
    Qualified = "qualified",
    Proposal = "proposal",
    Negotiation = "negotiation",
    Won = "won",
    Lost = "lost",
});
string_enum!(
    /// Visit states. They only move forward; see [`VisitStatus::rank`].
    VisitStatus {
        Planned = "planned",
        InProgress = "in_progress",
        Done = "done",
        Cancelled = "cancelled",
        Skipped = "skipped",
    }
);
string_enum!(Verification {
    Verified = "verified",
    Uncertain = "uncertain",
    OutOfRange = "out_of_range",
    NoCustomerLocation = "no_customer_location",
});
string_enum!(TaskStatus { Open = "open", Done = "done", Cancelled = "cancelled" });
string_enum!(Severity { Low = "low", Medium = "medium", High = "high", Critical = "critical" });
string_enum!(CaseStatus {
    Open = "open",
    InProgress = "in_progress",
    Resolved = "resolved",
    Closed = "closed",
});

impl VisitStatus {
    /// Total order used by the "furthest state wins" merge rule: planned < in progress <
    /// the terminal states. Between concurrent terminal states the one with evidence of a visit
    /// having happened wins: done > cancelled > skipped.
    pub fn rank(self) -> u8 {
        match self {
            VisitStatus::Planned => 0,
            VisitStatus::InProgress => 1,
            VisitStatus::Skipped => 2,
            VisitStatus::Cancelled => 3,
            VisitStatus::Done => 4,
        }
    }

    pub fn is_terminal(self) -> bool {
        self.rank() >= 2
    }

    /// Whether a visit may go from `self` to `next` on one device.
    pub fn can_move_to(self, next: VisitStatus) -> bool {
        self == next || (!self.is_terminal() && next.rank() > self.rank())
    }
}

impl Stage {
    pub fn is_closed(self) -> bool {
        matches!(self, Stage::Won | Stage::Lost)
    }
}

/// Fields every record carries. `id`, `created_at` and `created_by` never change after creation;
/// the store fills all of them in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecordMeta {
    /// UUID v7 generated on the device.
    pub id: String,
    pub created_at: Millis,
    pub created_by: String,
    pub updated_at: Millis,
    /// Tombstone: deleted records stay in the document store so the deletion syncs.
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Address {
    pub line: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// A point on Earth with where it came from. Written atomically: a concurrent change of the
/// location never mixes one device's latitude with another's longitude.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoLocation {
    pub lat: f64,
    pub lon: f64,
    pub source: LocationSource,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Money {
    /// Integer minor units (cents), never negative.
    pub minor: i64,
    /// ISO 4217 code, three upper-case letters.
    pub currency: String,
}

/// A GPS fix taken at check-in or check-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpsStamp {
    /// When the rep pressed the button (device clock).
    pub at: Millis,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// When the GPS fix itself was taken; older than `at` when the fix is stale.
    pub fix_at: Millis,
    /// The OS reported a mock-location provider.
    pub mock: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageChange {
    pub stage: Stage,
    pub at: Millis,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub meta: RecordMeta,
    pub name: String,
    pub customer_kind: CustomerKind,
    pub grade: Option<Grade>,
    pub segments: BTreeSet<String>,
    pub phones: BTreeSet<String>,
    pub emails: BTreeSet<String>,
    pub address: Address,
    pub location: Option<GeoLocation>,
    /// How close a check-in must be to count as at the customer.
    pub visit_radius_m: u32,
    /// Visit the customer at least every this many days; `None` means no cadence.
    pub visit_cadence_days: Option<u32>,
    /// User id of the owning rep.
    pub owner: Option<String>,
    pub territory: Option<String>,
    pub notes: String,
    pub custom_fields: BTreeMap<String, String>,
}

pub const DEFAULT_VISIT_RADIUS_M: u32 = 150;

impl Customer {
    pub fn new(name: impl Into<String>) -> Self {
        Customer {
            meta: RecordMeta::default(),
            name: name.into(),
            customer_kind: CustomerKind::Company,
            grade: None,
            segments: BTreeSet::new(),
            phones: BTreeSet::new(),
            emails: BTreeSet::new(),
            address: Address::default(),
            location: None,
            visit_radius_m: DEFAULT_VISIT_RADIUS_M,
            visit_cadence_days: None,
            owner: None,
            territory: None,
            notes: String::new(),
            custom_fields: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub name: String,
    pub title: Option<String>,
    pub phones: BTreeSet<String>,
    pub emails: BTreeSet<String>,
    pub notes: String,
}

impl Contact {
    pub fn new(customer_id: impl Into<String>, name: impl Into<String>) -> Self {
        Contact {
            meta: RecordMeta::default(),
            customer_id: customer_id.into(),
            name: name.into(),
            title: None,
            phones: BTreeSet::new(),
            emails: BTreeSet::new(),
            notes: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opportunity {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub title: String,
    pub stage: Stage,
    pub amount: Money,
    /// Percent, 0 to 100.
    pub probability: Option<u8>,
    pub expected_close_at: Option<Millis>,
    pub owner: Option<String>,
    pub lost_reason: Option<String>,
    /// Appended by the store whenever the stage changes; never rewritten.
    pub stage_history: Vec<StageChange>,
}

impl Opportunity {
    pub fn new(customer_id: impl Into<String>, title: impl Into<String>, amount: Money) -> Self {
        Opportunity {
            meta: RecordMeta::default(),
            customer_id: customer_id.into(),
            title: title.into(),
            stage: Stage::Lead,
            amount,
            probability: None,
            expected_close_at: None,
            owner: None,
            lost_reason: None,
            stage_history: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub meta: RecordMeta,
    pub customer_id: String,
    /// User id of the rep; fixed at creation.
    pub rep: String,
    pub planned_start: Option<Millis>,
    pub planned_end: Option<Millis>,
    pub status: VisitStatus,
    /// Written once.
    pub check_in: Option<GpsStamp>,
    /// Written once.
    pub check_out: Option<GpsStamp>,
    pub outcome: Option<String>,
    pub notes: String,
    pub next_step: Option<String>,
    pub order_lines: Vec<OrderLine>,
    pub verification: Option<Verification>,
}

impl Visit {
    pub fn new(customer_id: impl Into<String>, rep: impl Into<String>) -> Self {
        Visit {
            meta: RecordMeta::default(),
            customer_id: customer_id.into(),
            rep: rep.into(),
            planned_start: None,
            planned_end: None,
            status: VisitStatus::Planned,
            check_in: None,
            check_out: None,
            outcome: None,
            notes: String::new(),
            next_step: None,
            order_lines: Vec::new(),
            verification: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub meta: RecordMeta,
    pub title: String,
    pub due_at: Option<Millis>,
    pub status: TaskStatus,
    pub assignee: Option<String>,
    /// Id of the record this follow-up belongs to (a customer, visit, opportunity or case).
    pub linked_id: Option<String>,
}

impl Task {
    pub fn new(title: impl Into<String>) -> Self {
        Task {
            meta: RecordMeta::default(),
            title: title.into(),
            due_at: None,
            status: TaskStatus::Open,
            assignee: None,
            linked_id: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub meta: RecordMeta,
    pub customer_id: String,
    pub subject: String,
    pub severity: Severity,
    pub status: CaseStatus,
    pub resolution: Option<String>,
    /// 1 (unhappy) to 5 (happy).
    pub satisfaction: Option<u8>,
}

impl Case {
    pub fn new(customer_id: impl Into<String>, subject: impl Into<String>) -> Self {
        Case {
            meta: RecordMeta::default(),
            customer_id: customer_id.into(),
            subject: subject.into(),
            severity: Severity::Medium,
            status: CaseStatus::Open,
            resolution: None,
            satisfaction: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation: the value rules the kinds share (each kind's `validate()` is in its module under
// `records/`).

pub(crate) type Check = Result<(), ValidationError>;

pub(crate) fn required_text(field: &str, value: &str, max: usize) -> Check {
    if value.trim().is_empty() {
        return Err(ValidationError::required(field));
    }
    max_len(field, value, max)
}

pub(crate) fn max_len(field: &str, value: &str, max: usize) -> Check {
    if value.chars().count() > max {
        return Err(ValidationError::TooLong {
            field: field.to_owned(),
            max,
        });
    }
    Ok(())
}

pub(crate) fn optional_text(field: &str, value: &Option<String>, max: usize) -> Check {
    match value {
        Some(v) => max_len(field, v, max),
        None => Ok(()),
    }
}

pub(crate) fn set_items(field: &str, values: &BTreeSet<String>) -> Check {
    for v in values {
        required_text(field, v, MAX_SHORT)?;
    }
    Ok(())
}

pub(crate) fn timestamp(field: &str, value: Millis) -> Check {
    if !(EARLIEST_TIMESTAMP..=LATEST_TIMESTAMP).contains(&value) {
        return Err(ValidationError::BadTimestamp {
            field: field.to_owned(),
        });
    }
    Ok(())
}

pub(crate) fn optional_timestamp(field: &str, value: Option<Millis>) -> Check {
    value.map_or(Ok(()), |v| timestamp(field, v))
}

fn finite(field: &str, value: f64) -> Check {
    if !value.is_finite() {
        return Err(ValidationError::NotFinite {
            field: field.to_owned(),
        });
    }
    Ok(())
}

/// Checks a latitude/longitude pair: finite and inside [-90, 90] x [-180, 180].
pub fn check_coordinates(prefix: &str, lat: f64, lon: f64) -> Check {
    let lat_field = format!("{prefix}.lat");
    let lon_field = format!("{prefix}.lon");
    finite(&lat_field, lat)?;
    finite(&lon_field, lon)?;
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ValidationError::out_of_range(
            &lat_field,
            "latitude must be within [-90, 90]",
        ));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ValidationError::out_of_range(
            &lon_field,
            "longitude must be within [-180, 180]",
        ));
    }
    Ok(())
}

pub(crate) fn reference(field: &str, value: &str) -> Check {
    required_text(field, value, 100)
}

impl RecordMeta {
    pub(crate) fn validate(&self) -> Check {
        reference("id", &self.id)?;
        timestamp("created_at", self.created_at)?;
        timestamp("updated_at", self.updated_at)?;
        required_text("created_by", &self.created_by, 100)
    }
}

impl GpsStamp {
    pub fn validate(&self, prefix: &str) -> Check {
        check_coordinates(prefix, self.lat, self.lon)?;
        let accuracy = format!("{prefix}.accuracy_m");
        finite(&accuracy, self.accuracy_m)?;
        if self.accuracy_m < 0.0 {
            return Err(ValidationError::out_of_range(
                &accuracy,
                "accuracy cannot be negative",
            ));
        }
        timestamp(&format!("{prefix}.at"), self.at)?;
        timestamp(&format!("{prefix}.fix_at"), self.fix_at)
    }
}

impl Money {
    pub(crate) fn validate(&self) -> Check {
        if self.minor < 0 {
            return Err(ValidationError::out_of_range(
                "amount.minor",
                "amount cannot be negative",
            ));
        }
        let valid_code =
            self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase());
        if !valid_code {
            return Err(ValidationError::malformed(
                "amount.currency",
                "expected a three-letter ISO 4217 code such as EUR",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visit_status_order() {
        use VisitStatus::*;
        assert!(
            Planned.can_move_to(InProgress)
                && InProgress.can_move_to(Done)
                && Planned.can_move_to(Skipped)
        );
        assert!(
            !Done.can_move_to(Cancelled)
                && !InProgress.can_move_to(Planned)
                && !Skipped.can_move_to(Done)
        );
        assert!(Done.rank() > Cancelled.rank() && Cancelled.rank() > Skipped.rank());
    }

    #[test]
    fn enums_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(*stage));
        }
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Grade::parse("D"), None);
    }
}

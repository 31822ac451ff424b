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

/// A day in milliseconds: the unit of a visit cadence. (Calendar days, which depend on a time
/// zone, are the `time` crate's business.)
pub const DAY_MS: Millis = 86_400_000;

/// 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z: anything outside is a clock or unit bug
/// (seconds passed as milliseconds, a zeroed clock, ...).
pub const EARLIEST_TIMESTAMP: Millis = 946_684_800_000;
pub const LATEST_TIMESTAMP: Millis = 4_102_444_800_000;

pub(crate) const MAX_NAME: usize = 200;
pub(crate) const MAX_SHORT: usize = 500;
pub(crate) const MAX_NOTES: usize = 100_000;

/// The kinds of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Customer,
    Contact,
    Opportunity,
    Visit,
    Task,
    Case,
    Product,
    Order,
    Activity,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Customer,
        Kind::Contact,
        Kind::Opportunity,
        Kind::Visit,
        Kind::Task,
        Kind::Case,
        Kind::Product,
        Kind::Order,
        Kind::Activity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Contact => "contact",
            Kind::Opportunity => "opportunity",
            Kind::Visit => "visit",
            Kind::Task => "task",
            Kind::Case => "case",
            Kind::Product => "product",
            Kind::Order => "order",
            Kind::Activity => "activity",
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

/// Implemented by every enum `string_enum!` declares.
pub(crate) trait StoredEnum {
    /// The text of an `Unknown` value; `None` for a value this code knows.
    fn unknown_text(&self) -> Option<&str>;
}

/// Declares a set of string-coded values that records hold, with `as_str`, `parse` and
/// `parse_known`. Every such enum ends in `Unknown(String)`: a value this code does not know (a
/// stage or visit status a newer app added) reads as `Unknown` holding the text as the document
/// has it, is shown as unknown and survives an edit of another field, because the store writes
/// only the fields that changed. The store does not let the app write an unknown value it did
/// not read (`records/unknown_values.rs`), and the server refuses one (it is the newest peer).
/// `Unknown` is the last variant, so that the known values keep their place in postcard's
/// layout (`protocol::RECORD_FORMAT`).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($variant,)+
            /// A value this code does not know, as the document holds it.
            Unknown(String),
        }

        impl $name {
            /// Every value this code knows (`Unknown` is not one of them).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's text as documents hold it; an unknown value's text as read.
            pub fn as_str(&self) -> &str {
                match self { $($name::$variant => $text,)+ $name::Unknown(text) => text }
            }

            /// Reads the text a document (or a projection) holds: a value this code does not
            /// know is kept as `Unknown`.
            pub fn parse(value: &str) -> Self {
                Self::parse_known(value).unwrap_or_else(|| $name::Unknown(value.to_owned()))
            }

            /// Only a value this code knows: for input a user or an API gives (`None` else).
            pub fn parse_known(value: &str) -> Option<Self> {
                match value { $($text => Some($name::$variant),)+ _ => None }
            }

            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Unknown(_))
            }
        }

        impl StoredEnum for $name {
            fn unknown_text(&self) -> Option<&str> {
                match self { $name::Unknown(text) => Some(text), _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod catalog;
pub use catalog::{BASIS_POINTS, Product};
mod order;
pub use order::{Order, OrderLine, OrderStatus, OrderStatusChange, OrderTotals, totals};
mod case;
pub use case::{Case, CaseSla, CaseStatusChange, CaseSurvey, SurveyEntrant, case_overdue};
mod activity;
pub use activity::{Activity, ActivityChannel, ActivityDirection};

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
    /// Total order of the known states used by the "furthest state wins" merge rule: planned <
    /// in progress < the terminal states. Between concurrent terminal states the one with
    /// evidence of a visit having happened wins: done > cancelled > skipped. An unknown state
    /// has no rank (`None`): this code cannot tell where a newer app placed it.
    pub fn rank(&self) -> Option<u8> {
        match self {
            VisitStatus::Planned => Some(0),
            VisitStatus::InProgress => Some(1),
            VisitStatus::Skipped => Some(2),
            VisitStatus::Cancelled => Some(3),
            VisitStatus::Done => Some(4),
            VisitStatus::Unknown(_) => None,
        }
    }

    /// A known terminal state. An unknown state is not known to be one.
    pub fn is_terminal(&self) -> bool {
        self.rank().is_some_and(|rank| rank >= 2)
    }

    /// Whether a visit may go from `self` to `next` on one device ([`ForwardStatus`]).
    pub fn can_move_to(&self, next: &VisitStatus) -> bool {
        ForwardStatus::can_move_to(self, next)
    }

    /// [`VisitStatus::can_move_to`] as the error the store answers.
    pub fn check_move_to(&self, next: &VisitStatus) -> Result<(), ValidationError> {
        ForwardStatus::check_move_to(self, next)
    }
}

impl ForwardStatus for VisitStatus {
    fn rank(&self) -> Option<u8> {
        VisitStatus::rank(self)
    }

    fn is_terminal(&self) -> bool {
        VisitStatus::is_terminal(self)
    }

    fn text(&self) -> &str {
        self.as_str()
    }
}

/// A status that only moves forward: the one rule for visits and orders. On one device a
/// status may go from a known state to a later known one, never out of a terminal state; from
/// or to an unknown state only "no change" is allowed, since this code cannot know whether a
/// change moves it forward.
pub(crate) trait ForwardStatus: PartialEq + std::fmt::Display {
    /// Place in the forward order; `None` for a state this code does not know.
    fn rank(&self) -> Option<u8>;
    fn is_terminal(&self) -> bool;
    /// The state as the document holds it.
    fn text(&self) -> &str;

    fn can_move_to(&self, next: &Self) -> bool {
        if self == next {
            return true;
        }
        match (self.rank(), next.rank()) {
            (Some(from), Some(to)) => !self.is_terminal() && to > from,
            _ => false,
        }
    }

    /// [`ForwardStatus::can_move_to`] as the error the store answers.
    fn check_move_to(&self, next: &Self) -> Result<(), ValidationError> {
        if self.can_move_to(next) {
            return Ok(());
        }
        if self.rank().is_none() {
            return Err(ValidationError::UnknownStatus {
                status: self.text().to_owned(),
            });
        }
        if next.rank().is_none() {
            return Err(ValidationError::UnknownValue {
                field: "status".into(),
                value: next.text().to_owned(),
            });
        }
        Err(ValidationError::StatusRegression {
            from: self.to_string(),
            to: next.to_string(),
        })
    }
}

impl Stage {
    /// Won or lost. An unknown stage is not known to be closed.
    pub fn is_closed(&self) -> bool {
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

/// A free-text order line noted on a visit (before orders were a record kind of their own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitOrderLine {
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
    pub order_lines: Vec<VisitOrderLine>,
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
        currency_code("amount.currency", &self.currency)
    }
}

/// An ISO 4217 code: three upper-case letters.
pub(crate) fn currency_code(field: &str, code: &str) -> Check {
    let valid_code = code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase());
    if !valid_code {
        return Err(ValidationError::malformed(
            field,
            "expected a three-letter ISO 4217 code such as EUR",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visit_status_order() {
        use VisitStatus::*;
        assert!(
            Planned.can_move_to(&InProgress)
                && InProgress.can_move_to(&Done)
                && Planned.can_move_to(&Skipped)
        );
        assert!(
            !Done.can_move_to(&Cancelled)
                && !InProgress.can_move_to(&Planned)
                && !Skipped.can_move_to(&Done)
        );
        assert!(Done.rank() > Cancelled.rank() && Cancelled.rank() > Skipped.rank());
    }

    #[test]
    fn an_unknown_visit_status_stays_as_it_is() {
        let unknown = VisitStatus::parse("rescheduled");
        assert_eq!(unknown, VisitStatus::Unknown("rescheduled".into()));
        assert_eq!(unknown.rank(), None);
        assert!(!unknown.is_terminal());
        assert!(
            unknown.can_move_to(&unknown.clone()),
            "no change is no move"
        );
        assert_eq!(
            unknown.check_move_to(&VisitStatus::Done),
            Err(ValidationError::UnknownStatus {
                status: "rescheduled".into()
            }),
            "this code cannot know whether done is forward of it"
        );
        assert_eq!(
            VisitStatus::Planned.check_move_to(&unknown),
            Err(ValidationError::UnknownValue {
                field: "status".into(),
                value: "rescheduled".into()
            })
        );
        assert!(matches!(
            VisitStatus::Done.check_move_to(&VisitStatus::Planned),
            Err(ValidationError::StatusRegression { .. })
        ));
    }

    #[test]
    fn enums_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), *stage);
            assert_eq!(Stage::parse_known(stage.as_str()), Some(stage.clone()));
        }
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(
            Grade::parse_known("D"),
            None,
            "input takes only known values"
        );
        let unknown = Grade::parse("D");
        assert_eq!(
            unknown,
            Grade::Unknown("D".into()),
            "a document's value is kept"
        );
        assert_eq!((unknown.as_str(), unknown.is_unknown()), ("D", true));
        assert!(!Stage::parse("on_hold").is_closed());
    }
}

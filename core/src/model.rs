//! The domain model: typed records as apps read and write them, with their validation rules.
//!
//! Each record is stored as one Automerge document (see `record.rs` for the mapping and the
//! merge rule of every field). Timestamps are milliseconds since the Unix epoch (UTC). Money is
//! an integer amount of minor units (cents) plus an ISO 4217 currency code.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z: anything outside is a clock or unit bug
/// (seconds passed as milliseconds, a zeroed clock, ...).
pub const EARLIEST_TIMESTAMP: Millis = 946_684_800_000;
pub const LATEST_TIMESTAMP: Millis = 4_102_444_800_000;

const MAX_NAME: usize = 200;
const MAX_SHORT: usize = 500;
const MAX_NOTES: usize = 100_000;

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

/// Declares a set of string-coded values that records hold, with `as_str`, `parse` and
/// `parse_known`. Every such enum ends in `Unknown(String)`: a value this code does not know (a
/// stage or visit status a newer app added) reads as `Unknown` holding the text as the document
/// has it, is shown as unknown and survives an edit of another field, because the store writes
/// only the fields that changed. The store does not let the app write an unknown value it did
/// not read (`crate::unknown_values`), and the server refuses one (it is the newest peer).
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

        impl crate::unknown_values::StoredEnum for $name {
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

    /// Whether a visit may go from `self` to `next` on one device: forward between known
    /// states. From or to an unknown state only "no change" is allowed, since this code cannot
    /// know whether a change moves it forward.
    pub fn can_move_to(&self, next: &VisitStatus) -> bool {
        if self == next {
            return true;
        }
        match (self.rank(), next.rank()) {
            (Some(from), Some(to)) => !self.is_terminal() && to > from,
            _ => false,
        }
    }

    /// [`VisitStatus::can_move_to`] as the error the store answers.
    pub fn check_move_to(&self, next: &VisitStatus) -> Result<(), ValidationError> {
        if self.can_move_to(next) {
            return Ok(());
        }
        if self.is_unknown() {
            return Err(ValidationError::UnknownStatus {
                status: self.as_str().to_owned(),
            });
        }
        if next.is_unknown() {
            return Err(ValidationError::UnknownValue {
                field: "status".into(),
                value: next.as_str().to_owned(),
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
// Validation

type Check = Result<(), ValidationError>;

fn required_text(field: &str, value: &str, max: usize) -> Check {
    if value.trim().is_empty() {
        return Err(ValidationError::required(field));
    }
    max_len(field, value, max)
}

fn max_len(field: &str, value: &str, max: usize) -> Check {
    if value.chars().count() > max {
        return Err(ValidationError::TooLong {
            field: field.to_owned(),
            max,
        });
    }
    Ok(())
}

fn optional_text(field: &str, value: &Option<String>, max: usize) -> Check {
    match value {
        Some(v) => max_len(field, v, max),
        None => Ok(()),
    }
}

fn set_items(field: &str, values: &BTreeSet<String>) -> Check {
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

fn optional_timestamp(field: &str, value: Option<Millis>) -> Check {
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

fn reference(field: &str, value: &str) -> Check {
    required_text(field, value, 100)
}

impl RecordMeta {
    fn validate(&self) -> Check {
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
    fn validate(&self) -> Check {
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

impl Customer {
    /// Checks every field rule except those that need the stored version (see the store).
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        required_text("name", &self.name, MAX_NAME)?;
        set_items("segments", &self.segments)?;
        set_items("phones", &self.phones)?;
        set_items("emails", &self.emails)?;
        for (field, value) in [
            ("address.line", &self.address.line),
            ("address.city", &self.address.city),
            ("address.region", &self.address.region),
            ("address.postal_code", &self.address.postal_code),
            ("address.country", &self.address.country),
            ("owner", &self.owner),
            ("territory", &self.territory),
        ] {
            optional_text(field, value, MAX_SHORT)?;
        }
        if let Some(location) = &self.location {
            check_coordinates("location", location.lat, location.lon)?;
            timestamp("location.at", location.at)?;
        }
        if self.visit_radius_m == 0 || self.visit_radius_m > 100_000 {
            return Err(ValidationError::out_of_range(
                "visit_radius_m",
                "radius must be between 1 and 100000 metres",
            ));
        }
        if let Some(days) = self.visit_cadence_days
            && (days == 0 || days > 3660)
        {
            return Err(ValidationError::out_of_range(
                "visit_cadence_days",
                "cadence must be between 1 and 3660 days",
            ));
        }
        max_len("notes", &self.notes, MAX_NOTES)?;
        for (key, value) in &self.custom_fields {
            required_text("custom_fields key", key, 100)?;
            max_len("custom_fields value", value, MAX_SHORT)?;
        }
        Ok(())
    }
}

impl Contact {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        required_text("name", &self.name, MAX_NAME)?;
        optional_text("title", &self.title, MAX_SHORT)?;
        set_items("phones", &self.phones)?;
        set_items("emails", &self.emails)?;
        max_len("notes", &self.notes, MAX_NOTES)
    }
}

impl Opportunity {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        required_text("title", &self.title, MAX_NAME)?;
        self.amount.validate()?;
        if let Some(p) = self.probability
            && p > 100
        {
            return Err(ValidationError::out_of_range(
                "probability",
                "percent must be 0 to 100",
            ));
        }
        optional_timestamp("expected_close_at", self.expected_close_at)?;
        optional_text("owner", &self.owner, 100)?;
        optional_text("lost_reason", &self.lost_reason, MAX_SHORT)?;
        for change in &self.stage_history {
            timestamp("stage_history.at", change.at)?;
        }
        Ok(())
    }
}

impl Visit {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        reference("rep", &self.rep)?;
        optional_timestamp("planned_start", self.planned_start)?;
        optional_timestamp("planned_end", self.planned_end)?;
        if let (Some(start), Some(end)) = (self.planned_start, self.planned_end)
            && end < start
        {
            return Err(ValidationError::out_of_range(
                "planned_end",
                "ends before it starts",
            ));
        }
        if let Some(stamp) = &self.check_in {
            stamp.validate("check_in")?;
        }
        if let Some(stamp) = &self.check_out {
            stamp.validate("check_out")?;
            if self.check_in.is_none() {
                return Err(ValidationError::required("check_in"));
            }
        }
        optional_text("outcome", &self.outcome, MAX_SHORT)?;
        optional_text("next_step", &self.next_step, MAX_SHORT)?;
        max_len("notes", &self.notes, MAX_NOTES)?;
        for line in &self.order_lines {
            required_text("order_lines.product", &line.product, MAX_NAME)?;
            if line.quantity <= 0 {
                return Err(ValidationError::out_of_range(
                    "order_lines.quantity",
                    "quantity must be positive",
                ));
            }
            if line.unit_price_minor < 0 {
                return Err(ValidationError::out_of_range(
                    "order_lines.unit_price_minor",
                    "price cannot be negative",
                ));
            }
        }
        Ok(())
    }
}

impl Task {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        required_text("title", &self.title, MAX_NAME)?;
        optional_timestamp("due_at", self.due_at)?;
        optional_text("assignee", &self.assignee, 100)?;
        optional_text("linked_id", &self.linked_id, 100)
    }
}

impl Case {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        reference("customer_id", &self.customer_id)?;
        required_text("subject", &self.subject, MAX_NAME)?;
        optional_text("resolution", &self.resolution, MAX_NOTES)?;
        if let Some(score) = self.satisfaction
            && !(1..=5).contains(&score)
        {
            return Err(ValidationError::out_of_range(
                "satisfaction",
                "score must be 1 to 5",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> RecordMeta {
        RecordMeta {
            id: "0190a0b0-0000-7000-8000-000000000001".into(),
            created_at: 1_790_000_000_000,
            created_by: "anna".into(),
            updated_at: 1_790_000_000_000,
            deleted: false,
        }
    }

    fn field_of(err: ValidationError) -> String {
        match err {
            ValidationError::Required { field }
            | ValidationError::TooLong { field, .. }
            | ValidationError::OutOfRange { field, .. }
            | ValidationError::NotFinite { field }
            | ValidationError::UnknownValue { field, .. }
            | ValidationError::BadTimestamp { field }
            | ValidationError::Immutable { field }
            | ValidationError::Malformed { field, .. } => field,
            ValidationError::StatusRegression { .. } | ValidationError::UnknownStatus { .. } => {
                "status".into()
            }
        }
    }

    #[test]
    fn customer_rules() {
        let ok = Customer {
            meta: meta(),
            ..Customer::new("Café Mitte")
        };
        assert_eq!(ok.validate(), Ok(()));
        type Breakage = Box<dyn Fn(&mut Customer)>;
        let cases: Vec<(&str, Breakage)> = vec![
            ("name", Box::new(|c| c.name = "  ".into())),
            ("name", Box::new(|c| c.name = "x".repeat(201))),
            (
                "location.lat",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: f64::NAN,
                        lon: 0.0,
                        source: LocationSource::Gps,
                        at: 1_790_000_000_000,
                    })
                }),
            ),
            (
                "location.lat",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: 90.5,
                        lon: 0.0,
                        source: LocationSource::Gps,
                        at: 1_790_000_000_000,
                    })
                }),
            ),
            (
                "location.lon",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: 0.0,
                        lon: -180.1,
                        source: LocationSource::Gps,
                        at: 1_790_000_000_000,
                    })
                }),
            ),
            (
                "location.lon",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: 0.0,
                        lon: f64::INFINITY,
                        source: LocationSource::Gps,
                        at: 1_790_000_000_000,
                    })
                }),
            ),
            (
                "location.at",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: 0.0,
                        lon: 0.0,
                        source: LocationSource::Gps,
                        at: 1_790_000_000,
                    })
                }),
            ),
            ("visit_radius_m", Box::new(|c| c.visit_radius_m = 0)),
            (
                "visit_cadence_days",
                Box::new(|c| c.visit_cadence_days = Some(0)),
            ),
            (
                "segments",
                Box::new(|c| {
                    c.segments.insert(String::new());
                }),
            ),
            ("created_at", Box::new(|c| c.meta.created_at = 0)),
            ("id", Box::new(|c| c.meta.id.clear())),
        ];
        for (field, break_it) in cases {
            let mut c = ok.clone();
            break_it(&mut c);
            let err = c.validate().expect_err(field);
            assert_eq!(field_of(err), field);
        }
    }

    #[test]
    fn money_and_opportunity_rules() {
        let ok = Opportunity {
            meta: meta(),
            ..Opportunity::new(
                "c1",
                "Deal",
                Money {
                    minor: 0,
                    currency: "EUR".into(),
                },
            )
        };
        assert_eq!(ok.validate(), Ok(()));
        let mut negative = ok.clone();
        negative.amount.minor = -1;
        assert_eq!(
            field_of(negative.validate().expect_err("negative")),
            "amount.minor"
        );
        let mut currency = ok.clone();
        currency.amount.currency = "eur".into();
        assert_eq!(
            field_of(currency.validate().expect_err("currency")),
            "amount.currency"
        );
        let mut probability = ok.clone();
        probability.probability = Some(101);
        assert_eq!(
            field_of(probability.validate().expect_err("probability")),
            "probability"
        );
    }

    #[test]
    fn visit_rules() {
        let ok = Visit {
            meta: meta(),
            ..Visit::new("c1", "anna")
        };
        assert_eq!(ok.validate(), Ok(()));
        let stamp = GpsStamp {
            at: 1_790_000_000_000,
            lat: 52.5,
            lon: 13.4,
            accuracy_m: 5.0,
            fix_at: 1_790_000_000_000,
            mock: false,
        };
        let mut negative_accuracy = ok.clone();
        negative_accuracy.check_in = Some(GpsStamp {
            accuracy_m: -1.0,
            ..stamp.clone()
        });
        assert_eq!(
            field_of(negative_accuracy.validate().expect_err("accuracy")),
            "check_in.accuracy_m"
        );
        let mut out_without_in = ok.clone();
        out_without_in.check_out = Some(stamp.clone());
        assert_eq!(
            field_of(out_without_in.validate().expect_err("check_out")),
            "check_in"
        );
        let mut backwards = ok.clone();
        backwards.planned_start = Some(1_790_000_100_000);
        backwards.planned_end = Some(1_790_000_000_000);
        assert_eq!(
            field_of(backwards.validate().expect_err("planned")),
            "planned_end"
        );
        let mut zero_quantity = ok.clone();
        zero_quantity.order_lines.push(OrderLine {
            product: "Bread".into(),
            quantity: 0,
            unit_price_minor: 100,
        });
        assert_eq!(
            field_of(zero_quantity.validate().expect_err("qty")),
            "order_lines.quantity"
        );
    }

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

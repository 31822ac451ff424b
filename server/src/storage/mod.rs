//! Storage behind a trait: [`Storage`], its error type and the values it answers with (here),
//! and [`SqliteStorage`], the embedded default, in files of its own by concern:
//!
//! - `sqlite.rs`: opening (a foreign file is refused unchanged), migrations, the connections
//!   (one writer, a few readers, reopened after a panic), the background checkpoint;
//! - `sqlite_org.rs`: the [`Storage`] impl, with teams, users, territories, devices and keys;
//! - `sqlite_sync.rs` (+ `sqlite_sync/`): push, pull, refetch and the scope history;
//! - `sqlite_fieldwork.rs` (+ `sqlite_fieldwork/`): pings, customer places and visit facts,
//!   and the reads behind route review, the team overview and overdue customers;
//! - `sqlite_sales.rs` (+ `sqlite_sales/`, the [`Sales`] supertrait in `sales.rs`): opportunity
//!   facts and customer origins, the pipeline reports, targets and their actuals;
//! - `sqlite_sight.rs`: who sees what (`scope::Sight`) as SQL, for every query that filters by it;
//! - `stored_record.rs`: the record stored beside each document;
//! - `accounts.rs`: sessions, revocation and the device cap (the [`Accounts`] supertrait);
//! - `sqlite_csv.rs`: imported records' external ids and export pages (the [`CsvStorage`]
//!   supertrait);
//! - `sqlite_history.rs`: the order history imported from before the CRM (the
//!   [`HistoryStorage`] supertrait);
//! - `sqlite_webhooks.rs`: the change feed's events (written by the push), the webhooks and
//!   their delivery queue (the [`WebhookStorage`] supertrait in `webhooks.rs`).
//!
//! The dependency points one way: this module uses the rules (`crate::scope`, `crate::model`,
//! `fieldcrm_core`) and never the HTTP handlers that call it.
//!
//! Methods are synchronous: axum handlers call them through `tokio::task::spawn_blocking`, so
//! a slow disk never stalls the async runtime.

use serde::Serialize;

use fieldcrm_core::protocol::{
    PingAck, PingUpload, PullRequest, PullResponse, PushRequest, PushResponse, RefetchRequest,
    RefetchResponse,
};
use fieldcrm_core::route::VisitFacts;
use fieldcrm_core::{Fix, Kind, Millis};

use crate::model::{Device, Role, SigningKey, Team, Territory, User};
use crate::scope::Principal;

/// A storage failure. `ActorTaken`, `AlreadyExists` and `NotFound` are answers about the data;
/// the others are faults that an HTTP client sees only as `internal`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the actor id is bound to another user")]
    ActorTaken,
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the device was revoked")]
    DeviceRevoked,
    #[error("the user already has {0} devices")]
    DeviceLimit(usize),
    /// The file is left as it was: nothing is written to a file that is not ours.
    #[error("not a FieldCRM server database (left unchanged)")]
    NotAServerDatabase,
    #[error("the database has schema version {found}; this build supports up to {supported}")]
    NewerSchema { found: i64, supported: i64 },
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("cannot read the database file: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not start the checkpoint thread: {0}")]
    Thread(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Stored data that does not read as it was written.
fn corrupt(detail: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(detail.to_string())
}

mod accounts;
mod analytics;
mod campaigns;
mod cases;
mod history;
mod sales;
mod sqlite;
mod sqlite_analytics;
mod sqlite_campaigns;
mod sqlite_cases;
mod sqlite_csv;
mod sqlite_fieldwork;
mod sqlite_history;
mod sqlite_org;
mod sqlite_sales;
mod sqlite_sight;
mod sqlite_sync;
mod sqlite_webhooks;
mod stored_record;
#[cfg(test)]
pub(crate) mod test_users;
mod webhooks;

pub use accounts::{Accounts, DeviceStatus, SessionState};
pub use analytics::{
    AnalyticsStorage, InsightRow, InsightValues, InsightsSummary, KEPT_RUNS, MAX_INSIGHTS_PAGE,
    RunRecord,
};
pub use campaigns::{
    ActionOutcome, CampaignStorage, CampaignTargetRow, CampaignTargetWrite, MAX_CAMPAIGNS_LISTED,
    MAX_TARGETS_PAGE,
};
pub use cases::{CaseStorage, MAX_CASES_PAGE};
pub use history::{HistoryLine, HistoryOrder, HistoryStorage, HistoryWritten};
pub use sales::{
    DEFAULT_BIG_DEAL_MIN_MINOR, FunnelRows, MAX_FUNNEL_STAYS, MAX_REPORT_GROUPS,
    MAX_TARGETS_PER_REP_PERIOD, PipelineFilter, RevenueRows, Sales, SalesSettings, TargetWrite,
};
pub use sqlite::{READERS, SqliteStorage};
pub use sqlite_csv::{CsvStorage, ExportRow, ImportTarget};
pub use sqlite_fieldwork::{DEFAULT_PIN_MOVE_FLAG_M, FieldworkSettings, PIN_MOVE_LOOKBACK_MS};
pub use sqlite_sync::{FAULT_EXIT_CODE, FaultInjection, MAX_PAGE, cursor_position};
pub use sqlite_sync::{FREE_TEXT_PRODUCT, VisitOrdersMigrated};
pub use webhooks::{
    AfterFailure, Claim, DeliveryRow, DeliveryState, DueDelivery, Event, KEPT_DELIVERED,
    MAX_DELIVERIES_LISTED, MAX_EVENTS_PAGE, Webhook, WebhookInfo, WebhookStorage,
};

/// A new user, before it has an id.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: Role,
    pub team_id: Option<&'a str>,
}

/// Result of binding an actor id to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRegistration {
    pub device: Device,
    /// `false` when this user had already registered this actor id (a harmless retry).
    pub created: bool,
}

/// What one push did, for metrics and logs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushStats {
    pub merged_changes: u64,
}

/// What became of an uploaded batch.
#[derive(Debug, Clone, PartialEq)]
pub enum PingBatchOutcome {
    /// Stored now, or earlier (the same acknowledgement again).
    Acknowledged(PingAck),
    /// The batch id was used by another user.
    BatchIdTaken,
}

/// A rep whose routes a user may review.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RepInfo {
    pub id: String,
    pub username: String,
    pub last_check_in_at: Option<Millis>,
}

/// A rep's pings and visits of `[from, to)`: visits checked in then, and visits planned then
/// and not checked in.
#[derive(Debug, Clone, PartialEq)]
pub struct RepDay {
    pub fixes: Vec<Fix>,
    pub visits: Vec<VisitFacts>,
}

/// One rep's figures over a date range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RepOverview {
    pub rep_id: String,
    pub username: String,
    /// Visits checked in within the range.
    pub visits: u32,
    pub verified: u32,
    /// `verified / visits`, 0 without visits.
    pub verified_share: f64,
    /// Travel distance from pings (both ends of a step inside the range; gaps not counted).
    pub distance_m: f64,
    pub first_check_in_at: Option<Millis>,
    pub last_check_in_at: Option<Millis>,
}

/// A customer due for a visit against its cadence.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OverdueCustomer {
    pub customer_id: String,
    pub name: String,
    pub territory: Option<String>,
    pub cadence_days: u32,
    /// Check-in of the last done visit; `None`: never visited.
    pub last_visit_at: Option<Millis>,
    /// Whole days past due (since the server first knew the customer, when never visited).
    pub overdue_days: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// Everything the server stores, behind one trait so that a PostgreSQL backend (several server
/// instances behind a load balancer) can replace the embedded SQLite one.
///
/// Rules every backend keeps:
/// - Ids are UUID strings made by the caller's process ([`crate::model::new_id`]), never database sequences,
///   so no backend-specific `RETURNING`/`last_insert_rowid` is needed.
/// - Writes that may race across instances are single statements guarded by unique constraints
///   (`INSERT ... ON CONFLICT`), followed by a read of what won: a device bound concurrently by
///   two users ends with exactly one owner and the other gets [`StorageError::ActorTaken`].
/// - Key rotation retires the old key and inserts the new one in one transaction; a partial
///   unique index keeps exactly one active key.
///
/// **The ordering pitfall (for the change log that push/pull adds).** Changes will receive
/// server sequence numbers and pulls read "everything after my cursor". With several
/// concurrent writers (PostgreSQL), sequence numbers become *visible* out of order: a
/// transaction holding number 41 may commit after one holding 42, and a reader that already
/// advanced its cursor to 42 skips 41 forever. SQLite has one writer (this implementation
/// serialises all writes behind one connection), so every committed number is visible in
/// order. A PostgreSQL backend must solve it explicitly, either by allocating numbers under a
/// lock at commit time (e.g. a row lock on a counter taken as the transaction's last step), or
/// by serving pulls only up to a safe high-water mark (the lowest number still in flight
/// minus one), and must test it under concurrency.
pub trait Storage:
    Accounts
    + Sales
    + CsvStorage
    + AnalyticsStorage
    + CampaignStorage
    + CaseStorage
    + HistoryStorage
    + WebhookStorage
    + Send
    + Sync
    + 'static
{
    /// A cheap query that proves the database answers.
    fn health(&self) -> Result<()>;

    fn create_team(&self, name: &str) -> Result<Team>;
    fn team_by_name(&self, name: &str) -> Result<Option<Team>>;

    fn create_user(&self, user: NewUser<'_>) -> Result<User>;
    fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    fn user_by_username(&self, username: &str) -> Result<Option<User>>;

    fn create_territory(&self, name: &str, team_id: &str) -> Result<Territory>;
    fn territory_by_name(&self, name: &str) -> Result<Option<Territory>>;
    /// Idempotent: assigning twice changes nothing. The user's devices receive the territory's
    /// documents on their next sync.
    fn assign_user_territory(&self, user_id: &str, territory_id: &str) -> Result<()>;
    /// Takes a territory from a user; their devices drop its documents on their next sync.
    /// `false` when the user did not have it.
    fn unassign_user_territory(&self, user_id: &str, territory_id: &str) -> Result<bool>;
    /// Moves a user to another team, with the visits and tasks they own: the old team's
    /// managers lose sight of them, the new team's gain it.
    fn move_user_to_team(&self, user_id: &str, team_id: &str) -> Result<()>;
    fn user_territories(&self, user_id: &str) -> Result<Vec<Territory>>;
    /// Puts a customer in a territory, replacing any earlier assignment: a move takes its
    /// contacts, opportunities and cases along. Devices that lose sight of them get removals;
    /// devices that gain it get snapshots.
    fn assign_customer_territory(&self, customer_id: &str, territory_id: &str) -> Result<()>;
    fn customer_territory(&self, customer_id: &str) -> Result<Option<String>>;

    /// Binds `actor_id` (lowercase hex) to `user_id`. The same user again: the existing
    /// device, `created: false`. Another user: [`StorageError::ActorTaken`].
    fn register_device(&self, user_id: &str, actor_id: &str) -> Result<DeviceRegistration>;
    fn devices_of_user(&self, user_id: &str) -> Result<Vec<Device>>;

    /// Every signing key, active and retired.
    fn signing_keys(&self) -> Result<Vec<SigningKey>>;

    /// The user with the territories their visibility depends on.
    fn principal(&self, user: &User) -> Result<Principal> {
        let territories = self
            .user_territories(&user.id)?
            .into_iter()
            .map(|t| t.id)
            .collect();
        Ok(Principal::new(user, territories))
    }
    /// Applies a push atomically (see `sqlite_sync/push.rs`): accepted changes are in the log, with
    /// sequence numbers, before the response exists.
    fn push_changes(
        &self,
        principal: &Principal,
        request: PushRequest,
    ) -> Result<(PushResponse, PushStats)>;
    /// One page of what `principal` may see after the request's cursor.
    /// `version`: the protocol version of the request; documents of a kind added after it are
    /// held back (`fieldcrm_core::protocol::first_version_knowing`), the cursor moving past them.
    fn pull_changes(
        &self,
        principal: &Principal,
        request: &PullRequest,
        version: u8,
    ) -> Result<PullResponse>;
    /// The full change history of each requested document `principal` may see; the other
    /// ids (unknown or forbidden, alike, and documents of a kind added after the request's
    /// protocol `version`) in `missing` (see `server/src/refetch.rs`).
    fn refetch_documents(
        &self,
        principal: &Principal,
        request: &RefetchRequest,
        version: u8,
    ) -> Result<RefetchResponse>;
    /// The one-time data migration of the visits' free-text order lines to orders in
    /// `currency` (see `sqlite_sync/visit_orders.rs`); `None` when it ran before.
    fn migrate_visit_order_lines(&self, currency: &str) -> Result<Option<VisitOrdersMigrated>>;
    /// How many documents of `kind` are stored (deleted ones included).
    fn document_count(&self, kind: Kind) -> Result<i64>;
    /// Retires the active key (if any) at `now` and makes `key` the active one, atomically.
    fn rotate_signing_key(&self, key: &SigningKey, now: i64) -> Result<()>;

    /// Stores a batch of `rep_id`'s location pings (idempotent by batch id), at server time
    /// `now` (unix ms).
    fn store_pings(
        &self,
        rep_id: &str,
        upload: &PingUpload,
        now: Millis,
    ) -> Result<PingBatchOutcome>;
    /// The reps whose routes `principal` may review.
    fn reviewable_reps(&self, principal: &Principal) -> Result<Vec<RepInfo>>;
    /// A rep's pings and visits of `[from, to)` (unix ms), as `viewer` may see them: a visit's
    /// customer name and location only when `viewer` sees the customer.
    fn rep_day(&self, viewer: &Principal, rep_id: &str, from: Millis, to: Millis)
    -> Result<RepDay>;
    /// Per-rep figures of `[from, to)`, as `viewer` may see them.
    fn team_overview(
        &self,
        viewer: &Principal,
        reps: &[RepInfo],
        from: Millis,
        to: Millis,
    ) -> Result<Vec<RepOverview>>;
    /// Customers in `principal`'s sight overdue against their cadence at `now`.
    fn overdue_customers(
        &self,
        principal: &Principal,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<OverdueCustomer>>;
}

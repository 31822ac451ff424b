//! FieldCRM core: customers, contacts, opportunities, visits, tasks and cases kept as Automerge
//! documents in SQLite, for field sales apps that must work for weeks without a network.
//!
//! The [`Store`] is the entry point. See `docs/ARCHITECTURE.md` for the design.

pub mod authority;
mod chunks;
mod error;
mod geo;
#[cfg(feature = "http")]
mod http_transport;
mod live;
mod model;
mod pings;
mod projection;
pub mod protocol;
mod query;
mod record;
mod refetch;
mod refused;
pub mod route;
mod schema;
/// Shared with the server: what a database file is, found out without writing to it.
pub mod sqlite_file;
mod store;
mod sync;
mod unknown_values;
mod visits;

pub use error::{ImportError, Result, StoreError, ValidationError};
pub use geo::{
    DayPlan, EXACT_UP_TO, LatLon, plan_day, plan_day_brute_force, plan_day_heuristic,
    verify_check_in,
};
#[cfg(feature = "http")]
pub use http_transport::HttpTransport;
pub use live::{QueryListener, Subscription};
pub use model::*;
pub use pings::{KEEP_UPLOADED_PINGS_MS, RefusedPingRecord};
pub use query::{
    CaseSummary, ContactSummary, CustomerFilter, CustomerSummary, Query, QueryResult, StageTotal,
    TaskSummary, VisitSummary, distance_m,
};
pub use record::{AnyRecord, FieldConflict, Record, check_written_once, conflicts};
pub use refetch::{OutgoingRefetch, RefetchOutcome};
pub use refused::{DOCUMENT_REFUSED, RefusedDocument};
pub use route::{Fix, RouteReview, review_route};
pub use store::{
    ImportReport, IncomingDoc, IncomingPayload, PendingChange, RefusedDoc, RejectedChange, Store,
    StoreKey, SyncStatus, VerifyReport,
};
pub use sync::{
    DEVICE_REVOKED, MAX_RESPONSE_BYTES, OutgoingPings, OutgoingPush, PullOutcome, PushOutcome,
    RetryPolicy, SyncError, SyncReport, SyncSession, Transport, TransportError, UPGRADE_REQUIRED,
    sync,
};
pub use unknown_values::UnknownValue;
pub use visits::{DayRoute, PlannedStop};

/// For the fuzz targets in `fuzz/` only: the chunk framing checks, which are otherwise private.
#[doc(hidden)]
pub mod fuzzing {
    /// `chunks::check`: a sequence of intact Automerge chunks.
    pub fn check_chunks(bytes: &[u8]) -> Result<(), String> {
        crate::chunks::check(bytes)
    }

    /// `chunks::check_change`: exactly one intact change chunk.
    pub fn check_change_chunk(bytes: &[u8]) -> Result<(), String> {
        crate::chunks::check_change(bytes)
    }
}

//! FieldCRM core: customers, contacts, opportunities, visits, tasks, cases, products and orders kept as Automerge
//! documents in SQLite, for field sales apps that must work for weeks without a network.
//!
//! The [`Store`] is the entry point. See `docs/ARCHITECTURE.md` for the design.

pub mod amounts;
pub mod authority;
mod chunks;
pub mod cross_sell;
pub mod dates;
mod error;
mod geo;
#[cfg(feature = "http")]
mod http_transport;
/// The device's analytics snapshot: sync steps, wire types, the live insight query.
pub mod insights;
mod live;
mod model;
pub mod opportunities;
pub mod overdue;
mod partly_read;
mod pings;
pub mod protocol;
mod query;
mod records;
mod refetch;
mod refused;
pub mod route;
mod schema;
/// Shared with the server: what a database file is, found out without writing to it.
pub mod sqlite_file;
mod store;
mod sync;
mod visits;

pub use error::{ImportError, Result, StoreError, ValidationError};
pub use geo::{
    DayPlan, EXACT_UP_TO, plan_day, plan_day_brute_force, plan_day_heuristic, verify_check_in,
};
#[cfg(feature = "http")]
pub use http_transport::HttpTransport;
pub use insights::{
    CustomerInsight, InsightOffer, InsightsOutcome, InsightsRequest, InsightsRun, OfferProduct,
};
pub use live::{QueryListener, Subscription};
pub use model::*;
pub use opportunities::{
    CurrencyTotal, DealSummary, StageDeals, default_probability, weight_percent, weighted_minor,
};
pub use partly_read::PartlyRead;
pub use pings::{KEEP_UPLOADED_PINGS_MS, RefusedPingRecord, fix_row};
pub use query::{
    CaseSummary, CategorySummary, ContactSummary, CustomerFilter, CustomerSummary, OrderDetail,
    OrderLineSummary, OrderSummary, ProductSummary, Query, QueryResult, StageTotal, TaskSummary,
    TimelineEntry, VisitFilter, VisitSummary,
};
pub use records::UnknownValue;
pub use records::{AnyRecord, FieldConflict, Record, check_written_once, conflicts};
pub use refetch::{OutgoingRefetch, RefetchOutcome};
pub use refused::{DOCUMENT_REFUSED, RefusedDocument};
pub use route::{RouteReview, review_route};
pub use store::{
    Clock, ImportReport, IncomingDoc, IncomingPayload, LineEdit, PendingChange, RefusedDoc,
    RejectedChange, Store, StoreKey, VerifyReport, now_ms,
};
pub use sync::{
    DEVICE_REVOKED, MAX_RESPONSE_BYTES, OutgoingPings, OutgoingPush, PullOutcome, PushOutcome,
    RetryPolicy, SyncError, SyncReport, SyncSession, Transport, TransportError, UPGRADE_REQUIRED,
    sync,
};
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

    /// A document read both ways: strictly (`AnyRecord::read`, the server's) and leniently
    /// (the device's, with the paths of the fields it skipped). `None` when the bytes do not
    /// load as a document (Automerge's panics on loading included: the device never meets
    /// those, the server stores no document that does not load).
    #[allow(clippy::type_complexity)]
    pub fn read_strict_and_lenient(
        bytes: &[u8],
    ) -> Option<(
        Result<crate::AnyRecord, String>,
        Result<(crate::AnyRecord, Vec<String>), String>,
    )> {
        let loaded = std::panic::catch_unwind(|| crate::chunks::load(bytes))
            .ok()?
            .ok()?;
        let strict = crate::AnyRecord::read(&loaded).map_err(|e| e.to_string());
        let lenient = crate::AnyRecord::read_leniently(&loaded)
            .map(|read| (read.record, read.unread_fields))
            .map_err(|e| e.to_string());
        Some((strict, lenient))
    }
}

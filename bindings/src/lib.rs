//! FieldCRM bindings: a thin uniffi wrapper over `fieldcrm-core` for Kotlin and Swift apps.
//!
//! No business logic lives here: every call converts its arguments to core's types, calls the
//! core [`fieldcrm_core::Store`], and converts the result (or error) back. The uniffi types are
//! declared under `convert/` so that core never depends on uniffi.
//!
//! Every method is blocking (SQLite, and the network for sync): call it off the UI thread. A
//! [`FieldStore`] may be used from any number of threads at once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use fieldcrm_core as fc;

mod convert;
mod error;

pub use convert::*;
pub use error::{FieldCrmError, ValidationRule};

uniffi::setup_scaffolding!();

type Result<T, E = FieldCrmError> = std::result::Result<T, E>;

/// Runs `f`, turning a panic into [`FieldCrmError::Internal`] so that the host receives a typed
/// error instead of uniffi's generic one. The panic payload is left out: it may quote data.
fn guarded<T>(operation: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(FieldCrmError::Internal {
            operation: operation.to_owned(),
        })
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data is an `Option`: nothing a panicking holder can leave half-done.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn internal(operation: &str) -> FieldCrmError {
    FieldCrmError::Internal {
        operation: operation.to_owned(),
    }
}

fn customer_rows(result: fc::QueryResult) -> Result<Vec<CustomerSummary>> {
    match result {
        fc::QueryResult::Customers(rows) => Ok(rows.into_iter().map(Into::into).collect()),
        _ => Err(internal("customer query returned other rows")),
    }
}

/// Receives the new result of a live query (see [`FieldStore::subscribe`]). Called on the
/// thread whose write changed the result, never under the store's lock, so it may call back
/// into the store; hand the result to the UI thread yourself.
#[uniffi::export(with_foreign)]
pub trait QueryListener: Send + Sync {
    /// What the listener throws is dropped (the write has committed; other listeners still
    /// run). Declared fallible so that a throw comes back as an error value instead of a panic
    /// whose message, which may quote the app's data, the panic hook would print.
    fn on_result(&self, result: QueryResult) -> Result<()>;
}

/// Moves sync messages to the FieldCRM server; implemented by the host over its own HTTP client
/// (OkHttp, URLSession, ...). `push` POSTs the body to `/v1/sync/push`, `pull` to
/// `/v1/sync/pull`, `upload_pings` to `/v1/sync/pings`, `refetch` to `/v1/sync/refetch`, all
/// with
/// `content-type: application/vnd.fieldcrm.sync` and the bearer token, and return the 200
/// response body. Throw `FieldCrmError.Offline` when the request did not reach the server
/// (retried with backoff) and `FieldCrmError.ServerRefused` with the status, the JSON
/// error's `code` and the `Retry-After` header's seconds (if any) for any other status.
#[uniffi::export(with_foreign)]
pub trait SyncTransport: Send + Sync {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>>;
    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>>;
    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>>;
    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>>;
}

struct ListenerAdapter(Arc<dyn QueryListener>);

impl fc::QueryListener for ListenerAdapter {
    fn on_result(&self, result: fc::QueryResult) {
        let result = QueryResult::from(result);
        // A listener that throws or panics must not make the write that triggered it look
        // failed (it has committed), nor stop other listeners.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let _ = self.0.on_result(result);
        }));
    }
}

struct TransportAdapter(Arc<dyn SyncTransport>);

impl fc::Transport for TransportAdapter {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.0
            .push(body)
            .map_err(FieldCrmError::into_transport_error)
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.0
            .pull(body)
            .map_err(FieldCrmError::into_transport_error)
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.0
            .upload_pings(body)
            .map_err(FieldCrmError::into_transport_error)
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.0
            .refetch(body)
            .map_err(FieldCrmError::into_transport_error)
    }
}

/// Keeps a live query running. `close()` (or dropping the object) stops it.
#[derive(uniffi::Object)]
pub struct Subscription {
    inner: Mutex<Option<fc::Subscription>>,
}

#[uniffi::export]
impl Subscription {
    /// Stops the live query; the listener is not called afterwards. Closing twice is harmless.
    pub fn close(&self) {
        lock(&self.inner).take();
    }

    pub fn is_active(&self) -> bool {
        lock(&self.inner).is_some()
    }
}

/// An offline CRM store: one SQLite file holding the user's records, the upload queue and the
/// sync state.
#[derive(uniffi::Object)]
pub struct FieldStore {
    /// `None` once closed. Calls clone the `Arc` and release the lock at once, so a long call
    /// never blocks `close()`; the store itself is dropped when the last running call ends.
    /// One sync at a time is the core store's rule: a second one fails at once with
    /// `AlreadySyncing`.
    store: RwLock<Option<Arc<fc::Store>>>,
}

impl std::fmt::Debug for FieldStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldStore")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl FieldStore {
    fn wrap(store: fc::Store) -> Arc<FieldStore> {
        Arc::new(FieldStore {
            store: RwLock::new(Some(Arc::new(store))),
        })
    }

    fn store(&self) -> Result<Arc<fc::Store>> {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(FieldCrmError::StoreClosed)
    }

    /// Runs `f` on the open store, with panics turned into errors.
    fn with<T>(&self, operation: &str, f: impl FnOnce(&fc::Store) -> Result<T>) -> Result<T> {
        let store = self.store()?;
        guarded(operation, || f(&store))
    }

    fn query_core(&self, operation: &str, query: fc::Query) -> Result<fc::QueryResult> {
        self.with(operation, |s| Ok(s.query(&query)?))
    }

    fn run_sync(
        &self,
        operation: &str,
        transport: &dyn fc::Transport,
        cancellation: Option<&SyncCancellation>,
    ) -> Result<SyncReport> {
        let store = self.store()?;
        guarded(operation, || {
            let report = match cancellation {
                None => fc::sync(
                    &store,
                    transport,
                    &fc::RetryPolicy::default(),
                    &mut std::thread::sleep,
                    &fc::now_ms,
                )?,
                Some(cancellation) => fc::sync(
                    &store,
                    &Cancellable {
                        inner: transport,
                        cancellation,
                    },
                    &fc::RetryPolicy::default(),
                    &mut |pause| cancellation.sleep(pause),
                    &fc::now_ms,
                )?,
            };
            Ok(report.into())
        })
    }
}

// In a block of its own: the uniffi-bindgen binary is built without the feature (Cargo.toml).
#[cfg(feature = "encryption")]
#[uniffi::export]
impl FieldStore {
    /// Opens (or creates) the store file at `path` encrypted with `key`: the 32 random bytes
    /// the app keeps in the Android Keystore or the iOS Keychain (see docs/EMBEDDING.md). A
    /// plaintext store made by `open` is encrypted in place on the first call, keeping
    /// everything not yet synced. A key that does not open the file is `WrongKey`, opening an
    /// encrypted file with `open` is `KeyRequired`; in both cases the file is not modified.
    #[uniffi::constructor]
    pub fn open_encrypted(path: String, key: Vec<u8>) -> Result<Arc<Self>> {
        let key = zeroize::Zeroizing::new(key);
        guarded("open_encrypted", || {
            let key = fc::StoreKey::from_bytes(&key)?;
            Ok(FieldStore::wrap(fc::Store::open_encrypted(&path, &key)?))
        })
    }
}

/// Lets the app stop a sync round early: Android's WorkManager stopping a worker, iOS ending a
/// background task. Pass it to `FieldStore::sync_cancellable` and call `cancel()` from any
/// thread: a request already on the wire finishes, no further request starts and backoff
/// waits end at once; the round fails with `Offline` ("sync cancelled"). Nothing is lost: what
/// was not acknowledged goes with the next round.
#[derive(uniffi::Object, Debug, Default)]
pub struct SyncCancellation {
    cancelled: std::sync::atomic::AtomicBool,
}

#[uniffi::export]
impl SyncCancellation {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(SyncCancellation::default())
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl SyncCancellation {
    /// Waits `pause`, or less when cancelled meanwhile.
    fn sleep(&self, pause: std::time::Duration) {
        let step = std::time::Duration::from_millis(50);
        let mut left = pause;
        while !left.is_zero() && !self.is_cancelled() {
            let now = left.min(step);
            std::thread::sleep(now);
            left = left.saturating_sub(now);
        }
    }

    fn check(&self) -> Result<(), fc::TransportError> {
        if self.is_cancelled() {
            return Err(fc::TransportError::Offline("sync cancelled".into()));
        }
        Ok(())
    }
}

/// A transport that refuses to start a request once its sync was cancelled.
struct Cancellable<'a> {
    inner: &'a dyn fc::Transport,
    cancellation: &'a SyncCancellation,
}

impl fc::Transport for Cancellable<'_> {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.cancellation.check()?;
        self.inner.push(body)
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.cancellation.check()?;
        self.inner.pull(body)
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.cancellation.check()?;
        self.inner.upload_pings(body)
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, fc::TransportError> {
        self.cancellation.check()?;
        self.inner.refetch(body)
    }
}

#[uniffi::export]
impl FieldStore {
    /// Opens (or creates) the store file at `path`. A file that is not a FieldCRM store, or one
    /// written by a newer version, is refused without being modified.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Arc<Self>> {
        guarded("open", || Ok(FieldStore::wrap(fc::Store::open(&path)?)))
    }

    /// Closes the store: every later call fails with `StoreClosed`, live queries stop, and the
    /// file is released once calls already running return. Closing twice is harmless.
    pub fn close(&self) {
        self.store
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    pub fn is_closed(&self) -> bool {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// This device's Automerge actor id (hex); register it with the server for the user.
    pub fn actor_id(&self) -> Result<String> {
        self.with("actor_id", |s| Ok(s.actor_id()))
    }

    /// The user id (from the server's login) written into this device's changes.
    pub fn set_user(&self, user_id: String) -> Result<()> {
        self.with("set_user", |s| Ok(s.set_user(&user_id)?))
    }

    pub fn user(&self) -> Result<String> {
        self.with("user", |s| Ok(s.user()))
    }

    /// Fields of a record on which concurrent edits disagreed, with the values that lost.
    pub fn conflicts(&self, id: String) -> Result<Vec<FieldConflict>> {
        self.with("conflicts", |s| {
            Ok(s.conflicts(&id)?.into_iter().map(Into::into).collect())
        })
    }

    // -- queries ------------------------------------------------------------------------------

    /// Runs any query once.
    pub fn query(&self, query: Query) -> Result<QueryResult> {
        Ok(self.query_core("query", query.into())?.into())
    }

    /// Prefix search over customer name, contact names, city and phone numbers. A limit of 0
    /// means 50.
    pub fn search_customers(&self, text: String, limit: u32) -> Result<Vec<CustomerSummary>> {
        customer_rows(self.query_core(
            "search_customers",
            fc::Query::SearchCustomers { text, limit },
        )?)
    }

    /// Customers nearest to a position, closest first, with `distance_m` set.
    pub fn nearby_customers(
        &self,
        lat: f64,
        lon: f64,
        max_distance_m: Option<f64>,
        limit: u32,
    ) -> Result<Vec<CustomerSummary>> {
        customer_rows(self.query_core(
            "nearby_customers",
            fc::Query::NearbyCustomers {
                lat,
                lon,
                max_distance_m,
                limit,
            },
        )?)
    }

    /// Customers by owner, territory, grade and segment, sorted by name.
    pub fn customers(&self, filter: CustomerFilter) -> Result<Vec<CustomerSummary>> {
        customer_rows(self.query_core("customers", fc::Query::Customers(filter.into()))?)
    }

    /// Customers whose visit cadence has lapsed at `now`, most overdue first.
    pub fn overdue_customers(
        &self,
        now: i64,
        owner: Option<String>,
        limit: u32,
    ) -> Result<Vec<CustomerSummary>> {
        customer_rows(self.query_core(
            "overdue_customers",
            fc::Query::OverdueCustomers { now, owner, limit },
        )?)
    }

    /// A rep's visits in `[from, to)` (by check-in, or planned start before check-in).
    pub fn visits_for_rep(&self, rep: String, from: i64, to: i64) -> Result<Vec<VisitSummary>> {
        match self.query_core("visits_for_rep", fc::Query::VisitsForRep { rep, from, to })? {
            fc::QueryResult::Visits(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("visit query returned other rows")),
        }
    }

    /// A customer's visits, newest first (by check-in, or planned start before check-in).
    pub fn visits_for_customer(
        &self,
        customer_id: String,
        limit: u32,
    ) -> Result<Vec<VisitSummary>> {
        let query = fc::Query::VisitsForCustomer { customer_id, limit };
        match self.query_core("visits_for_customer", query)? {
            fc::QueryResult::Visits(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("visit query returned other rows")),
        }
    }

    /// A customer's contacts, by name.
    pub fn contacts_of_customer(&self, customer_id: String) -> Result<Vec<ContactSummary>> {
        let query = fc::Query::ContactsOfCustomer { customer_id };
        match self.query_core("contacts_of_customer", query)? {
            fc::QueryResult::Contacts(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("contact query returned other rows")),
        }
    }

    /// Opportunity count and amount per stage and currency.
    pub fn pipeline(&self, owner: Option<String>) -> Result<Vec<StageTotal>> {
        match self.query_core("pipeline", fc::Query::Pipeline { owner })? {
            fc::QueryResult::Pipeline(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("pipeline query returned other rows")),
        }
    }

    pub fn open_tasks(&self, assignee: Option<String>) -> Result<Vec<TaskSummary>> {
        match self.query_core("open_tasks", fc::Query::OpenTasks { assignee })? {
            fc::QueryResult::Tasks(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("task query returned other rows")),
        }
    }

    pub fn open_cases(&self, customer_id: Option<String>) -> Result<Vec<CaseSummary>> {
        match self.query_core("open_cases", fc::Query::OpenCases { customer_id })? {
            fc::QueryResult::Cases(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("case query returned other rows")),
        }
    }

    /// Calls `listener` with the query's current result now, then after every write or sync
    /// that changes it, until the returned subscription is closed or dropped (or the store is).
    pub fn subscribe(
        &self,
        query: Query,
        listener: Arc<dyn QueryListener>,
    ) -> Result<Arc<Subscription>> {
        self.with("subscribe", |s| {
            let subscription = s.subscribe(query.into(), Arc::new(ListenerAdapter(listener)))?;
            Ok(Arc::new(Subscription {
                inner: Mutex::new(Some(subscription)),
            }))
        })
    }

    // -- visits in the field ------------------------------------------------------------------

    /// Checks in to a planned visit with the current fix: written once, verified offline
    /// against the customer's location and visit radius (`verification` on the visit).
    pub fn check_in(&self, visit_id: String, fix: GpsFix) -> Result<Visit> {
        self.with("check_in", |s| {
            Ok(s.check_in(&visit_id, fix.into())?.into())
        })
    }

    /// What a check-in with `fix` at `customer_id` would be verified as, against the customer's
    /// location and radius on this device, without writing anything (for showing "you are
    /// 180 m from the customer" before the rep checks in). The fix is validated as a check-in's.
    pub fn preview_verification(&self, customer_id: String, fix: GpsFix) -> Result<Verification> {
        self.with("preview_verification", |s| {
            let now = fc::now_ms();
            let fix: fc::Fix = fix.into();
            fix.validate("check_in", now)?;
            let stamp = fc::GpsStamp {
                at: now,
                lat: fix.lat,
                lon: fix.lon,
                accuracy_m: fix.accuracy_m,
                fix_at: fix.at,
                mock: fix.mock,
            };
            Ok(s.verify(&customer_id, &stamp)?.into())
        })
    }

    /// Checks out of a visit checked in before (written once); the visit becomes done.
    pub fn check_out(
        &self,
        visit_id: String,
        fix: GpsFix,
        outcome: Option<String>,
    ) -> Result<Visit> {
        self.with("check_out", |s| {
            Ok(s.check_out(&visit_id, fix.into(), outcome)?.into())
        })
    }

    /// Records location pings between visits (append-only; a repeated fix time is kept once).
    /// They upload in batches with the next sync. Returns how many were new.
    pub fn record_pings(&self, pings: Vec<GpsFix>) -> Result<u32> {
        self.with("record_pings", |s| {
            let fixes: Vec<fc::Fix> = pings.into_iter().map(Into::into).collect();
            Ok(s.record_pings(&fixes)?)
        })
    }

    /// The pings recorded with fix times in `[from, to)`, in time order.
    pub fn pings_between(&self, from: i64, to: i64) -> Result<Vec<GpsFix>> {
        self.with("pings_between", |s| {
            Ok(s.pings_between(from, to)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Pings the server refused, with its reasons.
    pub fn refused_pings(&self) -> Result<Vec<RefusedPing>> {
        self.with("refused_pings", |s| {
            Ok(s.refused_pings()?.into_iter().map(Into::into).collect())
        })
    }

    /// The signed-in rep's planned visits of `[day_start, day_end)` in visiting order from
    /// (`lat`, `lon`), with the total distance.
    pub fn plan_day(&self, lat: f64, lon: f64, day_start: i64, day_end: i64) -> Result<DayRoute> {
        self.with("plan_day", |s| {
            Ok(s.plan_day(fc::LatLon::new(lat, lon), day_start, day_end)?
                .into())
        })
    }

    // -- sync ---------------------------------------------------------------------------------

    pub fn sync_status(&self) -> Result<SyncStatus> {
        self.with("sync_status", |s| Ok(s.sync_status()?.into()))
    }

    /// Changes the server refused, newest first. The edits stay in the local records.
    pub fn rejected_changes(&self) -> Result<Vec<RejectedChange>> {
        self.with("rejected_changes", |s| {
            Ok(s.rejected_changes()?.into_iter().map(Into::into).collect())
        })
    }

    /// Documents from the server this device could not load, most recently refused first.
    /// Each sync fetches them again; one that loads leaves the list.
    pub fn refused_documents(&self) -> Result<Vec<RefusedDocument>> {
        self.with("refused_documents", |s| {
            Ok(s.refused_documents()?.into_iter().map(Into::into).collect())
        })
    }

    /// Removes a record's entries from the rejected list once the user has seen them.
    pub fn dismiss_rejections(&self, doc_id: String) -> Result<()> {
        self.with("dismiss_rejections", |s| Ok(s.dismiss_rejections(&doc_id)?))
    }

    /// Checks up to `limit` documents received in a bootstrap against their projections; call
    /// in the background after a first sync until `remaining` is 0.
    pub fn verify_documents(&self, limit: u32) -> Result<VerifyReport> {
        self.with("verify_documents", |s| {
            Ok(s.verify_documents(limit)?.into())
        })
    }

    /// Removes everything this device holds (records, pending changes, pings, rejected
    /// changes, the user binding) and leaves a valid empty store with a fresh actor id. `sync`
    /// does this by itself when the server answers `device_revoked`.
    /// While a sync runs this fails at once with `AlreadySyncing` and wipes nothing.
    pub fn wipe(&self) -> Result<()> {
        self.with("wipe", |s| Ok(s.wipe()?))
    }

    /// One sync round through the host's transport: push every pending change, then pull every
    /// page. Offline errors are retried with backoff (up to 5 tries per request, sleeping on
    /// this thread); the outcome is recorded in `sync_status`. One sync at a time per store:
    /// while one runs, another fails at once with `AlreadySyncing` (and records nothing).
    pub fn sync(&self, transport: Arc<dyn SyncTransport>) -> Result<SyncReport> {
        self.run_sync("sync", &TransportAdapter(transport), None)
    }

    /// `sync`, stoppable from another thread through `cancellation` (see
    /// [`SyncCancellation`]).
    pub fn sync_cancellable(
        &self,
        transport: Arc<dyn SyncTransport>,
        cancellation: Arc<SyncCancellation>,
    ) -> Result<SyncReport> {
        self.run_sync(
            "sync_cancellable",
            &TransportAdapter(transport),
            Some(&cancellation),
        )
    }

    /// The same over the library's own blocking HTTP client (plain HTTP), for hosts without
    /// one and for tests. `base_url` is the server's root, e.g. `http://10.0.2.2:8080`.
    pub fn sync_with_builtin_http(&self, base_url: String, token: String) -> Result<SyncReport> {
        self.run_sync(
            "sync_with_builtin_http",
            &fc::HttpTransport::new(&base_url, &token),
            None,
        )
    }
}

/// Typed create/update/get/delete/restore for one record kind.
macro_rules! record_api {
    ($ty:ident, $create:ident, $update:ident, $get:ident, $delete:ident, $restore:ident) => {
        #[uniffi::export]
        impl FieldStore {
            /// Creates the record; the store fills in `meta` (an empty id gets a new UUID v7)
            /// and returns the record as stored.
            pub fn $create(&self, record: $ty) -> Result<$ty> {
                self.with(stringify!($create), |s| {
                    Ok(s.create(fc::$ty::from(record))?.into())
                })
            }

            /// Saves an edited record (as returned by get or create): only the fields that
            /// differ are written, so concurrent edits of other fields on other devices survive.
            pub fn $update(&self, record: $ty) -> Result<$ty> {
                self.with(stringify!($update), |s| {
                    Ok(s.update(fc::$ty::from(record))?.into())
                })
            }

            /// The record, deleted or not (see `meta.deleted`); `None` if absent.
            pub fn $get(&self, id: String) -> Result<Option<$ty>> {
                self.with(stringify!($get), |s| {
                    Ok(s.get::<fc::$ty>(&id)?.map(Into::into))
                })
            }

            /// Marks the record deleted; the deletion syncs and `restore` undoes it.
            pub fn $delete(&self, id: String) -> Result<()> {
                self.with(stringify!($delete), |s| {
                    // Checks the kind first: deleting by a stale id of another kind is a bug.
                    s.get::<fc::$ty>(&id)?
                        .ok_or_else(|| FieldCrmError::NotFound { id: id.clone() })?;
                    Ok(s.delete(&id)?)
                })
            }

            pub fn $restore(&self, id: String) -> Result<()> {
                self.with(stringify!($restore), |s| {
                    s.get::<fc::$ty>(&id)?
                        .ok_or_else(|| FieldCrmError::NotFound { id: id.clone() })?;
                    Ok(s.restore(&id)?)
                })
            }
        }
    };
}

record_api!(
    Customer,
    create_customer,
    update_customer,
    get_customer,
    delete_customer,
    restore_customer
);
record_api!(
    Contact,
    create_contact,
    update_contact,
    get_contact,
    delete_contact,
    restore_contact
);
record_api!(
    Opportunity,
    create_opportunity,
    update_opportunity,
    get_opportunity,
    delete_opportunity,
    restore_opportunity
);
record_api!(
    Visit,
    create_visit,
    update_visit,
    get_visit,
    delete_visit,
    restore_visit
);
record_api!(
    Task,
    create_task,
    update_task,
    get_task,
    delete_task,
    restore_task
);
record_api!(
    Case,
    create_case,
    update_case,
    get_case,
    delete_case,
    restore_case
);

// -- record constructors with core's defaults -------------------------------------------------

/// A new company customer with core's defaults (visit radius 150 m, no cadence).
#[uniffi::export]
pub fn new_customer(name: String) -> Customer {
    fc::Customer::new(name).into()
}

#[uniffi::export]
pub fn new_contact(customer_id: String, name: String) -> Contact {
    fc::Contact::new(customer_id, name).into()
}

/// A new opportunity at stage lead.
#[uniffi::export]
pub fn new_opportunity(customer_id: String, title: String, amount: Money) -> Opportunity {
    fc::Opportunity::new(customer_id, title, amount.into()).into()
}

/// A new planned visit.
#[uniffi::export]
pub fn new_visit(customer_id: String, rep: String) -> Visit {
    fc::Visit::new(customer_id, rep).into()
}

/// A new open task.
#[uniffi::export]
pub fn new_task(title: String) -> Task {
    fc::Task::new(title).into()
}

/// A new open case of medium severity.
#[uniffi::export]
pub fn new_case(customer_id: String, subject: String) -> Case {
    fc::Case::new(customer_id, subject).into()
}

/// Great-circle (haversine) distance in metres between two positions.
#[uniffi::export]
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    fc::distance_m(lat1, lon1, lat2, lon2)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn open(dir: &tempfile::TempDir) -> Arc<FieldStore> {
        FieldStore::open(dir.path().join("t.sqlite").display().to_string()).unwrap()
    }

    #[test]
    fn previewing_a_check_in_writes_nothing_and_refuses_bad_fixes() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let mut customer = new_customer("Kiosk".into());
        customer.location = Some(GeoLocation {
            lat: 53.55,
            lon: 9.93,
            source: LocationSource::Gps,
            at: fc::now_ms(),
        });
        customer.visit_radius_m = 100;
        let customer = store.create_customer(customer).unwrap();
        let pending = store.sync_status().unwrap().pending_changes;
        let fix = |lat: f64| GpsFix {
            lat,
            lon: 9.93,
            accuracy_m: 10.0,
            fix_at: fc::now_ms(),
            mock: false,
        };
        let preview = |f| store.preview_verification(customer.meta.id.clone(), f);
        assert_eq!(preview(fix(53.5502)), Ok(Verification::Verified));
        assert_eq!(preview(fix(53.57)), Ok(Verification::OutOfRange));
        assert!(matches!(
            preview(fix(91.0)),
            Err(FieldCrmError::InvalidValue { .. })
        ));
        assert_eq!(store.sync_status().unwrap().pending_changes, pending);
    }

    #[test]
    fn a_panic_becomes_a_typed_error() {
        let result: Result<()> = guarded("probe", || panic!("boom"));
        assert_eq!(
            result,
            Err(FieldCrmError::Internal {
                operation: "probe".into()
            })
        );
    }

    #[test]
    fn typed_delete_checks_the_kind_and_restore_undoes_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let customer = store.create_customer(new_customer("Kiosk".into())).unwrap();
        let id = customer.meta.id.clone();
        assert!(matches!(
            store.delete_task(id.clone()),
            Err(FieldCrmError::WrongKind { .. })
        ));
        store.delete_customer(id.clone()).unwrap();
        assert!(
            store
                .get_customer(id.clone())
                .unwrap()
                .unwrap()
                .meta
                .deleted
        );
        assert!(
            store
                .search_customers("kiosk".into(), 0)
                .unwrap()
                .is_empty()
        );
        store.restore_customer(id.clone()).unwrap();
        assert!(!store.get_customer(id).unwrap().unwrap().meta.deleted);
        assert!(matches!(
            store.delete_customer("missing".into()),
            Err(FieldCrmError::NotFound { .. })
        ));
    }

    #[test]
    fn sync_status_counts_pending_changes_and_is_idle() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        store.create_task(new_task("Call back".into())).unwrap();
        let status = store.sync_status().unwrap();
        assert_eq!((status.pending_changes, status.syncing), (1, false));
        assert!(store.rejected_changes().unwrap().is_empty());
    }

    #[test]
    fn a_throwing_transport_is_recorded_as_the_sync_error() {
        struct Down;
        impl SyncTransport for Down {
            fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Err(FieldCrmError::ServerRefused {
                    status: 401,
                    code: "unauthorized".into(),
                    retry_after_secs: None,
                })
            }
            fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Err(FieldCrmError::ServerRefused {
                    status: 401,
                    code: "unauthorized".into(),
                    retry_after_secs: None,
                })
            }
            fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Err(FieldCrmError::ServerRefused {
                    status: 401,
                    code: "unauthorized".into(),
                    retry_after_secs: None,
                })
            }
            fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Err(FieldCrmError::ServerRefused {
                    status: 401,
                    code: "unauthorized".into(),
                    retry_after_secs: None,
                })
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        store.create_task(new_task("Call back".into())).unwrap();
        let err = store.sync(Arc::new(Down)).unwrap_err();
        assert_eq!(
            err,
            FieldCrmError::ServerRefused {
                status: 401,
                code: "unauthorized".into(),
                retry_after_secs: None,
            }
        );
        let status = store.sync_status().unwrap();
        assert_eq!(status.pending_changes, 1, "nothing lost");
        assert!(status.last_error.is_some());
        assert_eq!(status.last_error_code.as_deref(), Some("unauthorized"));
    }

    #[test]
    fn a_cancelled_sync_starts_no_further_request_and_loses_nothing() {
        /// The network is down; while the first push fails, the app cancels the round.
        struct CancelledWhileDown {
            cancellation: Arc<SyncCancellation>,
            requests: AtomicUsize,
        }
        impl SyncTransport for CancelledWhileDown {
            fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                self.requests.fetch_add(1, Ordering::SeqCst);
                self.cancellation.cancel();
                Err(FieldCrmError::Offline {
                    reason: "no route to host".into(),
                })
            }
            fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                self.requests.fetch_add(1, Ordering::SeqCst);
                Ok(Vec::new())
            }
            fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                self.requests.fetch_add(1, Ordering::SeqCst);
                Ok(Vec::new())
            }
            fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                self.requests.fetch_add(1, Ordering::SeqCst);
                Ok(Vec::new())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        store.create_task(new_task("Call back".into())).unwrap();
        let cancellation = SyncCancellation::new();
        let transport = Arc::new(CancelledWhileDown {
            cancellation: cancellation.clone(),
            requests: AtomicUsize::new(0),
        });
        let err = store
            .sync_cancellable(transport.clone(), cancellation.clone())
            .unwrap_err();
        assert_eq!(
            err,
            FieldCrmError::Offline {
                reason: "sync cancelled".into()
            }
        );
        assert_eq!(
            transport.requests.load(Ordering::SeqCst),
            1,
            "no retry after cancel"
        );
        let status = store.sync_status().unwrap();
        assert_eq!(
            (status.pending_changes, status.last_error_code.as_deref()),
            (1, Some("offline"))
        );
        assert!(cancellation.is_cancelled() && !status.syncing);
    }

    #[test]
    fn a_second_sync_while_one_runs_is_refused_at_once() {
        /// While its push is under way, the app starts another sync and a wipe on the same
        /// store (the sync button during the background worker's round); then the server
        /// refuses the push.
        struct Reentrant {
            store: Arc<FieldStore>,
            during: Mutex<Vec<Result<()>>>,
        }
        impl Reentrant {
            fn refused() -> Result<Vec<u8>> {
                Err(FieldCrmError::ServerRefused {
                    status: 401,
                    code: "unauthorized".into(),
                    retry_after_secs: None,
                })
            }
        }
        struct Refusing;
        impl SyncTransport for Refusing {
            fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Reentrant::refused()
            }
            fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Reentrant::refused()
            }
            fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Reentrant::refused()
            }
            fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Reentrant::refused()
            }
        }
        impl SyncTransport for Reentrant {
            fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                let second = self.store.sync(Arc::new(Refusing)).map(|_| ());
                let wipe = self.store.wipe();
                let syncing = self.store.sync_status().map(|s| s.syncing);
                lock(&self.during).extend([second, wipe, syncing.map(|s| assert!(s))]);
                Reentrant::refused()
            }
            fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Reentrant::refused()
            }
            fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Reentrant::refused()
            }
            fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
                Reentrant::refused()
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let task = store.create_task(new_task("Call back".into())).unwrap();
        let transport = Arc::new(Reentrant {
            store: store.clone(),
            during: Mutex::new(Vec::new()),
        });
        let err = store.sync(transport.clone()).unwrap_err();
        assert!(
            matches!(err, FieldCrmError::ServerRefused { .. }),
            "{err:?}"
        );
        assert_eq!(
            *lock(&transport.during),
            [
                Err(FieldCrmError::AlreadySyncing),
                Err(FieldCrmError::AlreadySyncing),
                Ok(())
            ]
        );
        assert!(store.get_task(task.meta.id).unwrap().is_some(), "not wiped");
        let status = store.sync_status().unwrap();
        assert_eq!(
            (status.syncing, status.last_error_code.as_deref()),
            (false, Some("unauthorized")),
            "the running round's outcome, not the refused one's"
        );
        // Once it has ended, the next one runs.
        let err = store.sync(Arc::new(Refusing)).unwrap_err();
        assert!(
            matches!(err, FieldCrmError::ServerRefused { .. }),
            "{err:?}"
        );
    }
}

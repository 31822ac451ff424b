//! The HTTP API: routes, shared state, the JSON body extractor and request metrics.
//!
//! Every answer that is not a success is an [`ApiError`] in JSON with a stable code, including
//! bodies axum itself refuses (malformed JSON, too large), unknown routes and wrong methods.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use fieldcrm_core::protocol::{self, ProtocolError, PullRequest, PushRequest};

use crate::accounts::{self, AuthSession};
use crate::auth::{Auth, AuthUser, Caller};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::model::{Device, Role};
use crate::rate_limit::RateLimiter;
use crate::storage::{FaultInjection, Storage};

/// Size limits applied to requests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body accepted as sent (compressed), in bytes.
    pub max_body_bytes: usize,
    /// Largest sync payload after decompression, in bytes (used by push/pull).
    pub max_decompressed_bytes: usize,
    /// The oldest sync protocol version served (`--oldest-protocol-version`).
    pub oldest_protocol_version: u8,
}

impl Limits {
    /// The protocol version of a sync body, when this server serves it: an older one is
    /// refused with `426 upgrade_required` before anything is decoded or queued, a newer one
    /// with `unsupported_protocol_version`.
    pub(crate) fn served_version(&self, body: &[u8]) -> Result<u8, ApiError> {
        let version = protocol::version_of(body)?;
        if version < self.oldest_protocol_version {
            return Err(ApiError::UpgradeRequired {
                found: u32::from(version),
                oldest: u32::from(self.oldest_protocol_version),
            });
        }
        Ok(version)
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub auth: Arc<Auth>,
    pub metrics: Metrics,
    pub limits: Limits,
    /// Request rates per device and user, login attempts per username (see rate_limit.rs).
    pub rate_limits: Arc<RateLimiter>,
    /// What the dashboard's route map is drawn on (`--map-tiles`; default: the offline grid).
    pub basemap: Arc<crate::basemap::Basemap>,
    /// The server's own address and the delivery worker's wake-up signal (see webhooks.rs).
    pub webhooks: crate::webhooks::WebhookHub,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl FromRef<AppState> for Arc<Auth> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// The router, without a socket: `main` serves it, tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
    // Read the test-only fault injection hooks once, at startup (see `FaultInjection`).
    FaultInjection::get();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/v1/auth/login", post(login))
        .route("/v1/devices", post(accounts::register_device))
        .route(
            "/v1/admin/users/{user_id}/disable",
            post(accounts::disable_user),
        )
        .route(
            "/v1/admin/users/{user_id}/enable",
            post(accounts::enable_user),
        )
        .route(
            "/v1/admin/users/{user_id}/devices",
            get(accounts::user_devices),
        )
        .route(
            "/v1/admin/devices/{device}/revoke",
            post(accounts::revoke_device),
        )
        .route(
            "/v1/admin/import/order-history",
            post(order_history::import)
                .layer(DefaultBodyLimit::max(csv_files::MAX_IMPORT_BODY_BYTES)),
        )
        .route(
            "/v1/admin/import/{kind}",
            post(csv_files::import).layer(DefaultBodyLimit::max(csv_files::MAX_IMPORT_BODY_BYTES)),
        )
        .route("/v1/export/{file}", get(csv_files::export))
        .route("/v1/me", get(me))
        .route("/v1/sync/push", post(push))
        .route("/v1/sync/pull", post(pull))
        .route("/v1/sync/pings", post(fieldwork::upload_pings))
        .route("/v1/sync/refetch", post(crate::refetch::refetch))
        .route("/v1/reps", get(fieldwork::reps))
        .route("/v1/routes/{rep_id}/{date}", get(fieldwork::route))
        .route(
            "/v1/routes/{rep_id}/{date}/export",
            get(fieldwork::route_export),
        )
        .route("/v1/team/overview", get(fieldwork::team_overview))
        .route("/v1/cases", get(cases::list))
        .route("/v1/events", get(webhooks::events))
        .route("/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/v1/webhooks/{id}", axum::routing::delete(webhooks::delete))
        .route("/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/v1/webhooks/{id}/replay", post(webhooks::replay_all))
        .route(
            "/v1/webhooks/{id}/deliveries/{seq}/replay",
            post(webhooks::replay_one),
        )
        .route("/v1/coverage/overdue", get(fieldwork::overdue))
        .route("/", get(fieldwork::to_dashboard))
        .route("/dashboard", get(fieldwork::dashboard))
        .route("/dashboard/", get(fieldwork::dashboard))
        .route("/dashboard/app.js", get(fieldwork::dashboard_js))
        .route("/dashboard/app.css", get(fieldwork::dashboard_css))
        .route("/dashboard/map.js", get(fieldwork::dashboard_map_js))
        .route("/dashboard/basemap.json", get(basemap::config))
        .route("/dashboard/vendor/leaflet.js", get(basemap::leaflet_js))
        .route("/dashboard/vendor/leaflet.css", get(basemap::leaflet_css))
        .route("/v1/pipeline", get(sales::pipeline))
        .route("/v1/pipeline/forecast", get(sales::forecast))
        .route("/v1/pipeline/funnel", get(sales::funnel))
        .route("/v1/pipeline/win-rate", get(sales::win_rate))
        .route("/v1/pipeline/big-deals", get(sales::big_deals))
        .route(
            "/v1/targets",
            get(targets::get_targets).put(targets::put_target),
        )
        .route("/v1/targets/ranking", get(targets::ranking))
        .route("/dashboard/charts.js", get(sales::dashboard_charts_js))
        .route("/dashboard/sales.js", get(sales::dashboard_sales_js))
        .route("/dashboard/targets.js", get(sales::dashboard_targets_js))
        .route("/v1/revenue", get(revenue::revenue))
        .route(
            "/v1/revenue/unknown-products",
            get(revenue::unknown_products),
        )
        .route("/dashboard/revenue.js", get(revenue::dashboard_revenue_js))
        .route("/v1/analytics", get(analytics::overview))
        .route("/v1/analytics/customers", get(analytics::customers))
        .route("/v1/analytics/rules", get(analytics::rules))
        .route("/v1/analytics/panels", get(analytics_panels::panels))
        .route(
            "/dashboard/analytics.js",
            get(analytics_panels::dashboard_analytics_js),
        )
        .route(
            "/dashboard/campaigns.js",
            get(campaigns::dashboard_campaigns_js),
        )
        .route(
            "/v1/campaigns",
            get(campaigns::list).post(campaigns::create),
        )
        .route("/v1/campaigns/preview", post(campaigns::preview))
        .route("/v1/campaigns/{id}", get(campaigns::detail))
        .route("/v1/campaigns/{id}/start", post(campaigns::start))
        .route("/v1/campaigns/{id}/targets", get(campaigns::targets))
        .route(
            "/v1/analytics/device",
            get(analytics_device::device_snapshot),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Runs `f` on the blocking pool (database, argon2) and flattens its error.
pub async fn blocking<T, E, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await?.map_err(Into::into)
}

/// A JSON body whose rejections (malformed, wrong type, too large, wrong content type) are
/// [`ApiError`]s, never axum's plain-text defaults.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejection.into()),
        }
    }
}

/// Counts and times every request by route template and status, and logs it.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status();
    let seconds = started.elapsed().as_secs_f64();
    state
        .metrics
        .http_requests
        .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
        .inc();
    state
        .metrics
        .http_seconds
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(seconds);
    tracing::info!(
        method = %method,
        route = %route,
        status = status.as_u16(),
        ms = seconds * 1000.0,
        "request"
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
}

/// Liveness and storage health.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    description = "Public.",
    responses(
        (status = 200, description = "The storage answers", body = Health),
        (status = 503, description = "`unavailable`: the storage does not answer"),
    )
)]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let storage = state.storage.clone();
    match tokio::task::spawn_blocking(move || storage.health()).await {
        Ok(Ok(())) => Ok(Json(Health { status: "ok" })),
        Ok(Err(err)) => {
            tracing::error!(error = %err, "health check failed");
            Err(ApiError::Unavailable)
        }
        Err(err) => Err(err.into()),
    }
}

/// Prometheus metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    description = "Admins, or a scraper holding the metrics token (`--metrics-token`) as its bearer token.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The Prometheus text format", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 403, description = "`forbidden`: not an admin"),
    )
)]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    accounts::may_read_metrics(&state, &headers).await?;
    let text = state.metrics.render().map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct UserSummary {
    id: String,
    username: String,
    role: Role,
    team: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LoginResponse {
    token: String,
    token_type: &'static str,
    /// Unix seconds.
    expires_at: i64,
    user: UserSummary,
}

/// Password hashing takes ~19 MiB and a core for tens of milliseconds: at most this many run at
/// once, so a burst of logins queues instead of growing memory and starving sync requests.
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(3);

/// Pushes merged at once. Each push merges its documents first and then holds the single
/// writer briefly; three in flight keep both cores merging while one push writes (measured by
/// the load benchmark: the writer is held about a quarter of a push's time). More would only
/// queue at the writer while holding a thread each, and a push that waits long merges against
/// a version that is stale by the time it writes (and must merge again).
static PUSHES_IN_FLIGHT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(3);

/// Pulls served at once: as many as there are read connections (see `storage/sqlite.rs`), so waiting
/// pulls queue here without holding a thread each.
pub(crate) static PULLS_IN_FLIGHT: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(crate::storage::READERS);

/// Signs in with a username and password.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    description = "Public. The answer's token is the bearer token of every other operation, until `expires_at`; there is no refresh: sign in again.",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 400, description = "`bad_request`: not a JSON body of this shape"),
        (status = 401, description = "`unauthorized`: wrong username or password (one answer for both)"),
        (status = 413, description = "`payload_too_large`"),
        (status = 429, description = "`rate_limited`: too many attempts for this username; see `Retry-After`"),
    )
)]
async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    state.rate_limits.login_attempt(&body.username)?;
    let _permit = PASSWORD_CHECKS
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let auth = state.auth.clone();
    let (user, issued) = blocking(move || {
        let user = auth.login(&body.username, &body.password)?;
        let issued = auth.issue(&user)?;
        Ok::<_, crate::auth::AuthError>((user, issued))
    })
    .await?;
    Ok(Json(LoginResponse {
        token: issued.token,
        token_type: "Bearer",
        expires_at: issued.expires_at,
        user: UserSummary {
            id: user.id,
            username: user.username,
            role: user.role,
            team: user.team_id,
        },
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TerritorySummary {
    id: String,
    name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MeResponse {
    #[serde(flatten)]
    user: UserSummary,
    territories: Vec<TerritorySummary>,
    devices: Vec<Device>,
}

/// The caller: their user, territories and devices.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "auth",
    description = "Any signed-in user.",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = MeResponse))
)]
async fn me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<MeResponse>, ApiError> {
    let storage = state.storage.clone();
    let user_id = user.id.clone();
    let (territories, devices) = blocking(move || {
        let territories = storage.user_territories(&user_id)?;
        let devices = storage.devices_of_user(&user_id)?;
        Ok::<_, crate::storage::StorageError>((territories, devices))
    })
    .await?;
    Ok(Json(MeResponse {
        user: UserSummary {
            id: user.id,
            username: user.username,
            role: user.role,
            team: user.team_id,
        },
        territories: territories
            .into_iter()
            .map(|t| TerritorySummary {
                id: t.id,
                name: t.name,
            })
            .collect(),
        devices,
    }))
}

impl From<ProtocolError> for ApiError {
    fn from(err: ProtocolError) -> Self {
        match err {
            ProtocolError::UnsupportedVersion { found, .. } => {
                ApiError::UnsupportedProtocolVersion(u32::from(found))
            }
            ProtocolError::UpgradeRequired { found, oldest } => ApiError::UpgradeRequired {
                found: u32::from(found),
                oldest: u32::from(oldest),
            },
            ProtocolError::TooLarge { .. } => ApiError::PayloadTooLarge,
            ProtocolError::LimitExceeded { .. } => ApiError::LimitExceeded(err.to_string()),
            ProtocolError::BadMagic | ProtocolError::Malformed(_) => {
                ApiError::MalformedMessage(err.to_string())
            }
        }
    }
}

// A device asks for pages of at most the protocol's page size and refuses bigger ones: the
// server's own page size must not be larger.
const _: () = assert!(crate::storage::MAX_PAGE as usize <= protocol::MAX_DOCS_PER_PAGE);

pub(crate) fn sync_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, protocol::CONTENT_TYPE)], body).into_response()
}

/// `POST /v1/sync/push`: see docs/PROTOCOL.md.
async fn push(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    saw_session(&state, &caller);
    admit_sync_request(&state, &caller)?;
    let user = caller.user;
    let started = Instant::now();
    let body = body?;
    state.limits.served_version(&body)?;
    let storage = state.storage.clone();
    let max_decompressed = state.limits.max_decompressed_bytes;
    let _permit = PUSHES_IN_FLIGHT
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    // Decoding (inflating) is CPU work: on the blocking pool, under the push permit.
    let (response, stats, version) = blocking(move || {
        let (request, version): (PushRequest, u8) =
            protocol::decode_versioned(&body, max_decompressed)?;
        let principal = storage.principal(&user)?;
        let (response, stats) = storage.push_changes(&principal, request)?;
        Ok::<_, ApiError>((response, stats, version))
    })
    .await?;
    // Test hook (see `FaultInjection`): committed, not yet answered.
    FaultInjection::crash_if(FaultInjection::get().exit_after_commit, "after commit");
    state.metrics.changes_merged.inc_by(stats.merged_changes);
    if stats.merged_changes > 0 {
        // Events may have been committed with the changes.
        state.webhooks.wake();
    }
    state
        .metrics
        .push_seconds
        .observe(started.elapsed().as_secs_f64());
    // Answered in the version the device asked in.
    Ok(sync_response(
        protocol::encode_as(&response, version).map_err(ApiError::internal)?,
    ))
}

/// Admits one sync request of the authenticated caller under the rate limits: per device
/// (the caller's session, which is one device's login) and per user.
pub(crate) fn admit_sync_request(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    Ok(state
        .rate_limits
        .sync_request(&caller.user.id, caller.connection_key().as_bytes())?)
}

/// Counts the authenticated caller's session for `fieldcrm_connected_devices`.
pub(crate) fn saw_session(state: &AppState, caller: &Caller) {
    state
        .metrics
        .saw_session(caller.connection_key().as_bytes());
}

/// `POST /v1/sync/pull`: see docs/PROTOCOL.md.
async fn pull(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    saw_session(&state, &caller);
    admit_sync_request(&state, &caller)?;
    let user = caller.user;
    let body = body?;
    state.limits.served_version(&body)?;
    let storage = state.storage.clone();
    let max_decompressed = state.limits.max_decompressed_bytes;
    let _permit = PULLS_IN_FLIGHT
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let body = blocking(move || {
        let (request, version): (PullRequest, u8) =
            protocol::decode_versioned(&body, max_decompressed)?;
        let principal = storage.principal(&user)?;
        let page = storage.pull_changes(&principal, &request, version)?;
        // Answered in the version the device asked in (a version 1 app gets its records
        // inline); encoding a page is CPU work too.
        protocol::encode_pull_response(&page, version).map_err(ApiError::internal)
    })
    .await?;
    Ok(sync_response(body))
}

mod analytics;
mod analytics_device;
mod analytics_panels;
mod basemap;
mod campaigns;
mod cases;
mod csv_files;
mod fieldwork;
mod openapi;
mod order_history;
mod revenue;
mod sales;
mod targets;
mod webhooks;

#[cfg(test)]
mod analytics_device_tests;
#[cfg(test)]
mod analytics_tests;
#[cfg(test)]
mod basemap_tests;
#[cfg(test)]
mod campaigns_tests;
#[cfg(test)]
mod cases_tests;
#[cfg(test)]
mod csv_files_tests;
#[cfg(test)]
mod fieldwork_tests;
#[cfg(test)]
mod revenue_tests;
#[cfg(test)]
mod sales_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod webhooks_tests;

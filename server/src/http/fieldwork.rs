//! Field work over HTTP: ping uploads from devices, and for managers the route review of a
//! rep-day, its exports, the team overview, overdue customers and the dashboard page.
//!
//! Who may see whose routes is decided in one place, [`Storage::reviewable_reps`]: a rep only
//! their own, a manager their team's reps, an admin everyone's.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use fieldcrm_core::protocol::{self, PingUpload};
use fieldcrm_core::{DAY_MS, Millis, RouteReview, review_route};

use super::{AppState, admit_sync_request, blocking, saw_session, sync_response};
use crate::accounts::AuthSession;
use crate::auth::AuthUser;
use crate::dates::{self, MAX_OFFSET_MIN};
use crate::error::ApiError;
use crate::export::{self, RepDayLabel};
use crate::model::{Role, now_ms};
use crate::storage::{OverdueCustomer, PingBatchOutcome, RepInfo, RepOverview, StorageError};

/// Longest range of the team overview.
pub const MAX_OVERVIEW_DAYS: i64 = 92;

/// Ping uploads decoded and stored at once; more wait here without holding a thread.
static PING_UPLOADS_IN_FLIGHT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// `POST /v1/sync/pings`: a batch of the caller's location pings (see docs/PROTOCOL.md).
pub(super) async fn upload_pings(
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
    let _permit = PING_UPLOADS_IN_FLIGHT
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    // Decoding (inflating, counting pings against the protocol's limit) is CPU work: on the
    // blocking pool, under the upload permit.
    let (outcome, version) = blocking(move || {
        let (upload, version): (PingUpload, u8) =
            protocol::decode_versioned(&body, max_decompressed)?;
        if upload.batch_id.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "batch_id must be 1 to {} bytes",
                protocol::MAX_BATCH_ID_LEN
            )));
        }
        Ok((storage.store_pings(&user.id, &upload, now_ms())?, version))
    })
    .await?;
    match outcome {
        PingBatchOutcome::Acknowledged(ack) => Ok(sync_response(
            protocol::encode_as(&ack, version).map_err(ApiError::internal)?,
        )),
        PingBatchOutcome::BatchIdTaken => Err(ApiError::Conflict {
            code: "batch_id_taken",
            message: "another user sent a batch with this id".into(),
        }),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct RepsResponse {
    reps: Vec<RepInfo>,
}

/// `GET /v1/reps`: the reps whose routes the caller may review.
#[utoipa::path(
    get,
    path = "/v1/reps",
    tag = "fieldwork",
    description = "Any signed-in user: a rep gets themselves, a manager their team's reps, an admin every rep.",
    security(("bearer" = [])),
    responses((status = 200, description = "The reps", body = RepsResponse))
)]
pub(super) async fn reps(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<RepsResponse>, ApiError> {
    let storage = state.storage.clone();
    let reps = blocking(move || {
        let principal = storage.principal(&user)?;
        storage.reviewable_reps(&principal)
    })
    .await?;
    Ok(Json(RepsResponse { reps }))
}

/// `?tz_offset_min=N`: the viewer's offset east of UTC, which decides where a day begins.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DayQuery {
    /// Minutes east of UTC, -840 to 840 (0 by default).
    #[serde(default)]
    tz_offset_min: i32,
    /// Of the export: `geojson` (default), `gpx` or `csv`.
    format: Option<String>,
}

fn offset(minutes: i32) -> Result<i32, ApiError> {
    if minutes.abs() > MAX_OFFSET_MIN {
        return Err(ApiError::BadRequest(format!(
            "tz_offset_min must be within -{MAX_OFFSET_MIN} and {MAX_OFFSET_MIN}"
        )));
    }
    Ok(minutes)
}

fn date(text: &str, field: &str) -> Result<i64, ApiError> {
    dates::parse_date(text).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "{field} must be a date YYYY-MM-DD between 2000 and 2099"
        ))
    })
}

pub(super) fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

/// A reviewed rep-day as the API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct RouteResponse {
    rep_id: String,
    username: String,
    date: String,
    day_start: Millis,
    day_end: Millis,
    #[serde(flatten)]
    review: RouteReview,
}

/// Loads and reviews `rep_id`'s day if the caller may see it.
async fn reviewed_day(
    state: &AppState,
    user: crate::model::User,
    rep_id: String,
    day: &str,
    tz_offset_min: i32,
) -> Result<RouteResponse, ApiError> {
    let days = date(day, "date")?;
    let (day_start, day_end) = dates::local_day(days, offset(tz_offset_min)?);
    let storage = state.storage.clone();
    let wanted = rep_id.clone();
    let loaded = blocking(move || {
        let principal = storage.principal(&user)?;
        let Some(rep) = storage
            .reviewable_reps(&principal)?
            .into_iter()
            .find(|r| r.id == wanted)
        else {
            return Ok::<_, StorageError>(None);
        };
        Ok(Some((
            rep,
            storage.rep_day(&principal, &wanted, day_start, day_end)?,
        )))
    })
    .await?;
    let Some((rep, rep_day)) = loaded else {
        // The same answer whether the rep exists or not: no probing for user ids.
        return Err(ApiError::Forbidden(
            "you may not review this rep's routes".into(),
        ));
    };
    Ok(RouteResponse {
        rep_id: rep.id,
        username: rep.username,
        date: dates::format_date(days),
        day_start,
        day_end,
        review: review_route(rep_day.fixes, &rep_day.visits),
    })
}

/// `GET /v1/routes/{rep_id}/{date}?tz_offset_min=N`: route review of one rep-day.
#[utoipa::path(
    get,
    path = "/v1/routes/{rep_id}/{date}",
    operation_id = "route_review",
    tag = "fieldwork",
    description = "A rep their own days, a manager their team's reps', an admin anyone's.",
    security(("bearer" = [])),
    params(
        ("rep_id" = String, Path, description = "The rep's user id"),
        ("date" = String, Path, description = "The day, `YYYY-MM-DD` (2000 to 2099), in the viewer's time zone"),
        // DayQuery without the export's `format`.
        ("tz_offset_min" = Option<i32>, Query, description = "Minutes east of UTC, -840 to 840 (0 by default)"),
    ),
    responses(
        (status = 200, description = "The reviewed day", body = RouteResponse),
        (status = 400, description = "`bad_request`: a malformed date or offset"),
        (status = 403, description = "`forbidden`: not a rep the caller may review (or no such rep: the same answer)"),
    )
)]
pub(super) async fn route(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((rep_id, day)): Path<(String, String)>,
    params: Result<Query<DayQuery>, QueryRejection>,
) -> Result<Json<RouteResponse>, ApiError> {
    let params = query(params)?;
    Ok(Json(
        reviewed_day(&state, user, rep_id, &day, params.tz_offset_min).await?,
    ))
}

/// `GET /v1/routes/{rep_id}/{date}/export?format=geojson|gpx|csv&tz_offset_min=N`.
#[utoipa::path(
    get,
    path = "/v1/routes/{rep_id}/{date}/export",
    tag = "fieldwork",
    description = "Who may review the day (see the route review). Answered as an attachment.",
    security(("bearer" = [])),
    params(
        ("rep_id" = String, Path, description = "The rep's user id"),
        ("date" = String, Path, description = "The day, `YYYY-MM-DD` (2000 to 2099), in the viewer's time zone"),
        DayQuery,
    ),
    responses(
        (status = 200, description = "The file, by `format`", content(
            (String = "application/geo+json"),
            (String = "application/gpx+xml"),
            (String = "text/csv; charset=utf-8"),
        )),
        (status = 400, description = "`bad_request`: a malformed date, offset or format"),
        (status = 403, description = "`forbidden`: not a rep the caller may review (or no such rep: the same answer)"),
    )
)]
pub(super) async fn route_export(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((rep_id, day)): Path<(String, String)>,
    params: Result<Query<DayQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let format = params.format.as_deref().unwrap_or("geojson");
    if !matches!(format, "geojson" | "gpx" | "csv") {
        return Err(ApiError::BadRequest(
            "format must be geojson, gpx or csv".into(),
        ));
    }
    let day = reviewed_day(&state, user, rep_id, &day, params.tz_offset_min).await?;
    let label = RepDayLabel {
        rep_id: day.rep_id,
        username: day.username,
        date: day.date,
    };
    let (content_type, extension, body) = match format {
        "gpx" => (
            "application/gpx+xml",
            "gpx",
            export::gpx(&label, &day.review),
        ),
        "csv" => ("text/csv; charset=utf-8", "csv", export::csv(&day.review)),
        _ => (
            "application/geo+json",
            "geojson",
            export::geojson(&label, &day.review).to_string(),
        ),
    };
    let disposition = format!("attachment; filename=\"{}\"", label.file_name(extension));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct OverviewQuery {
    /// The first day, `YYYY-MM-DD`.
    from: String,
    /// The last day, `YYYY-MM-DD` (at most 92 days in all).
    to: String,
    /// Minutes east of UTC, -840 to 840 (0 by default).
    #[serde(default)]
    tz_offset_min: i32,
    /// The month or quarter of the targets shown beside (the month of `to` by default).
    period: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct OverviewResponse {
    from: String,
    to: String,
    reps: Vec<RepOverview>,
    /// Each rep's targets for `attainment.period` against their actuals.
    attainment: OverviewAttainment,
    /// The team's service cases now (`cases/overview.rs`).
    cases: crate::cases::overview::CaseOverview,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct OverviewAttainment {
    period: crate::sales::Period,
    reps: Vec<super::targets::RepAttainment>,
}

/// `GET /v1/team/overview?from=YYYY-MM-DD&to=YYYY-MM-DD&tz_offset_min=N` (both days included):
/// per rep of the caller's team, visits, verified share, distance, first and last check-in.
#[utoipa::path(
    get,
    path = "/v1/team/overview",
    tag = "fieldwork",
    description = "Managers (their team's reps) and admins (every rep).",
    security(("bearer" = [])),
    params(OverviewQuery),
    responses(
        (status = 200, description = "Per rep", body = OverviewResponse),
        (status = 400, description = "`bad_request`: malformed dates, offset or period, or more than 92 days"),
        (status = 403, description = "`forbidden`: a rep"),
    )
)]
pub(super) async fn team_overview(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<OverviewQuery>, QueryRejection>,
) -> Result<Json<OverviewResponse>, ApiError> {
    let params = query(params)?;
    if user.role == Role::Rep {
        return Err(ApiError::Forbidden(
            "the team overview is for managers".into(),
        ));
    }
    let (from, to) = (date(&params.from, "from")?, date(&params.to, "to")?);
    if to < from || to - from >= MAX_OVERVIEW_DAYS {
        return Err(ApiError::BadRequest(format!(
            "to must be on or after from, at most {MAX_OVERVIEW_DAYS} days in all"
        )));
    }
    let offset = offset(params.tz_offset_min)?;
    let start = dates::local_day(from, offset).0;
    let end = dates::local_day(to, offset).0 + DAY_MS;
    let period = super::targets::target_period_or(
        params.period.as_deref(),
        crate::sales::Period::month_of(to * DAY_MS),
    )?;
    let storage = state.storage.clone();
    let (reps, attainment, cases) = blocking(move || {
        let principal = storage.principal(&user)?;
        let reps = storage.reviewable_reps(&principal)?;
        let attainment =
            super::targets::attainment_of(storage.as_ref(), &principal, &reps, period)?;
        let cases =
            crate::cases::overview::team_case_overview(storage.as_ref(), &principal, now_ms())?;
        Ok::<_, StorageError>((
            storage.team_overview(&principal, &reps, start, end)?,
            attainment,
            cases,
        ))
    })
    .await?;
    Ok(Json(OverviewResponse {
        from: dates::format_date(from),
        to: dates::format_date(to),
        reps,
        attainment: OverviewAttainment {
            period,
            reps: attainment,
        },
        cases,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct OverdueQuery {
    /// Customers listed, 1 to 1,000 (50 by default).
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    50
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct OverdueResponse {
    customers: Vec<OverdueCustomer>,
}

/// `GET /v1/coverage/overdue?limit=N`: customers in the caller's sight due for a visit against
/// their cadence, most overdue first.
#[utoipa::path(
    get,
    path = "/v1/coverage/overdue",
    tag = "fieldwork",
    description = "Any signed-in user, over the customers they may see.",
    security(("bearer" = [])),
    params(OverdueQuery),
    responses(
        (status = 200, description = "Most overdue first", body = OverdueResponse),
        (status = 400, description = "`bad_request`: limit out of range"),
    )
)]
pub(super) async fn overdue(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<OverdueQuery>, QueryRejection>,
) -> Result<Json<OverdueResponse>, ApiError> {
    let params = query(params)?;
    if !(1..=1_000).contains(&params.limit) {
        return Err(ApiError::BadRequest("limit must be 1 to 1000".into()));
    }
    let storage = state.storage.clone();
    let customers = blocking(move || {
        let principal = storage.principal(&user)?;
        storage.overdue_customers(&principal, now_ms(), params.limit)
    })
    .await?;
    Ok(Json(OverdueResponse { customers }))
}

// -- the dashboard page: everything it loads comes from here ------------------------------------

const INDEX_HTML: &str = include_str!("../../dashboard/index.html");
const APP_JS: &str = include_str!("../../dashboard/app.js");
const APP_CSS: &str = include_str!("../../dashboard/app.css");
const MAP_JS: &str = include_str!("../../dashboard/map.js");

/// The content security policy of the dashboard's files: everything from this server only,
/// except that the page may load images (map tiles) from the tile host when one is configured
/// (`--map-tiles`, checked at startup to be a plain `scheme://host[:port]`).
fn content_security_policy(tile_origin: Option<&str>) -> String {
    let tiles = tile_origin
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' data: blob:{tiles}; style-src 'self'; script-src 'self'; connect-src 'self'"
    )
}

pub(super) fn asset(content_type: &'static str, body: &'static str) -> Response {
    asset_under_policy(content_type, body, None)
}

fn asset_under_policy(
    content_type: &'static str,
    body: &'static str,
    tile_origin: Option<&str>,
) -> Response {
    // The origin was checked at startup; were it not a header value, the self-only policy
    // (stricter, no tiles) is sent.
    let policy = HeaderValue::try_from(content_security_policy(tile_origin))
        .or_else(|_| HeaderValue::try_from(content_security_policy(None)))
        .unwrap_or(HeaderValue::from_static("default-src 'self'"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::CONTENT_SECURITY_POLICY, policy),
        ],
        body,
    )
        .into_response()
}

/// `/`: the server's one page is the dashboard (its assets are addressed absolutely, so
/// `/dashboard` and `/dashboard/` serve the same page).
pub(super) async fn to_dashboard() -> axum::response::Redirect {
    axum::response::Redirect::to("/dashboard/")
}

pub(super) async fn dashboard(State(state): State<AppState>) -> Response {
    let tile_origin = state.basemap.tiles.as_ref().map(|t| t.origin());
    asset_under_policy("text/html; charset=utf-8", INDEX_HTML, tile_origin)
}

pub(super) async fn dashboard_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

pub(super) async fn dashboard_map_js() -> Response {
    asset("text/javascript; charset=utf-8", MAP_JS)
}

pub(super) async fn dashboard_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

//! The pipeline over HTTP: `/v1/pipeline` (per stage, currency and rep), its forecast, funnel,
//! win rate and big deals, and the dashboard's sales scripts.
//!
//! Every report keeps to the caller's sight (`scope::Sight` over the opportunity's scope, its
//! customer's territory and team): a rep sees the deals of their territories, a manager their
//! team's, an admin everyone's. Malformed parameters are `400 bad_request`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::fieldwork::{asset, query};
use super::{AppState, blocking};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::model::now_ms;
use crate::sales::Period;
use crate::sales::reports::{
    self, BigDealsReport, ForecastReport, FunnelReport, PipelineReport, WinRateReport,
};
use crate::storage::PipelineFilter;

/// Months a forecast covers at most.
pub const MAX_FORECAST_MONTHS: u32 = 24;
/// Big deals listed at most.
pub const MAX_BIG_DEALS: u32 = 500;

/// `?currency=`: three upper-case letters (ISO 4217), as amounts hold them.
pub(super) fn currency(value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => Ok(Some(c)),
        Some(_) => Err(ApiError::BadRequest(
            "currency must be three upper-case letters (ISO 4217)".into(),
        )),
    }
}

/// `?period=`: a month, a quarter or a year; `default` when absent.
pub(super) fn period(value: Option<&str>, default: Period) -> Result<Period, ApiError> {
    match value {
        None => Ok(default),
        Some(text) => Period::parse(text).ok_or_else(|| {
            ApiError::BadRequest(
                "period must be a month (2026-11), a quarter (2026-Q4) or a year (2026), 2000 to 2099"
                    .into(),
            )
        }),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PipelineQuery {
    /// Only this rep's deals (a user id).
    rep: Option<String>,
    /// Only this currency (ISO 4217).
    currency: Option<String>,
}

/// `GET /v1/pipeline?rep=&currency=`: open deals in sight per stage, currency and rep.
#[utoipa::path(
    get,
    path = "/v1/pipeline",
    operation_id = "pipeline_report",
    tag = "sales",
    description = "Any signed-in user, over the deals in their sight: a rep their territories', a manager their team's, an admin everyone's.",
    security(("bearer" = [])),
    params(PipelineQuery),
    responses(
        (status = 200, description = "Open deals per stage, currency and rep", body = PipelineReport),
        (status = 400, description = "`bad_request`: a malformed rep or currency"),
    )
)]
pub(super) async fn pipeline(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<PipelineQuery>, QueryRejection>,
) -> Result<Json<PipelineReport>, ApiError> {
    let params = query(params)?;
    if params
        .rep
        .as_ref()
        .is_some_and(|r| r.is_empty() || r.len() > 128)
    {
        return Err(ApiError::BadRequest("rep must be a user id".into()));
    }
    let filter = PipelineFilter {
        rep_id: params.rep,
        currency: currency(params.currency)?,
    };
    let storage = state.storage.clone();
    let rows = blocking(move || {
        let principal = storage.principal(&user)?;
        storage.pipeline(&principal, &filter)
    })
    .await?;
    Ok(Json(reports::pipeline(&rows)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ForecastQuery {
    /// The first month, `YYYY-MM` (this month by default).
    from: Option<String>,
    /// 1 to 24 (6 by default).
    months: Option<u32>,
    /// Only this currency (ISO 4217).
    currency: Option<String>,
}

/// `GET /v1/pipeline/forecast?from=YYYY-MM&months=N&currency=`: per month from `from` (this
/// month by default) for `months` months (6 by default, at most 24), the weighted amount of
/// open deals expected to close then and the amount won then, per currency.
#[utoipa::path(
    get,
    path = "/v1/pipeline/forecast",
    tag = "sales",
    description = "Any signed-in user, over the deals in their sight: a rep their territories', a manager their team's, an admin everyone's.",
    security(("bearer" = [])),
    params(ForecastQuery),
    responses(
        (status = 200, description = "Per month and currency", body = ForecastReport),
        (status = 400, description = "`bad_request`: a malformed month, months out of 1 to 24, or a malformed currency"),
    )
)]
pub(super) async fn forecast(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<ForecastQuery>, QueryRejection>,
) -> Result<Json<ForecastReport>, ApiError> {
    let params = query(params)?;
    let from = match params.from.as_deref() {
        None => Period::month_of(now_ms()),
        Some(text) => match Period::parse(text) {
            Some(month @ Period::Month { .. }) => month,
            _ => {
                return Err(ApiError::BadRequest(
                    "from must be a month YYYY-MM, 2000 to 2099".into(),
                ));
            }
        },
    };
    let months = params.months.unwrap_or(6);
    if !(1..=MAX_FORECAST_MONTHS).contains(&months) {
        return Err(ApiError::BadRequest(format!(
            "months must be 1 to {MAX_FORECAST_MONTHS}"
        )));
    }
    let currency = currency(params.currency)?;
    let (start, end) = (from.bounds().0, from.add_months(months).bounds().0);
    let storage = state.storage.clone();
    let (open, won) = blocking(move || {
        let principal = storage.principal(&user)?;
        storage.forecast(&principal, start, end, currency.as_deref())
    })
    .await?;
    Ok(Json(reports::forecast(from, months, &open, &won)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PeriodQuery {
    /// A month (`2026-11`), a quarter (`2026-Q4`) or a year (`2026`); this quarter by default.
    period: Option<String>,
}

/// `GET /v1/pipeline/funnel?period=`: the deals in sight created in the period (this quarter
/// by default), how many reached each stage, the conversion to the next, and the median time
/// spent in each stage.
#[utoipa::path(
    get,
    path = "/v1/pipeline/funnel",
    tag = "sales",
    description = "Any signed-in user, over the deals in their sight: a rep their territories', a manager their team's, an admin everyone's.",
    security(("bearer" = [])),
    params(PeriodQuery),
    responses(
        (status = 200, description = "Per stage", body = FunnelReport),
        (status = 400, description = "`bad_request`: a malformed period"),
    )
)]
pub(super) async fn funnel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Json<FunnelReport>, ApiError> {
    let params = query(params)?;
    let period = period(params.period.as_deref(), Period::quarter_of(now_ms()))?;
    let (from, to) = period.bounds();
    let storage = state.storage.clone();
    let rows = blocking(move || {
        let principal = storage.principal(&user)?;
        storage.funnel(&principal, from, to)
    })
    .await?;
    Ok(Json(reports::funnel(
        period,
        &rows.furthest,
        &rows.stays,
        rows.sampled,
    )))
}

/// `GET /v1/pipeline/win-rate?period=`: deals in sight won and lost in the period (this
/// quarter by default), won / (won + lost), in all and per rep.
#[utoipa::path(
    get,
    path = "/v1/pipeline/win-rate",
    tag = "sales",
    description = "Any signed-in user, over the deals in their sight: a rep their territories', a manager their team's, an admin everyone's.",
    security(("bearer" = [])),
    params(PeriodQuery),
    responses(
        (status = 200, description = "In all and per rep", body = WinRateReport),
        (status = 400, description = "`bad_request`: a malformed period"),
    )
)]
pub(super) async fn win_rate(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Json<WinRateReport>, ApiError> {
    let params = query(params)?;
    let period = period(params.period.as_deref(), Period::quarter_of(now_ms()))?;
    let (from, to) = period.bounds();
    let storage = state.storage.clone();
    let rows = blocking(move || {
        let principal = storage.principal(&user)?;
        storage.win_rates(&principal, from, to)
    })
    .await?;
    Ok(Json(reports::win_rates(period, rows)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct BigDealsQuery {
    /// In minor units (the server's `--big-deal-min-minor` by default).
    min_amount: Option<i64>,
    /// Only this currency (ISO 4217).
    currency: Option<String>,
    /// 1 to 500 (50 by default).
    limit: Option<u32>,
}

/// `GET /v1/pipeline/big-deals?min_amount=&currency=&limit=`: open deals in sight of at least
/// `min_amount` minor units (the server's `--big-deal-min-minor` by default), largest first,
/// at most `limit` (50 by default, at most 500).
#[utoipa::path(
    get,
    path = "/v1/pipeline/big-deals",
    tag = "sales",
    description = "Any signed-in user, over the deals in their sight: a rep their territories', a manager their team's, an admin everyone's.",
    security(("bearer" = [])),
    params(BigDealsQuery),
    responses(
        (status = 200, description = "Largest first", body = BigDealsReport),
        (status = 400, description = "`bad_request`: a negative amount, limit out of 1 to 500, or a malformed currency"),
    )
)]
pub(super) async fn big_deals(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<BigDealsQuery>, QueryRejection>,
) -> Result<Json<BigDealsReport>, ApiError> {
    let params = query(params)?;
    if params.min_amount.is_some_and(|m| m < 0) {
        return Err(ApiError::BadRequest(
            "min_amount must be 0 or more (minor units)".into(),
        ));
    }
    let limit = params.limit.unwrap_or(50);
    if !(1..=MAX_BIG_DEALS).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_BIG_DEALS}"
        )));
    }
    let currency = currency(params.currency)?;
    let min_amount_minor = params
        .min_amount
        .unwrap_or(state.storage.sales_settings().big_deal_min_minor);
    let storage = state.storage.clone();
    let wanted = currency.clone();
    let deals = blocking(move || {
        let principal = storage.principal(&user)?;
        storage.big_deals(&principal, min_amount_minor, wanted.as_deref(), limit)
    })
    .await?;
    Ok(Json(BigDealsReport {
        min_amount_minor,
        currency,
        limit,
        deals,
    }))
}

const SALES_JS: &str = include_str!("../../dashboard/sales.js");
const TARGETS_JS: &str = include_str!("../../dashboard/targets.js");
const CHARTS_JS: &str = include_str!("../../dashboard/charts.js");

pub(super) async fn dashboard_sales_js() -> Response {
    asset("text/javascript; charset=utf-8", SALES_JS)
}

pub(super) async fn dashboard_targets_js() -> Response {
    asset("text/javascript; charset=utf-8", TARGETS_JS)
}

pub(super) async fn dashboard_charts_js() -> Response {
    asset("text/javascript; charset=utf-8", CHARTS_JS)
}

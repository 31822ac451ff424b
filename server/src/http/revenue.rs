//! Orders and revenue over HTTP: `/v1/revenue` (orders that count as revenue in a period, per
//! currency, by rep, customer or product) and `/v1/revenue/unknown-products` (order lines
//! naming a product the server does not know), and the dashboard's revenue script.
//!
//! Every report keeps to the caller's sight (`scope::Sight` over the order's scope, its
//! customer's territory and team): a rep sees the orders of their territories, a manager their
//! team's, an admin everyone's. Malformed parameters are `400 bad_request`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::fieldwork::{asset, query};
use super::sales::{currency, period};
use super::{AppState, blocking};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::model::now_ms;
use crate::sales::Period;
use crate::sales::orders::{RevenueBy, RevenueReport, UnknownProductsReport};

/// Groups (or unknown-product lines) listed at most.
pub const MAX_REVENUE_LIST: u32 = 500;
/// Listed when the request names no `limit`.
const DEFAULT_REVENUE_LIST: u32 = 100;

fn limit(value: Option<u32>) -> Result<u32, ApiError> {
    let limit = value.unwrap_or(DEFAULT_REVENUE_LIST);
    if !(1..=MAX_REVENUE_LIST).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_REVENUE_LIST}"
        )));
    }
    Ok(limit)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RevenueQuery {
    /// A month, a quarter or a year; this quarter by default.
    period: Option<String>,
    /// `rep` (default), `customer` or `product`.
    by: Option<String>,
    /// Only this currency (ISO 4217).
    currency: Option<String>,
    /// Groups listed, 1 to 500 (100 by default).
    limit: Option<u32>,
}

/// `GET /v1/revenue?period=&by=rep|customer|product&currency=&limit=`: orders in sight that
/// count as revenue (submitted, confirmed, delivered) ordered in the period (this quarter by
/// default), per currency, in all and by `by` (rep by default), largest first.
#[utoipa::path(
    get,
    path = "/v1/revenue",
    operation_id = "revenue_report",
    tag = "sales",
    description = "Any signed-in user, over the orders in their sight: a rep their territories', a manager their team's, an admin everyone's.",
    security(("bearer" = [])),
    params(RevenueQuery),
    responses(
        (status = 200, description = "Totals and groups, largest first", body = RevenueReport),
        (status = 400, description = "`bad_request`: a malformed period, by or currency, or limit out of 1 to 500"),
    )
)]
pub(super) async fn revenue(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<RevenueQuery>, QueryRejection>,
) -> Result<Json<RevenueReport>, ApiError> {
    let params = query(params)?;
    let period = period(params.period.as_deref(), Period::quarter_of(now_ms()))?;
    let by = match params.by.as_deref() {
        None => RevenueBy::Rep,
        Some(text) => RevenueBy::parse(text)
            .ok_or_else(|| ApiError::BadRequest("by must be rep, customer or product".into()))?,
    };
    let currency = currency(params.currency)?;
    let limit = limit(params.limit)?;
    let (from, to) = period.bounds();
    let storage = state.storage.clone();
    let wanted = currency.clone();
    let rows = blocking(move || {
        let principal = storage.principal(&user)?;
        storage.revenue(&principal, by, from, to, wanted.as_deref(), limit)
    })
    .await?;
    Ok(Json(RevenueReport {
        period,
        by,
        currency,
        totals: rows.totals,
        groups: rows.groups,
        truncated: rows.truncated,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UnknownProductsQuery {
    /// A month, a quarter or a year; this quarter by default.
    period: Option<String>,
    /// Lines listed, 1 to 500 (100 by default).
    limit: Option<u32>,
}

/// `GET /v1/revenue/unknown-products?period=&limit=`: lines of orders in sight ordered in the
/// period (this quarter by default) whose product the server does not know, counted, the
/// latest listed.
#[utoipa::path(
    get,
    path = "/v1/revenue/unknown-products",
    tag = "sales",
    description = "Any signed-in user, over the orders in their sight: a rep their territories', a manager their team's, an admin everyone's.",
    security(("bearer" = [])),
    params(UnknownProductsQuery),
    responses(
        (status = 200, description = "Counted, the latest listed", body = UnknownProductsReport),
        (status = 400, description = "`bad_request`: a malformed period, or limit out of 1 to 500"),
    )
)]
pub(super) async fn unknown_products(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<UnknownProductsQuery>, QueryRejection>,
) -> Result<Json<UnknownProductsReport>, ApiError> {
    let params = query(params)?;
    let period = period(params.period.as_deref(), Period::quarter_of(now_ms()))?;
    let limit = limit(params.limit)?;
    let (from, to) = period.bounds();
    let storage = state.storage.clone();
    let (count, lines) = blocking(move || {
        let principal = storage.principal(&user)?;
        storage.unknown_product_lines(&principal, from, to, limit)
    })
    .await?;
    Ok(Json(UnknownProductsReport {
        period,
        count,
        lines,
    }))
}

const REVENUE_JS: &str = include_str!("../../dashboard/revenue.js");

pub(super) async fn dashboard_revenue_js() -> Response {
    asset("text/javascript; charset=utf-8", REVENUE_JS)
}

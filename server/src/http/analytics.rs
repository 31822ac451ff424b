//! Customer analytics over HTTP, from the current run (the latest that succeeded):
//! - `GET /v1/analytics`: the run (when, as of, currency) and its results summed over the
//!   caller's customers: the RFM grid, segment counts, ABC classes; the run's segments
//!   (clusters) described in words; `run: null` before any run succeeded;
//! - `GET /v1/analytics/customers?after=&limit=`: each customer in sight with its results,
//!   by customer id, a page at a time;
//! - `GET /v1/analytics/rules?limit=`: the cross-sell rules, best first (aggregates over the
//!   organisation's orders that every rep's device ranks offers from).
//!
//! Every customer read keeps to the caller's sight; malformed parameters are
//! `400 bad_request`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fieldwork::query;
use super::{AppState, blocking};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::storage::{MAX_INSIGHTS_PAGE, RunRecord};

/// Rules listed at most.
pub const MAX_RULES_LIST: u32 = 5_000;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunInfo {
    pub run_id: i64,
    pub as_of: i64,
    pub finished_at: Option<i64>,
    pub currency: String,
}

impl From<&RunRecord> for RunInfo {
    fn from(run: &RunRecord) -> Self {
        RunInfo {
            run_id: run.id,
            as_of: run.as_of,
            finished_at: run.finished_at,
            currency: run.currency.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CountRow {
    pub name: String,
    pub customers: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AbcRow {
    pub class: String,
    pub customers: u64,
    pub revenue_minor: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SegmentDescription {
    pub cluster: usize,
    pub customers: u64,
    pub description: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalyticsOverview {
    pub run: Option<RunInfo>,
    pub customers: u64,
    /// Customers by R score (rows, R 1 first) and F score (columns, F 1 first).
    pub rfm_grid: [[u64; 5]; 5],
    pub segments: Vec<CountRow>,
    pub abc: Vec<AbcRow>,
    pub clusters: Vec<SegmentDescription>,
}

/// `GET /v1/analytics`.
#[utoipa::path(
    get,
    path = "/v1/analytics",
    operation_id = "analytics_overview",
    tag = "analytics",
    description = "Any signed-in user, over the customers in their sight.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The current run summed over the caller's customers (`run: null` before any run)", body = AnalyticsOverview),
    )
)]
pub(super) async fn overview(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<AnalyticsOverview>, ApiError> {
    let storage = state.storage.clone();
    let overview = blocking(
        move || -> Result<AnalyticsOverview, crate::storage::StorageError> {
            let Some(run) = storage.current_analytics_run()? else {
                return Ok(AnalyticsOverview {
                    run: None,
                    customers: 0,
                    rfm_grid: [[0; 5]; 5],
                    segments: Vec::new(),
                    abc: Vec::new(),
                    clusters: Vec::new(),
                });
            };
            let principal = storage.principal(&user)?;
            let summary = storage.insights_summary(&principal, run.id)?;
            let clusters = storage.analytics_clusters(run.id)?;
            Ok(AnalyticsOverview {
                run: Some(RunInfo::from(&run)),
                customers: summary.customers,
                rfm_grid: summary.rfm_grid,
                segments: summary
                    .segments
                    .into_iter()
                    .map(|(name, customers)| CountRow { name, customers })
                    .collect(),
                abc: summary
                    .abc
                    .into_iter()
                    .map(|(class, customers, revenue_minor)| AbcRow {
                        class,
                        customers,
                        revenue_minor,
                    })
                    .collect(),
                clusters: clusters
                    .into_iter()
                    .enumerate()
                    .map(|(cluster, c)| SegmentDescription {
                        cluster,
                        customers: c.customers,
                        description: c.description,
                    })
                    .collect(),
            })
        },
    )
    .await?;
    Ok(Json(overview))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PageQuery {
    /// The previous page's `next_after`.
    pub(super) after: Option<String>,
    /// 1 to 1,000 (100 by default).
    pub(super) limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerInsight {
    pub customer_id: String,
    pub name: Option<String>,
    pub recency_days: Option<i64>,
    pub frequency: Option<i64>,
    pub monetary_minor: Option<i64>,
    pub r: Option<u8>,
    pub f: Option<u8>,
    pub m: Option<u8>,
    pub segment: String,
    pub abc_class: String,
    pub revenue_minor: i64,
    pub cluster: Option<u16>,
    pub expected_purchases_90d: Option<f64>,
    pub p_alive: Option<f64>,
    pub clv_12m_minor: Option<f64>,
    pub churn_level: Option<String>,
    pub churn_score: Option<f64>,
    pub next_best: Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomersPage {
    pub run: Option<RunInfo>,
    pub customers: Vec<CustomerInsight>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<String>,
}

/// `GET /v1/analytics/customers?after=&limit=` (100 by default, at most 1,000).
#[utoipa::path(
    get,
    path = "/v1/analytics/customers",
    operation_id = "analytics_customers",
    tag = "analytics",
    description = "Any signed-in user, over the customers in their sight.",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page, by customer id", body = CustomersPage),
        (status = 400, description = "`bad_request`: limit out of 1 to 1,000"),
    )
)]
pub(super) async fn customers(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<CustomersPage>, ApiError> {
    let params = query(params)?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_INSIGHTS_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_INSIGHTS_PAGE}"
        )));
    }
    let storage = state.storage.clone();
    let page = blocking(
        move || -> Result<CustomersPage, crate::storage::StorageError> {
            let Some(run) = storage.current_analytics_run()? else {
                return Ok(CustomersPage {
                    run: None,
                    customers: Vec::new(),
                    next_after: None,
                });
            };
            let principal = storage.principal(&user)?;
            let rows =
                storage.customer_insights(&principal, run.id, params.after.as_deref(), limit)?;
            let next_after = (rows.len() == limit as usize)
                .then(|| rows.last().map(|r| r.customer_id.clone()))
                .flatten();
            let customers = rows
                .into_iter()
                .map(|row| CustomerInsight {
                    next_best: serde_json::from_str(&row.next_best).unwrap_or(Value::Null),
                    customer_id: row.customer_id,
                    name: row.customer_name,
                    recency_days: row.recency_days,
                    frequency: row.frequency,
                    monetary_minor: row.monetary_minor,
                    r: row.r,
                    f: row.f,
                    m: row.m,
                    segment: row.segment,
                    abc_class: row.abc_class,
                    revenue_minor: row.revenue_minor,
                    cluster: row.cluster,
                    expected_purchases_90d: row.expected_purchases_90d,
                    p_alive: row.p_alive,
                    clv_12m_minor: row.clv_12m_minor,
                    churn_level: row.churn_level,
                    churn_score: row.churn_score,
                })
                .collect();
            Ok(CustomersPage {
                run: Some(RunInfo::from(&run)),
                customers,
                next_after,
            })
        },
    )
    .await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RulesQuery {
    /// 1 to 5,000 (100 by default).
    limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleRow {
    pub antecedent: Vec<String>,
    pub consequent: String,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RulesList {
    pub run: Option<RunInfo>,
    pub rules: Vec<RuleRow>,
}

/// `GET /v1/analytics/rules?limit=` (100 by default, at most 5,000).
#[utoipa::path(
    get,
    path = "/v1/analytics/rules",
    operation_id = "analytics_rules",
    tag = "analytics",
    description = "Any signed-in user (aggregates over the organisation's orders).",
    security(("bearer" = [])),
    params(RulesQuery),
    responses(
        (status = 200, description = "Best first", body = RulesList),
        (status = 400, description = "`bad_request`: limit out of 1 to 5,000"),
    )
)]
pub(super) async fn rules(
    State(state): State<AppState>,
    AuthUser(_user): AuthUser,
    params: Result<Query<RulesQuery>, QueryRejection>,
) -> Result<Json<RulesList>, ApiError> {
    let params = query(params)?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_RULES_LIST).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_RULES_LIST}"
        )));
    }
    let storage = state.storage.clone();
    let list = blocking(move || -> Result<RulesList, crate::storage::StorageError> {
        let Some(run) = storage.current_analytics_run()? else {
            return Ok(RulesList {
                run: None,
                rules: Vec::new(),
            });
        };
        let rules = storage
            .cross_sell_rules(run.id, limit)?
            .into_iter()
            .map(|r| RuleRow {
                antecedent: r.antecedent,
                consequent: r.consequent,
                support: r.support,
                confidence: r.confidence,
                lift: r.lift,
            })
            .collect();
        Ok(RulesList {
            run: Some(RunInfo::from(&run)),
            rules,
        })
    })
    .await?;
    Ok(Json(list))
}

//! Targets over HTTP: `PUT /v1/targets` (an admin for any rep, a manager for the reps of
//! their team), `GET /v1/targets` with attainment, `GET /v1/targets/ranking`, and the
//! attainment the team overview shows.
//!
//! Whose targets someone may read is whose routes they may review
//! ([`Storage::reviewable_reps`]: a rep their own, a manager their team's reps, an admin every
//! rep); setting them needs a manager or an admin on top. An unknown rep id gets the same
//! `forbidden` as someone else's.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::fieldwork::query;
use super::sales::currency;
use super::{ApiJson, AppState, blocking};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::model::{Role, now_ms};
use crate::sales::Period;
use crate::sales::targets::{self, Attainment, Metric, Ranked, RepActuals, Target};
use crate::scope::Principal;
use crate::storage::{RepInfo, Storage, StorageError, TargetWrite};

/// `PUT /v1/targets` body: one target of one rep for one period.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetBody {
    rep_id: String,
    period: String,
    metric: String,
    #[serde(default)]
    currency: Option<String>,
    value: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TargetSet {
    rep_id: String,
    period: Period,
    metric: Metric,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
    value: i64,
}

/// A target's period: a month or a quarter.
fn target_period(text: &str) -> Result<Period, ApiError> {
    match Period::parse(text) {
        Some(p @ (Period::Month { .. } | Period::Quarter { .. })) => Ok(p),
        _ => Err(ApiError::BadRequest(
            "period must be a month (2026-11) or a quarter (2026-Q4), 2000 to 2099".into(),
        )),
    }
}

/// `?period=` of targets: a month or a quarter, `default` when absent.
pub(super) fn target_period_or(text: Option<&str>, default: Period) -> Result<Period, ApiError> {
    text.map_or(Ok(default), target_period)
}

fn forbidden() -> ApiError {
    ApiError::Forbidden("you may not set targets for this rep".into())
}

/// `PUT /v1/targets`: sets one target; setting the same rep, period, metric (and currency)
/// again replaces it.
#[utoipa::path(
    put,
    path = "/v1/targets",
    tag = "sales",
    description = "Managers (for the reps of their team) and admins (for any rep).",
    security(("bearer" = [])),
    request_body = TargetBody,
    responses(
        (status = 200, description = "Stored (replacing the same rep, period, metric and currency)", body = TargetSet),
        (status = 400, description = "`bad_request`: a malformed period, metric, currency or value, or unknown fields"),
        (status = 403, description = "`forbidden`: a rep, or a rep the caller may not set targets for (or no such rep: the same answer)"),
        (status = 409, description = "`target_limit`: the rep has the most targets allowed in this period"),
        (status = 413, description = "`payload_too_large`"),
    )
)]
pub(super) async fn put_target(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<TargetBody>,
) -> Result<Json<TargetSet>, ApiError> {
    let period = target_period(&body.period)?;
    let target = Target::new(&body.metric, body.currency.as_deref(), body.value)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if user.role == Role::Rep {
        return Err(forbidden());
    }
    let storage = state.storage.clone();
    let rep_id = body.rep_id.clone();
    let stored = target.clone();
    let outcome = blocking(move || {
        let principal = storage.principal(&user)?;
        if !storage
            .reviewable_reps(&principal)?
            .iter()
            .any(|r| r.id == rep_id)
        {
            return Ok::<_, StorageError>(None);
        }
        storage
            .set_target(&rep_id, &period.to_string(), &stored, &user.id, now_ms())
            .map(Some)
    })
    .await?;
    match outcome {
        None => Err(forbidden()),
        Some(TargetWrite::TooMany) => Err(ApiError::Conflict {
            code: "target_limit",
            message: format!(
                "this rep already has {} targets in this period",
                crate::storage::MAX_TARGETS_PER_REP_PERIOD
            ),
        }),
        Some(TargetWrite::Stored) => Ok(Json(TargetSet {
            rep_id: body.rep_id,
            period,
            metric: target.metric,
            currency: target.currency,
            value: target.value,
        })),
    }
}

/// One rep's targets against their actuals.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RepAttainment {
    pub rep_id: String,
    pub username: String,
    pub targets: Vec<Attainment>,
}

/// Targets and attainment of `reps` for `period` (reps without a target included, with none).
pub(super) fn attainment_of(
    storage: &dyn Storage,
    viewer: &Principal,
    reps: &[RepInfo],
    period: Period,
) -> Result<Vec<RepAttainment>, StorageError> {
    let ids: Vec<String> = reps.iter().map(|r| r.id.clone()).collect();
    let mut per_rep: HashMap<String, Vec<Target>> = HashMap::new();
    for (rep, target) in storage.targets(&ids, &period.to_string())? {
        per_rep.entry(rep).or_default().push(target);
    }
    // Actuals are measured only for the reps with a target in the period: attainment shows
    // nothing else, and measuring costs a month's team overview (the team overview page pays it
    // on every load).
    let measured: Vec<RepInfo> = reps
        .iter()
        .filter(|rep| per_rep.contains_key(&rep.id))
        .cloned()
        .collect();
    let (from, to) = period.bounds();
    let mut actuals: HashMap<String, RepActuals> = if measured.is_empty() {
        HashMap::new()
    } else {
        measured
            .iter()
            .map(|rep| rep.id.clone())
            .zip(storage.rep_actuals(viewer, &measured, from, to)?)
            .collect()
    };
    Ok(reps
        .iter()
        .map(|rep| RepAttainment {
            rep_id: rep.id.clone(),
            username: rep.username.clone(),
            targets: match (per_rep.get(&rep.id), actuals.remove(&rep.id)) {
                (Some(set), Some(measured)) => targets::attainment(set, &measured),
                _ => Vec::new(),
            },
        })
        .collect())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct TargetsQuery {
    /// A month (`2026-11`) or a quarter (`2026-Q4`); this month by default.
    period: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TargetsResponse {
    period: Period,
    reps: Vec<RepAttainment>,
}

/// `GET /v1/targets?period=`: the targets of the reps the caller may review for a month or
/// quarter (this month by default), each with actual, target and percent.
#[utoipa::path(
    get,
    path = "/v1/targets",
    tag = "sales",
    description = "Any signed-in user: a rep their own, a manager their team's reps', an admin every rep's.",
    security(("bearer" = [])),
    params(TargetsQuery),
    responses(
        (status = 200, description = "Per rep", body = TargetsResponse),
        (status = 400, description = "`bad_request`: a malformed period"),
    )
)]
pub(super) async fn get_targets(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<TargetsQuery>, QueryRejection>,
) -> Result<Json<TargetsResponse>, ApiError> {
    let params = query(params)?;
    let period = target_period_or(params.period.as_deref(), Period::month_of(now_ms()))?;
    let storage = state.storage.clone();
    let reps = blocking(move || {
        let principal = storage.principal(&user)?;
        let reps = storage.reviewable_reps(&principal)?;
        attainment_of(storage.as_ref(), &principal, &reps, period)
    })
    .await?;
    Ok(Json(TargetsResponse { period, reps }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RankingQuery {
    /// A month (`2026-11`) or a quarter (`2026-Q4`); this month by default.
    period: Option<String>,
    /// `visits`, `verified_visits`, `revenue`, `new_customers` or `deals_won`.
    #[param(required = true)]
    metric: Option<String>,
    /// ISO 4217; required for `revenue`, and only for it.
    currency: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct RankingResponse {
    period: Period,
    metric: Metric,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
    reps: Vec<Ranked>,
}

/// `GET /v1/targets/ranking?period=&metric=&currency=`: the reps the caller may review side by
/// side on one metric (revenue needs a currency), best attainment first.
#[utoipa::path(
    get,
    path = "/v1/targets/ranking",
    operation_id = "targets_ranking",
    tag = "sales",
    description = "Any signed-in user, over the reps they may review.",
    security(("bearer" = [])),
    params(RankingQuery),
    responses(
        (status = 200, description = "Best attainment first", body = RankingResponse),
        (status = 400, description = "`bad_request`: a malformed period or metric, or a currency given for another metric than revenue (or missing for revenue)"),
    )
)]
pub(super) async fn ranking(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<RankingQuery>, QueryRejection>,
) -> Result<Json<RankingResponse>, ApiError> {
    let params = query(params)?;
    let period = target_period_or(params.period.as_deref(), Period::month_of(now_ms()))?;
    let metric = params
        .metric
        .as_deref()
        .and_then(Metric::parse)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "metric must be one of visits, verified_visits, revenue, new_customers, deals_won"
                    .into(),
            )
        })?;
    let currency = currency(params.currency)?;
    if metric.has_currency() != currency.is_some() {
        return Err(ApiError::BadRequest(
            "currency is required for revenue, and only for revenue".into(),
        ));
    }
    let storage = state.storage.clone();
    let wanted = currency.clone();
    let reps = blocking(move || {
        let principal = storage.principal(&user)?;
        let reps = storage.reviewable_reps(&principal)?;
        attainment_of(storage.as_ref(), &principal, &reps, period)
    })
    .await?;
    let rows = reps
        .into_iter()
        .map(|rep| {
            let found = rep
                .targets
                .iter()
                .find(|a| a.metric == metric && a.currency == wanted);
            (
                rep.rep_id,
                rep.username,
                found.map(|a| a.target),
                found.and_then(|a| a.actual),
            )
        })
        .collect();
    Ok(Json(RankingResponse {
        period,
        metric,
        currency,
        reps: targets::ranking(rows),
    }))
}

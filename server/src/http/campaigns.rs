//! Campaigns over HTTP, for managers (their team's) and admins (every one):
//! - `POST /v1/campaigns`: set up a draft (segment filter, period, cost, action, control
//!   share); `GET /v1/campaigns`: the campaigns the caller sees, newest first;
//! - `POST /v1/campaigns/preview`: how many customers a filter matches now, in the caller's
//!   sight;
//! - `POST /v1/campaigns/{id}/start`: freeze the targets and write their tasks or visits;
//! - `GET /v1/campaigns/{id}`: the campaign with its results; `GET /v1/campaigns/{id}/targets`:
//!   the frozen targets with their actions and outcomes, a page at a time.
//!
//! A rep gets from every campaign route what an unknown route gets, and a campaign the caller
//! does not see answers like an unknown one.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::analytics::PageQuery;
use super::fieldwork::query;
use super::sales::currency;
use super::{ApiJson, AppState, blocking};
use crate::auth::AuthUser;
use crate::campaigns::filter::SegmentFilter;
use crate::campaigns::results::{CampaignResults, campaign_results};
use crate::campaigns::{
    self, Campaign, CampaignAction, CampaignDraft, CampaignError, CampaignStatus,
    MAX_CAMPAIGN_TARGETS, StartReport,
};
use crate::error::ApiError;
use crate::model::{User, now_ms};
use crate::storage::{CampaignTargetRow, MAX_CAMPAIGNS_LISTED, MAX_TARGETS_PAGE, Storage};

/// Customers a preview lists (its count covers all).
const PREVIEW_LISTED: usize = 20;

impl From<CampaignError> for ApiError {
    fn from(err: CampaignError) -> Self {
        match err {
            CampaignError::Invalid(message) => ApiError::BadRequest(message),
            CampaignError::Filter(err) => ApiError::BadRequest(err.to_string()),
            CampaignError::NotAllowed => no_such_route(),
            CampaignError::Unknown => ApiError::NotFound("no such campaign".into()),
            CampaignError::AlreadyStarted => ApiError::Conflict {
                code: "campaign_started",
                message: err.to_string(),
            },
            CampaignError::NoAnalytics => ApiError::Conflict {
                code: "no_analytics_run",
                message: err.to_string(),
            },
            CampaignError::TooManyTargets(_) => ApiError::LimitExceeded(err.to_string()),
            CampaignError::Device(err) => ApiError::internal(err),
            CampaignError::Storage(err) => err.into(),
        }
    }
}

fn no_such_route() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// The caller, if they run campaigns.
fn runner(user: User) -> Result<User, ApiError> {
    if campaigns::may_run_campaigns(&user) {
        Ok(user)
    } else {
        Err(no_such_route())
    }
}

/// A day, `YYYY-MM-DD`, as days since 1970-01-01.
fn day(field: &str, text: &str) -> Result<i64, ApiError> {
    fieldcrm_core::dates::parse_date(text)
        .ok_or_else(|| ApiError::BadRequest(format!("{field}: a date YYYY-MM-DD")))
}

/// `POST /v1/campaigns` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DraftBody {
    name: String,
    #[serde(default)]
    filter: SegmentFilter,
    first_day: String,
    last_day: String,
    #[serde(default)]
    cost_minor: i64,
    currency: String,
    action: String,
    #[serde(default)]
    script: String,
    #[serde(default)]
    control_pct: u8,
}

/// `POST /v1/campaigns`: a draft, answered `201` with the campaign.
#[utoipa::path(
    post,
    path = "/v1/campaigns",
    operation_id = "create_campaign",
    tag = "campaigns",
    description = "Managers (their team's campaigns) and admins (every one); a rep gets `404 not_found` like an unknown route.",
    security(("bearer" = [])),
    request_body = DraftBody,
    responses(
        (status = 201, description = "The draft", body = Campaign),
        (status = 400, description = "`bad_request`: a malformed field, filter or unknown field"),
        (status = 404, description = "`not_found`: a rep"),
        (status = 413, description = "`payload_too_large`"),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<DraftBody>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let user = runner(user)?;
    let draft = CampaignDraft {
        name: body.name,
        filter: body.filter,
        first_day: day("first_day", &body.first_day)?,
        last_day: day("last_day", &body.last_day)?,
        cost_minor: body.cost_minor,
        currency: currency(Some(body.currency))?.unwrap_or_default(),
        action: CampaignAction::parse(&body.action)
            .ok_or_else(|| ApiError::BadRequest("action: task or visit".into()))?,
        script: body.script,
        control_pct: body.control_pct,
    };
    let campaign = draft.into_campaign(
        &user,
        uuid::Uuid::now_v7().to_string(),
        rand::random::<u64>() >> 1,
        now_ms(),
    )?;
    let storage = state.storage.clone();
    let stored = campaign.clone();
    blocking(move || storage.create_campaign(&stored)).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct CampaignList {
    campaigns: Vec<Campaign>,
}

/// `GET /v1/campaigns`.
#[utoipa::path(
    get,
    path = "/v1/campaigns",
    operation_id = "list_campaigns",
    tag = "campaigns",
    description = "Managers (their team's campaigns) and admins (every one); a rep gets `404 not_found` like an unknown route.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = CampaignList),
        (status = 404, description = "`not_found`: a rep"),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<CampaignList>, ApiError> {
    let user = runner(user)?;
    let storage = state.storage.clone();
    let campaigns = blocking(move || {
        let team = match user.role {
            crate::model::Role::Admin => None,
            _ => Some(user.team_id.clone().unwrap_or_default()),
        };
        storage.campaigns(team.as_deref(), MAX_CAMPAIGNS_LISTED)
    })
    .await?;
    Ok(Json(CampaignList { campaigns }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PreviewBody {
    #[serde(default)]
    filter: SegmentFilter,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Preview {
    matching: usize,
    /// The most a campaign may target.
    max_targets: usize,
    /// The first customers matched, by id.
    customers: Vec<String>,
}

/// `POST /v1/campaigns/preview`.
#[utoipa::path(
    post,
    path = "/v1/campaigns/preview",
    operation_id = "preview_campaign",
    tag = "campaigns",
    description = "Managers (their team's campaigns) and admins (every one); a rep gets `404 not_found` like an unknown route.",
    security(("bearer" = [])),
    request_body = PreviewBody,
    responses(
        (status = 200, description = "How many customers the filter matches now", body = Preview),
        (status = 400, description = "`bad_request`: a malformed filter"),
        (status = 404, description = "`not_found`: a rep"),
        (status = 413, description = "`payload_too_large`"),
    )
)]
pub(super) async fn preview(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<Json<Preview>, ApiError> {
    let user = runner(user)?;
    body.filter.validate().map_err(CampaignError::from)?;
    let storage = state.storage.clone();
    let preview = blocking(move || -> Result<Preview, CampaignError> {
        let (matched, _) = campaigns::matching(&*storage, &user, &body.filter, now_ms())?;
        Ok(Preview {
            matching: matched.len(),
            max_targets: MAX_CAMPAIGN_TARGETS,
            customers: matched
                .into_iter()
                .take(PREVIEW_LISTED)
                .map(|m| m.customer_id)
                .collect(),
        })
    })
    .await?;
    Ok(Json(preview))
}

/// The campaign named in the path, if the caller sees it.
fn visible_campaign(
    storage: &dyn Storage,
    user: &User,
    id: &str,
) -> Result<Campaign, CampaignError> {
    storage
        .campaign(id)?
        .filter(|c| campaigns::sees(user, c))
        .ok_or(CampaignError::Unknown)
}

fn campaign_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    match path {
        Ok(Path(id)) if !id.is_empty() && id.len() <= 100 => Ok(id),
        _ => Err(ApiError::NotFound("no such campaign".into())),
    }
}

/// `POST /v1/campaigns/{id}/start`.
#[utoipa::path(
    post,
    path = "/v1/campaigns/{id}/start",
    operation_id = "start_campaign",
    tag = "campaigns",
    description = "Managers (their team's campaigns) and admins (every one); a rep gets `404 not_found` like an unknown route.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The campaign's id")),
    responses(
        (status = 200, description = "The targets frozen and the actions written", body = StartReport),
        (status = 404, description = "`not_found`: a rep, or no such campaign in the caller's sight"),
        (status = 409, description = "`campaign_started`: already started; `no_analytics_run`: the filter needs analytics and no run succeeded"),
        (status = 413, description = "`limit_exceeded`: the filter matches more customers than a campaign may target"),
    )
)]
pub(super) async fn start(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<StartReport>, ApiError> {
    let user = runner(user)?;
    let id = campaign_id(path)?;
    let storage = state.storage.clone();
    let report = blocking(move || campaigns::start(&*storage, &user, &id, now_ms())).await?;
    Ok(Json(report))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct CampaignDetail {
    campaign: Campaign,
    /// `None` for a draft.
    results: Option<CampaignResults>,
    /// Treated targets whose action could not be written.
    actions_missing: u64,
}

/// `GET /v1/campaigns/{id}`.
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}",
    operation_id = "campaign_detail",
    tag = "campaigns",
    description = "Managers (their team's campaigns) and admins (every one); a rep gets `404 not_found` like an unknown route.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The campaign's id")),
    responses(
        (status = 200, description = "The campaign and its results", body = CampaignDetail),
        (status = 404, description = "`not_found`: a rep, or no such campaign in the caller's sight"),
    )
)]
pub(super) async fn detail(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<CampaignDetail>, ApiError> {
    let user = runner(user)?;
    let id = campaign_id(path)?;
    let storage = state.storage.clone();
    let detail = blocking(move || -> Result<CampaignDetail, CampaignError> {
        let campaign = visible_campaign(&*storage, &user, &id)?;
        if campaign.status == CampaignStatus::Draft {
            return Ok(CampaignDetail {
                campaign,
                results: None,
                actions_missing: 0,
            });
        }
        let mut outcomes = Vec::new();
        let mut missing = 0;
        let mut after: Option<String> = None;
        loop {
            let page = storage.campaign_targets(&campaign, after.as_deref(), MAX_TARGETS_PAGE)?;
            missing += page
                .iter()
                .filter(|t| !t.outcome.control && t.action_doc_id.is_none())
                .count() as u64;
            outcomes.extend(page.iter().map(|t| t.outcome));
            if page.len() < MAX_TARGETS_PAGE as usize {
                break;
            }
            after = page.last().map(|t| t.customer_id.clone());
        }
        Ok(CampaignDetail {
            results: Some(campaign_results(&outcomes, campaign.cost_minor)),
            campaign,
            actions_missing: missing,
        })
    })
    .await?;
    Ok(Json(detail))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TargetView {
    customer_id: String,
    name: Option<String>,
    owner_id: Option<String>,
    control: bool,
    action_doc_id: Option<String>,
    action_error: Option<String>,
    reached: bool,
    orders: u64,
    revenue_minor: i64,
}

impl From<CampaignTargetRow> for TargetView {
    fn from(t: CampaignTargetRow) -> Self {
        TargetView {
            customer_id: t.customer_id,
            name: t.customer_name,
            owner_id: t.owner_id,
            control: t.outcome.control,
            action_doc_id: t.action_doc_id,
            action_error: t.action_error,
            reached: t.outcome.reached,
            orders: t.outcome.orders,
            revenue_minor: t.outcome.revenue_minor,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct TargetsPage {
    targets: Vec<TargetView>,
    next_after: Option<String>,
}

/// `GET /v1/campaigns/{id}/targets?after=&limit=` (100 by default, at most 1,000).
#[utoipa::path(
    get,
    path = "/v1/campaigns/{id}/targets",
    operation_id = "campaign_targets",
    tag = "campaigns",
    description = "Managers (their team's campaigns) and admins (every one); a rep gets `404 not_found` like an unknown route.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The campaign's id"), PageQuery),
    responses(
        (status = 200, description = "A page, by customer id", body = TargetsPage),
        (status = 400, description = "`bad_request`: limit out of 1 to 1,000"),
        (status = 404, description = "`not_found`: a rep, or no such campaign in the caller's sight"),
    )
)]
pub(super) async fn targets(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<TargetsPage>, ApiError> {
    let user = runner(user)?;
    let id = campaign_id(path)?;
    let params = query(params)?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_TARGETS_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_TARGETS_PAGE}"
        )));
    }
    let storage = state.storage.clone();
    let page = blocking(move || -> Result<TargetsPage, CampaignError> {
        let campaign = visible_campaign(&*storage, &user, &id)?;
        let rows = storage.campaign_targets(&campaign, params.after.as_deref(), limit)?;
        let next_after = (rows.len() == limit as usize)
            .then(|| rows.last().map(|r| r.customer_id.clone()))
            .flatten();
        Ok(TargetsPage {
            targets: rows.into_iter().map(TargetView::from).collect(),
            next_after,
        })
    })
    .await?;
    Ok(Json(page))
}

const CAMPAIGNS_JS: &str = include_str!("../../dashboard/campaigns.js");

pub(super) async fn dashboard_campaigns_js() -> axum::response::Response {
    super::fieldwork::asset("text/javascript; charset=utf-8", CAMPAIGNS_JS)
}

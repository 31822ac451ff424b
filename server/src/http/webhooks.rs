//! Webhooks and the change feed over HTTP, for admins only:
//! - `POST /v1/webhooks`: register a URL (the secret is answered once); `GET /v1/webhooks`:
//!   the webhooks with their queue sizes, never their secrets; `DELETE /v1/webhooks/{id}`;
//! - `GET /v1/webhooks/{id}/deliveries?state=parked`: a webhook's recent, pending or parked
//!   deliveries; `POST /v1/webhooks/{id}/replay`: every parked delivery again;
//!   `POST /v1/webhooks/{id}/deliveries/{seq}/replay`: one;
//! - `GET /v1/events?after=SEQ&limit=N`: the change feed, for systems that poll.
//!
//! Managers and reps get from every one of these what an unknown route gets, and an unknown
//! webhook answers `404 not_found`.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::csv_files::no_such_route;
use super::fieldwork::query;
use super::{ApiJson, AppState, blocking};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::model::{Role, User, now_ms};
use crate::storage::{
    DeliveryRow, DeliveryState, Event, MAX_DELIVERIES_LISTED, MAX_EVENTS_PAGE, WebhookInfo,
};
use crate::webhooks::{self, RegisterError, Registered};

impl From<RegisterError> for ApiError {
    fn from(err: RegisterError) -> Self {
        match err {
            RegisterError::Url(_) | RegisterError::Secret(_) => {
                ApiError::BadRequest(err.to_string())
            }
            RegisterError::TooMany => ApiError::LimitExceeded(err.to_string()),
            RegisterError::Random(detail) => ApiError::internal(detail),
            RegisterError::Storage(err) => err.into(),
        }
    }
}

fn admin(user: &User) -> Result<(), ApiError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(no_such_route())
    }
}

fn no_such_webhook() -> ApiError {
    ApiError::NotFound("no such webhook".into())
}

fn webhook_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    match path {
        Ok(Path(id)) if !id.is_empty() && id.len() <= 100 => Ok(id),
        _ => Err(no_such_webhook()),
    }
}

/// `POST /v1/webhooks` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewWebhook {
    /// `http://` or `https://`; not this server.
    url: String,
    /// 24 to 200 printable characters; generated (64 hex characters) when left out.
    secret: Option<String>,
}

/// `POST /v1/webhooks`: answered `201` with the secret, the only time it is shown.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    operation_id = "create_webhook",
    tag = "webhooks",
    description = "Admins only; others get `404 not_found` like an unknown route. The webhook receives the events committed from now on, signed with the secret answered here (and never again).",
    security(("bearer" = [])),
    request_body = NewWebhook,
    responses(
        (status = 201, description = "The webhook, with its secret", body = Registered),
        (status = 400, description = "`bad_request`: a URL that is not http(s), points at this server or does not parse; a secret too short or long; an unknown field"),
        (status = 404, description = "`not_found`: not an admin"),
        (status = 413, description = "`limit_exceeded`: already 50 webhooks, or `payload_too_large`"),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    admin(&user)?;
    let storage = state.storage.clone();
    let own = state.webhooks.own_address();
    let registered = blocking(move || {
        webhooks::register(storage.as_ref(), &body.url, body.secret, own, now_ms())
    })
    .await?;
    tracing::info!(webhook = %registered.id, admin = %user.id, "webhook registered");
    state.webhooks.wake();
    Ok((StatusCode::CREATED, Json(registered)))
}

/// `GET /v1/webhooks` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct WebhookList {
    webhooks: Vec<WebhookInfo>,
}

#[utoipa::path(
    get,
    path = "/v1/webhooks",
    operation_id = "list_webhooks",
    tag = "webhooks",
    description = "Admins only; others get `404 not_found` like an unknown route. Secrets are never listed.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every webhook, oldest first", body = WebhookList),
        (status = 404, description = "`not_found`: not an admin"),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<WebhookList>, ApiError> {
    admin(&user)?;
    let storage = state.storage.clone();
    let webhooks = blocking(move || storage.webhooks()).await?;
    Ok(Json(WebhookList { webhooks }))
}

#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    operation_id = "delete_webhook",
    tag = "webhooks",
    description = "Admins only; others get `404 not_found` like an unknown route. Its queue goes with it; a delivery in flight may still arrive.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`not_found`: no such webhook, or not an admin"),
    )
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    admin(&user)?;
    let id = webhook_id(path)?;
    let storage = state.storage.clone();
    if blocking(move || storage.remove_webhook(&id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_webhook())
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DeliveriesQuery {
    /// Only the deliveries in this state: `pending`, `delivered` or `parked` (all by default).
    state: Option<DeliveryState>,
    /// Deliveries listed, 1 to 500 (100 by default), newest event first.
    limit: Option<u32>,
}

/// `GET /v1/webhooks/{id}/deliveries` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct DeliveryList {
    deliveries: Vec<DeliveryRow>,
}

fn limit(requested: Option<u32>, max: u32) -> Result<u32, ApiError> {
    let limit = requested.unwrap_or(100.min(max));
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::BadRequest(format!("limit must be 1 to {max}")))
    }
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries",
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    description = "Admins only; others get `404 not_found` like an unknown route. The latest 1,000 delivered ones are kept; parked and pending ones until they are delivered.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id"), DeliveriesQuery),
    responses(
        (status = 200, description = "The deliveries, newest event first", body = DeliveryList),
        (status = 400, description = "`bad_request`: an unknown state or parameter, a limit out of range"),
        (status = 404, description = "`not_found`: no such webhook, or not an admin"),
    )
)]
pub(super) async fn deliveries(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<DeliveryList>, ApiError> {
    admin(&user)?;
    let id = webhook_id(path)?;
    let params = query(params)?;
    let limit = limit(params.limit, MAX_DELIVERIES_LISTED)?;
    let storage = state.storage.clone();
    let deliveries = blocking(move || storage.deliveries(&id, params.state, limit))
        .await?
        .ok_or_else(no_such_webhook)?;
    Ok(Json(DeliveryList { deliveries }))
}

/// A replay's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Replayed {
    /// Parked deliveries made pending again (due now, attempts counted afresh).
    replayed: u64,
}

async fn replay_parked(
    state: AppState,
    id: String,
    event_seq: Option<i64>,
) -> Result<Json<Replayed>, ApiError> {
    let storage = state.storage.clone();
    let replayed = blocking(move || storage.replay_parked(&id, event_seq, now_ms()))
        .await?
        .ok_or_else(no_such_webhook)?;
    if replayed > 0 {
        state.webhooks.wake();
    }
    Ok(Json(Replayed { replayed }))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/replay",
    operation_id = "replay_parked_deliveries",
    tag = "webhooks",
    description = "Admins only; others get `404 not_found` like an unknown route. Every parked delivery of the webhook is tried again, oldest event first, before newer events.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "How many were parked", body = Replayed),
        (status = 404, description = "`not_found`: no such webhook, or not an admin"),
    )
)]
pub(super) async fn replay_all(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Replayed>, ApiError> {
    admin(&user)?;
    let id = webhook_id(path)?;
    replay_parked(state, id, None).await
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/deliveries/{seq}/replay",
    operation_id = "replay_parked_delivery",
    tag = "webhooks",
    description = "Admins only; others get `404 not_found` like an unknown route. The parked delivery of event `seq` is tried again; `replayed` is 0 when it is not parked.",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The webhook's id"),
        ("seq" = i64, Path, description = "The event's sequence number"),
    ),
    responses(
        (status = 200, description = "Whether it was parked (1) or not (0)", body = Replayed),
        (status = 404, description = "`not_found`: no such webhook, a sequence number that is not one, or not an admin"),
    )
)]
pub(super) async fn replay_one(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Replayed>, ApiError> {
    admin(&user)?;
    let (id, seq) = match path {
        Ok(Path((id, seq))) => (id, seq),
        Err(_) => return Err(no_such_webhook()),
    };
    let id = webhook_id(Ok(Path(id)))?;
    let seq = seq
        .parse::<i64>()
        .map_err(|_| ApiError::NotFound("no such event".into()))?;
    replay_parked(state, id, Some(seq)).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct EventsQuery {
    /// The last sequence number seen (a page's `next_after`); 0 or left out: from the start.
    after: Option<i64>,
    /// Events on one page, 1 to 1,000 (100 by default).
    limit: Option<u32>,
}

/// `GET /v1/events` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct EventPage {
    /// In sequence order.
    events: Vec<Event>,
    /// The `after` of the next page: the last event's sequence number, or the request's
    /// `after` when there was none.
    next_after: i64,
}

/// `GET /v1/events?after=SEQ&limit=N`.
#[utoipa::path(
    get,
    path = "/v1/events",
    operation_id = "list_events",
    tag = "webhooks",
    description = "The change feed, for systems that poll: every event of the organisation in commit order. Admins only; others get `404 not_found` like an unknown route. An event's `id` is stable: a consumer that reads a page twice de-duplicates on it.",
    security(("bearer" = [])),
    params(EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 400, description = "`bad_request`: a malformed or unknown parameter, a limit out of range"),
        (status = 404, description = "`not_found`: not an admin"),
    )
)]
pub(super) async fn events(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    admin(&user)?;
    let params = query(params)?;
    let after = params.after.unwrap_or(0).max(0);
    let limit = limit(params.limit, MAX_EVENTS_PAGE)?;
    let storage = state.storage.clone();
    let events = blocking(move || storage.events_after(after, limit)).await?;
    let next_after = events.last().map_or(after, |e| e.seq);
    Ok(Json(EventPage { events, next_after }))
}

//! Lost phones and departed reps over HTTP: the [`AuthSession`] extractor (the caller with the
//! session their token names), device registration under the per-user cap, and the admin's
//! endpoints to disable a user or revoke one device.
//!
//! The rules themselves live in `storage/accounts.rs`; what the device does when it is told
//! `device_revoked` is in docs/EMBEDDING.md.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use crate::auth::{Auth, Caller, bearer_from_headers, bearer_token};
use crate::error::ApiError;
use crate::http::{ApiJson, AppState, blocking};
use crate::model::{Device, Role, User, now_unix};
use crate::storage::DeviceStatus;

/// Devices a user may have registered (not revoked) unless `--max-devices-per-user` says
/// otherwise: a phone and a tablet, replaced a few times.
pub const DEFAULT_MAX_DEVICES_PER_USER: u16 = 10;

/// The authenticated caller with their session. Rejects like [`crate::auth::AuthUser`], and
/// with `device_revoked` once the session's device was revoked or its user disabled.
#[derive(Debug, Clone)]
pub struct AuthSession(pub Caller);

impl<S> FromRequestParts<S> for AuthSession
where
    S: Send + Sync,
    Arc<Auth>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?;
        let auth = Arc::<Auth>::from_ref(state);
        let caller =
            tokio::task::spawn_blocking(move || auth.authenticate_caller(&token)).await??;
        Ok(AuthSession(caller))
    }
}

impl Caller {
    /// What identifies this caller's device for `fieldcrm_connected_devices`: the session
    /// (one per signed-in device), or the user for an identity provider's token.
    pub fn connection_key(&self) -> &str {
        self.session_id.as_deref().unwrap_or(&self.user.id)
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct RegisterDevice {
    /// The device's Automerge actor id, hex.
    actor_id: String,
}

/// Longest actor id accepted, in bytes (Automerge's own are 16).
const MAX_ACTOR_BYTES: usize = 32;

fn normalise_actor_id(actor_id: &str) -> Result<String, ApiError> {
    let bytes = hex::decode(actor_id)
        .map_err(|_| ApiError::BadRequest("actor_id must be hexadecimal".into()))?;
    if bytes.is_empty() || bytes.len() > MAX_ACTOR_BYTES {
        return Err(ApiError::BadRequest(format!(
            "actor_id must be 1 to {MAX_ACTOR_BYTES} bytes"
        )));
    }
    // The server's own edits (data migrations) are written by this actor: no device has it.
    if bytes == fieldcrm_core::authority::SERVER_ACTOR {
        return Err(ApiError::BadRequest("actor_id is reserved".into()));
    }
    Ok(hex::encode(bytes))
}

/// `POST /v1/devices`: binds the actor id to the caller, and the caller's session to the
/// device (revoking the device then refuses this token).
#[utoipa::path(
    post,
    path = "/v1/devices",
    tag = "devices",
    description = "Any signed-in user, for their own device.",
    security(("bearer" = [])),
    request_body = RegisterDevice,
    responses(
        (status = 201, description = "Registered", body = Device),
        (status = 200, description = "Already registered to the caller", body = Device),
        (status = 400, description = "`bad_request`: the actor id is not 1 to 32 bytes of hex, or is reserved"),
        (status = 409, description = "`actor_taken`: the actor id is another user's; `device_limit`: the user has the most devices allowed"),
        (status = 413, description = "`payload_too_large`"),
    )
)]
pub(crate) async fn register_device(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    ApiJson(body): ApiJson<RegisterDevice>,
) -> Result<(StatusCode, Json<Device>), ApiError> {
    let actor_id = normalise_actor_id(&body.actor_id)?;
    let storage = state.storage.clone();
    let max_devices = state.auth.max_devices_per_user();
    let registration = blocking(move || {
        storage.register_session_device(
            &caller.user.id,
            caller.session_id.as_deref(),
            &actor_id,
            max_devices,
        )
    })
    .await?;
    let status = if registration.created {
        tracing::info!(user = %registration.device.user_id, actor = %registration.device.actor_id, "device registered");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(registration.device)))
}

/// Admins only; everyone else gets the same `forbidden` whatever the id names.
fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only an admin may do this".into()))
    }
}

/// Path ids are checked after the role, so a non-admin learns nothing from a bad one either.
fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::BadRequest("malformed id in the path".into()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct UserAccess {
    user_id: String,
    disabled: bool,
}

async fn set_disabled(
    state: AppState,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    disabled: bool,
) -> Result<Json<UserAccess>, ApiError> {
    require_admin(&caller.user)?;
    let user_id = path_id(path)?;
    let storage = state.storage.clone();
    let id = user_id.clone();
    let found = blocking(move || storage.set_user_disabled(&id, disabled, now_unix())).await?;
    if !found {
        return Err(ApiError::NotFound("user not found".into()));
    }
    tracing::info!(admin = %caller.user.id, user = %user_id, disabled, "user access changed");
    Ok(Json(UserAccess { user_id, disabled }))
}

/// `POST /v1/admin/users/{user_id}/disable`: every token of the user is refused at once
/// (`device_revoked`, so their devices wipe), and so is their login.
#[utoipa::path(
    post,
    path = "/v1/admin/users/{user_id}/disable",
    tag = "devices",
    description = "Admins.",
    security(("bearer" = [])),
    params(("user_id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Disabled", body = UserAccess),
        (status = 400, description = "`bad_request`: a malformed id in the path"),
        (status = 403, description = "`forbidden`: not an admin (whatever the id names)"),
        (status = 404, description = "`not_found`: no such user"),
    )
)]
pub(crate) async fn disable_user(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<UserAccess>, ApiError> {
    set_disabled(state, caller, path, true).await
}

/// `POST /v1/admin/users/{user_id}/enable`: the user may log in again (old tokens stay
/// refused).
#[utoipa::path(
    post,
    path = "/v1/admin/users/{user_id}/enable",
    tag = "devices",
    description = "Admins.",
    security(("bearer" = [])),
    params(("user_id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Enabled", body = UserAccess),
        (status = 400, description = "`bad_request`: a malformed id in the path"),
        (status = 403, description = "`forbidden`: not an admin (whatever the id names)"),
        (status = 404, description = "`not_found`: no such user"),
    )
)]
pub(crate) async fn enable_user(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<UserAccess>, ApiError> {
    set_disabled(state, caller, path, false).await
}

/// `GET /v1/admin/users/{user_id}/devices`: the user's devices, revoked ones included.
#[utoipa::path(
    get,
    path = "/v1/admin/users/{user_id}/devices",
    tag = "devices",
    description = "Admins.",
    security(("bearer" = [])),
    params(("user_id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user's devices", body = Vec<DeviceStatus>),
        (status = 400, description = "`bad_request`: a malformed id in the path"),
        (status = 403, description = "`forbidden`: not an admin (whatever the id names)"),
        (status = 404, description = "`not_found`: no such user"),
    )
)]
pub(crate) async fn user_devices(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<DeviceStatus>>, ApiError> {
    require_admin(&caller.user)?;
    let user_id = path_id(path)?;
    let storage = state.storage.clone();
    let devices = blocking(move || {
        if storage.user_by_id(&user_id)?.is_none() {
            return Err(crate::storage::StorageError::NotFound("user"));
        }
        storage.device_statuses(&user_id)
    })
    .await?;
    Ok(Json(devices))
}

/// `POST /v1/admin/devices/{device}/revoke` (device id or actor id): the sessions that
/// registered the device are refused at once with `device_revoked`, and its actor can no
/// longer push.
#[utoipa::path(
    post,
    path = "/v1/admin/devices/{device}/revoke",
    tag = "devices",
    description = "Admins.",
    security(("bearer" = [])),
    params(("device" = String, Path, description = "The device id or its actor id")),
    responses(
        (status = 200, description = "Revoked", body = DeviceStatus),
        (status = 400, description = "`bad_request`: a malformed id in the path"),
        (status = 403, description = "`forbidden`: not an admin (whatever the id names)"),
        (status = 404, description = "`not_found`: no such device"),
    )
)]
pub(crate) async fn revoke_device(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<DeviceStatus>, ApiError> {
    require_admin(&caller.user)?;
    let device = path_id(path)?;
    let storage = state.storage.clone();
    let revoked = blocking(move || storage.revoke_device(&device, now_unix()))
        .await?
        .ok_or_else(|| ApiError::NotFound("device not found".into()))?;
    tracing::info!(admin = %caller.user.id, device = %revoked.device.id, user = %revoked.device.user_id, "device revoked");
    Ok(Json(revoked))
}

/// `GET /metrics` is for admins (an admin's token) or for a scraper holding the metrics token
/// (`--metrics-token`).
pub(crate) async fn may_read_metrics(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let token = bearer_from_headers(headers)?;
    if state.metrics.is_scrape_token(&token) {
        return Ok(());
    }
    let auth = state.auth.clone();
    let caller = tokio::task::spawn_blocking(move || auth.authenticate_caller(&token)).await??;
    require_admin(&caller.user)
}

#[cfg(test)]
mod tests;

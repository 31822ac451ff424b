//! `ApiError`: every failure an HTTP client can see, as JSON
//! `{"error": {"code": "stable_snake_case", "message": "..."}}`.
//!
//! Codes are part of the API (clients branch on them, `docs/PROTOCOL.md` lists them); messages
//! are for people and may change. Internal failures are logged with their detail and answered
//! with the bare code `internal`: no SQL, path or library message ever reaches a client.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::storage::StorageError;

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, a field out of range).
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or wrong username/password (one message for both: no user enumeration).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The bearer token was valid but has expired: log in again.
    #[error("the token has expired")]
    TokenExpired,
    /// The bearer token is not one this server accepts (signature, issuer, audience, algorithm,
    /// unknown key, unknown user).
    #[error("the token is not valid")]
    InvalidToken,
    /// The caller's device was revoked or its user disabled: the device must delete its local
    /// data (see docs/EMBEDDING.md). Logging in again does not help.
    #[error("this device's access was revoked: delete the local data")]
    DeviceRevoked,
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The method is not allowed on this route.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A conflict with stored state, with its own stable code (for example `actor_taken`).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The body (or its decompressed payload) is over the configured limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// A sync envelope with a protocol version newer than this server speaks.
    #[error("unsupported protocol version {0}")]
    UnsupportedProtocolVersion(u32),
    /// A sync envelope with a protocol version older than this server still serves: the app
    /// must be updated (what it holds stays on the device).
    #[error(
        "protocol version {found} is no longer served (the oldest served is {oldest}): update the app"
    )]
    UpgradeRequired { found: u32, oldest: u32 },
    /// A sync envelope or message that does not decode.
    #[error("{0}")]
    MalformedMessage(String),
    /// A sync message over one of the protocol's count or length limits.
    #[error("{0}")]
    LimitExceeded(String),
    /// Too many requests (or login attempts): try again after `retry_after_secs`.
    #[error("too many requests: try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The storage backend cannot answer (health check).
    #[error("the service is unavailable")]
    Unavailable,
    /// Anything else: the detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::TokenExpired => "token_expired",
            ApiError::InvalidToken => "invalid_token",
            ApiError::DeviceRevoked => "device_revoked",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedProtocolVersion(_) => "unsupported_protocol_version",
            ApiError::UpgradeRequired { .. } => "upgrade_required",
            ApiError::MalformedMessage(_) => "malformed_message",
            ApiError::LimitExceeded(_) => "limit_exceeded",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::MalformedMessage(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_)
            | ApiError::TokenExpired
            | ApiError::InvalidToken
            | ApiError::DeviceRevoked => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge | ApiError::LimitExceeded(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UnsupportedProtocolVersion(_) => StatusCode::BAD_REQUEST,
            ApiError::UpgradeRequired { .. } => StatusCode::UPGRADE_REQUIRED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// An internal failure: `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal(detail.to_string())
    }
}

/// Every error answer's body (its schema in the OpenAPI document is `ApiError`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiError)]
pub(crate) struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ApiErrorDetail)]
struct Detail<'a> {
    /// The stable, machine-readable code clients branch on (each operation names the codes it
    /// may answer; docs/PROTOCOL.md lists them all).
    code: &'a str,
    /// For people; may change.
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error");
        }
        let status = self.status();
        let body = Body {
            error: Detail {
                code: self.code(),
                message: self.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"fieldcrm\""),
            );
        }
        if let ApiError::RateLimited { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::ActorTaken => ApiError::Conflict {
                code: "actor_taken",
                message: "this actor id is registered to another user".into(),
            },
            StorageError::AlreadyExists(what) => ApiError::Conflict {
                code: "already_exists",
                message: format!("{what} already exists"),
            },
            StorageError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StorageError::DeviceRevoked => ApiError::DeviceRevoked,
            StorageError::DeviceLimit(max) => ApiError::Conflict {
                code: "device_limit",
                message: format!(
                    "this user already has {max} devices: an admin must revoke one first"
                ),
            },
            other => ApiError::internal(other),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(err: tokio::task::JoinError) -> Self {
        ApiError::internal(format!("blocking task failed: {err}"))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::PayloadTooLarge;
        }
        match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::BadRequest("expected a JSON body (content-type: application/json)".into())
            }
            JsonRejection::JsonSyntaxError(_) => ApiError::BadRequest("malformed JSON".into()),
            // Serde's message names the field and the expected type, nothing internal.
            JsonRejection::JsonDataError(err) => ApiError::BadRequest(err.body_text()),
            other => ApiError::BadRequest(format!("unreadable body: {}", other.body_text())),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest("unreadable body".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_hide_their_detail() {
        let response = ApiError::internal("no such table: users at /secret/path").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!text.contains("secret"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["error"]["code"], "internal");
    }

    #[tokio::test]
    async fn limits_and_rate_limits_have_stable_codes() {
        let err = ApiError::LimitExceeded("more than 2000 documents in a push".into());
        assert_eq!(
            (err.code(), err.status()),
            ("limit_exceeded", StatusCode::PAYLOAD_TOO_LARGE)
        );
        let err = ApiError::RateLimited {
            retry_after_secs: 7,
        };
        assert_eq!(
            (err.code(), err.status()),
            ("rate_limited", StatusCode::TOO_MANY_REQUESTS)
        );
        let response = err.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }

    #[test]
    fn protocol_versions_out_of_range_have_stable_codes() {
        let err: ApiError = fieldcrm_core::protocol::ProtocolError::UpgradeRequired {
            found: 0,
            oldest: 1,
        }
        .into();
        assert_eq!(
            (err.code(), err.status()),
            ("upgrade_required", StatusCode::UPGRADE_REQUIRED)
        );
        let err: ApiError = fieldcrm_core::protocol::ProtocolError::UnsupportedVersion {
            found: 9,
            supported: 2,
        }
        .into();
        assert_eq!(
            (err.code(), err.status()),
            ("unsupported_protocol_version", StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn database_errors_become_internal() {
        let err: ApiError = StorageError::Database(rusqlite::Error::InvalidQuery).into();
        assert_eq!(err.code(), "internal");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}

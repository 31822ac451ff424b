//! The [`AuthUser`] extractor: the bearer token of a request, verified.

use super::*;

/// The authenticated caller of a handler. Rejects with 401 and a stable code:
/// `unauthorized` (no bearer token), `token_expired`, `invalid_token`.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

pub(crate) fn bearer_token(parts: &Parts) -> Result<String, ApiError> {
    bearer_from_headers(&parts.headers)
}

pub(crate) fn bearer_from_headers(headers: &axum::http::HeaderMap) -> Result<String, ApiError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized("a bearer token is required"))?;
    let value = value.to_str().map_err(|_| ApiError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::InvalidToken);
    }
    Ok(token.trim().to_owned())
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Arc<Auth>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // The same authentication as `AuthSession` (sessions, revocation), keeping the user only.
        let crate::accounts::AuthSession(caller) =
            crate::accounts::AuthSession::from_request_parts(parts, state).await?;
        Ok(AuthUser(caller.user))
    }
}

//! Authentication: argon2 password hashes, HS256 tokens signed with rotating keys, tokens from
//! an optional external identity provider, and the [`AuthUser`] extractor.
//!
//! Rules kept here:
//! - Every verification pins its algorithm: our own tokens are HS256 only; an identity
//!   provider's tokens use the one algorithm its public key is for (RS256 for an RSA key,
//!   ES256 for a P-256 key). `alg: none`, or an HS256 token "signed" with the provider's public
//!   key, never verifies.
//! - `exp`, `iss`, `aud` and `sub` are required in every token.
//! - A token proves who the caller is; what they may do (role, team, territories) is read from
//!   the database on each request, so a demoted or deleted user loses access at once.
//! - Each of our tokens names a session (`sid`), read with its user on each request: a revoked
//!   device or a disabled user is refused at once with `device_revoked` (see
//!   `storage/accounts.rs`), without logging out the user's other devices.
//! - A wrong password and an unknown user get the same answer and take the same time (a dummy
//!   hash is verified for unknown users).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::{Role, SigningKey, User, now_unix};
use crate::storage::{Storage, StorageError};

mod extractor;
mod keys;
mod passwords;
mod tokens;

pub use extractor::AuthUser;
pub(crate) use extractor::{bearer_from_headers, bearer_token};
pub use keys::{ExternalIdp, new_signing_key, rotate_key};
pub use passwords::{PasswordParams, hash_password, verify_password};
pub use tokens::{Auth, Caller, Claims, IssuedToken, TokenSettings};

use keys::random_bytes;
use tokens::validation;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("the token has expired")]
    TokenExpired,
    #[error("the token is not valid")]
    InvalidToken,
    #[error("identity provider key: {0}")]
    IdpKey(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("token signing failed: {0}")]
    Signing(String),
    #[error("random number generator failed: {0}")]
    Random(String),
    #[error("no active signing key")]
    NoActiveKey,
    /// The session's device was revoked or its user disabled.
    #[error("this device's access was revoked")]
    Revoked,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidCredentials => ApiError::Unauthorized("invalid username or password"),
            AuthError::TokenExpired => ApiError::TokenExpired,
            AuthError::InvalidToken => ApiError::InvalidToken,
            AuthError::Revoked => ApiError::DeviceRevoked,
            AuthError::Storage(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;

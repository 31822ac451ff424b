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

/// Clock skew tolerated on `exp` (seconds).
const LEEWAY_SECS: u64 = 30;
/// How long the key cache is trusted for verification before it is re-read (a key retired by
/// the admin command stops being trusted past its grace period within this delay).
const KEY_REFRESH: Duration = Duration::from_secs(10);
/// An unknown `kid` re-reads the keys at most this often (an attacker cannot make every
/// request hit the database).
const KEY_MISS_REFRESH: Duration = Duration::from_secs(1);

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

// ---------------------------------------------------------------------------------------------
// Passwords

/// Argon2id cost parameters. [`PasswordParams::default`] is the library's recommended cost;
/// tests use [`PasswordParams::fast_for_tests`].
#[derive(Debug, Clone)]
pub struct PasswordParams(argon2::Params);

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams(argon2::Params::DEFAULT)
    }
}

impl PasswordParams {
    /// The cheapest parameters argon2 accepts: only for tests.
    pub fn fast_for_tests() -> Self {
        match argon2::Params::new(argon2::Params::MIN_M_COST, 1, 1, None) {
            Ok(params) => PasswordParams(params),
            Err(_) => PasswordParams::default(),
        }
    }
}

/// An argon2id PHC string for `password` with a fresh random salt.
pub fn hash_password(params: &PasswordParams, password: &str) -> Result<String, AuthError> {
    Argon2::from(&params.0)
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (its own parameters are used).
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// Our token's claims.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub role: Role,
    pub team: Option<String>,
    pub exp: u64,
    pub iat: u64,
    pub iss: String,
    pub aud: String,
    /// The session (a row in `sessions`), checked on every request.
    pub sid: String,
}

/// Only `sub` is read from an identity provider's token (`iss`, `aud` and `exp` are checked
/// by the validation); it names a user by username.
#[derive(Debug, Deserialize)]
struct ExternalClaims {
    sub: String,
}

/// A token handed to a client.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub kid: String,
    pub expires_at: i64,
    pub session_id: String,
}

/// Who is calling: the user read fresh, and the session their token names (`None` for an
/// identity provider's token, which carries no session of ours).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub session_id: Option<String>,
}

/// Issuer, audience and lifetime of our tokens.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub ttl_secs: u64,
}

/// An external identity provider whose tokens are accepted.
pub struct ExternalIdp {
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for ExternalIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalIdp")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl ExternalIdp {
    /// From the provider's public key (PEM: an RSA key means RS256, an EC P-256 key ES256),
    /// its issuer and the audience its tokens must carry.
    pub fn from_pem(pem: &[u8], issuer: &str, audience: &str) -> Result<Self, AuthError> {
        let (algorithm, key) = match DecodingKey::from_rsa_pem(pem) {
            Ok(key) => (Algorithm::RS256, key),
            Err(_) => match DecodingKey::from_ec_pem(pem) {
                Ok(key) => (Algorithm::ES256, key),
                Err(e) => {
                    return Err(AuthError::IdpKey(format!(
                        "not an RSA or EC public key in PEM format: {e}"
                    )));
                }
            },
        };
        Ok(ExternalIdp {
            algorithm,
            key,
            validation: validation(algorithm, issuer, audience),
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation
}

fn map_jwt_error(err: jsonwebtoken::errors::Error) -> AuthError {
    match err.kind() {
        ErrorKind::ExpiredSignature => AuthError::TokenExpired,
        _ => AuthError::InvalidToken,
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A fresh HS256 key: 256 random bits, a random 64-bit key id.
pub fn new_signing_key(now: i64) -> Result<SigningKey, AuthError> {
    Ok(SigningKey {
        kid: hex::encode(random_bytes::<8>()?),
        secret: random_bytes::<32>()?.to_vec(),
        created_at: now,
        active: true,
        retired_at: None,
    })
}

/// Makes a new key the active one; the old one keeps verifying its tokens until they expire.
pub fn rotate_key(storage: &dyn Storage) -> Result<SigningKey, AuthError> {
    let now = now_unix();
    let key = new_signing_key(now)?;
    storage.rotate_signing_key(&key, now)?;
    Ok(key)
}

struct LoadedKeys {
    at: Instant,
    keys: Arc<Vec<SigningKey>>,
}

/// Logins, token issue and verification. Its methods block (argon2, database): call them
/// from `spawn_blocking`.
pub struct Auth {
    storage: Arc<dyn Storage>,
    settings: TokenSettings,
    validation: Validation,
    idp: Option<ExternalIdp>,
    password_params: PasswordParams,
    dummy_hash: String,
    keys: RwLock<LoadedKeys>,
    max_devices_per_user: usize,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("settings", &self.settings)
            .field("idp", &self.idp)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Loads the signing keys, creating the first one on a new database.
    pub fn new(
        storage: Arc<dyn Storage>,
        settings: TokenSettings,
        idp: Option<ExternalIdp>,
        password_params: PasswordParams,
    ) -> Result<Self, AuthError> {
        let mut keys = storage.signing_keys()?;
        if !keys.iter().any(|k| k.active) {
            rotate_key(storage.as_ref())?;
            keys = storage.signing_keys()?;
        }
        let dummy_hash = hash_password(&password_params, "not a password: timing equaliser")?;
        Ok(Auth {
            validation: validation(Algorithm::HS256, &settings.issuer, &settings.audience),
            storage,
            settings,
            idp,
            password_params,
            dummy_hash,
            keys: RwLock::new(LoadedKeys {
                at: Instant::now(),
                keys: Arc::new(keys),
            }),
            max_devices_per_user: usize::from(crate::accounts::DEFAULT_MAX_DEVICES_PER_USER),
        })
    }

    /// Caps the devices (not revoked) a user may register.
    pub fn with_max_devices_per_user(mut self, max: usize) -> Self {
        self.max_devices_per_user = max;
        self
    }

    pub fn max_devices_per_user(&self) -> usize {
        self.max_devices_per_user
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub fn password_params(&self) -> &PasswordParams {
        &self.password_params
    }

    fn cached_keys(&self, max_age: Duration) -> Result<Arc<Vec<SigningKey>>, AuthError> {
        {
            let loaded = self.keys.read().unwrap_or_else(|e| e.into_inner());
            if loaded.at.elapsed() < max_age {
                return Ok(loaded.keys.clone());
            }
        }
        let keys = Arc::new(self.storage.signing_keys()?);
        let mut loaded = self.keys.write().unwrap_or_else(|e| e.into_inner());
        *loaded = LoadedKeys {
            at: Instant::now(),
            keys: keys.clone(),
        };
        Ok(keys)
    }

    /// Rotates the signing key now (this process sees the new key at once).
    pub fn rotate(&self) -> Result<SigningKey, AuthError> {
        let key = rotate_key(self.storage.as_ref())?;
        self.cached_keys(Duration::ZERO)?;
        Ok(key)
    }

    /// Checks a username and password; the same error for an unknown user and a wrong
    /// password, after the same work.
    pub fn login(&self, username: &str, password: &str) -> Result<User, AuthError> {
        let user = self.storage.user_by_username(username)?;
        // A disabled user gets the answer of a wrong password, after the same work.
        let disabled = match &user {
            Some(user) => self.storage.user_disabled(&user.id)?,
            None => false,
        };
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.as_deref())
            .unwrap_or(&self.dummy_hash);
        let matches = verify_password(hash, password);
        match user {
            Some(user) if matches && user.password_hash.is_some() && !disabled => Ok(user),
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// A token for `user` naming a new session, signed with the active key. The keys are
    /// re-read first (one small query, next to argon2's cost at login), so a `key rotate` run
    /// by the admin command takes effect for the very next token.
    pub fn issue(&self, user: &User) -> Result<IssuedToken, AuthError> {
        let keys = self.cached_keys(Duration::ZERO)?;
        let key = keys
            .iter()
            .rev()
            .find(|k| k.active)
            .ok_or(AuthError::NoActiveKey)?;
        let now = now_unix();
        let iat = u64::try_from(now).unwrap_or(0);
        let exp = iat.saturating_add(self.settings.ttl_secs);
        let expires_at = i64::try_from(exp).unwrap_or(i64::MAX);
        let session_id = hex::encode(random_bytes::<16>()?);
        // Kept past `exp` by the verification leeway, so a token still accepted finds its row.
        let kept_until = expires_at.saturating_add(i64::try_from(LEEWAY_SECS).unwrap_or(i64::MAX));
        self.storage
            .create_session(&session_id, &user.id, now, kept_until)?;
        let claims = Claims {
            sub: user.id.clone(),
            role: user.role,
            team: user.team_id.clone(),
            exp,
            iat,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sid: session_id.clone(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key.secret))
            .map_err(|e| AuthError::Signing(e.to_string()))?;
        Ok(IssuedToken {
            token,
            kid: key.kid.clone(),
            expires_at,
            session_id,
        })
    }

    /// Whether a key may verify a token now: the active key, or a retired one while tokens it
    /// signed may still be unexpired.
    fn key_usable(&self, key: &SigningKey, now: i64) -> bool {
        match key.retired_at {
            None => true,
            Some(retired_at) => {
                let grace = i64::try_from(self.settings.ttl_secs.saturating_add(LEEWAY_SECS))
                    .unwrap_or(i64::MAX);
                now <= retired_at.saturating_add(grace)
            }
        }
    }

    fn verification_key(&self, kid: &str, now: i64) -> Result<Option<SigningKey>, AuthError> {
        let mut keys = self.cached_keys(KEY_REFRESH)?;
        if !keys.iter().any(|k| k.kid == kid) {
            keys = self.cached_keys(KEY_MISS_REFRESH)?;
        }
        Ok(keys
            .iter()
            .find(|k| k.kid == kid && self.key_usable(k, now))
            .cloned())
    }

    /// Verifies `token` and returns the user it names (read fresh from the database).
    pub fn authenticate(&self, token: &str) -> Result<User, AuthError> {
        self.authenticate_at(token, now_unix())
            .map(|caller| caller.user)
    }

    /// Verifies `token` and returns the user and session it names, both read fresh: a revoked
    /// session or a disabled user is [`AuthError::Revoked`].
    pub fn authenticate_caller(&self, token: &str) -> Result<Caller, AuthError> {
        self.authenticate_at(token, now_unix())
    }

    pub(crate) fn authenticate_at(&self, token: &str, now: i64) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidToken)?;
        if header.alg == Algorithm::HS256 {
            let kid = header.kid.ok_or(AuthError::InvalidToken)?;
            let key = self
                .verification_key(&kid, now)?
                .ok_or(AuthError::InvalidToken)?;
            let data = jsonwebtoken::decode::<Claims>(
                token,
                &DecodingKey::from_secret(&key.secret),
                &self.validation,
            )
            .map_err(map_jwt_error)?;
            let session = self
                .storage
                .session_state(&data.claims.sid)?
                .filter(|s| s.user.id == data.claims.sub)
                .ok_or(AuthError::InvalidToken)?;
            if session.revoked || session.user_disabled {
                return Err(AuthError::Revoked);
            }
            return Ok(Caller {
                user: session.user,
                session_id: Some(data.claims.sid),
            });
        }
        match &self.idp {
            Some(idp) if header.alg == idp.algorithm => {
                let data = jsonwebtoken::decode::<ExternalClaims>(token, &idp.key, &idp.validation)
                    .map_err(map_jwt_error)?;
                let user = self
                    .storage
                    .user_by_username(&data.claims.sub)?
                    .ok_or(AuthError::InvalidToken)?;
                if self.storage.user_disabled(&user.id)? {
                    return Err(AuthError::Revoked);
                }
                Ok(Caller {
                    user,
                    session_id: None,
                })
            }
            _ => Err(AuthError::InvalidToken),
        }
    }
}

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::storage::{NewUser, SqliteStorage};

    pub(crate) const ISSUER: &str = "fieldcrm-test";
    pub(crate) const AUDIENCE: &str = "fieldcrm-sync-test";
    const IDP_ISSUER: &str = "https://idp.example";
    const EC_PRIVATE: &str = include_str!("../tests/fixtures/idp-ec-private.pem");
    const EC_PUBLIC: &str = include_str!("../tests/fixtures/idp-ec-public.pem");
    const EC_OTHER_PRIVATE: &str = include_str!("../tests/fixtures/other-ec-private.pem");
    const RSA_PUBLIC: &str = include_str!("../tests/fixtures/idp-rsa-public.pem");

    pub(crate) fn settings() -> TokenSettings {
        TokenSettings {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            ttl_secs: 3600,
        }
    }

    fn setup(idp: Option<ExternalIdp>) -> (Arc<SqliteStorage>, Auth, User) {
        let storage = Arc::new(SqliteStorage::open_in_memory().unwrap());
        let params = PasswordParams::fast_for_tests();
        let hash = hash_password(&params, "s3cret").unwrap();
        let user = storage
            .create_user(NewUser {
                username: "ana",
                password_hash: Some(&hash),
                role: Role::Rep,
                team_id: None,
            })
            .unwrap();
        let auth = Auth::new(storage.clone(), settings(), idp, params).unwrap();
        (storage, auth, user)
    }

    fn sign<T: Serialize>(
        alg: Algorithm,
        kid: Option<&str>,
        claims: &T,
        key: &EncodingKey,
    ) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn claims_for(user: &User) -> Claims {
        let now = now_unix() as u64;
        Claims {
            sid: String::new(),
            sub: user.id.clone(),
            role: user.role,
            team: None,
            exp: now + 600,
            iat: now,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        }
    }

    fn active_key(storage: &SqliteStorage) -> SigningKey {
        storage
            .signing_keys()
            .unwrap()
            .into_iter()
            .find(|k| k.active)
            .unwrap()
    }

    #[test]
    fn passwords_hash_and_verify() {
        let params = PasswordParams::fast_for_tests();
        let hash = hash_password(&params, "pw").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "pw"));
        assert!(!verify_password(&hash, "pW"));
        assert!(!verify_password("not a hash", "pw"));
    }

    #[test]
    fn login_checks_the_password_and_hides_which_part_failed() {
        let (_, auth, user) = setup(None);
        assert_eq!(auth.login("ana", "s3cret").unwrap(), user);
        assert!(matches!(
            auth.login("ana", "wrong"),
            Err(AuthError::InvalidCredentials)
        ));
        assert!(matches!(
            auth.login("nobody", "s3cret"),
            Err(AuthError::InvalidCredentials)
        ));
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_claims() {
        let (storage, auth, user) = setup(None);
        let issued = auth.issue(&user).unwrap();
        assert_eq!(issued.kid, active_key(&storage).kid);
        assert_eq!(auth.authenticate(&issued.token).unwrap(), user);
        let header = jsonwebtoken::decode_header(&issued.token).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        let claims: Claims = jsonwebtoken::dangerous::insecure_decode(&issued.token)
            .unwrap()
            .claims;
        assert_eq!(claims.iss, ISSUER);
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.role, Role::Rep);
        assert_eq!(claims.exp - claims.iat, 3600);
    }

    #[test]
    fn bad_tokens_are_refused_with_the_right_code() {
        let (storage, auth, user) = setup(None);
        let key = active_key(&storage);
        let enc = EncodingKey::from_secret(&key.secret);
        let kid = Some(key.kid.as_str());
        let check = |token: String| auth.authenticate(&token).unwrap_err();

        let mut expired = claims_for(&user);
        expired.exp = now_unix() as u64 - 3600;
        assert!(matches!(
            check(sign(Algorithm::HS256, kid, &expired, &enc)),
            AuthError::TokenExpired
        ));

        let mut wrong_aud = claims_for(&user);
        wrong_aud.aud = "someone-else".into();
        assert!(matches!(
            check(sign(Algorithm::HS256, kid, &wrong_aud, &enc)),
            AuthError::InvalidToken
        ));

        let mut wrong_iss = claims_for(&user);
        wrong_iss.iss = "evil".into();
        assert!(matches!(
            check(sign(Algorithm::HS256, kid, &wrong_iss, &enc)),
            AuthError::InvalidToken
        ));

        let other = EncodingKey::from_secret(&[7u8; 32]);
        let good = claims_for(&user);
        assert!(matches!(
            check(sign(Algorithm::HS256, kid, &good, &other)),
            AuthError::InvalidToken
        ));
        // No kid, unknown kid.
        assert!(matches!(
            check(sign(Algorithm::HS256, None, &good, &enc)),
            AuthError::InvalidToken
        ));
        assert!(matches!(
            check(sign(Algorithm::HS256, Some("nope"), &good, &enc)),
            AuthError::InvalidToken
        ));
        // HS512 with the right secret: the algorithm is pinned.
        assert!(matches!(
            check(sign(Algorithm::HS512, kid, &good, &enc)),
            AuthError::InvalidToken
        ));
        // Missing sub.
        let no_sub = serde_json::json!({"exp": good.exp, "iss": ISSUER, "aud": AUDIENCE});
        assert!(matches!(
            check(sign(Algorithm::HS256, kid, &no_sub, &enc)),
            AuthError::InvalidToken
        ));
        // A valid token for a user that no longer exists.
        let mut ghost = claims_for(&user);
        ghost.sub = "00000000-0000-0000-0000-000000000000".into();
        assert!(matches!(
            check(sign(Algorithm::HS256, kid, &ghost, &enc)),
            AuthError::InvalidToken
        ));
        // alg: none, unsigned.
        assert!(matches!(
            check(alg_none_token(&good, &key.kid)),
            AuthError::InvalidToken
        ));
        // Garbage.
        assert!(matches!(check("a.b.c".into()), AuthError::InvalidToken));
        assert!(matches!(check("".into()), AuthError::InvalidToken));
    }

    /// `{"alg":"none"}` header, claims, empty signature: what an attacker would send.
    pub(crate) fn alg_none_token<T: Serialize>(claims: &T, kid: &str) -> String {
        use base64_url as b64;
        let header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": kid});
        format!(
            "{}.{}.",
            b64::encode(&serde_json::to_vec(&header).unwrap()),
            b64::encode(&serde_json::to_vec(claims).unwrap())
        )
    }

    /// Unpadded base64url, enough to forge test tokens.
    mod base64_url {
        pub fn encode(bytes: &[u8]) -> String {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for i in 0..=chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_they_expire() {
        let (storage, auth, user) = setup(None);
        let old = auth.issue(&user).unwrap();
        let new_key = auth.rotate().unwrap();
        let new = auth.issue(&user).unwrap();
        assert_eq!(new.kid, new_key.kid);
        assert_ne!(new.kid, old.kid);
        assert_eq!(auth.authenticate(&old.token).unwrap(), user);
        assert_eq!(auth.authenticate(&new.token).unwrap(), user);
        // Once every token the old key signed must have expired, the old key is refused.
        let retired_at = storage
            .signing_keys()
            .unwrap()
            .into_iter()
            .find(|k| k.kid == old.kid)
            .unwrap()
            .retired_at
            .unwrap();
        let later = retired_at + 3600 + LEEWAY_SECS as i64 + 1;
        assert!(matches!(
            auth.authenticate_at(&old.token, later),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn external_provider_tokens_are_accepted_with_the_pinned_algorithm() {
        let idp = ExternalIdp::from_pem(EC_PUBLIC.as_bytes(), IDP_ISSUER, AUDIENCE).unwrap();
        assert_eq!(idp.algorithm(), Algorithm::ES256);
        let (_, auth, user) = setup(Some(idp));
        let now = now_unix() as u64;
        let claims = serde_json::json!({
            "sub": "ana", "exp": now + 600, "iat": now, "iss": IDP_ISSUER, "aud": AUDIENCE,
        });
        let key = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
        let token = sign(Algorithm::ES256, None, &claims, &key);
        assert_eq!(auth.authenticate(&token).unwrap(), user);

        // Signed by another EC key.
        let other = EncodingKey::from_ec_pem(EC_OTHER_PRIVATE.as_bytes()).unwrap();
        let forged = sign(Algorithm::ES256, None, &claims, &other);
        assert!(matches!(
            auth.authenticate(&forged),
            Err(AuthError::InvalidToken)
        ));
        // Our issuer on the provider's key, or the provider's issuer claim unknown.
        let wrong_iss = serde_json::json!({
            "sub": "ana", "exp": now + 600, "iss": ISSUER, "aud": AUDIENCE,
        });
        assert!(matches!(
            auth.authenticate(&sign(Algorithm::ES256, None, &wrong_iss, &key)),
            Err(AuthError::InvalidToken)
        ));
        // Unknown user.
        let stranger = serde_json::json!({
            "sub": "mallory", "exp": now + 600, "iss": IDP_ISSUER, "aud": AUDIENCE,
        });
        assert!(matches!(
            auth.authenticate(&sign(Algorithm::ES256, None, &stranger, &key)),
            Err(AuthError::InvalidToken)
        ));
        // Algorithm confusion: HS256 "signed" with the public key's PEM bytes.
        let confused = sign(
            Algorithm::HS256,
            None,
            &claims,
            &EncodingKey::from_secret(EC_PUBLIC.as_bytes()),
        );
        assert!(matches!(
            auth.authenticate(&confused),
            Err(AuthError::InvalidToken)
        ));
        // Expired provider token.
        let expired = serde_json::json!({
            "sub": "ana", "exp": now - 3600, "iss": IDP_ISSUER, "aud": AUDIENCE,
        });
        assert!(matches!(
            auth.authenticate(&sign(Algorithm::ES256, None, &expired, &key)),
            Err(AuthError::TokenExpired)
        ));
    }

    #[test]
    fn provider_key_type_decides_the_algorithm() {
        let rsa = ExternalIdp::from_pem(RSA_PUBLIC.as_bytes(), IDP_ISSUER, AUDIENCE).unwrap();
        assert_eq!(rsa.algorithm(), Algorithm::RS256);
        assert!(matches!(
            ExternalIdp::from_pem(b"not a key", IDP_ISSUER, AUDIENCE),
            Err(AuthError::IdpKey(_))
        ));
        // Without a provider configured, an ES256 token is refused outright.
        let (_, auth, _) = setup(None);
        let key = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
        let now = now_unix() as u64;
        let claims = serde_json::json!({
            "sub": "ana", "exp": now + 600, "iss": IDP_ISSUER, "aud": AUDIENCE,
        });
        assert!(matches!(
            auth.authenticate(&sign(Algorithm::ES256, None, &claims, &key)),
            Err(AuthError::InvalidToken)
        ));
    }
}

//! Tokens: our claims, issuing and verifying tokens (HS256 with rotating keys, or an identity
//! provider's), logins, and the callers they name.

use super::*;

/// Clock skew tolerated on `exp` (seconds).
pub(super) const LEEWAY_SECS: u64 = 30;
/// How long the key cache is trusted for verification before it is re-read (a key retired by
/// the admin command stops being trusted past its grace period within this delay).
const KEY_REFRESH: Duration = Duration::from_secs(10);
/// An unknown `kid` re-reads the keys at most this often (an attacker cannot make every
/// request hit the database).
const KEY_MISS_REFRESH: Duration = Duration::from_secs(1);

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

pub(super) fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
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

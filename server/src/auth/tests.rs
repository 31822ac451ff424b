use super::tokens::LEEWAY_SECS;
use super::*;
use crate::storage::{NewUser, SqliteStorage};

pub(crate) const ISSUER: &str = "fieldcrm-test";
pub(crate) const AUDIENCE: &str = "fieldcrm-sync-test";
const IDP_ISSUER: &str = "https://idp.example";
const EC_PRIVATE: &str = include_str!("../../tests/fixtures/idp-ec-private.pem");
const EC_PUBLIC: &str = include_str!("../../tests/fixtures/idp-ec-public.pem");
const EC_OTHER_PRIVATE: &str = include_str!("../../tests/fixtures/other-ec-private.pem");
const RSA_PUBLIC: &str = include_str!("../../tests/fixtures/idp-rsa-public.pem");

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

fn sign<T: Serialize>(alg: Algorithm, kid: Option<&str>, claims: &T, key: &EncodingKey) -> String {
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

//! Keys: our HS256 signing keys (made, rotated) and an external identity provider's public
//! key, which decides the one algorithm its tokens may use.

use super::*;

/// An external identity provider whose tokens are accepted.
pub struct ExternalIdp {
    pub(super) algorithm: Algorithm,
    pub(super) key: DecodingKey,
    pub(super) validation: Validation,
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

pub(super) fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
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

//! Passwords: argon2id hashes with their cost parameters, and verifying a password against
//! one.

use super::*;

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

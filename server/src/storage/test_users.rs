//! The one way the server's unit tests create users: without a password (tests sign in with
//! tokens of their own, not through login), failing the test on a storage error.

use super::{NewUser, Storage};
use crate::model::{Role, User};

pub(crate) fn passwordless_user(
    storage: &dyn Storage,
    username: &str,
    role: Role,
    team_id: Option<&str>,
) -> User {
    storage
        .create_user(NewUser {
            username,
            password_hash: None,
            role,
            team_id,
        })
        .unwrap_or_else(|e| panic!("creating the user {username}: {e}"))
}

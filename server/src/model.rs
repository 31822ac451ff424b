//! The server's own records: users, teams, territories, devices, signing keys.

use serde::{Deserialize, Serialize};

/// What a user may see and write (the sync issue's scopes): a rep the customers of their
/// territories and their own visits, a manager their team's, an admin everything.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Rep,
    Manager,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "rep" => Some(Role::Rep),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Territory {
    pub id: String,
    pub name: String,
    pub team_id: String,
}

/// A user as stored. `password_hash` is `None` for users who sign in only through the
/// external identity provider.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password_hash: Option<String>,
    pub role: Role,
    pub team_id: Option<String>,
    pub created_at: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("team_id", &self.team_id)
            .finish_non_exhaustive()
    }
}

/// A device: one Automerge actor id bound to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Device {
    pub id: String,
    pub user_id: String,
    pub actor_id: String,
    pub registered_at: i64,
}

/// An HS256 signing key. `active` signs new tokens; a retired key verifies the tokens it
/// signed until they expire.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Vec<u8>,
    pub created_at: i64,
    pub active: bool,
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("active", &self.active)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// The server's clock in unix milliseconds, the unit of every time inside records and pings
/// (device clocks are never trusted). The server's one clock: [`now_unix`] reads it too.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The server's clock in unix seconds (accounts, sessions, signing keys).
pub fn now_unix() -> i64 {
    now_ms().div_euclid(1_000)
}

/// A new random id (UUID v7: time-ordered, so indexes stay compact).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

//! `fieldcrm login`: log in and register this store as one of the user's devices.

use crate::output::out;
use std::path::Path;

use fieldcrm_core::DEVICE_REVOKED;

use crate::api::Api;
use crate::error::CliError;
use crate::session::Session;

/// `server` is a base URL (`server_url::server_url`). The store is opened, and created on first
/// use, only once the server has accepted the password: a refused or failed login writes nothing.
pub fn login(
    store_path: &Path,
    session_path: &Path,
    server: &str,
    username: &str,
    password: &str,
) -> Result<(), CliError> {
    let api = Api::new(server);
    let login = api.login(username, password)?;
    let store = crate::open_store(store_path)?;
    // A store holds one user's data and changes: never switch it to someone else.
    let current = store.user();
    if current != "local" && current != login.user.id {
        return Err(CliError::OtherUser {
            current,
            requested: username.to_owned(),
        });
    }
    store.set_user(&login.user.id)?;
    match api.register_device(&login.token, &store.actor_id()) {
        // This store's actor was revoked while it was away: its data must go. A new login
        // then registers it afresh as a new device.
        Err(CliError::Refused { code, .. }) if code == DEVICE_REVOKED => {
            store.wipe()?;
            Session::remove(session_path)?;
            return Err(CliError::DeviceRevoked);
        }
        other => other?,
    }
    Session {
        server: server.trim_end_matches('/').to_owned(),
        token: login.token,
        user_id: login.user.id.clone(),
        username: login.user.username.clone(),
        expires_at: login.expires_at,
    }
    .save(session_path)?;
    out!(
        "logged in to {server} as {} (user {}); this store is device {}",
        login.user.username,
        login.user.id,
        store.actor_id()
    );
    Ok(())
}

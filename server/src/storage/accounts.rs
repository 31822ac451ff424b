//! Sessions, revoked devices and disabled users (lost phones and departed reps), and device
//! registration under the per-user cap.
//!
//! Rules kept here:
//! - Every token names a session; a session is refused once it is revoked, once a device it
//!   registered is revoked, or once its user is disabled. Revoking a device revokes exactly the
//!   sessions that registered it, so the user's other devices stay signed in.
//! - A revoked device's actor id stays bound to its user for good: it cannot be registered
//!   again and the push path does not count it among the user's actors.
//! - A user has at most `max_devices` devices that are not revoked; registering a known device
//!   again always works.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::sqlite_org::{USER_COLUMNS, device_by_actor, unique_or, user_from_row};
use super::{DeviceRegistration, Result, SqliteStorage, StorageError, corrupt};
use crate::model::{Device, User, new_id};

/// What the extractor needs to know about a session on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionState {
    pub user: User,
    /// The session was revoked (one of its devices was revoked, or its user disabled).
    pub revoked: bool,
    pub user_disabled: bool,
}

/// A device with whether it was revoked (the admin's view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeviceStatus {
    #[serde(flatten)]
    pub device: Device,
    /// Unix seconds; `None` while the device may sync.
    pub revoked_at: Option<i64>,
}

/// Sessions and the admin's levers over users and devices. A supertrait of
/// [`super::Storage`], so every backend has it.
pub trait Accounts {
    /// Stores a new session of `user_id` valid until `expires_at` (unix seconds), and drops
    /// that user's sessions that expired before `now`.
    fn create_session(
        &self,
        session_id: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;
    /// The session and its user, read fresh.
    fn session_state(&self, session_id: &str) -> Result<Option<SessionState>>;
    /// Whether the user is disabled (`false` for an unknown user).
    fn user_disabled(&self, user_id: &str) -> Result<bool>;
    /// Binds `actor_id` to `user_id` and records that `session_id` registered it. Refuses a
    /// revoked device ([`StorageError::DeviceRevoked`]), another user's actor
    /// ([`StorageError::ActorTaken`]) and a device beyond `max_devices`
    /// ([`StorageError::DeviceLimit`]).
    fn register_session_device(
        &self,
        user_id: &str,
        session_id: Option<&str>,
        actor_id: &str,
        max_devices: usize,
    ) -> Result<DeviceRegistration>;
    /// Disables (or enables again) a user; disabling revokes every session they hold.
    /// `false` when there is no such user.
    fn set_user_disabled(&self, user_id: &str, disabled: bool, now: i64) -> Result<bool>;
    /// Revokes a device (by device id or actor id) and every session that registered it.
    /// `None` when there is no such device; revoking twice keeps the first time.
    fn revoke_device(&self, device: &str, now: i64) -> Result<Option<DeviceStatus>>;
    /// A device by device id or actor id.
    fn device_status(&self, device: &str) -> Result<Option<DeviceStatus>>;
    /// A user's devices, revoked ones included.
    fn device_statuses(&self, user_id: &str) -> Result<Vec<DeviceStatus>>;
}

const DEVICE_STATUS_COLUMNS: &str = "id, user_id, actor_id, registered_at, revoked_at";

fn device_status_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceStatus> {
    Ok(DeviceStatus {
        device: Device {
            id: row.get(0)?,
            user_id: row.get(1)?,
            actor_id: row.get(2)?,
            registered_at: row.get(3)?,
        },
        revoked_at: row.get(4)?,
    })
}

fn find_device(conn: &Connection, device: &str) -> rusqlite::Result<Option<DeviceStatus>> {
    conn.prepare_cached(&format!(
        "SELECT {DEVICE_STATUS_COLUMNS} FROM devices WHERE id = ?1
         UNION ALL
         SELECT {DEVICE_STATUS_COLUMNS} FROM devices WHERE actor_id = ?1 AND id <> ?1"
    ))?
    .query_row([device], device_status_from_row)
    .optional()
}

impl Accounts for SqliteStorage {
    fn create_session(
        &self,
        session_id: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        tx.prepare_cached("DELETE FROM sessions WHERE user_id = ?1 AND expires_at < ?2")?
            .execute(params![user_id, now])?;
        tx.prepare_cached(
            "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![session_id, user_id, now, expires_at])
        .map_err(|e| unique_or(e, "session"))?;
        tx.commit()?;
        Ok(())
    }

    fn session_state(&self, session_id: &str) -> Result<Option<SessionState>> {
        let user_columns = USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(self
            .read()
            .prepare_cached(&format!(
                "SELECT {user_columns}, s.revoked_at IS NOT NULL, u.disabled_at IS NOT NULL
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1"
            ))?
            .query_row([session_id], |row| {
                Ok(SessionState {
                    user: user_from_row(row)?,
                    revoked: row.get(6)?,
                    user_disabled: row.get(7)?,
                })
            })
            .optional()?)
    }

    fn user_disabled(&self, user_id: &str) -> Result<bool> {
        Ok(self
            .read()
            .prepare_cached("SELECT disabled_at IS NOT NULL FROM users WHERE id = ?1")?
            .query_row([user_id], |row| row.get(0))
            .optional()?
            .unwrap_or(false))
    }

    fn register_session_device(
        &self,
        user_id: &str,
        session_id: Option<&str>,
        actor_id: &str,
        max_devices: usize,
    ) -> Result<DeviceRegistration> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let existing = find_device(&tx, actor_id)?.filter(|d| d.device.actor_id == actor_id);
        let (device, created) = match existing {
            Some(found) if found.device.user_id != user_id => {
                return Err(StorageError::ActorTaken);
            }
            Some(found) if found.revoked_at.is_some() => return Err(StorageError::DeviceRevoked),
            Some(found) => (found.device, false),
            None => {
                let active: i64 = tx
                    .prepare_cached(
                        "SELECT count(*) FROM devices WHERE user_id = ?1 AND revoked_at IS NULL",
                    )?
                    .query_row([user_id], |row| row.get(0))?;
                if usize::try_from(active).unwrap_or(usize::MAX) >= max_devices {
                    return Err(StorageError::DeviceLimit(max_devices));
                }
                tx.prepare_cached(
                    "INSERT INTO devices (id, user_id, actor_id, registered_at)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (actor_id) DO NOTHING",
                )?
                .execute(params![
                    new_id(),
                    user_id,
                    actor_id,
                    crate::model::now_unix()
                ])?;
                let device = device_by_actor(&tx, actor_id)?
                    .ok_or_else(|| corrupt("device vanished after insert"))?;
                if device.user_id != user_id {
                    return Err(StorageError::ActorTaken);
                }
                (device, true)
            }
        };
        if let Some(session_id) = session_id {
            tx.prepare_cached(
                "INSERT INTO session_devices (session_id, device_id) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![session_id, device.id])?;
        }
        tx.commit()?;
        Ok(DeviceRegistration { device, created })
    }

    fn set_user_disabled(&self, user_id: &str, disabled: bool, now: i64) -> Result<bool> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let changed = if disabled {
            tx.prepare_cached(
                "UPDATE users SET disabled_at = coalesce(disabled_at, ?2) WHERE id = ?1",
            )?
            .execute(params![user_id, now])?
        } else {
            tx.prepare_cached("UPDATE users SET disabled_at = NULL WHERE id = ?1")?
                .execute([user_id])?
        };
        if disabled {
            // Enabling the user again must not bring back the tokens of phones already told
            // to wipe.
            tx.prepare_cached(
                "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![user_id, now])?;
        }
        tx.commit()?;
        Ok(changed == 1)
    }

    fn revoke_device(&self, device: &str, now: i64) -> Result<Option<DeviceStatus>> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let Some(found) = find_device(&tx, device)? else {
            return Ok(None);
        };
        tx.prepare_cached(
            "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![found.device.id, now])?;
        tx.prepare_cached(
            "UPDATE sessions SET revoked_at = ?2 WHERE revoked_at IS NULL
               AND id IN (SELECT session_id FROM session_devices WHERE device_id = ?1)",
        )?
        .execute(params![found.device.id, now])?;
        let revoked = find_device(&tx, &found.device.id)?;
        tx.commit()?;
        Ok(revoked)
    }

    fn device_status(&self, device: &str) -> Result<Option<DeviceStatus>> {
        Ok(find_device(&self.read(), device)?)
    }

    fn device_statuses(&self, user_id: &str) -> Result<Vec<DeviceStatus>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {DEVICE_STATUS_COLUMNS} FROM devices WHERE user_id = ?1
             ORDER BY registered_at, id"
        ))?;
        let rows = stmt.query_map([user_id], device_status_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::storage::{NewUser, Storage};

    fn storage_with(names: &[&str]) -> (SqliteStorage, Vec<User>) {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let users = names
            .iter()
            .map(|name| {
                storage
                    .create_user(NewUser {
                        username: name,
                        password_hash: None,
                        role: Role::Rep,
                        team_id: None,
                    })
                    .unwrap()
            })
            .collect();
        (storage, users)
    }

    #[test]
    fn revoking_a_device_revokes_only_the_sessions_that_registered_it() {
        let (storage, users) = storage_with(&["ana"]);
        let ana = &users[0];
        storage
            .create_session("s-phone", &ana.id, 100, 1000)
            .unwrap();
        storage
            .create_session("s-tablet", &ana.id, 100, 1000)
            .unwrap();
        let phone = storage
            .register_session_device(&ana.id, Some("s-phone"), "aa01", 10)
            .unwrap();
        storage
            .register_session_device(&ana.id, Some("s-tablet"), "bb02", 10)
            .unwrap();
        assert!(!storage.session_state("s-phone").unwrap().unwrap().revoked);

        let revoked = storage
            .revoke_device(&phone.device.id, 200)
            .unwrap()
            .unwrap();
        assert_eq!(revoked.revoked_at, Some(200));
        assert!(storage.session_state("s-phone").unwrap().unwrap().revoked);
        assert!(!storage.session_state("s-tablet").unwrap().unwrap().revoked);
        // Revoking again (here by actor id) keeps the first time.
        let again = storage.revoke_device("aa01", 300).unwrap().unwrap();
        assert_eq!(again.revoked_at, Some(200));
        assert!(storage.revoke_device("nope", 300).unwrap().is_none());

        // The revoked actor cannot come back, even from a fresh session.
        storage.create_session("s-new", &ana.id, 400, 1000).unwrap();
        assert!(matches!(
            storage.register_session_device(&ana.id, Some("s-new"), "aa01", 10),
            Err(StorageError::DeviceRevoked)
        ));
    }

    #[test]
    fn disabling_a_user_revokes_their_sessions_for_good() {
        let (storage, users) = storage_with(&["ana", "bo"]);
        storage
            .create_session("s-ana", &users[0].id, 100, 1000)
            .unwrap();
        storage
            .create_session("s-bo", &users[1].id, 100, 1000)
            .unwrap();
        assert!(storage.set_user_disabled(&users[0].id, true, 150).unwrap());
        let state = storage.session_state("s-ana").unwrap().unwrap();
        assert!(state.revoked && state.user_disabled);
        assert!(storage.user_disabled(&users[0].id).unwrap());
        assert!(!storage.session_state("s-bo").unwrap().unwrap().revoked);
        // Enabled again: new logins work, the old session stays revoked.
        assert!(storage.set_user_disabled(&users[0].id, false, 160).unwrap());
        let state = storage.session_state("s-ana").unwrap().unwrap();
        assert!(state.revoked && !state.user_disabled);
        assert!(!storage.set_user_disabled("nobody", true, 170).unwrap());
    }

    #[test]
    fn devices_are_capped_per_user_but_known_ones_register_again() {
        let (storage, users) = storage_with(&["ana", "bo"]);
        let ana = &users[0].id;
        for actor in ["01", "02"] {
            assert!(
                storage
                    .register_session_device(ana, None, actor, 2)
                    .unwrap()
                    .created
            );
        }
        assert!(matches!(
            storage.register_session_device(ana, None, "03", 2),
            Err(StorageError::DeviceLimit(2))
        ));
        assert!(
            !storage
                .register_session_device(ana, None, "02", 2)
                .unwrap()
                .created
        );
        // Another user's actor is still "taken", whatever the cap.
        assert!(matches!(
            storage.register_session_device(&users[1].id, None, "01", 2),
            Err(StorageError::ActorTaken)
        ));
        // A revoked device frees its place.
        storage.revoke_device("01", 10).unwrap();
        assert!(
            storage
                .register_session_device(ana, None, "03", 2)
                .unwrap()
                .created
        );
        assert_eq!(storage.device_statuses(ana).unwrap().len(), 3);
    }

    #[test]
    fn expired_sessions_are_dropped_when_the_user_logs_in_again() {
        let (storage, users) = storage_with(&["ana"]);
        storage
            .create_session("old", &users[0].id, 100, 200)
            .unwrap();
        storage
            .register_session_device(&users[0].id, Some("old"), "01", 10)
            .unwrap();
        storage
            .create_session("new", &users[0].id, 300, 900)
            .unwrap();
        assert!(storage.session_state("old").unwrap().is_none());
        assert!(storage.session_state("new").unwrap().is_some());
    }
}

//! The [`Storage`] trait on SQLite: the organisation's own rows (teams, users, territories,
//! devices, signing keys) are read and written here; sync and field work are forwarded to
//! `sqlite_sync.rs` and `sqlite_fieldwork.rs`, each under the trait's own name.

use rusqlite::{Connection, OptionalExtension, params};

use fieldcrm_core::protocol::{
    PingUpload, PullRequest, PullResponse, PushRequest, PushResponse, RefetchRequest,
    RefetchResponse,
};
use fieldcrm_core::{Kind, Millis};

use super::{
    DeviceRegistration, NewUser, OverdueCustomer, PingBatchOutcome, PushStats, RepDay, RepInfo,
    RepOverview, Result, SqliteStorage, Storage, StorageError, VisitOrdersMigrated, corrupt,
    sqlite_fieldwork, sqlite_sync,
};
use crate::model::{Device, Role, SigningKey, Team, Territory, User, new_id, now_unix};
use crate::scope::Principal;

fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

pub(super) fn unique_or(err: rusqlite::Error, what: &'static str) -> StorageError {
    if is_unique_violation(&err) {
        StorageError::AlreadyExists(what)
    } else {
        StorageError::Database(err)
    }
}

pub(super) const USER_COLUMNS: &str = "id, username, password_hash, role, team_id, created_at";

pub(super) fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(3)?;
    let role = Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown role {role:?}").into(),
        )
    })?;
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        role,
        team_id: row.get(4)?,
        created_at: row.get(5)?,
    })
}

fn territory_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Territory> {
    Ok(Territory {
        id: row.get(0)?,
        name: row.get(1)?,
        team_id: row.get(2)?,
    })
}

fn device_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: row.get(0)?,
        user_id: row.get(1)?,
        actor_id: row.get(2)?,
        registered_at: row.get(3)?,
    })
}

pub(super) fn device_by_actor(
    conn: &Connection,
    actor_id: &str,
) -> rusqlite::Result<Option<Device>> {
    conn.query_row(
        "SELECT id, user_id, actor_id, registered_at FROM devices WHERE actor_id = ?1",
        [actor_id],
        device_from_row,
    )
    .optional()
}

impl Storage for SqliteStorage {
    fn health(&self) -> Result<()> {
        let conn = self.read();
        conn.query_row("SELECT count(*) FROM signing_keys", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(())
    }

    fn create_team(&self, name: &str) -> Result<Team> {
        let team = Team {
            id: new_id(),
            name: name.to_owned(),
        };
        self.write()
            .execute(
                "INSERT INTO teams (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![team.id, team.name, now_unix()],
            )
            .map_err(|e| unique_or(e, "team"))?;
        Ok(team)
    }

    fn team_by_name(&self, name: &str) -> Result<Option<Team>> {
        Ok(self
            .read()
            .query_row("SELECT id, name FROM teams WHERE name = ?1", [name], |r| {
                Ok(Team {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn create_user(&self, user: NewUser<'_>) -> Result<User> {
        let stored = User {
            id: new_id(),
            username: user.username.to_owned(),
            password_hash: user.password_hash.map(str::to_owned),
            role: user.role,
            team_id: user.team_id.map(str::to_owned),
            created_at: now_unix(),
        };
        self.write()
            .execute(
                "INSERT INTO users (id, username, password_hash, role, team_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    stored.id,
                    stored.username,
                    stored.password_hash,
                    stored.role.as_str(),
                    stored.team_id,
                    stored.created_at
                ],
            )
            .map_err(|e| unique_or(e, "user"))?;
        Ok(stored)
    }

    fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        Ok(self
            .read()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id],
                user_from_row,
            )
            .optional()?)
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok(self
            .read()
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
                [username],
                user_from_row,
            )
            .optional()?)
    }

    fn create_territory(&self, name: &str, team_id: &str) -> Result<Territory> {
        let territory = Territory {
            id: new_id(),
            name: name.to_owned(),
            team_id: team_id.to_owned(),
        };
        self.write()
            .execute(
                "INSERT INTO territories (id, name, team_id, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![territory.id, territory.name, territory.team_id, now_unix()],
            )
            .map_err(|e| unique_or(e, "territory"))?;
        Ok(territory)
    }

    fn territory_by_name(&self, name: &str) -> Result<Option<Territory>> {
        Ok(self
            .read()
            .query_row(
                "SELECT id, name, team_id FROM territories WHERE name = ?1",
                [name],
                territory_from_row,
            )
            .optional()?)
    }

    fn assign_user_territory(&self, user_id: &str, territory_id: &str) -> Result<()> {
        sqlite_sync::change_user_scope(self, user_id, |tx| {
            tx.execute(
                "INSERT INTO user_territories (user_id, territory_id) VALUES (?1, ?2)
                 ON CONFLICT (user_id, territory_id) DO NOTHING",
                params![user_id, territory_id],
            )?;
            Ok(())
        })
    }

    fn unassign_user_territory(&self, user_id: &str, territory_id: &str) -> Result<bool> {
        let mut removed = false;
        sqlite_sync::change_user_scope(self, user_id, |tx| {
            removed = tx.execute(
                "DELETE FROM user_territories WHERE user_id = ?1 AND territory_id = ?2",
                params![user_id, territory_id],
            )? > 0;
            Ok(())
        })?;
        Ok(removed)
    }

    fn move_user_to_team(&self, user_id: &str, team_id: &str) -> Result<()> {
        sqlite_sync::move_user_to_team(self, user_id, team_id)
    }

    fn user_territories(&self, user_id: &str) -> Result<Vec<Territory>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT t.id, t.name, t.team_id FROM territories t
             JOIN user_territories ut ON ut.territory_id = t.id
             WHERE ut.user_id = ?1 ORDER BY t.name",
        )?;
        let rows = stmt.query_map([user_id], territory_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn assign_customer_territory(&self, customer_id: &str, territory_id: &str) -> Result<()> {
        sqlite_sync::assign_customer_territory(self, customer_id, territory_id)
    }

    fn push_changes(
        &self,
        principal: &Principal,
        request: PushRequest,
    ) -> Result<(PushResponse, PushStats)> {
        sqlite_sync::push_changes(self, principal, request)
    }

    fn pull_changes(
        &self,
        principal: &Principal,
        request: &PullRequest,
        version: u8,
    ) -> Result<PullResponse> {
        sqlite_sync::pull_changes(self, principal, request, version)
    }

    fn migrate_visit_order_lines(&self, currency: &str) -> Result<Option<VisitOrdersMigrated>> {
        sqlite_sync::migrate_visit_order_lines(self, currency)
    }

    fn refetch_documents(
        &self,
        principal: &Principal,
        request: &RefetchRequest,
        version: u8,
    ) -> Result<RefetchResponse> {
        sqlite_sync::refetch_documents(self, principal, request, version)
    }

    fn store_pings(
        &self,
        rep_id: &str,
        upload: &PingUpload,
        now: Millis,
    ) -> Result<PingBatchOutcome> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let outcome = sqlite_fieldwork::store_ping_batch(&tx, rep_id, upload, now)?;
        tx.commit()?;
        Ok(outcome)
    }

    fn reviewable_reps(&self, principal: &Principal) -> Result<Vec<RepInfo>> {
        sqlite_fieldwork::reviewable_reps(&self.read(), principal)
    }

    fn rep_day(
        &self,
        viewer: &Principal,
        rep_id: &str,
        from: Millis,
        to: Millis,
    ) -> Result<RepDay> {
        sqlite_fieldwork::rep_day(&self.read(), viewer, rep_id, from, to)
    }

    fn team_overview(
        &self,
        viewer: &Principal,
        reps: &[RepInfo],
        from: Millis,
        to: Millis,
    ) -> Result<Vec<RepOverview>> {
        sqlite_fieldwork::team_overview(&self.read(), viewer, reps, from, to)
    }

    fn overdue_customers(
        &self,
        principal: &Principal,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<OverdueCustomer>> {
        sqlite_fieldwork::overdue_customers(&self.read(), principal, now, limit)
    }

    fn document_count(&self, kind: Kind) -> Result<i64> {
        Ok(self.read().query_row(
            "SELECT count(*) FROM documents WHERE kind = ?1",
            [kind.as_str()],
            |row| row.get(0),
        )?)
    }

    fn customer_territory(&self, customer_id: &str) -> Result<Option<String>> {
        Ok(self
            .read()
            .query_row(
                "SELECT territory_id FROM customer_territories WHERE customer_id = ?1",
                [customer_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn register_device(&self, user_id: &str, actor_id: &str) -> Result<DeviceRegistration> {
        let conn = self.write();
        let id = new_id();
        let inserted = conn.execute(
            "INSERT INTO devices (id, user_id, actor_id, registered_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (actor_id) DO NOTHING",
            params![id, user_id, actor_id, now_unix()],
        )?;
        let device = device_by_actor(&conn, actor_id)?
            .ok_or_else(|| corrupt("device vanished after insert"))?;
        if device.user_id != user_id {
            return Err(StorageError::ActorTaken);
        }
        Ok(DeviceRegistration {
            device,
            created: inserted == 1,
        })
    }

    fn devices_of_user(&self, user_id: &str) -> Result<Vec<Device>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT id, user_id, actor_id, registered_at FROM devices
             WHERE user_id = ?1 ORDER BY registered_at, id",
        )?;
        let rows = stmt.query_map([user_id], device_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn signing_keys(&self) -> Result<Vec<SigningKey>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT kid, secret, created_at, active, retired_at FROM signing_keys
             ORDER BY created_at, kid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SigningKey {
                kid: r.get(0)?,
                secret: r.get(1)?,
                created_at: r.get(2)?,
                active: r.get::<_, i64>(3)? == 1,
                retired_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn rotate_signing_key(&self, key: &SigningKey, now: i64) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE signing_keys SET active = 0, retired_at = ?1 WHERE active = 1",
            [now],
        )?;
        tx.execute(
            "INSERT INTO signing_keys (kid, secret, created_at, active, retired_at)
             VALUES (?1, ?2, ?3, 1, NULL)",
            params![key.kid, key.secret, key.created_at],
        )
        .map_err(|e| unique_or(e, "signing key"))?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage_with_user() -> (SqliteStorage, User) {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let user = storage
            .create_user(NewUser {
                username: "ana",
                password_hash: None,
                role: Role::Rep,
                team_id: None,
            })
            .unwrap();
        (storage, user)
    }

    #[test]
    fn usernames_and_names_are_unique() {
        let (storage, _) = storage_with_user();
        let again = storage.create_user(NewUser {
            username: "ana",
            password_hash: None,
            role: Role::Admin,
            team_id: None,
        });
        assert!(matches!(again, Err(StorageError::AlreadyExists("user"))));
        storage.create_team("t").unwrap();
        assert!(matches!(
            storage.create_team("t"),
            Err(StorageError::AlreadyExists("team"))
        ));
    }

    #[test]
    fn an_actor_belongs_to_one_user() {
        let (storage, ana) = storage_with_user();
        let bo = storage
            .create_user(NewUser {
                username: "bo",
                password_hash: None,
                role: Role::Rep,
                team_id: None,
            })
            .unwrap();
        let first = storage.register_device(&ana.id, "ab01").unwrap();
        assert!(first.created);
        let retry = storage.register_device(&ana.id, "ab01").unwrap();
        assert!(!retry.created);
        assert_eq!(retry.device, first.device);
        assert!(matches!(
            storage.register_device(&bo.id, "ab01"),
            Err(StorageError::ActorTaken)
        ));
        assert_eq!(storage.devices_of_user(&ana.id).unwrap().len(), 1);
        assert!(storage.devices_of_user(&bo.id).unwrap().is_empty());
    }

    #[test]
    fn territories_and_customer_assignment() {
        let (storage, ana) = storage_with_user();
        let team = storage.create_team("north").unwrap();
        let t1 = storage.create_territory("harbour", &team.id).unwrap();
        let t2 = storage.create_territory("old town", &team.id).unwrap();
        storage.assign_user_territory(&ana.id, &t1.id).unwrap();
        storage.assign_user_territory(&ana.id, &t1.id).unwrap();
        assert_eq!(storage.user_territories(&ana.id).unwrap(), vec![t1.clone()]);
        storage.assign_customer_territory("c-1", &t1.id).unwrap();
        storage.assign_customer_territory("c-1", &t2.id).unwrap();
        assert_eq!(storage.customer_territory("c-1").unwrap(), Some(t2.id));
        assert_eq!(storage.customer_territory("c-2").unwrap(), None);
        // Foreign keys hold: no territory of a missing team.
        assert!(storage.create_territory("x", "no-such-team").is_err());
    }

    #[test]
    fn rotation_keeps_one_active_key() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        for (i, kid) in ["k1", "k2", "k3"].into_iter().enumerate() {
            let key = SigningKey {
                kid: kid.into(),
                secret: vec![i as u8; 32],
                created_at: i as i64,
                active: true,
                retired_at: None,
            };
            storage.rotate_signing_key(&key, 100 + i as i64).unwrap();
        }
        let keys = storage.signing_keys().unwrap();
        assert_eq!(keys.len(), 3);
        let active: Vec<_> = keys.iter().filter(|k| k.active).map(|k| &k.kid).collect();
        assert_eq!(active, vec!["k3"]);
        assert_eq!(keys[0].retired_at, Some(101));
        assert_eq!(keys[1].retired_at, Some(102));
    }
}

//! Push and pull on the embedded SQLite backend. The document rules come from
//! `fieldcrm_core::authority` and the visibility rules from `scope.rs`; these files are the
//! transaction shell around them (a PostgreSQL backend would write its own shell around the
//! same rules, allocating sequence numbers the same way through `log_head`): `push.rs` (a push
//! in one transaction, every trust check in its order), `pull.rs` (a page of what a user may
//! see), `refetch.rs` (full histories of documents a device could not load), and here what they
//! share: stored rows, sequence numbers, scope history, moving users and customers.

use std::sync::OnceLock;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::sqlite_fieldwork;
use super::{Result, SqliteStorage, StorageError, corrupt};
use crate::model::{Role, now_unix};
use crate::scope::{Principal, Scope};

/// Test hook, for `server/tests/robustness/` only: crash points inside a push, so the tests can
/// prove that a server dying between receiving a push and answering it loses and duplicates
/// nothing. Both are off unless their environment variable is `1`, read once at startup:
///
/// - `FIELDCRM_FAULT_EXIT_BEFORE_COMMIT=1`: a push exits the process after applying its changes
///   and before committing them (SQLite rolls the transaction back on the next open);
/// - `FIELDCRM_FAULT_EXIT_AFTER_COMMIT=1`: a push exits the process after its transaction
///   commits and before the response is sent.
///
/// The exit is abrupt ([`std::process::exit`] with [`FAULT_EXIT_CODE`], no response, no
/// graceful shutdown): to the device it looks like a SIGKILL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultInjection {
    pub exit_before_commit: bool,
    pub exit_after_commit: bool,
}

/// The exit status of a process stopped by a [`FaultInjection`] point.
pub const FAULT_EXIT_CODE: i32 = 86;

impl FaultInjection {
    /// The hooks configured in the environment, read on the first call only.
    pub fn get() -> FaultInjection {
        static FAULTS: OnceLock<FaultInjection> = OnceLock::new();
        *FAULTS.get_or_init(|| {
            let on = |name: &str| std::env::var(name).is_ok_and(|v| v == "1");
            let faults = FaultInjection {
                exit_before_commit: on("FIELDCRM_FAULT_EXIT_BEFORE_COMMIT"),
                exit_after_commit: on("FIELDCRM_FAULT_EXIT_AFTER_COMMIT"),
            };
            if faults != FaultInjection::default() {
                tracing::warn!(?faults, "fault injection enabled: for tests only");
            }
            faults
        })
    }

    /// Ends the process at once when `enabled` (a crash point of a test hook).
    pub(crate) fn crash_if(enabled: bool, point: &str) {
        if enabled {
            tracing::error!(point, "fault injection: exiting abruptly");
            std::process::exit(FAULT_EXIT_CODE);
        }
    }
}

/// Whether an app speaking protocol `version` knows documents of `kind` (the kind as stored): a
/// kind added after its version is held back from its pulls and refetches, since it could not
/// read them (`fieldcrm_core::protocol::first_version_knowing`).
fn known_at(kind: &str, version: u8) -> bool {
    fieldcrm_core::Kind::parse(kind)
        .is_some_and(|kind| fieldcrm_core::protocol::first_version_knowing(kind) <= version)
}

struct StoredDoc {
    kind: String,
    scope: Scope,
    first_seq: i64,
    last_seq: i64,
    scope_seq: i64,
    /// Change chunks appended to `bytes` since it was last saved compactly.
    appended: i64,
}

/// Allocates `count` consecutive sequence numbers; returns the last. Done by updating the one
/// `log_head` row inside the committing transaction (see the ordering pitfall on the `Storage` trait).
fn allocate_seqs(tx: &Transaction<'_>, count: i64) -> Result<i64> {
    Ok(tx
        .prepare_cached("UPDATE log_head SET seq = seq + ?1 WHERE id = 1 RETURNING seq")?
        .query_row([count], |row| row.get(0))?)
}

fn next_seq(tx: &Transaction<'_>) -> Result<i64> {
    allocate_seqs(tx, 1)
}

fn stored_doc(tx: &Transaction<'_>, id: &str) -> Result<Option<StoredDoc>> {
    Ok(tx
        .prepare_cached(
            "SELECT territory_id, owner_id, team_id, first_seq, last_seq, scope_seq, appended, kind,
               org_wide
             FROM documents WHERE id = ?1",
        )?
        .query_row([id], |row| {
            Ok(StoredDoc {
                scope: Scope {
                    territory_id: row.get(0)?,
                    owner_id: row.get(1)?,
                    team_id: row.get(2)?,
                    org_wide: row.get(8)?,
                },
                first_seq: row.get(3)?,
                last_seq: row.get(4)?,
                scope_seq: row.get(5)?,
                appended: row.get(6)?,
                kind: row.get(7)?,
            })
        })
        .optional()?)
}

fn stored_bytes(conn: &Connection, id: &str) -> Result<Vec<u8>> {
    Ok(conn
        .prepare_cached("SELECT bytes FROM documents WHERE id = ?1")?
        .query_row([id], |row| row.get(0))?)
}

fn territory_team(tx: &Transaction<'_>, territory_id: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT team_id FROM territories WHERE id = ?1")?
        .query_row([territory_id], |row| row.get(0))
        .optional()?)
}

fn insert_scope_history(tx: &Transaction<'_>, doc_id: &str, seq: i64, scope: &Scope) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO scope_history (doc_id, seq, territory_id, owner_id, team_id) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (doc_id, seq) DO NOTHING",
    )?
    .execute(params![doc_id, seq, scope.territory_id, scope.owner_id, scope.team_id])?;
    Ok(())
}

/// What a user may see, as stored: their role, team and territories (sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
struct UserScope {
    role: Role,
    team_id: Option<String>,
    territories: Vec<String>,
}

impl UserScope {
    fn principal(self, user_id: &str) -> Principal {
        Principal {
            user_id: user_id.to_owned(),
            role: self.role,
            team_id: self.team_id,
            territories: self.territories,
        }
    }
}

fn user_scope(conn: &Connection, user_id: &str) -> Result<Option<UserScope>> {
    let user: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT role, team_id FROM users WHERE id = ?1")?
        .query_row([user_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((role, team_id)) = user else {
        return Ok(None);
    };
    let role = Role::parse(&role).ok_or_else(|| corrupt(format!("unknown role {role}")))?;
    let territories = conn
        .prepare_cached(
            "SELECT territory_id FROM user_territories WHERE user_id = ?1 ORDER BY territory_id",
        )?
        .query_map([user_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(UserScope {
        role,
        team_id,
        territories,
    }))
}

fn insert_user_scope(
    tx: &Transaction<'_>,
    user_id: &str,
    seq: i64,
    scope: &UserScope,
) -> Result<()> {
    let territories = serde_json::to_string(&scope.territories).map_err(corrupt)?;
    tx.prepare_cached(
        "INSERT INTO user_scope_history (user_id, seq, role, team_id, territories) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id, seq) DO NOTHING",
    )?
    .execute(params![user_id, seq, scope.role.as_str(), scope.team_id, territories])?;
    Ok(())
}

/// The user's scope as it was at `seq`, when it has changed since.
fn user_scope_before(conn: &Connection, user_id: &str, seq: i64) -> Result<Option<UserScope>> {
    let changed_since: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM user_scope_history WHERE user_id = ?1 AND seq > ?2)",
        )?
        .query_row(params![user_id, seq], |row| row.get(0))?;
    if !changed_since {
        return Ok(None);
    }
    let row: Option<(String, Option<String>, String)> = conn
        .prepare_cached(
            "SELECT role, team_id, territories FROM user_scope_history WHERE user_id = ?1 AND seq <= ?2
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![user_id, seq], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((role, team_id, territories)) = row else {
        return Err(corrupt(format!(
            "no scope recorded for user {user_id} at {seq}"
        )));
    };
    Ok(Some(UserScope {
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("unknown role {role}")))?,
        team_id,
        territories: serde_json::from_str(&territories).map_err(corrupt)?,
    }))
}

/// How many scope changes of `user_id` are recorded: the epoch a pull cursor carries (see
/// `sync/cursor.rs`). 0 until the first change, which records the scope before it too.
fn scope_epoch(conn: &Connection, user_id: &str) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM user_scope_history WHERE user_id = ?1")?
        .query_row([user_id], |row| row.get(0))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// The user's scope in effect at `epoch` (the scope a device was served under), if recorded.
fn user_scope_at_epoch(conn: &Connection, user_id: &str, epoch: u64) -> Result<Option<UserScope>> {
    let offset = i64::try_from(epoch.saturating_sub(1)).unwrap_or(i64::MAX);
    let row: Option<(String, Option<String>, String)> = conn
        .prepare_cached(
            "SELECT role, team_id, territories FROM user_scope_history WHERE user_id = ?1
             ORDER BY seq LIMIT 1 OFFSET ?2",
        )?
        .query_row(params![user_id, offset], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    row.map(|(role, team_id, territories)| {
        Ok(UserScope {
            role: Role::parse(&role).ok_or_else(|| corrupt(format!("unknown role {role}")))?,
            team_id,
            territories: serde_json::from_str(&territories).map_err(corrupt)?,
        })
    })
    .transpose()
}

/// Records a change of `user_id`'s visibility (if `before` and the stored scope differ) with a
/// sequence number, so that pulls from older cursors notice it.
fn record_user_scope_change(tx: &Transaction<'_>, user_id: &str, before: &UserScope) -> Result<()> {
    let after = user_scope(tx, user_id)?.ok_or(StorageError::NotFound("user"))?;
    if after == *before {
        return Ok(());
    }
    let first: bool = tx
        .prepare_cached("SELECT NOT EXISTS (SELECT 1 FROM user_scope_history WHERE user_id = ?1)")?
        .query_row([user_id], |row| row.get(0))?;
    if first {
        insert_user_scope(tx, user_id, 0, before)?;
    }
    let seq = next_seq(tx)?;
    insert_user_scope(tx, user_id, seq, &after)
}

/// Runs `change` (a write to the user's territories or team) and records the change of the
/// user's visibility, in one transaction.
pub(super) fn change_user_scope(
    storage: &SqliteStorage,
    user_id: &str,
    change: impl FnOnce(&Transaction<'_>) -> Result<()>,
) -> Result<()> {
    let mut conn = storage.write();
    let tx = conn.transaction()?;
    let before = user_scope(&tx, user_id)?.ok_or(StorageError::NotFound("user"))?;
    change(&tx)?;
    record_user_scope_change(&tx, user_id, &before)?;
    tx.commit()?;
    Ok(())
}

/// Moves a user to another team together with the documents they own (their visits and
/// tasks), which change scope like a moved customer's do.
pub(super) fn move_user_to_team(
    storage: &SqliteStorage,
    user_id: &str,
    team_id: &str,
) -> Result<()> {
    let mut conn = storage.write();
    let tx = conn.transaction()?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM teams WHERE id = ?1)",
        [team_id],
        |row| row.get(0),
    )?;
    if !exists {
        return Err(StorageError::NotFound("team"));
    }
    let before = user_scope(&tx, user_id)?.ok_or(StorageError::NotFound("user"))?;
    tx.execute(
        "UPDATE users SET team_id = ?2 WHERE id = ?1",
        params![user_id, team_id],
    )?;
    let owned: Vec<String> = tx
        .prepare_cached("SELECT id FROM documents WHERE owner_id = ?1 AND team_id IS NOT ?2")?
        .query_map(params![user_id, team_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let scope = Scope {
        territory_id: None,
        owner_id: Some(user_id.to_owned()),
        team_id: Some(team_id.to_owned()),
        org_wide: false,
    };
    for id in owned {
        let seq = next_seq(&tx)?;
        tx.prepare_cached(
            "UPDATE documents SET team_id = ?2, last_seq = ?3, scope_seq = ?3 WHERE id = ?1",
        )?
        .execute(params![id, scope.team_id, seq])?;
        insert_scope_history(&tx, &id, seq, &scope)?;
    }
    record_user_scope_change(&tx, user_id, &before)?;
    tx.commit()?;
    Ok(())
}

/// Puts a customer in a territory: the customer, and the contacts, opportunities and cases that
/// belong to it, move there. Devices that lose sight of them get removals; devices that gain it
/// get snapshots.
pub(super) fn assign_customer_territory(
    storage: &SqliteStorage,
    customer_id: &str,
    territory_id: &str,
) -> Result<()> {
    let mut conn = storage.write();
    let tx = conn.transaction()?;
    let team_id = territory_team(&tx, territory_id)?.ok_or(StorageError::NotFound("territory"))?;
    tx.execute(
        "INSERT INTO customer_territories (customer_id, territory_id, assigned_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (customer_id) DO UPDATE SET territory_id = excluded.territory_id, assigned_at = excluded.assigned_at",
        params![customer_id, territory_id, now_unix()],
    )?;
    let affected: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM documents WHERE customer_id = ?1 AND territory_id IS NOT ?2",
        )?
        .query_map(params![customer_id, territory_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let scope = Scope {
        territory_id: Some(territory_id.to_owned()),
        owner_id: None,
        team_id: Some(team_id),
        org_wide: false,
    };
    for id in affected {
        let seq = next_seq(&tx)?;
        tx.prepare_cached(
            "UPDATE documents SET territory_id = ?2, team_id = ?3, last_seq = ?4, scope_seq = ?4 WHERE id = ?1",
        )?
        .execute(params![id, scope.territory_id, scope.team_id, seq])?;
        insert_scope_history(&tx, &id, seq, &scope)?;
    }
    sqlite_fieldwork::move_place(
        &tx,
        customer_id,
        territory_id,
        scope.team_id.as_deref().unwrap_or_default(),
    )?;
    super::sqlite_sales::move_customer(&tx, customer_id, &scope)?;
    tx.commit()?;
    Ok(())
}

mod cursor;
mod pull;
mod push;
#[cfg(test)]
mod push_rules_tests;
#[cfg(test)]
mod push_tests;
mod refetch;
mod visit_orders;

pub use cursor::cursor_position;
pub use pull::MAX_PAGE;
pub(super) use pull::pull_changes;
pub(super) use push::push_changes;
pub(super) use refetch::refetch_documents;
pub(super) use visit_orders::migrate_visit_order_lines;
pub use visit_orders::{FREE_TEXT_PRODUCT, VisitOrdersMigrated};

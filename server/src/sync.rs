//! Push and pull on the embedded SQLite backend. The document rules come from
//! `fieldcrm_core::authority` and the visibility rules from `scope.rs`; this file is the
//! transaction shell around them (a PostgreSQL backend would write its own shell around the
//! same rules, allocating sequence numbers the same way through `log_head`).

use std::collections::HashSet;
use std::sync::OnceLock;

use fieldcrm_core::authority::{self, Refusal};
use fieldcrm_core::protocol::{
    DocChanges, PullRequest, PullResponse, PulledDoc, PulledPayload, PushRequest, PushResponse,
    RejectCode, Rejection,
};
use fieldcrm_core::{AnyRecord, Kind};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::fieldwork;
use crate::model::{Role, now_unix};
use crate::scope::{self, Principal, Scope};
use crate::storage::{Result, SqliteStorage, StorageError};

/// Most documents one pull page carries, whatever the device asks for.
pub const MAX_PAGE: u32 = 2_000;

/// What one push did, for metrics and logs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushStats {
    pub merged_changes: u64,
}

/// Test hook, for `server/tests/robustness.rs` only: crash points inside a push, so the tests can
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

struct PageRow {
    id: String,
    bytes: Vec<u8>,
    record: Vec<u8>,
    first_seq: i64,
    last_seq: i64,
    scope_seq: i64,
}

struct StoredDoc {
    scope: Scope,
    first_seq: i64,
    last_seq: i64,
    scope_seq: i64,
    /// Change chunks appended to `bytes` since it was last saved compactly.
    appended: i64,
}

/// A stored document is saved compactly again once this many changes have been appended to it
/// (appending costs nothing; each appended change adds its size to every later snapshot).
const COMPACT_AFTER: i64 = 16;

fn corrupt(detail: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(detail.to_string())
}

/// Allocates `count` consecutive sequence numbers; returns the last. Done by updating the one
/// `log_head` row inside the committing transaction (see the ordering pitfall in storage.rs).
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
            "SELECT territory_id, owner_id, team_id, first_seq, last_seq, scope_seq, appended
             FROM documents WHERE id = ?1",
        )?
        .query_row([id], |row| {
            Ok(StoredDoc {
                scope: Scope {
                    territory_id: row.get(0)?,
                    owner_id: row.get(1)?,
                    team_id: row.get(2)?,
                },
                first_seq: row.get(3)?,
                last_seq: row.get(4)?,
                scope_seq: row.get(5)?,
                appended: row.get(6)?,
            })
        })
        .optional()?)
}

fn stored_bytes(conn: &Connection, id: &str) -> Result<Vec<u8>> {
    Ok(conn
        .prepare_cached("SELECT bytes FROM documents WHERE id = ?1")?
        .query_row([id], |row| row.get(0))?)
}

/// The version (`last_seq`) of a stored document, if it exists.
fn stored_version(conn: &Connection, id: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT last_seq FROM documents WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?)
}

fn device_actors(conn: &Connection, user_id: &str) -> Result<HashSet<String>> {
    Ok(conn
        .prepare_cached("SELECT actor_id FROM devices WHERE user_id = ?1 AND revoked_at IS NULL")?
        .query_map([user_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

fn territory_team(tx: &Transaction<'_>, territory_id: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT team_id FROM territories WHERE id = ?1")?
        .query_row([territory_id], |row| row.get(0))
        .optional()?)
}

/// A territory named in a document, by id or by name.
fn resolve_territory(tx: &Transaction<'_>, reference: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT id FROM territories WHERE id = ?1 OR name = ?1")?
        .query_row([reference], |row| row.get(0))
        .optional()?)
}

/// The scope a record gets when written. `Err` is a refusal reason for the device.
fn scope_of(
    tx: &Transaction<'_>,
    record: &AnyRecord,
) -> Result<std::result::Result<Scope, String>> {
    if let Some(owner) = scope::owner_of(record) {
        let team: Option<Option<String>> = tx
            .prepare_cached("SELECT team_id FROM users WHERE id = ?1")?
            .query_row([owner], |row| row.get(0))
            .optional()?;
        let Some(team_id) = team else {
            return Ok(Err(format!("the {} names an unknown user", record.kind())));
        };
        return Ok(Ok(Scope {
            territory_id: None,
            owner_id: Some(owner.to_owned()),
            team_id,
        }));
    }
    let Some(customer_id) = scope::customer_of(record) else {
        return Ok(Err("record has no scope".to_owned()));
    };
    // The server's assignment wins; a new customer takes the territory its document names.
    let assigned: Option<String> = tx
        .prepare_cached("SELECT territory_id FROM customer_territories WHERE customer_id = ?1")?
        .query_row([customer_id], |row| row.get(0))
        .optional()?;
    let territory = match (assigned, record) {
        (Some(territory), _) => Some(territory),
        (None, AnyRecord::Customer(c)) => match c.territory.as_deref() {
            Some(reference) => resolve_territory(tx, reference)?,
            None => None,
        },
        (None, _) => None,
    };
    let Some(territory_id) = territory else {
        return Ok(Err(match record {
            AnyRecord::Customer(_) => {
                "the customer needs a territory known to the server".to_owned()
            }
            _ => "the customer this record belongs to is unknown to the server".to_owned(),
        }));
    };
    let team_id = territory_team(tx, &territory_id)?;
    Ok(Ok(Scope {
        territory_id: Some(territory_id),
        owner_id: None,
        team_id,
    }))
}

fn reject(doc: &DocChanges, code: RejectCode, reason: impl Into<String>) -> Rejection {
    let hashes = doc
        .changes
        .iter()
        .filter_map(|bytes| automerge_hash(bytes))
        .collect();
    Rejection {
        doc_id: doc.doc_id.clone(),
        hashes,
        code,
        reason: reason.into(),
    }
}

/// The hash of a raw change, when it parses (the device knows its changes by these).
fn automerge_hash(bytes: &[u8]) -> Option<String> {
    fieldcrm_core::authority::change_hash(bytes)
}

fn record_blob(record: &AnyRecord) -> Result<Vec<u8>> {
    postcard::to_stdvec(record).map_err(corrupt)
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

impl SqliteStorage {
    /// Applies a push in one transaction: every accepted document's changes enter the log
    /// with sequence numbers before anything is acknowledged.
    pub(crate) fn apply_push(
        &self,
        principal: &Principal,
        request: PushRequest,
    ) -> Result<(PushResponse, PushStats)> {
        // The Automerge work (load, apply, read, validate) runs first, outside the write lock,
        // so pushes use every core; the write transaction then only checks that each document
        // is still at the version the work started from (and redoes the work when it is not).
        let (actors, prepared) = {
            // One read transaction: every version and its bytes come from one snapshot.
            let mut conn = self.read();
            let snapshot = conn.transaction()?;
            let actors = device_actors(&snapshot, &principal.user_id)?;
            let mut prepared = Vec::with_capacity(request.docs.len());
            for doc in &request.docs {
                let version = stored_version(&snapshot, &doc.doc_id)?;
                let outcome = self.merge(&snapshot, doc, version, &actors)?;
                prepared.push((version, outcome));
            }
            snapshot.commit()?;
            (actors, prepared)
        };
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let now = now_unix();
        let now_ms = fieldwork::now_ms();
        let mut response = PushResponse::default();
        let mut stats = PushStats::default();
        let mut written = Vec::new();
        for (doc, (version, outcome)) in request.docs.iter().zip(prepared) {
            let stored = stored_doc(&tx, &doc.doc_id)?;
            let outcome = if stored.as_ref().map(|s| s.last_seq) == version {
                outcome
            } else {
                // Written meanwhile (or twice in this push): merge into what is stored now.
                self.merge(&tx, doc, stored.as_ref().map(|s| s.last_seq), &actors)?
            };
            let accepted = match outcome {
                Ok(accepted) => accepted,
                Err(Refusal { code, reason }) => {
                    response.rejected.push(reject(doc, code, reason));
                    continue;
                }
            };
            let after = match scope_of(&tx, &accepted.record)? {
                Ok(scope) => scope,
                Err(reason) => {
                    response
                        .rejected
                        .push(reject(doc, RejectCode::Forbidden, reason));
                    continue;
                }
            };
            let before = stored.as_ref().map(|s| &s.scope);
            if !scope::may_write(principal, before, &after) {
                response.rejected.push(reject(
                    doc,
                    RejectCode::Forbidden,
                    format!("you may not write this {}", doc.kind),
                ));
                continue;
            }
            if let Some(reason) = fieldwork::future_fix(&accepted.record, now_ms) {
                response
                    .rejected
                    .push(reject(doc, RejectCode::InvalidRecord, reason));
                continue;
            }
            if accepted.new_changes.is_empty() {
                response.acknowledged.extend(accepted.acknowledged);
                continue;
            }
            let count = accepted.new_changes.len() as i64;
            let last_seq = allocate_seqs(&tx, count)?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO changes (seq, doc_id, hash, bytes, user_id, committed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (seq, (hash, bytes)) in (last_seq - count + 1..).zip(&accepted.new_changes) {
                insert.execute(params![
                    seq,
                    doc.doc_id,
                    hash,
                    bytes,
                    principal.user_id,
                    now
                ])?;
            }
            drop(insert);
            let first_seq = stored
                .as_ref()
                .map_or(accepted_first_seq(&accepted, last_seq), |s| s.first_seq);
            let scope_changed = before != Some(&after);
            let scope_seq = match &stored {
                Some(s) if !scope_changed => s.scope_seq,
                _ => last_seq,
            };
            if scope_changed {
                insert_scope_history(&tx, &doc.doc_id, last_seq, &after)?;
            }
            // Append the new change chunks to the stored bytes; save compactly now and then.
            let already_appended = stored.as_ref().map_or(0, |s| s.appended);
            let (bytes, appended) = if already_appended + count <= COMPACT_AFTER {
                let mut bytes = match &stored {
                    Some(_) => stored_bytes(&tx, &doc.doc_id)?,
                    None => Vec::new(),
                };
                for (_, change) in &accepted.new_changes {
                    bytes.extend_from_slice(change);
                }
                (bytes, already_appended + count)
            } else {
                (accepted.doc.save(), 0)
            };
            tx.prepare_cached(
                "INSERT INTO documents (id, kind, customer_id, bytes, record, territory_id, owner_id, team_id,
                   first_seq, last_seq, scope_seq, appended)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, bytes = excluded.bytes,
                   record = excluded.record, territory_id = excluded.territory_id, owner_id = excluded.owner_id,
                   team_id = excluded.team_id, last_seq = excluded.last_seq, scope_seq = excluded.scope_seq,
                   appended = excluded.appended",
            )?
            .execute(params![
                doc.doc_id,
                doc.kind.as_str(),
                scope::customer_of(&accepted.record),
                bytes,
                record_blob(&accepted.record)?,
                after.territory_id,
                after.owner_id,
                after.team_id,
                first_seq,
                last_seq,
                scope_seq,
                appended
            ])?;
            if let (AnyRecord::Customer(_), Some(territory)) =
                (&accepted.record, &after.territory_id)
            {
                tx.prepare_cached(
                    "INSERT INTO customer_territories (customer_id, territory_id, assigned_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (customer_id) DO NOTHING",
                )?
                .execute(params![doc.doc_id, territory, now])?;
            }
            fieldwork::project(&tx, &accepted.record, &after, now_ms)?;
            stats.merged_changes += accepted.new_changes.len() as u64;
            response.acknowledged.extend(accepted.acknowledged);
            // Only documents written at least twice are kept loaded: a burst of new visits
            // (most written once in their first hours) must not push out the customers that
            // are being edited.
            if stored.is_some() {
                written.push((
                    doc.doc_id.clone(),
                    last_seq,
                    authority::Current {
                        doc: accepted.doc,
                        record: accepted.record,
                    },
                ));
            }
        }
        // Test hook (see `FaultInjection`): everything applied, nothing committed.
        FaultInjection::crash_if(FaultInjection::get().exit_before_commit, "before commit");
        tx.commit()?;
        for (doc_id, last_seq, current) in written {
            self.docs.put(doc_id, last_seq, current);
        }
        Ok((response, stats))
    }

    /// Merges one document's pushed changes into the stored document at `version` (its
    /// `last_seq`; `None`: not stored yet), from the cache when it holds that version.
    fn merge(
        &self,
        conn: &Connection,
        doc: &DocChanges,
        version: Option<i64>,
        actors: &HashSet<String>,
    ) -> Result<std::result::Result<authority::Accepted, Refusal>> {
        let current = match version {
            Some(last_seq) => Some(match self.docs.take(&doc.doc_id, last_seq) {
                Some(cached) => cached,
                None => authority::Current::load(&stored_bytes(conn, &doc.doc_id)?)
                    .map_err(|refusal| corrupt(refusal.reason))?,
            }),
            None => None,
        };
        Ok(authority::apply_push(
            current,
            &doc.doc_id,
            doc.kind,
            &doc.changes,
            &|actor| actors.contains(&actor.to_hex_string()),
        ))
    }

    /// One page of what `principal` may see after `request.cursor`.
    pub(crate) fn serve_pull(
        &self,
        principal: &Principal,
        request: &PullRequest,
    ) -> Result<PullResponse> {
        // A read transaction on a reader connection (WAL): the page and the head it reports are
        // one consistent snapshot, and pulls do not queue behind pushes.
        let mut conn = self.read();
        let tx = conn.transaction()?;
        let cursor = i64::try_from(request.cursor).unwrap_or(i64::MAX);
        let limit = request.limit.clamp(1, MAX_PAGE) as usize;
        let head: i64 = tx.query_row("SELECT seq FROM log_head WHERE id = 1", [], |row| {
            row.get(0)
        })?;
        // The user's scope as of this snapshot (it may have changed since the request's token
        // was checked).
        let principal = &user_scope(&tx, &principal.user_id)?
            .ok_or(StorageError::NotFound("user"))?
            .principal(&principal.user_id);
        if cursor > 0
            && let Some(then) = user_scope_before(&tx, &principal.user_id, cursor)?
        {
            // The user's own visibility changed after this device's cursor: it drops what the
            // user no longer sees, and syncs again from the start (snapshots merge with what
            // it has; its pending changes stay).
            let then = then.principal(&principal.user_id);
            let mut removals = self.removals(&tx, principal, cursor, head)?;
            removals.extend(self.lost_sight(&tx, &then, principal)?);
            removals.sort_unstable();
            removals.dedup();
            tx.commit()?;
            return Ok(PullResponse {
                docs: Vec::new(),
                removals,
                next_cursor: 0,
                has_more: true,
            });
        }
        let (visibility, sql) = page_sql(principal.role);
        let mut rows: Vec<PageRow> = tx
            .prepare_cached(&sql)?
            .query_map(
                params![
                    cursor,
                    principal.team_id,
                    principal.user_id,
                    (limit + 1) as i64
                ],
                |row| {
                    Ok(PageRow {
                        id: row.get(0)?,
                        bytes: row.get(1)?,
                        record: row.get(2)?,
                        first_seq: row.get(3)?,
                        last_seq: row.get(4)?,
                        scope_seq: row.get(5)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        rows.sort_unstable_by_key(|row| row.last_seq);
        let has_more = rows.len() > limit;
        let mut page: Vec<PageRow> = rows.into_iter().take(limit).collect();
        let next_cursor = match (has_more, page.last()) {
            (true, Some(last)) => last.last_seq,
            _ => head.max(cursor),
        };
        if has_more {
            // Documents changed in (cursor, next_cursor] but changed again later sort into a
            // later page; the device would then only get their changes after next_cursor.
            // They travel in this page too, with all their changes after `cursor`.
            let sql = format!(
                "SELECT d.id, d.bytes, d.record, d.first_seq, d.last_seq, d.scope_seq
                 FROM (SELECT DISTINCT doc_id FROM changes WHERE seq > ?1 AND seq <= ?4) c
                   CROSS JOIN documents d ON d.id = c.doc_id
                 WHERE d.last_seq > ?4 AND {visibility}"
            );
            let straddling = tx
                .prepare_cached(&sql)?
                .query_map(
                    params![cursor, principal.team_id, principal.user_id, next_cursor],
                    |row| {
                        Ok(PageRow {
                            id: row.get(0)?,
                            bytes: row.get(1)?,
                            record: row.get(2)?,
                            first_seq: row.get(3)?,
                            last_seq: row.get(4)?,
                            scope_seq: row.get(5)?,
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            page.extend(straddling);
        }
        let mut docs = Vec::with_capacity(page.len());
        for row in &page {
            let PageRow {
                id,
                bytes,
                record,
                first_seq,
                scope_seq,
                ..
            } = row;
            let fresh = cursor == 0 || *first_seq > cursor || *scope_seq > cursor;
            let payload = if fresh {
                let record: AnyRecord = postcard::from_bytes(record).map_err(corrupt)?;
                PulledPayload::Snapshot {
                    bytes: bytes.clone(),
                    record: Box::new(record),
                }
            } else {
                let changes = tx
                    .prepare_cached(
                        "SELECT bytes FROM changes WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq",
                    )?
                    .query_map(params![id, cursor], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                PulledPayload::Changes(changes)
            };
            docs.push(PulledDoc {
                doc_id: id.clone(),
                payload,
            });
        }
        let removals = if cursor == 0 {
            Vec::new()
        } else {
            self.removals(&tx, principal, cursor, next_cursor)?
        };
        tx.commit()?;
        Ok(PullResponse {
            docs,
            removals,
            next_cursor: u64::try_from(next_cursor).unwrap_or(0),
            has_more,
        })
    }

    /// Documents whose scope changed in `(cursor, up_to]`, that `principal` could see at
    /// `cursor` and cannot see now.
    fn removals(
        &self,
        tx: &Transaction<'_>,
        principal: &Principal,
        cursor: i64,
        up_to: i64,
    ) -> Result<Vec<String>> {
        // Only documents that existed at `cursor` (first_seq <= cursor) can have been on the
        // device; a document created after it is never a removal, whatever its scope.
        let moved: Vec<(String, Scope)> = tx
            .prepare_cached(
                "SELECT id, territory_id, owner_id, team_id FROM documents
                 WHERE scope_seq > ?1 AND scope_seq <= ?2 AND first_seq <= ?1",
            )?
            .query_map(params![cursor, up_to], |row| {
                Ok((
                    row.get(0)?,
                    Scope {
                        territory_id: row.get(1)?,
                        owner_id: row.get(2)?,
                        team_id: row.get(3)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut removals = Vec::new();
        for (id, now) in moved {
            if scope::visible(principal, &now) {
                continue;
            }
            let then: Option<Scope> = tx
                .prepare_cached(
                    "SELECT territory_id, owner_id, team_id FROM scope_history WHERE doc_id = ?1 AND seq <= ?2
                     ORDER BY seq DESC LIMIT 1",
                )?
                .query_row(params![id, cursor], |row| {
                    Ok(Scope { territory_id: row.get(0)?, owner_id: row.get(1)?, team_id: row.get(2)? })
                })
                .optional()?;
            if then.is_some_and(|scope| scope::visible(principal, &scope)) {
                removals.push(id);
            }
        }
        Ok(removals)
    }

    /// Documents `then` could see (by their current scope) that `now` cannot.
    fn lost_sight(
        &self,
        tx: &Transaction<'_>,
        then: &Principal,
        now: &Principal,
    ) -> Result<Vec<String>> {
        let (sql, territories) = match then.role {
            Role::Admin => (
                "SELECT id, territory_id, owner_id, team_id FROM documents",
                None,
            ),
            Role::Manager => (
                "SELECT id, territory_id, owner_id, team_id FROM documents WHERE team_id = ?1",
                None,
            ),
            Role::Rep => (
                "SELECT id, territory_id, owner_id, team_id FROM documents
                 WHERE owner_id = ?1 OR territory_id IN (SELECT value FROM json_each(?2))",
                Some(serde_json::to_string(&then.territories).map_err(corrupt)?),
            ),
        };
        let mut stmt = tx.prepare_cached(sql)?;
        let mut bound = Vec::<&dyn rusqlite::ToSql>::new();
        match then.role {
            Role::Admin => {}
            Role::Manager => bound.push(&then.team_id),
            Role::Rep => {
                bound.push(&then.user_id);
                bound.push(&territories);
            }
        }
        let rows = stmt.query_map(bound.as_slice(), |row| {
            Ok((
                row.get::<_, String>(0)?,
                Scope {
                    territory_id: row.get(1)?,
                    owner_id: row.get(2)?,
                    team_id: row.get(3)?,
                },
            ))
        })?;
        let mut lost = Vec::new();
        for row in rows {
            let (id, scope) = row?;
            if !scope::visible(now, &scope) {
                lost.push(id);
            }
        }
        Ok(lost)
    }

    /// Runs `change` (a write to the user's territories or team) and records the change of
    /// the user's visibility, in one transaction.
    pub(crate) fn change_user_scope(
        &self,
        user_id: &str,
        change: impl FnOnce(&Transaction<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let before = user_scope(&tx, user_id)?.ok_or(StorageError::NotFound("user"))?;
        change(&tx)?;
        record_user_scope_change(&tx, user_id, &before)?;
        tx.commit()?;
        Ok(())
    }

    /// Moves a user to another team together with the documents they own (their visits and
    /// tasks), which change scope like a moved customer's do.
    pub(crate) fn move_user(&self, user_id: &str, team_id: &str) -> Result<()> {
        let mut conn = self.write();
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

    /// Moves a customer, and the contacts, opportunities and cases that belong to it, to
    /// another territory. Devices that lose sight of them get removals; devices that gain it get
    /// snapshots.
    pub(crate) fn reassign_customer(&self, customer_id: &str, territory_id: &str) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let team_id =
            territory_team(&tx, territory_id)?.ok_or(StorageError::NotFound("territory"))?;
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
        };
        for id in affected {
            let seq = next_seq(&tx)?;
            tx.prepare_cached(
                "UPDATE documents SET territory_id = ?2, team_id = ?3, last_seq = ?4, scope_seq = ?4 WHERE id = ?1",
            )?
            .execute(params![id, scope.territory_id, scope.team_id, seq])?;
            insert_scope_history(&tx, &id, seq, &scope)?;
        }
        fieldwork::move_place(
            &tx,
            customer_id,
            territory_id,
            scope.team_id.as_deref().unwrap_or_default(),
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn count_documents(&self, kind: Kind) -> Result<i64> {
        Ok(self.read().query_row(
            "SELECT count(*) FROM documents WHERE kind = ?1",
            [kind.as_str()],
            |row| row.get(0),
        )?)
    }
}

/// The SQL of a pull page for `role` and its visibility filter. Parameters: ?1 cursor, ?2 team,
/// ?3 user, ?4 page size + 1.
///
/// The page's rowids come from the (scope column, `last_seq`) indexes alone, then only those
/// rows are read: a page costs its size, not the size of the user's scope
/// (`page_queries_read_only_the_page` checks the plans).
fn page_sql(role: Role) -> (&'static str, String) {
    let (visibility, candidates) = match role {
        Role::Admin => (
            "1 = 1",
            "SELECT rowid AS r, last_seq AS s FROM documents WHERE last_seq > ?1",
        ),
        Role::Manager => (
            "team_id = ?2",
            "SELECT rowid AS r, last_seq AS s FROM documents WHERE team_id = ?2 AND last_seq > ?1",
        ),
        Role::Rep => (
            "(owner_id = ?3 OR territory_id IN (SELECT territory_id FROM user_territories WHERE user_id = ?3))",
            "SELECT rowid AS r, last_seq AS s FROM documents WHERE owner_id = ?3 AND last_seq > ?1
             UNION
             SELECT d.rowid, d.last_seq FROM user_territories t
               CROSS JOIN documents d ON d.territory_id = t.territory_id
             WHERE t.user_id = ?3 AND d.last_seq > ?1",
        ),
    };
    let sql = format!(
        "WITH page AS (SELECT r, s FROM ({candidates}) ORDER BY s LIMIT ?4)
         SELECT d.id, d.bytes, d.record, d.first_seq, d.last_seq, d.scope_seq
         FROM page CROSS JOIN documents d ON d.rowid = page.r"
    );
    (visibility, sql)
}

/// A document created by this push starts at the sequence number of its first change.
fn accepted_first_seq(accepted: &authority::Accepted, last_seq: i64) -> i64 {
    last_seq - accepted.new_changes.len() as i64 + 1
}

#[cfg(test)]
mod tests {
    use fieldcrm_core::protocol::PullRequest;
    use fieldcrm_core::{Customer, IncomingDoc, IncomingPayload, Store};

    use super::*;
    use crate::storage::{NewUser, Storage};

    /// A server with one rep in territory `north`, and that rep's device store.
    fn rep_and_device(dir: &tempfile::TempDir) -> (SqliteStorage, Principal, Store) {
        let storage = SqliteStorage::open(&dir.path().join("server.sqlite")).unwrap();
        let team = storage.create_team("team").unwrap();
        let territory = storage.create_territory("north", &team.id).unwrap();
        let user = storage
            .create_user(NewUser {
                username: "anna",
                password_hash: None,
                role: Role::Rep,
                team_id: Some(&team.id),
            })
            .unwrap();
        storage
            .assign_user_territory(&user.id, &territory.id)
            .unwrap();
        let device = Store::open(dir.path().join("device.sqlite")).unwrap();
        device.set_user(&user.id).unwrap();
        storage
            .register_device(&user.id, &device.actor_id())
            .unwrap();
        let principal = storage.principal(&user).unwrap();
        (storage, principal, device)
    }

    fn customer() -> Customer {
        let mut c = Customer::new("Bäckerei Nord");
        c.territory = Some("north".to_owned());
        c
    }

    /// Every pending change of the device, one `DocChanges` per change (so a document with
    /// several changes appears several times in one push).
    fn one_entry_per_change(device: &Store) -> (PushRequest, Vec<String>) {
        let pending = device.pending_changes(1_000).unwrap();
        let hashes = pending.iter().map(|c| c.hash.clone()).collect();
        let docs = pending
            .into_iter()
            .map(|c| DocChanges {
                doc_id: c.doc_id,
                kind: c.kind,
                changes: vec![c.bytes],
            })
            .collect();
        (PushRequest { docs }, hashes)
    }

    /// What a fresh device of `principal` holds after pulling everything.
    fn fresh_pull(
        storage: &SqliteStorage,
        principal: &Principal,
        dir: &tempfile::TempDir,
    ) -> Store {
        let fresh = Store::open(dir.path().join("fresh.sqlite")).unwrap();
        let page = storage
            .pull_changes(
                principal,
                &PullRequest {
                    cursor: 0,
                    limit: 100,
                },
            )
            .unwrap();
        let batch = page
            .docs
            .into_iter()
            .map(|doc| IncomingDoc {
                doc_id: doc.doc_id,
                payload: match doc.payload {
                    PulledPayload::Changes(changes) => IncomingPayload::Changes(changes),
                    PulledPayload::Snapshot { bytes, .. } => IncomingPayload::Snapshot(bytes),
                },
            })
            .collect();
        fresh.import(batch).unwrap();
        fresh
    }

    #[test]
    fn a_document_named_twice_in_one_push_keeps_both_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, principal, device) = rep_and_device(&dir);
        let mut c = device.create(customer()).unwrap();
        c.notes = "Liefert dienstags".to_owned();
        let c = device.update(c).unwrap();
        let (request, hashes) = one_entry_per_change(&device);
        assert_eq!(request.docs.len(), 2);
        let (response, stats) = storage.push_changes(&principal, request).unwrap();
        assert!(response.rejected.is_empty(), "{:?}", response.rejected);
        assert_eq!(response.acknowledged, hashes);
        assert_eq!(stats.merged_changes, 2);
        let fresh = fresh_pull(&storage, &principal, &dir);
        assert_eq!(fresh.get::<Customer>(&c.meta.id).unwrap(), Some(c));
    }

    #[test]
    fn appended_documents_are_compacted_and_read_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, principal, device) = rep_and_device(&dir);
        let mut c = device.create(customer()).unwrap();
        // One push per edit: the stored bytes grow by appending, then get saved compactly.
        for round in 0..(2 * COMPACT_AFTER + 3) {
            let (request, hashes) = one_entry_per_change(&device);
            let (response, _) = storage.push_changes(&principal, request).unwrap();
            assert_eq!(response.acknowledged, hashes, "round {round}");
            device.acknowledge(&hashes).unwrap();
            c.notes = format!("Besuch {round}");
            c = device.update(c).unwrap();
        }
        let (request, hashes) = one_entry_per_change(&device);
        storage.push_changes(&principal, request).unwrap();
        device.acknowledge(&hashes).unwrap();
        let appended: i64 = storage
            .read()
            .query_row(
                "SELECT appended FROM documents WHERE id = ?1",
                [&c.meta.id],
                |row| row.get(0),
            )
            .unwrap();
        assert!(
            (1..=COMPACT_AFTER).contains(&appended),
            "compacted at least once and appending again: {appended}"
        );
        // Nothing in the server's memory is needed to read the stored bytes back.
        storage.docs.take(&c.meta.id, i64::MAX);
        let fresh = fresh_pull(&storage, &principal, &dir);
        assert_eq!(fresh.get::<Customer>(&c.meta.id).unwrap(), Some(c));
    }

    #[test]
    fn page_queries_read_only_the_page() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let conn = storage.write();
        for role in [Role::Admin, Role::Manager, Role::Rep] {
            let (_, sql) = page_sql(role);
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params![0, "team", "user", 10], |row| {
                    row.get::<_, String>(3)
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let documents: Vec<&String> = plan
                .iter()
                .filter(|step| step.contains("documents") || step.contains(" d "))
                .collect();
            assert!(!documents.is_empty(), "{role:?}: {plan:?}");
            for step in documents {
                assert!(
                    step.contains("COVERING INDEX") || step.contains("INTEGER PRIMARY KEY"),
                    "{role:?} reads documents rows beyond the page: {step} in {plan:?}"
                );
            }
        }
    }
}

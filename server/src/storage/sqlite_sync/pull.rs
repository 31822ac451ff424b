//! A pull page: what a user may see after their cursor, read from the scope indexes so a page
//! costs its size; removals of what left their sight; a restart from 0 after their own scope
//! changed (docs/PROTOCOL.md). Documents of a kind the pulling app's protocol version predates
//! are held back from its pages, while its cursor moves past them.

use fieldcrm_core::protocol::{PullRequest, PullResponse, PulledDoc, PulledPayload};
use rusqlite::{OptionalExtension, Transaction, named_params, params};

use super::cursor::Cursor;
use super::known_at;
use super::{scope_epoch, user_scope, user_scope_at_epoch, user_scope_before};
use crate::scope::{self, Principal, Scope};
use crate::storage::sqlite_sight::{ScopeColumns, SightSql};
use crate::storage::{Result, SqliteStorage, StorageError, corrupt, stored_record};

/// A page row's document and record: read only when the document goes as a snapshot (the
/// rule of [`pull_changes`]'s `fresh`); a document sent as its changes since the cursor leaves
/// both blobs unread.
const SNAPSHOT_COLUMNS: &str =
    "CASE WHEN :cursor = 0 OR d.first_seq > :cursor OR d.scope_seq > :cursor THEN d.bytes END,
           CASE WHEN :cursor = 0 OR d.first_seq > :cursor OR d.scope_seq > :cursor THEN d.record END";

/// Most documents one pull page carries, whatever the device asks for.
pub const MAX_PAGE: u32 = 2_000;

struct PageRow {
    id: String,
    kind: String,
    /// The document and its record, read only for a document sent as a snapshot
    /// ([`SNAPSHOT_COLUMNS`]); a document sent as changes leaves its blobs unread.
    bytes: Option<Vec<u8>>,
    record: Option<Vec<u8>>,
    first_seq: i64,
    last_seq: i64,
    scope_seq: i64,
    record_format: i64,
}

fn page_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PageRow> {
    Ok(PageRow {
        id: row.get(0)?,
        bytes: row.get(1)?,
        record: row.get(2)?,
        first_seq: row.get(3)?,
        last_seq: row.get(4)?,
        scope_seq: row.get(5)?,
        record_format: row.get(6)?,
        kind: row.get(7)?,
    })
}

/// One page of what `principal` may see after `request.cursor`, for an app speaking protocol
/// `version`.
pub(in crate::storage) fn pull_changes(
    storage: &SqliteStorage,
    principal: &Principal,
    request: &PullRequest,
    version: u8,
) -> Result<PullResponse> {
    // A read transaction on a reader connection (WAL): the page and the head it reports are
    // one consistent snapshot, and pulls do not queue behind pushes.
    let mut conn = storage.read();
    let tx = conn.transaction()?;
    let sent = Cursor::decode(request.cursor);
    let cursor = sent.position;
    let limit = request.limit.clamp(1, MAX_PAGE) as usize;
    let head: i64 = tx.query_row("SELECT seq FROM log_head WHERE id = 1", [], |row| {
        row.get(0)
    })?;
    // The user's scope as of this snapshot (it may have changed since the request's token
    // was checked).
    let principal = &user_scope(&tx, &principal.user_id)?
        .ok_or(StorageError::NotFound("user"))?
        .principal(&principal.user_id);
    let epoch = scope_epoch(&tx, &principal.user_id)?;
    let served_under = match (cursor, sent.epoch) {
        (0, _) => None,
        (_, Some(sent_epoch)) if sent_epoch == epoch => None,
        (_, Some(sent_epoch)) => Some(
            user_scope_at_epoch(&tx, &principal.user_id, sent_epoch)?
                .map(|then| then.principal(&principal.user_id)),
        ),
        (_, None) => user_scope_before(&tx, &principal.user_id, cursor)?
            .map(|then| Some(then.principal(&principal.user_id))),
    };
    if let Some(then) = served_under {
        // The user's own visibility changed since this device's pages were served: it
        // drops what the user no longer sees, and syncs again from the start (snapshots
        // merge with what it has; its pending changes stay). A cursor naming an epoch that
        // was never recorded restarts too, dropping nothing it cannot name.
        let then = then.unwrap_or_else(|| principal.clone());
        let mut removals = removals(&tx, principal, cursor, head)?;
        removals.extend(lost_sight(&tx, &then, principal)?);
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
    let page_size = (limit + 1) as i64;
    let sight = SightSql::new(principal.sight(), ScopeColumns::DOCUMENTS);
    let mut rows: Vec<PageRow> = tx
        .prepare_cached(&page_sql(&sight))?
        .query_map(
            sight
                .params(named_params! {":cursor": cursor, ":limit": page_size})
                .as_slice(),
            page_row,
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
        let sight = SightSql::new(principal.sight(), ScopeColumns::DOCUMENTS_AS_D);
        let sql = format!(
            "SELECT d.id, {SNAPSHOT_COLUMNS}, d.first_seq, d.last_seq, d.scope_seq, d.record_format,
               d.kind
             FROM (SELECT DISTINCT doc_id FROM changes WHERE seq > :cursor AND seq <= :up_to) c
               CROSS JOIN documents d ON d.id = c.doc_id
             WHERE d.last_seq > :up_to AND {}",
            sight.condition()
        );
        let straddling = tx
            .prepare_cached(&sql)?
            .query_map(
                sight
                    .params(named_params! {":cursor": cursor, ":up_to": next_cursor})
                    .as_slice(),
                page_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        page.extend(straddling);
    }
    // Held back only now: the cursor has moved past them with the rest of the page.
    page.retain(|row| known_at(&row.kind, version));
    let mut docs = Vec::with_capacity(page.len());
    for row in page {
        let PageRow {
            id,
            bytes,
            record,
            first_seq,
            scope_seq,
            record_format,
            ..
        } = row;
        let fresh = cursor == 0 || first_seq > cursor || scope_seq > cursor;
        let payload = if fresh {
            let (Some(bytes), Some(record)) = (bytes, record) else {
                return Err(corrupt(format!("document {id} was read without its bytes")));
            };
            // Sent as stored, without decoding, when it is in this server's format.
            let record = stored_record::for_wire(record_format, record, &bytes)?;
            PulledPayload::Snapshot { bytes, record }
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
            doc_id: id,
            payload,
        });
    }
    let removals = if cursor == 0 {
        Vec::new()
    } else {
        removals(&tx, principal, cursor, next_cursor)?
    };
    tx.commit()?;
    Ok(PullResponse {
        docs,
        removals,
        next_cursor: Cursor::encode(next_cursor, epoch),
        has_more,
    })
}

/// Documents whose scope changed in `(cursor, up_to]`, that `principal` could see at
/// `cursor` and cannot see now.
fn removals(
    tx: &Transaction<'_>,
    principal: &Principal,
    cursor: i64,
    up_to: i64,
) -> Result<Vec<String>> {
    // Only documents that existed at `cursor` (first_seq <= cursor) can have been on the
    // device; a document created after it is never a removal, whatever its scope.
    let moved: Vec<(String, Scope)> = tx
        .prepare_cached(
            "SELECT id, territory_id, owner_id, team_id, org_wide FROM documents
             WHERE scope_seq > ?1 AND scope_seq <= ?2 AND first_seq <= ?1",
        )?
        .query_map(params![cursor, up_to], |row| {
            Ok((
                row.get(0)?,
                Scope {
                    territory_id: row.get(1)?,
                    owner_id: row.get(2)?,
                    team_id: row.get(3)?,
                    org_wide: row.get(4)?,
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
                // An organisation-wide document's scope never changes (products are never
                // anything else), so the history keeps no flag for it.
                Ok(Scope { territory_id: row.get(0)?, owner_id: row.get(1)?, team_id: row.get(2)?, org_wide: false })
            })
            .optional()?;
        if then.is_some_and(|scope| scope::visible(principal, &scope)) {
            removals.push(id);
        }
    }
    Ok(removals)
}

/// Documents `then` could see (by their current scope) that `now` cannot.
fn lost_sight(tx: &Transaction<'_>, then: &Principal, now: &Principal) -> Result<Vec<String>> {
    let sight = SightSql::new(then.sight(), ScopeColumns::DOCUMENTS);
    let sql = format!(
        "SELECT id, territory_id, owner_id, team_id, org_wide FROM documents WHERE {}",
        sight.condition()
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(sight.params(&[]).as_slice(), |row| {
        Ok((
            row.get::<_, String>(0)?,
            Scope {
                territory_id: row.get(1)?,
                owner_id: row.get(2)?,
                team_id: row.get(3)?,
                org_wide: row.get(4)?,
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

/// The SQL of a pull page in `sight` (over the `documents` columns). Parameters: `:cursor`,
/// `:limit` (page size + 1) and the sight's.
///
/// The page's rowids come from the (scope column, `last_seq`) indexes alone, one index per
/// alternative of the sight, then only those rows are read: a page costs its size, not the size
/// of the user's scope (`page_queries_read_only_the_page` checks the plans). Each alternative
/// takes at most a page itself, in `last_seq` order (the page is within the union of those),
/// so a sight of several alternatives (a manager's team and the organisation-wide catalog)
/// does not read and sort everything after the cursor for every page of a bootstrap.
fn page_sql(sight: &SightSql) -> String {
    let candidates = sight
        .alternatives()
        .iter()
        .map(|alternative| {
            format!(
                "SELECT r, s FROM (SELECT rowid AS r, last_seq AS s FROM documents
                   WHERE {alternative} AND last_seq > :cursor ORDER BY last_seq LIMIT :limit)"
            )
        })
        .collect::<Vec<_>>()
        .join("\n             UNION\n             ");
    format!(
        "WITH page AS (SELECT r, s FROM ({candidates}) ORDER BY s LIMIT :limit)
         SELECT d.id, {SNAPSHOT_COLUMNS}, d.first_seq, d.last_seq, d.scope_seq, d.record_format,
           d.kind
         FROM page CROSS JOIN documents d ON d.rowid = page.r"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::storage::SqliteStorage;

    #[test]
    fn page_queries_read_only_the_page() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let conn = storage.write();
        for role in [Role::Admin, Role::Manager, Role::Rep] {
            let principal = Principal {
                user_id: "user".into(),
                role,
                team_id: Some("team".into()),
                territories: vec!["north".into(), "south".into()],
            };
            let sight = SightSql::new(principal.sight(), ScopeColumns::DOCUMENTS);
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {}", page_sql(&sight)))
                .unwrap()
                .query_map(
                    sight
                        .params(named_params! {":cursor": 0, ":limit": 10})
                        .as_slice(),
                    |row| row.get::<_, String>(3),
                )
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

    /// The steps SQLite takes for the first page of `sight`'s pull with `limit` rows.
    fn first_page_steps(conn: &rusqlite::Connection, sight: &SightSql, limit: i64) -> i32 {
        let mut stmt = conn.prepare(&page_sql(sight)).unwrap();
        let rows = stmt
            .query_map(
                sight
                    .params(named_params! {":cursor": 0, ":limit": limit})
                    .as_slice(),
                |row| row.get::<_, String>(0),
            )
            .unwrap()
            .count();
        assert_eq!(rows as i64, limit);
        stmt.get_status(rusqlite::StatementStatus::VmStep)
    }

    /// A manager's first page costs the page, not the team: the same steps over 200 documents
    /// as over 4,000 (each sight alternative stops at the page's size).
    #[test]
    fn a_page_of_a_sight_with_several_alternatives_costs_its_size() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let conn = storage.write();
        let manager = Principal {
            user_id: "mia".into(),
            role: Role::Manager,
            team_id: Some("team".into()),
            territories: Vec::new(),
        };
        let sight = SightSql::new(manager.sight(), ScopeColumns::DOCUMENTS);
        let insert = |from: i64, to: i64| {
            for seq in from..to {
                // Every tenth document is the organisation's (a product), the rest the team's.
                let org_wide = seq % 10 == 0;
                conn.execute(
                    "INSERT INTO documents (id, kind, bytes, record, team_id, first_seq, last_seq,
                       scope_seq, org_wide)
                     VALUES (?1, ?2, x'00', x'00', ?3, ?4, ?4, ?4, ?5)",
                    params![
                        format!("doc-{seq}"),
                        if org_wide { "product" } else { "customer" },
                        (!org_wide).then_some("team"),
                        seq,
                        org_wide
                    ],
                )
                .unwrap();
            }
        };
        insert(1, 201);
        let small = first_page_steps(&conn, &sight, 10);
        insert(201, 4_001);
        let large = first_page_steps(&conn, &sight, 10);
        assert_eq!(
            small, large,
            "a page's cost grew with the documents after it ({small} then {large} steps)"
        );
    }
}

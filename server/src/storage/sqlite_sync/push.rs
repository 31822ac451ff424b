//! A push in one transaction. Every check runs in the order of the trust model
//! (docs/ARCHITECTURE.md, "Server invariants"): entries coalesced per document, empty ones
//! dropped; a document the writer may not see refused from its row; the changes checked
//! before the stored document is loaded; Automerge's work contained; the merged result's
//! invariants; then the scope and every new reference. Only then is anything written, and every
//! accepted change enters the log before anything is acknowledged.

use std::collections::HashSet;

use fieldcrm_core::authority::{self, Refusal};
use fieldcrm_core::protocol::{DocChanges, PushRequest, PushResponse, RejectCode, Rejection};
use fieldcrm_core::{AnyRecord, Kind};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{
    FaultInjection, StoredDoc, allocate_seqs, corrupt, insert_scope_history, stored_bytes,
    stored_doc, territory_team,
};
use crate::doc_cache::DocCache;
use crate::model::{now_ms, now_unix};
use crate::scope::{self, Principal, Scope};
use crate::storage::{PushStats, Result, SqliteStorage, stored_record};
use crate::storage::{sqlite_fieldwork, sqlite_webhooks};

/// A stored document is saved compactly again once this many changes have been appended to it
/// (appending costs nothing; each appended change adds its size to every later snapshot).
pub(super) const COMPACT_AFTER: i64 = 16;

/// A stored document's bytes and the record stored beside them (see `stored_record.rs`).
pub(super) fn stored_doc_and_record(conn: &Connection, id: &str) -> Result<(Vec<u8>, AnyRecord)> {
    let (bytes, stored, format): (Vec<u8>, Vec<u8>, i64) = conn
        .prepare_cached("SELECT bytes, record, record_format FROM documents WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    let record = stored_record::read(format, stored, &bytes)?;
    Ok((bytes, record))
}

fn device_actors(conn: &Connection, user_id: &str) -> Result<HashSet<String>> {
    Ok(conn
        .prepare_cached("SELECT actor_id FROM devices WHERE user_id = ?1 AND revoked_at IS NULL")?
        .query_map([user_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// A territory named in a document, by id or by name.
fn resolve_territory(tx: &Transaction<'_>, reference: &str) -> Result<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT id FROM territories WHERE id = ?1 OR name = ?1")?
        .query_row([reference], |row| row.get(0))
        .optional()?)
}

/// The scope a record gets when written; `None` when it names a user, customer or territory the
/// server does not know, which the push refuses exactly like a forbidden write (see
/// [`forbidden`]).
pub(super) fn scope_of(tx: &Transaction<'_>, record: &AnyRecord) -> Result<Option<Scope>> {
    if scope::is_org_wide(record) {
        return Ok(Some(Scope::org_wide()));
    }
    if let Some(owner) = scope::owner_of(record) {
        let team: Option<Option<String>> = tx
            .prepare_cached("SELECT team_id FROM users WHERE id = ?1")?
            .query_row([owner], |row| row.get(0))
            .optional()?;
        let Some(team_id) = team else {
            return Ok(None);
        };
        return Ok(Some(Scope {
            territory_id: None,
            owner_id: Some(owner.to_owned()),
            team_id,
            org_wide: false,
        }));
    }
    let Some(customer_id) = scope::customer_of(record) else {
        return Ok(None);
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
        return Ok(None);
    };
    let team_id = territory_team(tx, &territory_id)?;
    Ok(Some(Scope {
        territory_id: Some(territory_id),
        owner_id: None,
        team_id,
        org_wide: false,
    }))
}

/// The one answer to a write outside the writer's scope: the same whether the document, its
/// customer, territory, assignee or linked record exists and is someone else's, or does not
/// exist at all, so a refusal never tells a device what lies beyond its scope.
fn forbidden(kind: Kind) -> String {
    format!(
        "you may not write this {kind}: it, its territory or a record it refers to is outside what you may see"
    )
}

/// Whether every reference `record` carries that is new in this push (absent from
/// `previous`) names a document the writer may see, of the kind the reference requires.
fn references_in_scope(
    tx: &Transaction<'_>,
    principal: &Principal,
    previous: Option<&AnyRecord>,
    record: &AnyRecord,
) -> Result<bool> {
    let before = previous.map(scope::references).unwrap_or_default();
    for reference in scope::references(record) {
        if before.contains(&reference) {
            continue;
        }
        let target: Option<(String, Scope)> = tx
            .prepare_cached(
                "SELECT kind, territory_id, owner_id, team_id, org_wide FROM documents WHERE id = ?1",
            )?
            .query_row([reference.id], |row| {
                Ok((
                    row.get(0)?,
                    Scope {
                        territory_id: row.get(1)?,
                        owner_id: row.get(2)?,
                        team_id: row.get(3)?,
                        org_wide: row.get(4)?,
                    },
                ))
            })
            .optional()?;
        let allowed = target.is_some_and(|(kind, target_scope)| {
            reference.kinds.iter().any(|k| k.as_str() == kind)
                && scope::visible(principal, &target_scope)
        });
        if !allowed {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Why a record names a record of another customer than its own among the references that
/// must be its customer's ([`scope::of_own_customer`]: an activity's contact); `None` when
/// every one is. Runs after [`references_in_scope`], on documents the writer sees.
fn reference_of_another_customer(
    tx: &Transaction<'_>,
    record: &AnyRecord,
) -> Result<Option<String>> {
    let Some(customer_id) = scope::customer_of(record) else {
        return Ok(None);
    };
    for reference in scope::of_own_customer(record) {
        let target_customer: Option<Option<String>> = tx
            .prepare_cached("SELECT customer_id FROM documents WHERE id = ?1")?
            .query_row([reference.id], |row| row.get(0))
            .optional()?;
        if target_customer.flatten().as_deref() != Some(customer_id) {
            return Ok(Some(format!(
                "the {} {} names a record of another customer than the {}'s",
                record.kind(),
                reference.field,
                record.kind()
            )));
        }
    }
    Ok(None)
}

/// A push's entries with one entry per document, in the order documents first appear, each
/// holding every change pushed for it (so a document is loaded and merged once per push,
/// however often the push names it). Entries without changes are dropped: they cost nothing.
/// A document pushed under two kinds is refused whole.
fn coalesce(request: PushRequest) -> (Vec<DocChanges>, Vec<Rejection>) {
    let mut docs: Vec<DocChanges> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut conflicting: HashSet<String> = HashSet::new();
    for entry in request.docs {
        if entry.changes.is_empty() {
            continue;
        }
        match index.get(&entry.doc_id) {
            Some(&at) => {
                if docs[at].kind != entry.kind {
                    conflicting.insert(entry.doc_id.clone());
                }
                docs[at].changes.extend(entry.changes);
            }
            None => {
                index.insert(entry.doc_id.clone(), docs.len());
                docs.push(entry);
            }
        }
    }
    let (refused, docs): (Vec<DocChanges>, Vec<DocChanges>) = docs
        .into_iter()
        .partition(|doc| conflicting.contains(&doc.doc_id));
    let rejections = refused
        .iter()
        .map(|doc| {
            reject(
                doc,
                RejectCode::MalformedChange,
                "the document is pushed under two kinds",
            )
        })
        .collect();
    (docs, rejections)
}

/// What can be decided about a pushed document from its stored row alone, before its bytes are
/// loaded: a document the writer may not see is refused as forbidden (the same answer as for
/// any write out of scope), and one pushed under another kind than it has is refused.
fn precheck(
    principal: &Principal,
    doc: &DocChanges,
    stored: Option<&StoredDoc>,
) -> Option<(RejectCode, String)> {
    let stored = stored?;
    if !scope::visible(principal, &stored.scope) {
        return Some((RejectCode::Forbidden, forbidden(doc.kind)));
    }
    if stored.kind != doc.kind.as_str() {
        return Some((
            RejectCode::InvalidRecord,
            format!(
                "the document is not the {} {} it was pushed as",
                doc.kind, doc.doc_id
            ),
        ));
    }
    None
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

/// A document created by this push starts at the sequence number of its first change.
fn accepted_first_seq(accepted: &authority::Accepted, last_seq: i64) -> i64 {
    last_seq - accepted.new_changes.len() as i64 + 1
}

/// Applies a push in one transaction: every accepted document's changes enter the log
/// with sequence numbers before anything is acknowledged.
pub(in crate::storage) fn push_changes(
    storage: &SqliteStorage,
    principal: &Principal,
    request: PushRequest,
) -> Result<(PushResponse, PushStats)> {
    let (docs, mut rejected) = coalesce(request);
    // The Automerge work (load, apply, read, validate) runs first, outside the write lock,
    // so pushes use every core; the write transaction then only checks that each document
    // is still at the version the work started from (and redoes the work when it is not).
    let (actors, prepared) = {
        // One read transaction: every version and its bytes come from one snapshot.
        let mut conn = storage.read();
        let snapshot = conn.transaction()?;
        let actors = device_actors(&snapshot, &principal.user_id)?;
        let mut prepared = Vec::with_capacity(docs.len());
        for doc in &docs {
            let stored = stored_doc(&snapshot, &doc.doc_id)?;
            let version = stored.as_ref().map(|s| s.last_seq);
            let outcome = match precheck(principal, doc, stored.as_ref()) {
                // Refused from its row: the write phase refuses it again from the row it
                // reads there; nothing is loaded.
                Some(_) => None,
                None => Some(merge(
                    &storage.docs,
                    &snapshot,
                    doc,
                    version,
                    principal,
                    &actors,
                )?),
            };
            prepared.push((version, outcome));
        }
        snapshot.commit()?;
        (actors, prepared)
    };
    let mut conn = storage.write();
    let tx = conn.transaction()?;
    let now = now_unix();
    let now_ms = now_ms();
    let mut response = PushResponse::default();
    response.rejected.append(&mut rejected);
    let mut stats = PushStats::default();
    let mut written = Vec::new();
    let mut projection =
        sqlite_fieldwork::PushProjection::new(principal, now_ms, storage.fieldwork);
    for (doc, (version, outcome)) in docs.iter().zip(prepared) {
        let stored = stored_doc(&tx, &doc.doc_id)?;
        if let Some((code, reason)) = precheck(principal, doc, stored.as_ref()) {
            response.rejected.push(reject(doc, code, reason));
            continue;
        }
        let outcome = match outcome {
            Some(outcome) if stored.as_ref().map(|s| s.last_seq) == version => outcome,
            // Written meanwhile: merge into what is stored now.
            _ => merge(
                &storage.docs,
                &tx,
                doc,
                stored.as_ref().map(|s| s.last_seq),
                principal,
                &actors,
            )?,
        };
        let accepted = match outcome {
            Ok(accepted) => accepted,
            Err(refusal) => {
                if refusal.contained_panic {
                    tracing::warn!(
                        doc_id = %doc.doc_id,
                        user = %principal.user_id,
                        code = "rejected_change",
                        "Automerge panicked on pushed changes; the document was refused"
                    );
                }
                response
                    .rejected
                    .push(reject(doc, refusal.code, refusal.reason));
                continue;
            }
        };
        let before = stored.as_ref().map(|s| &s.scope);
        let after = match scope_of(&tx, &accepted.record)? {
            Some(after)
                if scope::may_write(principal, before, &after)
                    && crate::cases::rules::may_escalate(
                        principal,
                        accepted.previous.as_ref(),
                        &accepted.record,
                    )
                    && references_in_scope(
                        &tx,
                        principal,
                        accepted.previous.as_ref(),
                        &accepted.record,
                    )? =>
            {
                after
            }
            _ => {
                response
                    .rejected
                    .push(reject(doc, RejectCode::Forbidden, forbidden(doc.kind)));
                continue;
            }
        };
        if let Some(reason) = reference_of_another_customer(&tx, &accepted.record)? {
            response
                .rejected
                .push(reject(doc, RejectCode::InvalidRecord, reason));
            continue;
        }
        if let Some(reason) = sqlite_fieldwork::future_fix(&accepted.record, now_ms) {
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
            match authority::save(&accepted.doc) {
                Ok(bytes) => (bytes, 0),
                Err(refusal) => {
                    response
                        .rejected
                        .push(reject(doc, refusal.code, refusal.reason));
                    continue;
                }
            }
        };
        let (record_bytes, record_format) = stored_record::to_store(&accepted.record)?;
        tx.prepare_cached(
            "INSERT INTO documents (id, kind, customer_id, bytes, record, territory_id, owner_id, team_id,
               first_seq, last_seq, scope_seq, appended, record_format, org_wide)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, bytes = excluded.bytes,
               record = excluded.record, territory_id = excluded.territory_id, owner_id = excluded.owner_id,
               team_id = excluded.team_id, last_seq = excluded.last_seq, scope_seq = excluded.scope_seq,
               appended = excluded.appended, record_format = excluded.record_format,
               org_wide = excluded.org_wide",
        )?
        .execute(params![
            doc.doc_id,
            doc.kind.as_str(),
            scope::customer_of(&accepted.record),
            bytes,
            record_bytes,
            after.territory_id,
            after.owner_id,
            after.team_id,
            first_seq,
            last_seq,
            scope_seq,
            appended,
            record_format,
            after.org_wide
        ])?;
        if let (AnyRecord::Customer(_), Some(territory)) = (&accepted.record, &after.territory_id) {
            tx.prepare_cached(
                "INSERT INTO customer_territories (customer_id, territory_id, assigned_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (customer_id) DO NOTHING",
            )?
            .execute(params![doc.doc_id, territory, now])?;
        }
        projection.project(&tx, &accepted.record, &after)?;
        // The change feed's events, committed with the change they describe.
        sqlite_webhooks::record_events(&tx, accepted.previous.as_ref(), &accepted.record, now_ms)?;
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
        storage.docs.put(doc_id, last_seq, current);
    }
    Ok((response, stats))
}

/// Merges one document's pushed changes into the stored document at `version` (its
/// `last_seq`; `None`: not stored yet), from the cache when it holds that version. The
/// changes are checked (framing, checksums, authors) before anything is loaded.
fn merge(
    cache: &DocCache,
    conn: &Connection,
    doc: &DocChanges,
    version: Option<i64>,
    principal: &Principal,
    actors: &HashSet<String>,
) -> Result<std::result::Result<authority::Accepted, Refusal>> {
    let actor_allowed = |actor: &authority::ActorId| actors.contains(&actor.to_hex_string());
    let writer = authority::Writer {
        user_id: &principal.user_id,
        actor_allowed: &actor_allowed,
    };
    let checked = match authority::check_changes(&doc.changes, &writer) {
        Ok(checked) => checked,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let current = match version {
        Some(last_seq) => Some(match cache.take(&doc.doc_id, last_seq) {
            Some(cached) => cached,
            None => {
                let (bytes, record) = stored_doc_and_record(conn, &doc.doc_id)?;
                authority::Current::load_with_record(&bytes, record)
                    .map_err(|refusal| corrupt(refusal.reason))?
            }
        }),
        None => None,
    };
    Ok(authority::apply_push(
        current,
        &doc.doc_id,
        doc.kind,
        checked,
        &writer,
    ))
}

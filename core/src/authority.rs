//! The server's side of a push, without I/O: apply one document's changes from a device to the
//! authoritative copy and decide whether to accept them. The server crate stores the result and
//! authorizes the write (who may touch which record); everything about documents lives here, next
//! to the data model, so device and server apply the same rules.

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use automerge::ActorId;
use automerge::{Automerge, Change, ChangeHash, ReadDoc};

use crate::chunks;
use crate::model::Kind;
use crate::protocol::RejectCode;
use crate::records::AnyRecord;

mod invariants;
mod server_edit;

pub use server_edit::{SERVER_ACTOR, ServerEdit, server_edit};

/// A document's changes accepted by the server.
#[derive(Debug)]
pub struct Accepted {
    /// The merged authoritative document.
    pub doc: Automerge,
    pub record: AnyRecord,
    /// The record before this push (`None` when the push created the document).
    pub previous: Option<AnyRecord>,
    /// Changes new to the server, in application order: (hex hash, raw bytes). Append these to
    /// the change log.
    pub new_changes: Vec<(String, Vec<u8>)>,
    /// Every change of the push, new or already known (a retry): all are acknowledged.
    pub acknowledged: Vec<String>,
}

/// Why a document's changes were refused: the code goes back to the device with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: RejectCode,
    pub reason: String,
    /// Automerge panicked on these bytes and the panic was contained: the server logs and
    /// counts it (`rejected_change`), the device sees a malformed change.
    pub contained_panic: bool,
}

pub(crate) fn refuse(code: RejectCode, reason: impl Into<String>) -> Refusal {
    Refusal {
        code,
        reason: reason.into(),
        contained_panic: false,
    }
}

/// Runs Automerge work on bytes a device sent. Automerge 0.12 panics on some crafted changes
/// (see docs/ARCHITECTURE.md, known issues): such a panic refuses this document only, and
/// whatever the closure held (a document half merged) is dropped with it.
fn contained<T>(work: impl FnOnce() -> Result<T, Refusal>) -> Result<T, Refusal> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
        Err(Refusal {
            code: RejectCode::MalformedChange,
            reason: "the server could not apply these changes (rejected_change)".to_owned(),
            contained_panic: true,
        })
    })
}

/// The hex hash of a raw change, if the bytes are framed as one uncompressed change chunk; used
/// to name refused changes to the device, so it does not check the chunk's checksum (a change
/// damaged after the device hashed it is still named by the hash the device knows it by).
/// Computed from the framing alone: no Automerge parser sees bytes that were just refused.
pub fn change_hash(bytes: &[u8]) -> Option<String> {
    chunks::change_hash(bytes).map(hex::encode)
}

/// Saves a merged document compactly (the server's stored form).
pub fn save(doc: &Automerge) -> Result<Vec<u8>, Refusal> {
    contained(|| Ok(doc.save()))
}

/// The server's copy of a document with the record read from it.
#[derive(Debug, Clone)]
pub struct Current {
    pub doc: Automerge,
    pub record: AnyRecord,
}

impl Current {
    /// Loads a stored authoritative document and reads its record.
    pub fn load(bytes: &[u8]) -> Result<Current, Refusal> {
        contained(|| Current::from_doc(load_stored(bytes)?))
    }

    /// Loads a stored authoritative document beside the record stored with it (read from these
    /// very bytes when they were written, so not read again: a record read walks the whole
    /// document).
    pub fn load_with_record(bytes: &[u8], record: AnyRecord) -> Result<Current, Refusal> {
        contained(|| {
            Ok(Current {
                doc: load_stored(bytes)?,
                record,
            })
        })
    }

    /// Reads the record of a document already in memory.
    pub fn from_doc(doc: Automerge) -> Result<Current, Refusal> {
        contained(|| {
            let record = AnyRecord::read(&doc).map_err(|e| {
                refuse(
                    RejectCode::InvalidRecord,
                    format!("stored document unreadable: {e}"),
                )
            })?;
            Ok(Current { doc, record })
        })
    }
}

/// A stored authoritative document, its chunks walked before Automerge parses them.
fn load_stored(bytes: &[u8]) -> Result<Automerge, Refusal> {
    chunks::load(bytes).map_err(|e| {
        refuse(
            RejectCode::InvalidRecord,
            format!("stored document unreadable: {e}"),
        )
    })
}

/// Who is pushing: the authenticated user and the Automerge actors of their registered devices.
pub struct Writer<'a> {
    pub user_id: &'a str,
    pub actor_allowed: &'a dyn Fn(&ActorId) -> bool,
}

impl std::fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// One document's pushed changes, checked without the stored document: each is exactly one
/// change chunk with an intact checksum, parses, and is authored by one of the writer's
/// devices. Cheap, so a push of junk costs no document load.
#[derive(Debug, Clone)]
pub struct CheckedChanges {
    changes: Vec<Change>,
}

impl CheckedChanges {
    /// The changes' hex hashes, in push order.
    pub fn hashes(&self) -> Vec<String> {
        self.changes.iter().map(|c| c.hash().to_string()).collect()
    }
}

/// Checks a document's raw pushed changes before anything is loaded or stored.
pub fn check_changes(raw: &[Vec<u8>], writer: &Writer<'_>) -> Result<CheckedChanges, Refusal> {
    let mut changes = Vec::with_capacity(raw.len());
    for (index, bytes) in raw.iter().enumerate() {
        chunks::check_change(bytes).map_err(|reason| {
            refuse(
                RejectCode::MalformedChange,
                format!("change {index} is not an intact Automerge change: {reason}"),
            )
        })?;
        let change = contained(|| {
            Change::from_bytes(bytes.clone()).map_err(|e| {
                refuse(
                    RejectCode::MalformedChange,
                    format!("change {index} is not an Automerge change: {e}"),
                )
            })
        })?;
        if contained(|| Ok(carries_marks(bytes, &change)))? {
            return Err(refuse(
                RejectCode::MalformedChange,
                format!("change {index} carries text marks, which no record has"),
            ));
        }
        if !(writer.actor_allowed)(change.actor_id()) {
            return Err(refuse(
                RejectCode::ForeignActor,
                "a change was authored by a device not registered to this user",
            ));
        }
        changes.push(change);
    }
    Ok(CheckedChanges { changes })
}

/// Whether `change` has a mark operation (rich-text formatting). No record holds marks, and
/// Automerge 0.12 aborts the process applying one on a map: it panics in its mark index and
/// panics again while unwinding, which no `catch_unwind` contains (fuzz finding 7,
/// `fuzz/README.md`). So a change with marks is refused before anything applies it. Read from
/// the change's action column (`chunks::has_mark_action`, no allocation); decoded by Automerge
/// only when that column does not read as expected.
fn carries_marks(bytes: &[u8], change: &Change) -> bool {
    if let Some(marks) = chunks::has_mark_action(bytes) {
        return marks;
    }
    change.decode().operations.iter().any(|op| {
        matches!(
            op.action,
            automerge::legacy::OpType::MarkBegin(..) | automerge::legacy::OpType::MarkEnd(..)
        )
    })
}

/// Whether `doc` has applied the change `hash`. Cheap: a lookup in the change graph (Automerge's
/// `get_change_by_hash` rebuilds the whole change), valid because the server never keeps
/// changes with missing dependencies queued in a document.
fn has_change(doc: &Automerge, hash: ChangeHash) -> bool {
    doc.get_missing_deps(&[hash]).is_empty()
}

/// Applies checked `changes` (pushed for `doc_id`, declared of kind `kind`) to `existing` (the
/// server's copy, if any). Changes the server already has are acknowledged again; new ones must
/// complete the document (no missing dependencies) and leave a valid record that keeps every
/// invariant of [`invariants`] against the record before the push. A panic inside Automerge
/// refuses the document and drops the half-merged copy.
pub fn apply_push(
    existing: Option<Current>,
    doc_id: &str,
    kind: Kind,
    changes: CheckedChanges,
    writer: &Writer<'_>,
) -> Result<Accepted, Refusal> {
    contained(|| merge(existing, doc_id, kind, changes.changes, writer))
}

fn merge(
    existing: Option<Current>,
    doc_id: &str,
    kind: Kind,
    parsed: Vec<Change>,
    writer: &Writer<'_>,
) -> Result<Accepted, Refusal> {
    let (mut doc, previous) = match existing {
        Some(Current { doc, record }) => (doc, Some(record)),
        None => (Automerge::new(), None),
    };
    let acknowledged: Vec<String> = parsed.iter().map(|c| c.hash().to_string()).collect();
    let mut new_changes = Vec::new();
    let mut new_hashes: Vec<ChangeHash> = Vec::new();
    for change in &parsed {
        let hash = change.hash();
        if has_change(&doc, hash) || new_hashes.contains(&hash) {
            continue;
        }
        new_hashes.push(hash);
        new_changes.push((hash.to_string(), change.raw_bytes().to_vec()));
    }
    if new_changes.is_empty() {
        // A retried push: everything is already committed.
        let record = previous
            .clone()
            .ok_or_else(|| refuse(RejectCode::InvalidRecord, "empty document"))?;
        return Ok(Accepted {
            doc,
            record,
            previous,
            new_changes,
            acknowledged,
        });
    }
    doc.apply_changes(parsed).map_err(|e| {
        refuse(
            RejectCode::MalformedChange,
            format!("changes do not apply: {e}"),
        )
    })?;
    // Changes whose dependencies are missing stay queued inside the document: refuse them.
    if let Some(missing) = doc.get_missing_deps(&[]).first() {
        let waiting = new_hashes
            .iter()
            .find(|hash| !has_change(&doc, **hash))
            .map_or_else(|| missing.to_string(), ToString::to_string);
        return Err(refuse(
            RejectCode::InvalidRecord,
            format!("change {waiting} depends on changes the server does not have"),
        ));
    }
    let record =
        AnyRecord::read(&doc).map_err(|e| refuse(RejectCode::InvalidRecord, e.to_string()))?;
    if record.meta().id != doc_id || record.kind() != kind {
        return Err(refuse(
            RejectCode::InvalidRecord,
            format!("the document is not the {kind} {doc_id} it was pushed as"),
        ));
    }
    invariants::check(&doc, previous.as_ref(), &record, writer.user_id)?;
    Ok(Accepted {
        doc,
        record,
        previous,
        new_changes,
        acknowledged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Customer, GpsStamp, Visit, VisitStatus};
    use crate::store::Store;

    fn device(dir: &tempfile::TempDir, name: &str) -> Store {
        let store = Store::open(dir.path().join(name)).unwrap();
        store.set_user(name).unwrap();
        store
    }

    fn pushed(store: &Store, doc_id: &str) -> Vec<Vec<u8>> {
        store
            .pending_changes(1000)
            .unwrap()
            .into_iter()
            .filter(|c| c.doc_id == doc_id)
            .map(|c| c.bytes)
            .collect()
    }

    fn actor_of(store: &Store) -> ActorId {
        ActorId::from(hex::decode(store.actor_id()).unwrap())
    }

    /// Checks and applies `changes` as pushed by `user` whose devices pass `allowed`.
    fn push(
        existing: Option<Current>,
        doc_id: &str,
        kind: Kind,
        changes: &[Vec<u8>],
        user: &str,
        allowed: &dyn Fn(&ActorId) -> bool,
    ) -> Result<Accepted, Refusal> {
        let writer = Writer {
            user_id: user,
            actor_allowed: allowed,
        };
        let checked = check_changes(changes, &writer)?;
        apply_push(existing, doc_id, kind, checked, &writer)
    }

    #[test]
    fn accepts_new_documents_and_acknowledges_retries_without_new_changes() {
        let dir = tempfile::tempdir().unwrap();
        let anna = device(&dir, "anna");
        let c = anna.create(Customer::new("Kiosk")).unwrap();
        let actor = actor_of(&anna);
        let changes = pushed(&anna, &c.meta.id);
        let accepted = push(None, &c.meta.id, Kind::Customer, &changes, "anna", &|a| {
            *a == actor
        })
        .unwrap();
        assert_eq!(accepted.new_changes.len(), 1);
        assert!(accepted.previous.is_none());
        let retry = push(
            Some(Current::from_doc(accepted.doc.clone()).unwrap()),
            &c.meta.id,
            Kind::Customer,
            &changes,
            "anna",
            &|a| *a == actor,
        )
        .unwrap();
        assert!(retry.new_changes.is_empty(), "known changes add nothing");
        assert_eq!(retry.acknowledged, accepted.acknowledged);
    }

    #[test]
    fn refuses_foreign_actors_malformed_bytes_and_wrong_ids() {
        let dir = tempfile::tempdir().unwrap();
        let anna = device(&dir, "anna");
        let c = anna.create(Customer::new("Kiosk")).unwrap();
        let changes = pushed(&anna, &c.meta.id);
        let foreign = push(None, &c.meta.id, Kind::Customer, &changes, "anna", &|_| {
            false
        })
        .unwrap_err();
        assert_eq!(foreign.code, RejectCode::ForeignActor);
        let garbage = push(
            None,
            &c.meta.id,
            Kind::Customer,
            &[vec![1, 2, 3]],
            "anna",
            &|_| true,
        )
        .unwrap_err();
        assert_eq!(garbage.code, RejectCode::MalformedChange);
        let wrong_id = push(
            None,
            "another-id",
            Kind::Customer,
            &changes,
            "anna",
            &|_| true,
        )
        .unwrap_err();
        assert_eq!(wrong_id.code, RejectCode::InvalidRecord);
        let wrong_kind =
            push(None, &c.meta.id, Kind::Visit, &changes, "anna", &|_| true).unwrap_err();
        assert_eq!(wrong_kind.code, RejectCode::InvalidRecord);
        let forged_author =
            push(None, &c.meta.id, Kind::Customer, &changes, "ben", &|_| true).unwrap_err();
        assert_eq!(forged_author.code, RejectCode::InvalidRecord);
        let mut bad_checksum = changes[0].clone();
        bad_checksum[4] ^= 0xff;
        let damaged = push(
            None,
            &c.meta.id,
            Kind::Customer,
            &[bad_checksum],
            "anna",
            &|_| true,
        )
        .unwrap_err();
        assert_eq!(damaged.code, RejectCode::MalformedChange);
    }

    #[test]
    fn refuses_missing_dependencies_and_rewrites_of_written_once_fields() {
        let dir = tempfile::tempdir().unwrap();
        let anna = device(&dir, "anna");
        let mut v = anna.create(Visit::new("customer-1", "anna")).unwrap();
        v.status = VisitStatus::InProgress;
        v.check_in = Some(GpsStamp {
            at: 1_790_000_000_000,
            lat: 52.5,
            lon: 13.4,
            accuracy_m: 5.0,
            fix_at: 1_790_000_000_000,
            mock: false,
        });
        anna.update(v.clone()).unwrap();
        let changes = pushed(&anna, &v.meta.id);
        let orphan = push(
            None,
            &v.meta.id,
            Kind::Visit,
            &changes[1..],
            "anna",
            &|_| true,
        )
        .unwrap_err();
        assert_eq!(orphan.code, RejectCode::InvalidRecord);
        let accepted = push(None, &v.meta.id, Kind::Visit, &changes, "anna", &|_| true).unwrap();

        // A second device that checked in concurrently overwrites the check-in on merge.
        let ben = device(&dir, "ben");
        ben.import(vec![crate::IncomingDoc {
            doc_id: v.meta.id.clone(),
            payload: crate::IncomingPayload::Changes(changes[..1].to_vec()),
        }])
        .unwrap();
        let mut on_ben: Visit = ben.get(&v.meta.id).unwrap().unwrap();
        on_ben.status = VisitStatus::InProgress;
        on_ben.check_in = Some(GpsStamp {
            lat: 48.1,
            lon: 11.6,
            ..v.check_in.clone().unwrap()
        });
        ben.update(on_ben).unwrap();
        let ben_changes = pushed(&ben, &v.meta.id);
        let result = push(
            Some(Current::from_doc(accepted.doc.clone()).unwrap()),
            &v.meta.id,
            Kind::Visit,
            &ben_changes[ben_changes.len() - 1..],
            "ben",
            &|_| true,
        );
        // Whichever check-in wins the merge, a check-in already written must not change.
        match result {
            Err(refusal) => assert_eq!(refusal.code, RejectCode::ImmutableField),
            Ok(accepted) => match accepted.record {
                AnyRecord::Visit(merged) => assert_eq!(merged.check_in, v.check_in),
                other => panic!("visit expected, got {other:?}"),
            },
        }
    }
}

//! Count limits enforced while a message is decoded: a sequence longer than its limit is
//! refused as soon as its declared length is read, before anything is reserved for it, and
//! again as elements arrive (for formats that do not declare lengths). Byte strings are read
//! from the input as they are (postcard hands out a slice of what is really there), never
//! reserved from a declared length.
//!
//! postcard discards the message of a serde error, so the limit that was hit is also noted in
//! a thread-local that [`super::decode`] reads back into a typed
//! [`super::ProtocolError::LimitExceeded`].

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use super::{
    DocChanges, MAX_CHANGES_PER_DOC, MAX_CHANGES_PER_PUSH, MAX_DOC_ID_LEN, MAX_DOCS_PER_PUSH,
    PushRequest,
};
use crate::model::Kind;

/// Elements reserved up front at most, whatever a sequence declares; more grow as they arrive.
const PREALLOC_MAX: usize = 64;

/// A limit a message went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Exceeded {
    pub what: &'static str,
    pub limit: usize,
}

thread_local! {
    static EXCEEDED: Cell<Option<Exceeded>> = const { Cell::new(None) };
}

/// Forgets a limit noted by an earlier decode on this thread.
pub(super) fn reset() {
    EXCEEDED.with(|cell| cell.set(None));
}

/// The limit the last failed decode on this thread went over, if that is why it failed.
pub(super) fn take_exceeded() -> Option<Exceeded> {
    EXCEEDED.with(Cell::take)
}

fn exceeded<E: de::Error>(what: &'static str, limit: usize) -> E {
    EXCEEDED.with(|cell| cell.set(Some(Exceeded { what, limit })));
    E::custom(format_args!("more than {limit} {what}"))
}

/// Reads a sequence of at most `limit` elements, each with a seed from `seed`.
struct BoundedSeq<T, F> {
    what: &'static str,
    limit: usize,
    seed: F,
    value: PhantomData<T>,
}

impl<'de, T, S, F> Visitor<'de> for BoundedSeq<T, F>
where
    S: DeserializeSeed<'de, Value = T>,
    F: FnMut() -> S,
{
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at most {} {}", self.limit, self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let declared = seq.size_hint().unwrap_or(0);
        if declared > self.limit {
            return Err(exceeded(self.what, self.limit));
        }
        let mut out = Vec::with_capacity(declared.min(PREALLOC_MAX));
        while let Some(item) = seq.next_element_seed((self.seed)())? {
            if out.len() == self.limit {
                return Err(exceeded(self.what, self.limit));
            }
            out.push(item);
        }
        Ok(out)
    }
}

fn seq_with<'de, D, T, S, F>(
    deserializer: D,
    what: &'static str,
    limit: usize,
    seed: F,
) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    S: DeserializeSeed<'de, Value = T>,
    F: FnMut() -> S,
{
    deserializer.deserialize_seq(BoundedSeq {
        what,
        limit,
        seed,
        value: PhantomData,
    })
}

/// A sequence of plain elements, at most `limit` of them.
pub(super) fn seq<'de, D, T>(
    deserializer: D,
    what: &'static str,
    limit: usize,
) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    seq_with(deserializer, what, limit, || PhantomData::<T>)
}

/// A string of at most `limit` bytes.
pub(super) fn string<'de, D: Deserializer<'de>>(
    deserializer: D,
    what: &'static str,
    limit: usize,
) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    if value.len() > limit {
        return Err(exceeded(what, limit));
    }
    Ok(value)
}

/// A byte string, read as bytes (no reservation from a declared length); the same wire format
/// as a `Vec<u8>` in postcard.
struct Bytes;

impl<'de> DeserializeSeed<'de> for Bytes {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for Bytes {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
        Ok(bytes.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(bytes)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            out.push(byte);
        }
        Ok(out)
    }
}

/// Raw Automerge changes of one document: at most `per_doc`, and each one taken from `budget`
/// (what the whole message may still carry).
struct Changes<'b> {
    what: &'static str,
    per_doc: usize,
    budget: Option<&'b Budget>,
}

/// Changes a whole message may still carry.
struct Budget {
    what: &'static str,
    left: Cell<usize>,
}

impl Budget {
    fn new(what: &'static str, limit: usize) -> Self {
        Budget {
            what,
            left: Cell::new(limit),
        }
    }

    fn take<E: de::Error>(&self, count: usize, limit: usize) -> Result<(), E> {
        match self.left.get().checked_sub(count) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(exceeded(self.what, limit)),
        }
    }
}

impl<'de> Visitor<'de> for Changes<'_> {
    type Value = Vec<Vec<u8>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at most {} {}", self.per_doc, self.what)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Vec<u8>>, A::Error> {
        let declared = seq.size_hint().unwrap_or(0);
        if declared > self.per_doc {
            return Err(exceeded(self.what, self.per_doc));
        }
        if let Some(budget) = self.budget {
            budget.take(declared, MAX_CHANGES_PER_PUSH)?;
        }
        let mut out = Vec::with_capacity(declared.min(PREALLOC_MAX));
        while let Some(change) = seq.next_element_seed(Bytes)? {
            if out.len() == self.per_doc {
                return Err(exceeded(self.what, self.per_doc));
            }
            // Formats that declare no length are counted as elements arrive.
            if out.len() >= declared
                && let Some(budget) = self.budget
            {
                budget.take(1, MAX_CHANGES_PER_PUSH)?;
            }
            out.push(change);
        }
        Ok(out)
    }
}

/// `Vec<Vec<u8>>` of changes in a pulled document (device side).
pub(super) fn pulled_changes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Vec<u8>>, D::Error> {
    deserializer.deserialize_seq(Changes {
        what: "changes in a pulled document",
        per_doc: super::MAX_CHANGES_PER_PULLED_DOC,
        budget: None,
    })
}

/// `Vec<u8>` read as a byte string (snapshots).
pub(super) fn bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    Bytes.deserialize(deserializer)
}

// A push, decoded with one budget for the changes of all its documents.

impl<'de> Deserialize<'de> for PushRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("PushRequest", &["docs"], PushRequestVisitor)
    }
}

struct PushRequestVisitor;

impl<'de> Visitor<'de> for PushRequestVisitor {
    type Value = PushRequest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a push request")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PushRequest, A::Error> {
        let budget = Budget::new("changes in a push", MAX_CHANGES_PER_PUSH);
        let docs = seq
            .next_element_seed(Docs { budget: &budget })?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        Ok(PushRequest { docs })
    }
}

struct Docs<'b> {
    budget: &'b Budget,
}

impl<'de> DeserializeSeed<'de> for Docs<'_> {
    type Value = Vec<DocChanges>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let budget = self.budget;
        seq_with(
            deserializer,
            "documents in a push",
            MAX_DOCS_PER_PUSH,
            || DocChangesSeed { budget },
        )
    }
}

struct DocChangesSeed<'b> {
    budget: &'b Budget,
}

impl<'de> DeserializeSeed<'de> for DocChangesSeed<'_> {
    type Value = DocChanges;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<DocChanges, D::Error> {
        deserializer.deserialize_struct("DocChanges", &["doc_id", "kind", "changes"], self)
    }
}

/// The document id, read with its length limit.
struct DocId;

impl<'de> DeserializeSeed<'de> for DocId {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        string(deserializer, "bytes in a document id", MAX_DOC_ID_LEN)
    }
}

impl<'de> Visitor<'de> for DocChangesSeed<'_> {
    type Value = DocChanges;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a document's changes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DocChanges, A::Error> {
        let doc_id = seq
            .next_element_seed(DocId)?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let kind: Kind = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let changes = seq
            .next_element_seed(ChangesSeed(Changes {
                what: "changes in one document",
                per_doc: MAX_CHANGES_PER_DOC,
                budget: Some(self.budget),
            }))?
            .ok_or_else(|| de::Error::invalid_length(2, &self))?;
        Ok(DocChanges {
            doc_id,
            kind,
            changes,
        })
    }
}

struct ChangesSeed<'b>(Changes<'b>);

impl<'de> DeserializeSeed<'de> for ChangesSeed<'_> {
    type Value = Vec<Vec<u8>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self.0)
    }
}

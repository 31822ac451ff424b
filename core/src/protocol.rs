//! The sync protocol's messages and their wire format, shared by the device (the sync session in
//! `sync.rs`) and the server. Described for people in `docs/PROTOCOL.md`.
//!
//! Wire format of every message body:
//! ```text
//! "FCRM"  4 bytes   magic
//! version 1 byte    the protocol version the payload is written in
//! flags   1 byte    bit 0: the rest is raw DEFLATE-compressed
//! payload           postcard encoding of the message
//! ```
//!
//! Versions: a device writes its requests in the newest version it speaks
//! ([`PROTOCOL_VERSION`]), and the server answers in the version of the request, serving every
//! version from [`OLDEST_PROTOCOL_VERSION`] on; an older one gets
//! [`ProtocolError::UpgradeRequired`]. Most messages are laid out alike in every version (they
//! implement [`SameInEveryVersion`] and go through [`encode`] and [`decode`]); a pull page is
//! not (version 1 inlines the record of a snapshot, version 2 wraps it in a [`WireRecord`] that
//! names its format; version 3 is laid out as version 2, and its apps know products and orders;
//! version 4 is laid out as version 3, and its apps know activities),
//! and goes through [`encode_pull_response`] and [`decode_pull_response`]
//! (refetch answers likewise).

use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Fix, Kind};

mod bounded;
mod v1;
mod wire_record;

pub use wire_record::{RECORD_FORMAT, WireRecord};

pub const MAGIC: [u8; 4] = *b"FCRM";
/// The protocol version this code writes: version 2 wraps a snapshot's record in a
/// [`WireRecord`]; version 3 is laid out as version 2 and says that the app knows products and
/// orders; version 4 is laid out as version 3 and says that it knows activities
/// ([`first_version_knowing`]).
pub const PROTOCOL_VERSION: u8 = 4;

/// The first protocol version whose apps know documents of `kind`. Older apps cannot read such
/// a document (its kind is unknown to them, and a version 1 page holding its record would not
/// decode at all), so the server holds it back from their pulls and refetches, while their
/// cursor moves past it.
pub fn first_version_knowing(kind: Kind) -> u8 {
    match kind {
        Kind::Customer
        | Kind::Contact
        | Kind::Opportunity
        | Kind::Visit
        | Kind::Task
        | Kind::Case => 1,
        Kind::Product | Kind::Order => 3,
        Kind::Activity => 4,
    }
}
/// The oldest protocol version this code still reads and answers in (apps installed before
/// version 2 keep syncing).
pub const OLDEST_PROTOCOL_VERSION: u8 = 1;
/// The media type of protocol bodies on HTTP.
pub const CONTENT_TYPE: &str = "application/vnd.fieldcrm.sync";

const FLAG_DEFLATE: u8 = 0b0000_0001;
const HEADER_LEN: usize = 6;
/// Payloads smaller than this are sent uncompressed: DEFLATE would not pay for itself.
const COMPRESS_FROM: usize = 256;

// Count limits, enforced by `decode` while it reads (see `bounded.rs`): a message over any of
// them is refused with `limit_exceeded` before anything is reserved for it. Honest devices
// stay within them by construction (`Store::push_request`, `SyncSession`).

/// Most documents one push may carry.
pub const MAX_DOCS_PER_PUSH: usize = 2_000;
/// Most changes one document of a push may carry.
pub const MAX_CHANGES_PER_DOC: usize = 1_000;
/// Most changes one push may carry, over all its documents.
pub const MAX_CHANGES_PER_PUSH: usize = 5_000;
/// Longest document id, in bytes (record ids are 36-character UUIDs).
pub const MAX_DOC_ID_LEN: usize = 64;
/// Longest ping batch id, in bytes (the device makes a 36-character UUID).
pub const MAX_BATCH_ID_LEN: usize = 64;
/// Most documents a pull page may carry (device side; the server sends at most its own page
/// size, which is no more).
pub const MAX_DOCS_PER_PAGE: usize = 2_000;
/// Most changes one pulled document may carry (device side). A document with more changes
/// after a device's cursor is sent as a snapshot.
pub const MAX_CHANGES_PER_PULLED_DOC: usize = 100_000;

/// Why a message body could not be read. Each maps to a stable error code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("not a FieldCRM sync message")]
    BadMagic,
    /// Newer than this side speaks.
    #[error("protocol version {found} is not supported (this side speaks up to {supported})")]
    UnsupportedVersion { found: u8, supported: u8 },
    /// Older than this side still serves: the app must be updated.
    #[error(
        "protocol version {found} is no longer served (the oldest served is {oldest}): update the app"
    )]
    UpgradeRequired { found: u8, oldest: u8 },
    #[error("message is larger than {limit} bytes once decompressed")]
    TooLarge { limit: usize },
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A count or a length is over one of the protocol's limits (`MAX_*`).
    #[error("the message carries more than {limit} {what}")]
    LimitExceeded { what: &'static str, limit: usize },
}

impl ProtocolError {
    /// Stable, machine-readable code (also used by the server's HTTP errors).
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::BadMagic | ProtocolError::Malformed(_) => "malformed_message",
            ProtocolError::UnsupportedVersion { .. } => "unsupported_protocol_version",
            ProtocolError::UpgradeRequired { .. } => "upgrade_required",
            ProtocolError::TooLarge { .. } => "payload_too_large",
            ProtocolError::LimitExceeded { .. } => "limit_exceeded",
        }
    }
}

/// Device → server: local changes not yet acknowledged, grouped by document, in the order they
/// were made.
///
/// Decoded with the count limits above (documents, changes per document and in total, id
/// lengths) checked as it is read; see `bounded.rs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PushRequest {
    pub docs: Vec<DocChanges>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocChanges {
    pub doc_id: String,
    pub kind: Kind,
    /// Raw Automerge changes.
    pub changes: Vec<Vec<u8>>,
}

/// Server → device: what was committed (by change hash, hex) and what was refused, per
/// document. A change is acknowledged only once it is durably in the server's log.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PushResponse {
    #[serde(deserialize_with = "acknowledged_hashes")]
    pub acknowledged: Vec<String>,
    #[serde(deserialize_with = "rejected_docs")]
    pub rejected: Vec<Rejection>,
}

fn acknowledged_hashes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    bounded::seq(d, "acknowledged changes", MAX_CHANGES_PER_PUSH)
}

fn rejected_docs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Rejection>, D::Error> {
    bounded::seq(d, "rejected documents", MAX_DOCS_PER_PUSH)
}

fn rejected_hashes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    bounded::seq(d, "rejected changes in one document", MAX_CHANGES_PER_DOC)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub doc_id: String,
    /// The refused changes (hex hashes): every change of this document in the push.
    #[serde(deserialize_with = "rejected_hashes")]
    pub hashes: Vec<String>,
    pub code: RejectCode,
    /// For people; no personal data.
    pub reason: String,
}

/// Why the server refused a document's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectCode {
    /// The user may not write this document.
    Forbidden,
    /// A change's bytes are not a valid Automerge change.
    MalformedChange,
    /// A change was authored by an actor not registered to the pushing user's device.
    ForeignActor,
    /// The merged document breaks the data model's rules.
    InvalidRecord,
    /// The change rewrites a field that is written once (a visit's rep, a check-in, ...).
    ImmutableField,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::Forbidden => "forbidden",
            RejectCode::MalformedChange => "malformed_change",
            RejectCode::ForeignActor => "foreign_actor",
            RejectCode::InvalidRecord => "invalid_record",
            RejectCode::ImmutableField => "immutable_field",
        }
    }

    pub fn parse(code: &str) -> Option<RejectCode> {
        [
            RejectCode::Forbidden,
            RejectCode::MalformedChange,
            RejectCode::ForeignActor,
            RejectCode::InvalidRecord,
            RejectCode::ImmutableField,
        ]
        .into_iter()
        .find(|c| c.as_str() == code)
    }
}

/// Device → server: "send me what changed after `cursor`".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    /// 0 for a device that has nothing yet.
    pub cursor: u64,
    /// Upper bound on documents per page; the server may send fewer.
    pub limit: u32,
}

/// Server → device: one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    #[serde(deserialize_with = "pulled_docs")]
    pub docs: Vec<PulledDoc>,
    /// Documents that left the user's scope: the device forgets them.
    pub removals: Vec<String>,
    /// The cursor to send next time; store it only after applying this page.
    pub next_cursor: u64,
    pub has_more: bool,
}

pub(crate) fn pulled_docs<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    bounded::seq(d, "documents in a pull page", MAX_DOCS_PER_PAGE)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulledDoc {
    pub doc_id: String,
    pub payload: PulledPayload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PulledPayload {
    /// Changes after the device's cursor.
    Changes(#[serde(deserialize_with = "bounded::pulled_changes")] Vec<Vec<u8>>),
    /// A compacted document (fresh device, or a document newly in scope) with the record the
    /// server read from it, in a format the device may not know: the document is the truth
    /// (see [`WireRecord`]).
    Snapshot {
        #[serde(deserialize_with = "bounded::bytes")]
        bytes: Vec<u8>,
        record: WireRecord,
    },
}

/// The device keeps the changes of one push under this many bytes (a single larger change
/// still travels alone), well inside the server's request limits (4 MiB as sent and once
/// inflated, by default), so an honest push is never refused for its size.
pub const MAX_PUSH_PAYLOAD_BYTES: usize = 2 * 1024 * 1024;

/// Most pings one upload may carry.
pub const MAX_PINGS_PER_BATCH: usize = 5_000;

/// Device → server: location pings recorded between visits. Idempotent by `batch_id`: a batch
/// sent again (the acknowledgement was lost) is acknowledged again and stored once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PingUpload {
    /// UUID made by the device when it closed the batch.
    #[serde(deserialize_with = "batch_id")]
    pub batch_id: String,
    #[serde(deserialize_with = "pings")]
    pub pings: Vec<Fix>,
}

fn batch_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    bounded::string(d, "bytes in a batch id", MAX_BATCH_ID_LEN)
}

fn pings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Fix>, D::Error> {
    bounded::seq(d, "pings in a batch", MAX_PINGS_PER_BATCH)
}

fn refused_pings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<RefusedPing>, D::Error> {
    bounded::seq(d, "refused pings", MAX_PINGS_PER_BATCH)
}

/// Server → device: the batch is stored (or was already). Pings the server refused (a fix time
/// far in the future of the server's clock, say) are listed; the rest are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PingAck {
    pub batch_id: String,
    pub stored: u32,
    /// Pings the server already had (same fix time), from this batch or another.
    pub duplicates: u32,
    #[serde(deserialize_with = "refused_pings")]
    pub refused: Vec<RefusedPing>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedPing {
    /// The fix time of the refused ping (how the device knows it).
    pub at: i64,
    pub reason: String,
}

/// Most documents one refetch request may name; the server refuses a request over it.
pub const MAX_REFETCH_DOCS: usize = 100;

/// Device → server: "send me these documents again, each as its full change history". The
/// device asks for documents it could not load from an earlier pull (a snapshot failing its
/// chunk check, changes that do not apply, a snapshot whose verification failed). At most
/// [`MAX_REFETCH_DOCS`] ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefetchRequest {
    #[serde(deserialize_with = "refetch_ids")]
    pub doc_ids: Vec<String>,
}

pub(crate) fn refetch_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    bounded::seq(d, "documents in a refetch", MAX_REFETCH_DOCS)
}

/// A sequence of at most `limit` elements, for messages defined beside their feature (the
/// device's analytics snapshot, `insights/wire.rs`).
pub(crate) fn bounded_seq<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    what: &'static str,
    limit: usize,
) -> Result<Vec<T>, D::Error> {
    bounded::seq(d, what, limit)
}

/// Server → device: every requested document the user may see, as
/// [`PulledPayload::Changes`] holding all its changes in log order. An id the server does not
/// have and an id the user may not see are answered alike: listed in `missing` (the device
/// forgets it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefetchResponse {
    #[serde(deserialize_with = "refetched_docs")]
    pub docs: Vec<PulledDoc>,
    #[serde(deserialize_with = "refetch_ids")]
    pub missing: Vec<String>,
}

pub(crate) fn refetched_docs<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    bounded::seq(d, "documents in a refetch", MAX_REFETCH_DOCS)
}

/// A message laid out alike in every protocol version this code speaks: it is read from a
/// body of any of them, and written in whichever the other side asked in. Pull pages are not
/// (see [`encode_pull_response`]).
pub trait SameInEveryVersion: Serialize + DeserializeOwned + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
}

macro_rules! same_in_every_version {
    ($($message:ty),*) => {$(
        impl sealed::Sealed for $message {}
        impl SameInEveryVersion for $message {}
    )*};
}
same_in_every_version!(
    PushRequest,
    PushResponse,
    PullRequest,
    PingUpload,
    PingAck,
    RefetchRequest,
    crate::insights::InsightsPage
);

/// The protocol version a body is written in, when this side reads it: refused when it is not
/// a protocol message, newer than [`PROTOCOL_VERSION`], or older than
/// [`OLDEST_PROTOCOL_VERSION`].
pub fn version_of(body: &[u8]) -> Result<u8, ProtocolError> {
    if body.len() < HEADER_LEN || body[..4] != MAGIC {
        return Err(ProtocolError::BadMagic);
    }
    match body[4] {
        found if found > PROTOCOL_VERSION => Err(ProtocolError::UnsupportedVersion {
            found,
            supported: PROTOCOL_VERSION,
        }),
        found if found < OLDEST_PROTOCOL_VERSION => Err(ProtocolError::UpgradeRequired {
            found,
            oldest: OLDEST_PROTOCOL_VERSION,
        }),
        found => Ok(found),
    }
}

/// Encodes a message body in the current protocol version.
pub fn encode<T: SameInEveryVersion>(message: &T) -> Result<Vec<u8>, ProtocolError> {
    encode_as(message, PROTOCOL_VERSION)
}

/// Encodes a message body in `version` (the version of the request being answered).
pub fn encode_as<T: SameInEveryVersion>(
    message: &T,
    version: u8,
) -> Result<Vec<u8>, ProtocolError> {
    frame(message, version)
}

/// Decodes a message body of any version this side speaks, refusing anything that would
/// decompress past `max_decompressed` bytes (a compression bomb stops at the limit, it is never
/// inflated in full).
pub fn decode<T: SameInEveryVersion>(
    body: &[u8],
    max_decompressed: usize,
) -> Result<T, ProtocolError> {
    Ok(decode_versioned(body, max_decompressed)?.0)
}

/// [`decode`], also giving the version the body was written in (to answer in it).
pub fn decode_versioned<T: SameInEveryVersion>(
    body: &[u8],
    max_decompressed: usize,
) -> Result<(T, u8), ProtocolError> {
    let version = version_of(body)?;
    Ok((read_payload(&unframe(body, max_decompressed)?)?, version))
}

/// Encodes a pull page in `version`: in version 1 each snapshot carries its record inline.
pub fn encode_pull_response(page: &PullResponse, version: u8) -> Result<Vec<u8>, ProtocolError> {
    match version {
        1 => frame(&v1::PullResponse::try_from(page)?, version),
        _ => frame(page, version),
    }
}

/// Decodes a pull page of any version this side speaks, as the current version's page.
pub fn decode_pull_response(
    body: &[u8],
    max_decompressed: usize,
) -> Result<PullResponse, ProtocolError> {
    let version = version_of(body)?;
    let payload = unframe(body, max_decompressed)?;
    match version {
        1 => read_payload::<v1::PullResponse>(&payload)?.try_into(),
        _ => read_payload(&payload),
    }
}

/// Encodes a refetch answer in `version` (see [`encode_pull_response`]).
pub fn encode_refetch_response(
    response: &RefetchResponse,
    version: u8,
) -> Result<Vec<u8>, ProtocolError> {
    match version {
        1 => frame(&v1::RefetchResponse::try_from(response)?, version),
        _ => frame(response, version),
    }
}

/// Decodes a refetch answer of any version this side speaks.
pub fn decode_refetch_response(
    body: &[u8],
    max_decompressed: usize,
) -> Result<RefetchResponse, ProtocolError> {
    let version = version_of(body)?;
    let payload = unframe(body, max_decompressed)?;
    match version {
        1 => read_payload::<v1::RefetchResponse>(&payload)?.try_into(),
        _ => read_payload(&payload),
    }
}

/// Header, then the postcard payload, deflated when worth it.
fn frame<T: Serialize>(message: &T, version: u8) -> Result<Vec<u8>, ProtocolError> {
    if !(OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
        return Err(ProtocolError::UnsupportedVersion {
            found: version,
            supported: PROTOCOL_VERSION,
        });
    }
    let payload =
        postcard::to_stdvec(message).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() / 2 + 16);
    out.extend_from_slice(&MAGIC);
    out.push(version);
    if payload.len() < COMPRESS_FROM {
        out.push(0);
        out.extend_from_slice(&payload);
        return Ok(out);
    }
    out.push(FLAG_DEFLATE);
    let mut encoder = flate2::write::DeflateEncoder::new(out, flate2::Compression::fast());
    encoder
        .write_all(&payload)
        .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    encoder
        .finish()
        .map_err(|e| ProtocolError::Malformed(e.to_string()))
}

/// The payload of a body whose header [`version_of`] accepted, inflated within
/// `max_decompressed` bytes.
fn unframe(
    body: &[u8],
    max_decompressed: usize,
) -> Result<std::borrow::Cow<'_, [u8]>, ProtocolError> {
    version_of(body)?;
    let flags = body[5];
    if flags & !FLAG_DEFLATE != 0 {
        return Err(ProtocolError::Malformed(format!(
            "unknown flags {flags:#04x}"
        )));
    }
    let rest = &body[HEADER_LEN..];
    let payload = if flags & FLAG_DEFLATE != 0 {
        // Sized by our own limit, never by the request: inflating fills it without the copies
        // a growing buffer makes (a doubling buffer held twice the payload at its peak), and
        // only the pages actually written take memory.
        let mut buffer = Vec::with_capacity(max_decompressed.saturating_add(1).min(64 << 20));
        let limit = u64::try_from(max_decompressed)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        flate2::read::DeflateDecoder::new(rest)
            .take(limit)
            .read_to_end(&mut buffer)
            .map_err(|e| ProtocolError::Malformed(format!("bad compression: {e}")))?;
        std::borrow::Cow::Owned(buffer)
    } else {
        std::borrow::Cow::Borrowed(rest)
    };
    if payload.len() > max_decompressed {
        return Err(ProtocolError::TooLarge {
            limit: max_decompressed,
        });
    }
    Ok(payload)
}

/// The postcard message of a whole payload, with the count limits of `bounded.rs`.
fn read_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, ProtocolError> {
    bounded::reset();
    let (message, unread) =
        postcard::take_from_bytes(payload).map_err(|e| match bounded::take_exceeded() {
            Some(bounded::Exceeded { what, limit }) => ProtocolError::LimitExceeded { what, limit },
            None => ProtocolError::Malformed(e.to_string()),
        })?;
    if !unread.is_empty() {
        return Err(ProtocolError::Malformed(
            "trailing bytes after the message".to_owned(),
        ));
    }
    Ok(message)
}

#[cfg(test)]
mod tests;

//! The sync protocol's messages and their wire format, shared by the device (the sync session in
//! `sync.rs`) and the server. Described for people in `docs/PROTOCOL.md`.
//!
//! Wire format of every message body:
//! ```text
//! "FCRM"  4 bytes   magic
//! version 1 byte    PROTOCOL_VERSION
//! flags   1 byte    bit 0: the rest is raw DEFLATE-compressed
//! payload           postcard encoding of the message
//! ```

use std::io::{Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::Kind;
use crate::record::AnyRecord;
use crate::route::Fix;

mod bounded;

pub const MAGIC: [u8; 4] = *b"FCRM";
pub const PROTOCOL_VERSION: u8 = 1;
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
    #[error("protocol version {found} is not supported (this side speaks {supported})")]
    UnsupportedVersion { found: u8, supported: u8 },
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

fn pulled_docs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PulledDoc>, D::Error> {
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
    /// server read from it.
    Snapshot {
        #[serde(deserialize_with = "bounded::bytes")]
        bytes: Vec<u8>,
        record: Box<AnyRecord>,
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

fn refetch_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    bounded::seq(d, "documents in a refetch", MAX_REFETCH_DOCS)
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

fn refetched_docs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PulledDoc>, D::Error> {
    bounded::seq(d, "documents in a refetch", MAX_REFETCH_DOCS)
}

/// Encodes a message body: header, then the postcard payload, deflated when worth it.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, ProtocolError> {
    let payload =
        postcard::to_stdvec(message).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() / 2 + 16);
    out.extend_from_slice(&MAGIC);
    out.push(PROTOCOL_VERSION);
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

/// Decodes a message body, refusing anything that would decompress past `max_decompressed`
/// bytes (a compression bomb stops at the limit, it is never inflated in full).
pub fn decode<T: DeserializeOwned>(
    body: &[u8],
    max_decompressed: usize,
) -> Result<T, ProtocolError> {
    if body.len() < HEADER_LEN || body[..4] != MAGIC {
        return Err(ProtocolError::BadMagic);
    }
    if body[4] != PROTOCOL_VERSION {
        return Err(ProtocolError::UnsupportedVersion {
            found: body[4],
            supported: PROTOCOL_VERSION,
        });
    }
    let flags = body[5];
    if flags & !FLAG_DEFLATE != 0 {
        return Err(ProtocolError::Malformed(format!(
            "unknown flags {flags:#04x}"
        )));
    }
    let rest = &body[HEADER_LEN..];
    let inflated;
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
        inflated = buffer;
        &inflated[..]
    } else {
        rest
    };
    if payload.len() > max_decompressed {
        return Err(ProtocolError::TooLarge {
            limit: max_decompressed,
        });
    }
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
mod tests {
    use super::*;
    use crate::model::Customer;

    const LIMIT: usize = 1 << 20;

    fn push() -> PushRequest {
        PushRequest {
            docs: vec![DocChanges {
                doc_id: "0190a0b0-0000-7000-8000-000000000001".into(),
                kind: Kind::Customer,
                changes: vec![vec![7; 300], vec![1, 2, 3]],
            }],
        }
    }

    #[test]
    fn messages_round_trip_compressed_or_not() {
        let big = encode(&push()).unwrap();
        assert_eq!(big[5], FLAG_DEFLATE);
        assert_eq!(decode::<PushRequest>(&big, LIMIT).unwrap(), push());
        let small = PullRequest {
            cursor: 42,
            limit: 500,
        };
        let bytes = encode(&small).unwrap();
        assert_eq!(bytes[5], 0);
        assert_eq!(decode::<PullRequest>(&bytes, LIMIT).unwrap(), small);
        let page = PullResponse {
            docs: vec![PulledDoc {
                doc_id: "c1".into(),
                payload: PulledPayload::Snapshot {
                    bytes: vec![1, 2],
                    record: Box::new(AnyRecord::Customer(Customer::new("Café Mitte"))),
                },
            }],
            removals: vec!["c2".into()],
            next_cursor: 9,
            has_more: true,
        };
        assert_eq!(
            decode::<PullResponse>(&encode(&page).unwrap(), LIMIT).unwrap(),
            page
        );
    }

    #[test]
    fn bad_bodies_get_typed_errors() {
        let good = encode(&push()).unwrap();
        assert_eq!(
            decode::<PushRequest>(b"", LIMIT),
            Err(ProtocolError::BadMagic)
        );
        assert_eq!(
            decode::<PushRequest>(b"GET / HTTP/1.1", LIMIT),
            Err(ProtocolError::BadMagic)
        );
        let mut future = good.clone();
        future[4] = 9;
        assert_eq!(
            decode::<PushRequest>(&future, LIMIT),
            Err(ProtocolError::UnsupportedVersion {
                found: 9,
                supported: PROTOCOL_VERSION
            })
        );
        for cut in [HEADER_LEN, HEADER_LEN + 3, good.len() / 2, good.len() - 1] {
            let err = decode::<PushRequest>(&good[..cut], LIMIT).unwrap_err();
            assert_eq!(err.code(), "malformed_message", "cut at {cut}: {err}");
        }
        let mut flags = good.clone();
        flags[5] = 0x80;
        assert!(matches!(
            decode::<PushRequest>(&flags, LIMIT),
            Err(ProtocolError::Malformed(_))
        ));
        let mut trailing = encode(&PullRequest {
            cursor: 1,
            limit: 1,
        })
        .unwrap();
        trailing.push(0);
        assert!(matches!(
            decode::<PullRequest>(&trailing, LIMIT),
            Err(ProtocolError::Malformed(_))
        ));
    }

    fn empty_docs(count: usize) -> PushRequest {
        PushRequest {
            docs: (0..count)
                .map(|i| DocChanges {
                    doc_id: format!("{i:036}"),
                    kind: Kind::Customer,
                    changes: vec![],
                })
                .collect(),
        }
    }

    fn exceeded(what: &'static str, limit: usize) -> Result<PushRequest, ProtocolError> {
        Err(ProtocolError::LimitExceeded { what, limit })
    }

    /// A body declaring `count` empty document entries without carrying them: the declared
    /// length, then one real entry.
    fn declaring_docs(count: usize) -> Vec<u8> {
        let one = postcard::to_stdvec(&empty_docs(1)).unwrap();
        let mut payload = Vec::new();
        let mut n = count as u64;
        while n >= 0x80 {
            payload.push((n as u8) | 0x80);
            n >>= 7;
        }
        payload.push(n as u8);
        payload.extend_from_slice(&one[1..]);
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&[PROTOCOL_VERSION, 0]);
        body.extend_from_slice(&payload);
        body
    }

    #[test]
    fn a_million_empty_entries_are_refused_before_they_are_read() {
        // The body of the finding: a deflated push of a million real empty entries.
        let entry = DocChanges {
            doc_id: String::new(),
            kind: Kind::Customer,
            changes: vec![],
        };
        let body = encode(&PushRequest {
            docs: vec![entry; 1_000_000],
        })
        .unwrap();
        assert!(body.len() < 32_000, "deflated: {}", body.len());
        let started = std::time::Instant::now();
        assert_eq!(
            decode::<PushRequest>(&body, 64 << 20),
            exceeded("documents in a push", MAX_DOCS_PER_PUSH)
        );
        // Refused at the declared length: nothing past it is read. (Generous bound: only a
        // pathological machine takes this long to read a few bytes.)
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Declared, not carried: postcard sees fewer bytes than entries, so the entries are
        // read (and counted) until the input ends, with nothing reserved for the declared count.
        for declared in [MAX_DOCS_PER_PUSH, 1_000_000, u32::MAX as usize] {
            assert!(matches!(
                decode::<PushRequest>(&declaring_docs(declared), LIMIT),
                Err(ProtocolError::Malformed(_))
            ));
        }
    }

    #[test]
    fn push_limits_hold_at_the_boundary_and_refuse_one_over() {
        let at = empty_docs(MAX_DOCS_PER_PUSH);
        assert_eq!(decode::<PushRequest>(&encode(&at).unwrap(), LIMIT), Ok(at));
        assert_eq!(
            decode::<PushRequest>(&encode(&empty_docs(MAX_DOCS_PER_PUSH + 1)).unwrap(), LIMIT),
            exceeded("documents in a push", MAX_DOCS_PER_PUSH)
        );

        let doc = |changes: usize| DocChanges {
            doc_id: "d".into(),
            kind: Kind::Visit,
            changes: vec![vec![1, 2]; changes],
        };
        let one_doc = |changes| PushRequest {
            docs: vec![doc(changes)],
        };
        let at = one_doc(MAX_CHANGES_PER_DOC);
        assert_eq!(decode::<PushRequest>(&encode(&at).unwrap(), LIMIT), Ok(at));
        assert_eq!(
            decode::<PushRequest>(&encode(&one_doc(MAX_CHANGES_PER_DOC + 1)).unwrap(), LIMIT),
            exceeded("changes in one document", MAX_CHANGES_PER_DOC)
        );

        let per_doc = MAX_CHANGES_PER_PUSH / 10;
        let spread = |last: usize| {
            let mut docs = vec![doc(per_doc); 9];
            docs.push(doc(last));
            PushRequest { docs }
        };
        let at = spread(per_doc);
        assert_eq!(decode::<PushRequest>(&encode(&at).unwrap(), LIMIT), Ok(at));
        assert_eq!(
            decode::<PushRequest>(&encode(&spread(per_doc + 1)).unwrap(), LIMIT),
            exceeded("changes in a push", MAX_CHANGES_PER_PUSH)
        );

        let id = |len: usize| PushRequest {
            docs: vec![DocChanges {
                doc_id: "i".repeat(len),
                kind: Kind::Task,
                changes: vec![],
            }],
        };
        let at = id(MAX_DOC_ID_LEN);
        assert_eq!(decode::<PushRequest>(&encode(&at).unwrap(), LIMIT), Ok(at));
        assert_eq!(
            decode::<PushRequest>(&encode(&id(MAX_DOC_ID_LEN + 1)).unwrap(), LIMIT),
            exceeded("bytes in a document id", MAX_DOC_ID_LEN)
        );
        let err = decode::<PushRequest>(&encode(&id(MAX_DOC_ID_LEN + 1)).unwrap(), LIMIT);
        assert_eq!(err.unwrap_err().code(), "limit_exceeded");
    }

    #[test]
    fn a_declared_change_length_reserves_nothing() {
        // One change declaring 2^62 bytes and carrying three.
        let mut payload = postcard::to_stdvec(&PushRequest {
            docs: vec![DocChanges {
                doc_id: "d".into(),
                kind: Kind::Visit,
                changes: vec![],
            }],
        })
        .unwrap();
        payload.pop(); // the empty change list
        payload.push(1);
        payload.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
        payload.extend_from_slice(&[1, 2, 3]);
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&[PROTOCOL_VERSION, 0]);
        body.extend_from_slice(&payload);
        assert!(matches!(
            decode::<PushRequest>(&body, LIMIT),
            Err(ProtocolError::Malformed(_))
        ));
    }

    #[test]
    fn ping_and_page_limits() {
        let fix = crate::route::Fix {
            at: 1,
            lat: 52.5,
            lon: 13.4,
            accuracy_m: 5.0,
            mock: false,
        };
        let upload = |pings: usize, id_len: usize| PingUpload {
            batch_id: "b".repeat(id_len),
            pings: vec![fix; pings],
        };
        let at = upload(MAX_PINGS_PER_BATCH, MAX_BATCH_ID_LEN);
        assert_eq!(decode::<PingUpload>(&encode(&at).unwrap(), LIMIT), Ok(at));
        assert_eq!(
            decode::<PingUpload>(&encode(&upload(MAX_PINGS_PER_BATCH + 1, 1)).unwrap(), LIMIT),
            Err(ProtocolError::LimitExceeded {
                what: "pings in a batch",
                limit: MAX_PINGS_PER_BATCH
            })
        );
        assert_eq!(
            decode::<PingUpload>(&encode(&upload(1, MAX_BATCH_ID_LEN + 1)).unwrap(), LIMIT),
            Err(ProtocolError::LimitExceeded {
                what: "bytes in a batch id",
                limit: MAX_BATCH_ID_LEN
            })
        );

        let page = |docs: usize| PullResponse {
            docs: (0..docs)
                .map(|i| PulledDoc {
                    doc_id: i.to_string(),
                    payload: PulledPayload::Changes(vec![]),
                })
                .collect(),
            removals: vec![],
            next_cursor: 1,
            has_more: false,
        };
        let at = page(MAX_DOCS_PER_PAGE);
        assert_eq!(decode::<PullResponse>(&encode(&at).unwrap(), LIMIT), Ok(at));
        assert_eq!(
            decode::<PullResponse>(&encode(&page(MAX_DOCS_PER_PAGE + 1)).unwrap(), LIMIT),
            Err(ProtocolError::LimitExceeded {
                what: "documents in a pull page",
                limit: MAX_DOCS_PER_PAGE
            })
        );
        let changes = |count: usize| PullResponse {
            docs: vec![PulledDoc {
                doc_id: "d".into(),
                payload: PulledPayload::Changes(vec![vec![]; count]),
            }],
            removals: vec![],
            next_cursor: 1,
            has_more: false,
        };
        let at = changes(MAX_CHANGES_PER_PULLED_DOC);
        assert_eq!(decode::<PullResponse>(&encode(&at).unwrap(), LIMIT), Ok(at));
        assert_eq!(
            decode::<PullResponse>(
                &encode(&changes(MAX_CHANGES_PER_PULLED_DOC + 1)).unwrap(),
                LIMIT
            ),
            Err(ProtocolError::LimitExceeded {
                what: "changes in a pulled document",
                limit: MAX_CHANGES_PER_PULLED_DOC
            })
        );
    }

    #[test]
    fn a_compression_bomb_stops_at_the_limit() {
        let bomb = PushRequest {
            docs: vec![DocChanges {
                doc_id: "x".into(),
                kind: Kind::Task,
                changes: vec![vec![0; 5_000_000]],
            }],
        };
        let body = encode(&bomb).unwrap();
        assert!(body.len() < 100_000, "compresses well: {}", body.len());
        assert_eq!(
            decode::<PushRequest>(&body, LIMIT),
            Err(ProtocolError::TooLarge { limit: LIMIT })
        );
        assert!(decode::<PushRequest>(&body, 6_000_000).is_ok());
    }
}

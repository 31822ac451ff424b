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

pub const MAGIC: [u8; 4] = *b"FCRM";
pub const PROTOCOL_VERSION: u8 = 1;
/// The media type of protocol bodies on HTTP.
pub const CONTENT_TYPE: &str = "application/vnd.fieldcrm.sync";

const FLAG_DEFLATE: u8 = 0b0000_0001;
const HEADER_LEN: usize = 6;
/// Payloads smaller than this are sent uncompressed: DEFLATE would not pay for itself.
const COMPRESS_FROM: usize = 256;

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
}

impl ProtocolError {
    /// Stable, machine-readable code (also used by the server's HTTP errors).
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::BadMagic | ProtocolError::Malformed(_) => "malformed_message",
            ProtocolError::UnsupportedVersion { .. } => "unsupported_protocol_version",
            ProtocolError::TooLarge { .. } => "payload_too_large",
        }
    }
}

/// Device → server: local changes not yet acknowledged, grouped by document, in the order they
/// were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub docs: Vec<DocChanges>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub acknowledged: Vec<String>,
    pub rejected: Vec<Rejection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub doc_id: String,
    /// The refused changes (hex hashes): every change of this document in the push.
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
    pub docs: Vec<PulledDoc>,
    /// Documents that left the user's scope: the device forgets them.
    pub removals: Vec<String>,
    /// The cursor to send next time; store it only after applying this page.
    pub next_cursor: u64,
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulledDoc {
    pub doc_id: String,
    pub payload: PulledPayload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PulledPayload {
    /// Changes after the device's cursor.
    Changes(Vec<Vec<u8>>),
    /// A compacted document (fresh device, or a document newly in scope) with the record the
    /// server read from it.
    Snapshot {
        bytes: Vec<u8>,
        record: Box<AnyRecord>,
    },
}

/// Most pings one upload may carry.
pub const MAX_PINGS_PER_BATCH: usize = 5_000;

/// Device → server: location pings recorded between visits. Idempotent by `batch_id`: a batch
/// sent again (the acknowledgement was lost) is acknowledged again and stored once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PingUpload {
    /// UUID made by the device when it closed the batch.
    pub batch_id: String,
    pub pings: Vec<Fix>,
}

/// Server → device: the batch is stored (or was already). Pings the server refused (a fix time
/// far in the future of the server's clock, say) are listed; the rest are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PingAck {
    pub batch_id: String,
    pub stored: u32,
    /// Pings the server already had (same fix time), from this batch or another.
    pub duplicates: u32,
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
    pub doc_ids: Vec<String>,
}

/// Server → device: every requested document the user may see, as
/// [`PulledPayload::Changes`] holding all its changes in log order. An id the server does not
/// have and an id the user may not see are answered alike: listed in `missing` (the device
/// forgets it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefetchResponse {
    pub docs: Vec<PulledDoc>,
    pub missing: Vec<String>,
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
        let mut buffer = Vec::new();
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
    let (message, unread) =
        postcard::take_from_bytes(payload).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
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

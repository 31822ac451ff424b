//! Protocol version 1's messages where they differ from the current version: a pull page's
//! snapshot carries its record inline, as postcard of [`AnyRecord`] in record format 1. The
//! server still answers version 1 requests in it (apps installed before version 2), and a
//! device can still read it.

use serde::{Deserialize, Serialize};

use super::{ProtocolError, WireRecord, bounded};
use crate::records::AnyRecord;

// Version 1 inlines records in format 1, which is `AnyRecord` as this code lays it out only
// while RECORD_FORMAT is 1. Before the format moves on, give this file a frozen copy of the
// format-1 record (and conversions) so that version 1 pages keep their layout.
const _: () = assert!(super::RECORD_FORMAT == 1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PullResponse {
    #[serde(deserialize_with = "super::pulled_docs")]
    pub docs: Vec<PulledDoc>,
    pub removals: Vec<String>,
    pub next_cursor: u64,
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PulledDoc {
    pub doc_id: String,
    pub payload: PulledPayload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum PulledPayload {
    Changes(#[serde(deserialize_with = "bounded::pulled_changes")] Vec<Vec<u8>>),
    Snapshot {
        #[serde(deserialize_with = "bounded::bytes")]
        bytes: Vec<u8>,
        record: Box<AnyRecord>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RefetchResponse {
    #[serde(deserialize_with = "super::refetched_docs")]
    pub docs: Vec<PulledDoc>,
    #[serde(deserialize_with = "super::refetch_ids")]
    pub missing: Vec<String>,
}

impl TryFrom<&super::PulledDoc> for PulledDoc {
    type Error = ProtocolError;

    fn try_from(doc: &super::PulledDoc) -> Result<Self, ProtocolError> {
        let payload = match &doc.payload {
            super::PulledPayload::Changes(changes) => PulledPayload::Changes(changes.clone()),
            super::PulledPayload::Snapshot { bytes, record } => PulledPayload::Snapshot {
                bytes: bytes.clone(),
                // The sender holds records in its own format: one it cannot read is a bug on
                // its side, not something to send half of.
                record: Box::new(record.read().ok_or_else(|| {
                    ProtocolError::Malformed(format!(
                        "the record of {} is not in format {}",
                        doc.doc_id,
                        super::RECORD_FORMAT
                    ))
                })?),
            },
        };
        Ok(PulledDoc {
            doc_id: doc.doc_id.clone(),
            payload,
        })
    }
}

impl TryFrom<PulledDoc> for super::PulledDoc {
    type Error = ProtocolError;

    fn try_from(doc: PulledDoc) -> Result<Self, ProtocolError> {
        let payload = match doc.payload {
            PulledPayload::Changes(changes) => super::PulledPayload::Changes(changes),
            PulledPayload::Snapshot { bytes, record } => super::PulledPayload::Snapshot {
                bytes,
                record: WireRecord::new(&record)?,
            },
        };
        Ok(super::PulledDoc {
            doc_id: doc.doc_id,
            payload,
        })
    }
}

fn docs_to_v1(docs: &[super::PulledDoc]) -> Result<Vec<PulledDoc>, ProtocolError> {
    docs.iter().map(PulledDoc::try_from).collect()
}

fn docs_from_v1(docs: Vec<PulledDoc>) -> Result<Vec<super::PulledDoc>, ProtocolError> {
    docs.into_iter().map(super::PulledDoc::try_from).collect()
}

impl TryFrom<&super::PullResponse> for PullResponse {
    type Error = ProtocolError;

    fn try_from(page: &super::PullResponse) -> Result<Self, ProtocolError> {
        Ok(PullResponse {
            docs: docs_to_v1(&page.docs)?,
            removals: page.removals.clone(),
            next_cursor: page.next_cursor,
            has_more: page.has_more,
        })
    }
}

impl TryFrom<PullResponse> for super::PullResponse {
    type Error = ProtocolError;

    fn try_from(page: PullResponse) -> Result<Self, ProtocolError> {
        Ok(super::PullResponse {
            docs: docs_from_v1(page.docs)?,
            removals: page.removals,
            next_cursor: page.next_cursor,
            has_more: page.has_more,
        })
    }
}

impl TryFrom<&super::RefetchResponse> for RefetchResponse {
    type Error = ProtocolError;

    fn try_from(response: &super::RefetchResponse) -> Result<Self, ProtocolError> {
        Ok(RefetchResponse {
            docs: docs_to_v1(&response.docs)?,
            missing: response.missing.clone(),
        })
    }
}

impl TryFrom<RefetchResponse> for super::RefetchResponse {
    type Error = ProtocolError;

    fn try_from(response: RefetchResponse) -> Result<Self, ProtocolError> {
        Ok(super::RefetchResponse {
            docs: docs_from_v1(response.docs)?,
            missing: response.missing,
        })
    }
}

//! Protocol version 1's messages where they differ from the current version: a pull page's
//! snapshot carries its record inline, as postcard of [`AnyRecord`] in record format 1. The
//! server still answers version 1 requests in it (apps installed before version 2), and a
//! device can still read it.

use serde::{Deserialize, Serialize};

use super::{ProtocolError, WireRecord, bounded};
use crate::model::{
    Activity, Case, CaseStatus, Contact, Customer, Opportunity, Order, Product, RecordMeta,
    Severity, Task, Visit,
};
use crate::records::AnyRecord;

// Version 1 inlines records in format 1: `RecordV1` below. Format 2 added the case's service
// fields, so the case is frozen here as format 1 laid it out; the other kinds are still laid
// out as in format 1. Whoever changes one of them (a new format) freezes its format-1 copy
// here first: the compatibility fixtures (`core/tests/compat_fixtures.rs`, `_v3.rs`) pin
// format-1 bytes of every kind.
const _: () = assert!(super::RECORD_FORMAT == 2);

/// A case as record format 1 laid it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CaseV1 {
    meta: RecordMeta,
    customer_id: String,
    subject: String,
    severity: Severity,
    status: CaseStatus,
    resolution: Option<String>,
    satisfaction: Option<u8>,
}

/// `AnyRecord` as record format 1 laid it out (variants in the same order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum RecordV1 {
    Customer(Customer),
    Contact(Contact),
    Opportunity(Opportunity),
    Visit(Visit),
    Task(Task),
    Case(CaseV1),
    Product(Product),
    Order(Order),
    /// Never in a version 1 page (the server holds activities back from versions before 4,
    /// [`super::first_version_knowing`]); here so that every record converts.
    Activity(Activity),
}

impl From<AnyRecord> for RecordV1 {
    /// A case loses the fields format 1 did not have: a version 1 app does not know them.
    fn from(record: AnyRecord) -> Self {
        match record {
            AnyRecord::Customer(r) => RecordV1::Customer(r),
            AnyRecord::Contact(r) => RecordV1::Contact(r),
            AnyRecord::Opportunity(r) => RecordV1::Opportunity(r),
            AnyRecord::Visit(r) => RecordV1::Visit(r),
            AnyRecord::Task(r) => RecordV1::Task(r),
            AnyRecord::Case(c) => RecordV1::Case(CaseV1 {
                meta: c.meta,
                customer_id: c.customer_id,
                subject: c.subject,
                severity: c.severity,
                status: c.status,
                resolution: c.resolution,
                satisfaction: c.satisfaction,
            }),
            AnyRecord::Product(r) => RecordV1::Product(r),
            AnyRecord::Order(r) => RecordV1::Order(r),
            AnyRecord::Activity(r) => RecordV1::Activity(r),
        }
    }
}

impl From<RecordV1> for AnyRecord {
    fn from(record: RecordV1) -> Self {
        match record {
            RecordV1::Customer(r) => AnyRecord::Customer(r),
            RecordV1::Contact(r) => AnyRecord::Contact(r),
            RecordV1::Opportunity(r) => AnyRecord::Opportunity(r),
            RecordV1::Visit(r) => AnyRecord::Visit(r),
            RecordV1::Task(r) => AnyRecord::Task(r),
            RecordV1::Case(c) => AnyRecord::Case(Case {
                meta: c.meta,
                customer_id: c.customer_id,
                subject: c.subject,
                severity: c.severity,
                status: c.status,
                resolution: c.resolution,
                satisfaction: c.satisfaction,
                ..Case::new(String::new(), String::new())
            }),
            RecordV1::Product(r) => AnyRecord::Product(r),
            RecordV1::Order(r) => AnyRecord::Order(r),
            RecordV1::Activity(r) => AnyRecord::Activity(r),
        }
    }
}

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
        record: Box<RecordV1>,
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
                record: Box::new(
                    record
                        .read()
                        .ok_or_else(|| {
                            ProtocolError::Malformed(format!(
                                "the record of {} is not in format {}",
                                doc.doc_id,
                                super::RECORD_FORMAT
                            ))
                        })?
                        .into(),
                ),
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
                record: WireRecord::new(&AnyRecord::from(*record))?,
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

//! The sync steps that heal refused documents (see `refused.rs`), without I/O like the rest of
//! [`SyncSession`]: build a refetch request naming them, apply the server's answer of their
//! full histories. A document that loads leaves the refused list; one still refused stays,
//! with one more attempt counted; one the server no longer gives this user is forgotten.

use std::collections::HashSet;

use crate::model::Millis;
use crate::protocol::{self, MAX_REFETCH_DOCS, PulledPayload, RefetchRequest};
use crate::refused::{INCOMPLETE_HISTORY, NOT_RETURNED};
use crate::store::{IncomingDoc, IncomingPayload};
use crate::sync::{MAX_RESPONSE_BYTES, SyncError, SyncSession};

/// A refetch request ready to send, and the documents it names.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingRefetch {
    pub body: Vec<u8>,
    pub doc_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RefetchOutcome {
    /// Documents that load now and left the refused list.
    pub healed: usize,
    /// Documents refused again (their attempts counted).
    pub still_refused: usize,
    /// Documents the server does not give this user (unknown or out of scope): forgotten.
    pub missing: usize,
}

impl SyncSession<'_> {
    /// Requests for every refused document, the longest waiting first, at most
    /// [`MAX_REFETCH_DOCS`] per request; empty when there is nothing to heal.
    pub fn build_refetches(&self) -> Result<Vec<OutgoingRefetch>, SyncError> {
        let ids = self.store.refused_document_ids()?;
        ids.chunks(MAX_REFETCH_DOCS)
            .map(|chunk| {
                let request = RefetchRequest {
                    doc_ids: chunk.to_vec(),
                };
                Ok(OutgoingRefetch {
                    body: protocol::encode_as(&request, self.protocol_version)?,
                    doc_ids: request.doc_ids,
                })
            })
            .collect()
    }

    /// Applies the server's answer to `sent`: imports each history (replacing a stored copy
    /// that does not read), then settles each requested document. Documents the request did
    /// not name are ignored.
    pub fn apply_refetch_response(
        &self,
        sent: &OutgoingRefetch,
        body: &[u8],
        now: Millis,
    ) -> Result<RefetchOutcome, SyncError> {
        let response = protocol::decode_refetch_response(body, MAX_RESPONSE_BYTES)?;
        let requested: HashSet<&str> = sent.doc_ids.iter().map(String::as_str).collect();
        let mut batch = Vec::new();
        for doc in response.docs {
            if !requested.contains(doc.doc_id.as_str()) {
                continue;
            }
            let PulledPayload::Changes(changes) = doc.payload else {
                return Err(protocol::ProtocolError::Malformed(format!(
                    "refetched document {} is not a change history",
                    doc.doc_id
                ))
                .into());
            };
            batch.push(IncomingDoc {
                doc_id: doc.doc_id,
                payload: IncomingPayload::History(changes),
            });
        }
        let answered: HashSet<String> = batch.iter().map(|d| d.doc_id.clone()).collect();
        let import = self.store.import(batch)?;
        self.store.record_refused_documents(&import.refused, now)?;
        let refused_again: HashSet<&str> =
            import.refused.iter().map(|r| r.doc_id.as_str()).collect();
        let missing: Vec<String> = response
            .missing
            .into_iter()
            .filter(|id| requested.contains(id.as_str()) && !answered.contains(id))
            .collect();
        self.store.forget(&missing)?;
        let mut outcome = RefetchOutcome {
            still_refused: refused_again.len(),
            missing: missing.len(),
            ..RefetchOutcome::default()
        };
        for id in &sent.doc_ids {
            if refused_again.contains(id.as_str()) || missing.contains(id) {
                continue;
            }
            if !answered.contains(id) {
                self.store.record_refused_document(
                    id,
                    NOT_RETURNED,
                    "the server's refetch answer did not include it",
                    now,
                )?;
                outcome.still_refused += 1;
                continue;
            }
            // Imported: healed only if it now reads as a record (a history that lacks changes
            // it depends on is held, not loaded).
            match self.store.get_any(id) {
                Ok(Some(_)) => {
                    self.store.clear_refused_document(id)?;
                    outcome.healed += 1;
                }
                Ok(None) | Err(_) => {
                    self.store.record_refused_document(
                        id,
                        INCOMPLETE_HISTORY,
                        "the refetched history lacks changes it depends on",
                        now,
                    )?;
                    outcome.still_refused += 1;
                }
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Contact, Customer};
    use crate::protocol::RefetchResponse;
    use crate::protocol::{PullResponse, PulledDoc};
    use crate::records::AnyRecord;
    use crate::store::Store;

    const NOW: Millis = 1_790_000_000_000;

    fn snapshot_page(docs: Vec<PulledDoc>) -> Vec<u8> {
        protocol::encode_pull_response(
            &PullResponse {
                docs,
                removals: vec![],
                next_cursor: 5,
                has_more: false,
            },
            protocol::PROTOCOL_VERSION,
        )
        .unwrap()
    }

    #[test]
    fn a_refused_snapshot_is_counted_refetched_as_history_and_healed() {
        let dir = tempfile::tempdir().unwrap();
        let source = Store::open(dir.path().join("s.sqlite")).unwrap();
        let good = source.create(Customer::new("Hotel Spree")).unwrap();
        let damaged = source.create(Customer::new("Café Mitte")).unwrap();
        let device = Store::open(dir.path().join("d.sqlite")).unwrap();
        let session = SyncSession::new(&device).unwrap();
        assert!(session.build_refetches().unwrap().is_empty());

        let snapshot = |c: &Customer| PulledDoc {
            doc_id: c.meta.id.clone(),
            payload: PulledPayload::Snapshot {
                bytes: source.document_bytes(&c.meta.id).unwrap().unwrap(),
                record: protocol::WireRecord::new(&AnyRecord::Customer(c.clone())).unwrap(),
            },
        };
        let mut broken = snapshot(&damaged);
        if let PulledPayload::Snapshot { bytes, .. } = &mut broken.payload {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
        }
        let outcome = session
            .apply_pull_response(&snapshot_page(vec![snapshot(&good), broken]), NOW)
            .unwrap();
        assert_eq!(
            (outcome.import.applied, outcome.import.refused.len()),
            (1, 1)
        );
        let status = device.sync_status().unwrap();
        assert_eq!(status.refused_documents, 1);
        assert_eq!(status.last_error_code.as_deref(), Some("document_refused"));
        let refused = device.refused_documents().unwrap();
        assert_eq!(
            (
                refused[0].doc_id.as_str(),
                refused[0].code.as_str(),
                refused[0].attempts
            ),
            (damaged.meta.id.as_str(), "malformed_data", 1)
        );

        let requests = session.build_refetches().unwrap();
        assert_eq!(requests.len(), 1);
        let request: RefetchRequest = protocol::decode(&requests[0].body, 1 << 20).unwrap();
        assert_eq!(request.doc_ids, std::slice::from_ref(&damaged.meta.id));

        // An answer with a broken history is refused again, with one more attempt.
        let answer = |changes: Vec<Vec<u8>>| {
            protocol::encode_refetch_response(
                &RefetchResponse {
                    docs: vec![PulledDoc {
                        doc_id: damaged.meta.id.clone(),
                        payload: PulledPayload::Changes(changes),
                    }],
                    missing: vec![],
                },
                protocol::PROTOCOL_VERSION,
            )
            .unwrap()
        };
        let outcome = session
            .apply_refetch_response(&requests[0], &answer(vec![vec![1, 2, 3]]), NOW + 1)
            .unwrap();
        assert_eq!((outcome.healed, outcome.still_refused), (0, 1));
        assert_eq!(device.refused_documents().unwrap()[0].attempts, 2);

        let history = source.document_changes(&damaged.meta.id).unwrap();
        let outcome = session
            .apply_refetch_response(&requests[0], &answer(history), NOW + 2)
            .unwrap();
        assert_eq!((outcome.healed, outcome.still_refused), (1, 0));
        assert_eq!(
            device.get::<Customer>(&damaged.meta.id).unwrap().unwrap(),
            damaged
        );
        assert!(device.refused_documents().unwrap().is_empty());
        let status = device.sync_status().unwrap();
        assert_eq!(
            (status.refused_documents, status.last_error_code),
            (0, None)
        );
        assert!(session.build_refetches().unwrap().is_empty());
    }

    #[test]
    fn a_failed_verification_is_replaced_by_the_history_and_missing_documents_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let source = Store::open(dir.path().join("s.sqlite")).unwrap();
        let customer = source.create(Customer::new("Kiosk")).unwrap();
        let contact = source
            .create(Contact::new(&customer.meta.id, "Jens Petersen"))
            .unwrap();
        let device = Store::open(dir.path().join("d.sqlite")).unwrap();
        let session = SyncSession::new(&device).unwrap();
        // The contact's bytes filed as a customer: the chunk check passes, verification fails.
        let mut claimed = customer.clone();
        claimed.meta.id = contact.meta.id.clone();
        let page = snapshot_page(vec![PulledDoc {
            doc_id: contact.meta.id.clone(),
            payload: PulledPayload::Snapshot {
                bytes: source.document_bytes(&contact.meta.id).unwrap().unwrap(),
                record: protocol::WireRecord::new(&AnyRecord::Customer(claimed)).unwrap(),
            },
        }]);
        session.apply_pull_response(&page, NOW).unwrap();
        assert_eq!(device.sync_status().unwrap().refused_documents, 0);
        let verify = device.verify_documents(10).unwrap();
        assert_eq!(verify.failed.len(), 1);
        let refused = device.refused_documents().unwrap();
        assert_eq!(
            (refused[0].doc_id.as_str(), refused[0].code.as_str()),
            (contact.meta.id.as_str(), "invalid_record")
        );

        let requests = session.build_refetches().unwrap();
        let answer = protocol::encode_refetch_response(
            &RefetchResponse {
                docs: vec![PulledDoc {
                    doc_id: contact.meta.id.clone(),
                    payload: PulledPayload::Changes(
                        source.document_changes(&contact.meta.id).unwrap(),
                    ),
                }],
                missing: vec![],
            },
            protocol::PROTOCOL_VERSION,
        )
        .unwrap();
        let outcome = session
            .apply_refetch_response(&requests[0], &answer, NOW + 1)
            .unwrap();
        assert_eq!(outcome.healed, 1);
        assert_eq!(
            device.get::<Contact>(&contact.meta.id).unwrap().unwrap(),
            contact
        );
        assert_eq!(device.sync_status().unwrap().refused_documents, 0);
        let customers = device
            .query(&crate::Query::Customers(crate::CustomerFilter::default()))
            .unwrap();
        assert_eq!(
            customers,
            crate::QueryResult::Customers(vec![]),
            "the projection under the wrong kind is gone"
        );

        // A document the server no longer gives this user is forgotten, not retried forever.
        device
            .record_refused_document("gone", "malformed_data", "bad", NOW)
            .unwrap();
        let requests = session.build_refetches().unwrap();
        let answer = protocol::encode_refetch_response(
            &RefetchResponse {
                docs: vec![],
                missing: vec!["gone".into()],
            },
            protocol::PROTOCOL_VERSION,
        )
        .unwrap();
        let outcome = session
            .apply_refetch_response(&requests[0], &answer, NOW + 2)
            .unwrap();
        assert_eq!((outcome.missing, outcome.healed), (1, 0));
        assert!(device.refused_documents().unwrap().is_empty());
    }

    #[test]
    fn requests_are_bounded_and_answers_for_unrequested_documents_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let source = Store::open(dir.path().join("s.sqlite")).unwrap();
        let stranger = source.create(Customer::new("Not asked for")).unwrap();
        let device = Store::open(dir.path().join("d.sqlite")).unwrap();
        for n in 0..(MAX_REFETCH_DOCS + 1) {
            device
                .record_refused_document(&format!("doc-{n:03}"), "malformed_data", "bad", NOW)
                .unwrap();
        }
        let session = SyncSession::new(&device).unwrap();
        let requests = session.build_refetches().unwrap();
        assert_eq!(
            requests.iter().map(|r| r.doc_ids.len()).collect::<Vec<_>>(),
            [MAX_REFETCH_DOCS, 1]
        );
        let answer = protocol::encode_refetch_response(
            &RefetchResponse {
                docs: vec![PulledDoc {
                    doc_id: stranger.meta.id.clone(),
                    payload: PulledPayload::Changes(
                        source.document_changes(&stranger.meta.id).unwrap(),
                    ),
                }],
                missing: vec![],
            },
            protocol::PROTOCOL_VERSION,
        )
        .unwrap();
        let outcome = session
            .apply_refetch_response(&requests[1], &answer, NOW + 1)
            .unwrap();
        assert_eq!((outcome.healed, outcome.still_refused), (0, 1));
        assert!(device.get_any(&stranger.meta.id).unwrap().is_none());
        let not_returned = device
            .refused_documents()
            .unwrap()
            .into_iter()
            .find(|d| d.doc_id == requests[1].doc_ids[0])
            .unwrap();
        assert_eq!(
            (not_returned.code.as_str(), not_returned.attempts),
            ("not_returned", 2)
        );
    }
}

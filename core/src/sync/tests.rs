use std::cell::{Cell, RefCell};

use super::*;
use crate::model::{Customer, Kind};
use crate::protocol::PullResponse;
use crate::protocol::{PulledDoc, PushRequest, RejectCode, Rejection};
use crate::records::AnyRecord;

const NOW: Millis = 1_790_000_000_000;

fn store(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(dir.path().join(name)).unwrap()
}

#[test]
fn push_groups_by_document_and_acks_and_rejections_empty_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir, "d.sqlite");
    let mut first = device.create(Customer::new("Kiosk")).unwrap();
    let second = device.create(Customer::new("Café")).unwrap();
    first.grade = Some(crate::Grade::A);
    device.update(first.clone()).unwrap();
    let session = SyncSession::new(&device).unwrap();
    let push = session.build_push().unwrap().unwrap();
    assert_eq!(push.hashes.len(), 3);
    let request: PushRequest = protocol::decode(&push.body, 1 << 20).unwrap();
    assert_eq!(request.docs.len(), 2);
    assert_eq!(request.docs[0].doc_id, first.meta.id);
    assert_eq!(
        (request.docs[0].changes.len(), request.docs[0].kind),
        (2, Kind::Customer)
    );

    let response = PushResponse {
        // Pending order: create first, create second, update first.
        acknowledged: vec![push.hashes[0].clone(), push.hashes[2].clone()],
        rejected: vec![Rejection {
            doc_id: second.meta.id.clone(),
            hashes: vec![push.hashes[1].clone()],
            code: RejectCode::Forbidden,
            reason: "customer belongs to another territory".into(),
        }],
    };
    let outcome = session
        .apply_push_response(&protocol::encode(&response).unwrap(), NOW)
        .unwrap();
    assert_eq!(
        outcome,
        PushOutcome {
            acknowledged: 2,
            rejected: 1
        }
    );
    assert!(session.build_push().unwrap().is_none());
    let rejected = device.rejected_changes().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (rejected[0].doc_id.as_str(), rejected[0].code),
        (second.meta.id.as_str(), RejectCode::Forbidden)
    );
    assert!(
        device.get::<Customer>(&second.meta.id).unwrap().is_some(),
        "the edit stays visible"
    );
    assert_eq!(device.sync_status().unwrap().rejected_changes, 1);
    device.dismiss_rejections(&second.meta.id).unwrap();
    assert!(device.rejected_changes().unwrap().is_empty());
}

#[test]
fn a_record_in_a_format_this_app_does_not_know_is_read_from_its_document() {
    let dir = tempfile::tempdir().unwrap();
    let source = store(&dir, "s.sqlite");
    let mut sent = Customer::new("Hotel Spree");
    sent.notes = "Orders on Mondays".into();
    let sent = source.create(sent).unwrap();
    let readable = source.create(Customer::new("Kiosk")).unwrap();
    let device = store(&dir, "d.sqlite");
    let snapshot = |c: &Customer, record: protocol::WireRecord| PulledDoc {
        doc_id: c.meta.id.clone(),
        payload: PulledPayload::Snapshot {
            bytes: source.document_bytes(&c.meta.id).unwrap().unwrap(),
            record,
        },
    };
    let page = PullResponse {
        docs: vec![
            // What a newer server sends: a format number and bytes this code cannot read.
            snapshot(
                &sent,
                protocol::WireRecord {
                    format: protocol::RECORD_FORMAT + 1,
                    bytes: vec![0xA5; 40],
                },
            ),
            snapshot(
                &readable,
                protocol::WireRecord::new(&AnyRecord::Customer(readable.clone())).unwrap(),
            ),
        ],
        removals: vec![],
        next_cursor: 5,
        has_more: false,
    };
    let outcome = SyncSession::new(&device)
        .unwrap()
        .apply_pull_response(
            &protocol::encode_pull_response(&page, protocol::PROTOCOL_VERSION).unwrap(),
            NOW,
        )
        .unwrap();
    assert_eq!(outcome.import.applied, 2, "the page did not fail");
    assert_eq!(
        device.get::<Customer>(&sent.meta.id).unwrap().unwrap(),
        sent
    );
    assert_eq!(
        device.get::<Customer>(&readable.meta.id).unwrap().unwrap(),
        readable
    );
    let status = device.sync_status().unwrap();
    assert_eq!(status.records_read_from_documents, 1);
    assert_eq!(status.cursor, 5);
    assert_eq!(
        status.last_error_code, None,
        "nothing was lost: not an error"
    );
}

#[test]
fn a_pull_page_applies_snapshots_and_removals_then_moves_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let source = store(&dir, "s.sqlite");
    let kept = source.create(Customer::new("Hotel Spree")).unwrap();
    let device = store(&dir, "d.sqlite");
    let leaving = device.create(Customer::new("Moved away")).unwrap();
    let session = SyncSession::new(&device).unwrap();
    let page = PullResponse {
        docs: vec![PulledDoc {
            doc_id: kept.meta.id.clone(),
            payload: PulledPayload::Snapshot {
                bytes: source.document_bytes(&kept.meta.id).unwrap().unwrap(),
                record: protocol::WireRecord::new(&AnyRecord::Customer(kept.clone())).unwrap(),
            },
        }],
        removals: vec![leaving.meta.id.clone()],
        next_cursor: 17,
        has_more: false,
    };
    let request: PullRequest = protocol::decode(&session.build_pull().unwrap(), 1 << 20).unwrap();
    assert_eq!(request.cursor, 0);
    let outcome = session
        .apply_pull_response(
            &protocol::encode_pull_response(&page, protocol::PROTOCOL_VERSION).unwrap(),
            NOW,
        )
        .unwrap();
    assert_eq!(
        (outcome.import.applied, outcome.removed, outcome.has_more),
        (1, 1, false)
    );
    assert_eq!(
        device.get::<Customer>(&kept.meta.id).unwrap().unwrap(),
        kept
    );
    assert!(
        device.get_any(&leaving.meta.id).unwrap().is_none(),
        "gone from the device"
    );
    assert_eq!(
        device.sync_status().unwrap().pending_changes,
        0,
        "its queued change too"
    );
    let status = device.sync_status().unwrap();
    assert_eq!((status.cursor, status.last_sync_at), (17, Some(NOW)));
    let request: PullRequest = protocol::decode(&session.build_pull().unwrap(), 1 << 20).unwrap();
    assert_eq!(request.cursor, 17);
    // A corrupt page moves nothing.
    let err = session
        .apply_pull_response(b"FCRM\x01\x00garbage", NOW)
        .unwrap_err();
    assert!(matches!(err, SyncError::Protocol(_)), "{err}");
    assert_eq!(device.sync_status().unwrap().cursor, 17);
}

/// A network that is down for the first `failures` requests, then answers every push with
/// an acknowledgement of everything and every pull with an empty last page.
struct Flaky {
    failures: Cell<u32>,
    pushes: RefCell<Vec<Vec<u8>>>,
}

impl Transport for Flaky {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        if self.failures.get() > 0 {
            self.failures.set(self.failures.get() - 1);
            return Err(TransportError::Offline("connection refused".into()));
        }
        let request: PushRequest =
            protocol::decode(&body, 1 << 20).map_err(|e| TransportError::Offline(e.to_string()))?;
        self.pushes.borrow_mut().push(body);
        let acknowledged = request
            .docs
            .iter()
            .flat_map(|d| d.changes.iter())
            .filter_map(|c| automerge::Change::from_bytes(c.clone()).ok())
            .map(|c| c.hash().to_string())
            .collect();
        protocol::encode(&PushResponse {
            acknowledged,
            rejected: vec![],
        })
        .map_err(|e| TransportError::Offline(e.to_string()))
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let upload: crate::protocol::PingUpload =
            protocol::decode(&body, 1 << 20).map_err(|e| TransportError::Offline(e.to_string()))?;
        protocol::encode(&PingAck {
            batch_id: upload.batch_id,
            stored: upload.pings.len() as u32,
            duplicates: 0,
            refused: vec![],
        })
        .map_err(|e| TransportError::Offline(e.to_string()))
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let request: crate::protocol::RefetchRequest =
            protocol::decode(&body, 1 << 20).map_err(|e| TransportError::Offline(e.to_string()))?;
        protocol::encode_refetch_response(
            &crate::protocol::RefetchResponse {
                docs: vec![],
                missing: request.doc_ids,
            },
            protocol::PROTOCOL_VERSION,
        )
        .map_err(|e| TransportError::Offline(e.to_string()))
    }

    fn analytics(&self, _query: &str) -> Result<Vec<u8>, TransportError> {
        Err(TransportError::Server {
            status: 404,
            code: "not_found".into(),
            retry_after: None,
        })
    }

    fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let page = PullResponse {
            docs: vec![],
            removals: vec![],
            next_cursor: 3,
            has_more: false,
        };
        protocol::encode_pull_response(&page, protocol::PROTOCOL_VERSION)
            .map_err(|e| TransportError::Offline(e.to_string()))
    }
}

#[test]
fn a_live_sync_status_follows_writes_and_rounds() {
    struct Statuses(std::sync::Mutex<Vec<crate::SyncStatus>>);
    impl crate::QueryListener for Statuses {
        fn on_result(&self, result: crate::QueryResult) {
            if let crate::QueryResult::SyncStatus(status) = result {
                self.0.lock().unwrap().push(status);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir, "d.sqlite");
    let seen = std::sync::Arc::new(Statuses(std::sync::Mutex::new(Vec::new())));
    let _live = device
        .subscribe(crate::Query::SyncStatus, seen.clone())
        .unwrap();
    device.create(Customer::new("Kiosk")).unwrap();
    let flaky = Flaky {
        failures: Cell::new(0),
        pushes: RefCell::new(vec![]),
    };
    sync(
        &device,
        &flaky,
        &RetryPolicy::default(),
        &mut |_| {},
        &|| NOW,
    )
    .unwrap();
    let seen = seen.0.lock().unwrap();
    let summary: Vec<(u64, bool, i64)> = seen
        .iter()
        .map(|s| (s.pending_changes, s.syncing, s.cursor))
        .collect();
    assert_eq!(summary.first(), Some(&(0, false, 0)), "{summary:?}");
    assert!(summary.contains(&(1, false, 0)), "the write: {summary:?}");
    assert!(
        summary.contains(&(1, true, 0)),
        "the round starts: {summary:?}"
    );
    assert!(summary.contains(&(0, true, 0)), "acknowledged: {summary:?}");
    assert_eq!(
        summary.last(),
        Some(&(0, false, 3)),
        "finished: {summary:?}"
    );
}

/// Answers the first `refusals` pushes with `429 rate_limited` and a `Retry-After`, then
/// as `inner`.
struct Busy {
    refusals: Cell<u32>,
    retry_after: Duration,
    inner: Flaky,
}

impl Transport for Busy {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        if self.refusals.get() > 0 {
            self.refusals.set(self.refusals.get() - 1);
            return Err(TransportError::Server {
                status: 429,
                code: "rate_limited".into(),
                retry_after: Some(self.retry_after),
            });
        }
        self.inner.push(body)
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.inner.upload_pings(body)
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.inner.pull(body)
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.inner.refetch(body)
    }

    fn analytics(&self, _query: &str) -> Result<Vec<u8>, TransportError> {
        Err(TransportError::Server {
            status: 404,
            code: "not_found".into(),
            retry_after: None,
        })
    }
}

#[test]
fn sync_waits_as_long_as_the_server_asks_and_gives_up_the_round_if_too_long() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir, "d.sqlite");
    device.create(Customer::new("Kiosk")).unwrap();
    let policy = RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(30),
    };
    let busy = |refusals, retry_after| Busy {
        refusals: Cell::new(refusals),
        retry_after,
        inner: Flaky {
            failures: Cell::new(0),
            pushes: RefCell::new(vec![]),
        },
    };

    // Longer than the policy waits inline: no retry in this round, nothing lost.
    let mut waits = Vec::new();
    let too_long = busy(1, Duration::from_secs(60));
    let err = sync(&device, &too_long, &policy, &mut |d| waits.push(d), &|| NOW).unwrap_err();
    assert_eq!(err.code(), "rate_limited");
    assert!(waits.is_empty(), "{waits:?}");
    assert_eq!(device.sync_status().unwrap().pending_changes, 1);

    // Within it: each retry waits at least what the server asked, then the push goes.
    let mut waits = Vec::new();
    let brief = busy(2, Duration::from_secs(2));
    let report = sync(&device, &brief, &policy, &mut |d| waits.push(d), &|| NOW).unwrap();
    assert_eq!(report.pushed, 1);
    assert_eq!(waits, [Duration::from_secs(2), Duration::from_secs(2)]);
    assert_eq!(brief.inner.pushes.borrow().len(), 1);
}

#[test]
fn sync_retries_with_backoff_and_records_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir, "d.sqlite");
    device.create(Customer::new("Kiosk")).unwrap();
    device
        .record_pings(&[crate::Fix {
            at: crate::store::now_ms() - 1_000,
            lat: 52.5,
            lon: 13.4,
            accuracy_m: 5.0,
            mock: false,
        }])
        .unwrap();
    let policy = RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(250),
    };
    let mut waits = Vec::new();

    let down = Flaky {
        failures: Cell::new(10),
        pushes: RefCell::new(vec![]),
    };
    let err = sync(&device, &down, &policy, &mut |d| waits.push(d), &|| NOW).unwrap_err();
    assert!(matches!(
        err,
        SyncError::Transport(TransportError::Offline(_))
    ));
    assert_eq!(waits, [100, 200, 250].map(Duration::from_millis));
    let status = device.sync_status().unwrap();
    assert_eq!(
        (status.pending_changes, status.pending_pings),
        (1, 1),
        "nothing lost"
    );
    assert!(status.last_error.is_some());
    assert_eq!(status.last_error_code.as_deref(), Some("offline"));

    let flaky = Flaky {
        failures: Cell::new(2),
        pushes: RefCell::new(vec![]),
    };
    let report = sync(&device, &flaky, &policy, &mut |_| {}, &|| NOW + 1).unwrap();
    assert_eq!(
        (report.pushed, report.pages, report.pings_uploaded),
        (1, 1, 1)
    );
    let status = device.sync_status().unwrap();
    assert_eq!(
        (
            status.pending_changes,
            status.pending_pings,
            status.cursor,
            status.last_error
        ),
        (0, 0, 3, None)
    );
    assert_eq!(flaky.pushes.borrow().len(), 1);
}

/// A server that refuses every request with one status and code.
struct Refusing(u16, &'static str);

impl Transport for Refusing {
    fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        Err(TransportError::Server {
            status: self.0,
            code: self.1.to_owned(),
            retry_after: None,
        })
    }
    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.push(body)
    }
    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.push(body)
    }
    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.push(body)
    }

    fn analytics(&self, _query: &str) -> Result<Vec<u8>, TransportError> {
        Err(TransportError::Server {
            status: 404,
            code: "not_found".into(),
            retry_after: None,
        })
    }
}

#[test]
fn device_revoked_wipes_the_store_and_other_refusals_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir, "d.sqlite");
    let kiosk = device.create(Customer::new("Kiosk")).unwrap();
    let policy = RetryPolicy::default();

    let err = sync(
        &device,
        &Refusing(401, "token_expired"),
        &policy,
        &mut |_| {},
        &|| NOW,
    )
    .unwrap_err();
    assert!(!err.is_device_revoked());
    assert!(device.get_any(&kiosk.meta.id).unwrap().is_some(), "kept");

    let err = sync(
        &device,
        &Refusing(401, DEVICE_REVOKED),
        &policy,
        &mut |_| {},
        &|| NOW,
    )
    .unwrap_err();
    assert!(err.is_device_revoked());
    assert_eq!(err.code(), DEVICE_REVOKED);
    assert!(device.get_any(&kiosk.meta.id).unwrap().is_none(), "wiped");
    let status = device.sync_status().unwrap();
    assert_eq!(status.pending_changes, 0);
    assert_eq!(status.last_error_code.as_deref(), Some(DEVICE_REVOKED));
}

#[test]
fn one_sync_at_a_time_per_store_and_the_second_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir, "d.sqlite");
    let kiosk = device.create(Customer::new("Kiosk")).unwrap();
    let flaky = || Flaky {
        failures: Cell::new(0),
        pushes: RefCell::new(vec![]),
    };

    let first = SyncSession::new(&device).unwrap();
    assert!(device.sync_status().unwrap().syncing);
    let second = SyncSession::new(&device).unwrap_err();
    assert!(matches!(second, SyncError::AlreadySyncing), "{second:?}");
    assert_eq!(second.code(), "already_syncing");
    let transport = flaky();
    let round = sync(
        &device,
        &transport,
        &RetryPolicy::default(),
        &mut |_| {},
        &|| NOW,
    )
    .unwrap_err();
    assert!(matches!(round, SyncError::AlreadySyncing), "{round:?}");
    assert!(transport.pushes.borrow().is_empty(), "nothing was sent");
    let status = device.sync_status().unwrap();
    assert_eq!(
        (status.pending_changes, status.last_error_code),
        (1, None),
        "the refused round records nothing: the status is the running one's"
    );
    let wipe = device.wipe().unwrap_err();
    assert!(matches!(wipe, StoreError::SyncRunning), "{wipe:?}");
    assert!(device.get_any(&kiosk.meta.id).unwrap().is_some(), "kept");

    drop(first);
    assert!(!device.sync_status().unwrap().syncing);
    let report = sync(
        &device,
        &transport,
        &RetryPolicy::default(),
        &mut |_| {},
        &|| NOW,
    )
    .unwrap();
    assert_eq!(report.pushed, 1);
    drop(SyncSession::new(&device).unwrap());
}

#[test]
fn the_sync_slot_is_given_back_after_an_error_and_a_panic() {
    /// A transport whose every request panics (a host callback bug).
    struct Panicking;
    impl Transport for Panicking {
        fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            panic!("host transport bug")
        }
        fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            self.push(body)
        }
        fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            self.push(body)
        }
        fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
            self.push(body)
        }

        fn analytics(&self, _query: &str) -> Result<Vec<u8>, TransportError> {
            Err(TransportError::Server {
                status: 404,
                code: "not_found".into(),
                retry_after: None,
            })
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let device = store(&dir, "d.sqlite");
    device.create(Customer::new("Kiosk")).unwrap();
    let policy = RetryPolicy::default();

    let refused = sync(
        &device,
        &Refusing(503, "busy"),
        &policy,
        &mut |_| {},
        &|| NOW,
    );
    assert_eq!(refused.unwrap_err().code(), "busy");
    assert!(!device.sync_status().unwrap().syncing);

    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sync(&device, &Panicking, &policy, &mut |_| {}, &|| NOW)
    }));
    assert!(panicked.is_err());
    assert!(!device.sync_status().unwrap().syncing);
    let session = SyncSession::new(&device).expect("free again after the panic");
    assert!(session.build_push().unwrap().is_some(), "nothing was lost");
}

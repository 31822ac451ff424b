//! The codec's unit tests: round trips, typed errors and the count limits.
use super::*;
use crate::model::Customer;
use crate::records::AnyRecord;

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
                record: WireRecord::new(&AnyRecord::Customer(Customer::new("Café Mitte"))).unwrap(),
            },
        }],
        removals: vec!["c2".into()],
        next_cursor: 9,
        has_more: true,
    };
    assert_eq!(
        decode_pull_response(
            &encode_pull_response(&page, PROTOCOL_VERSION).unwrap(),
            LIMIT
        )
        .unwrap(),
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
    assert_eq!(
        decode_pull_response(&encode_pull_response(&at, PROTOCOL_VERSION).unwrap(), LIMIT),
        Ok(at)
    );
    assert_eq!(
        decode_pull_response(
            &encode_pull_response(&page(MAX_DOCS_PER_PAGE + 1), PROTOCOL_VERSION).unwrap(),
            LIMIT
        ),
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
    assert_eq!(
        decode_pull_response(&encode_pull_response(&at, PROTOCOL_VERSION).unwrap(), LIMIT),
        Ok(at)
    );
    assert_eq!(
        decode_pull_response(
            &encode_pull_response(&changes(MAX_CHANGES_PER_PULLED_DOC + 1), PROTOCOL_VERSION)
                .unwrap(),
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

fn snapshot_page(record: WireRecord) -> PullResponse {
    PullResponse {
        docs: vec![
            PulledDoc {
                doc_id: "c1".into(),
                payload: PulledPayload::Snapshot {
                    bytes: vec![1, 2],
                    record,
                },
            },
            PulledDoc {
                doc_id: "c2".into(),
                payload: PulledPayload::Changes(vec![vec![3]]),
            },
        ],
        removals: vec!["c3".into()],
        next_cursor: 9,
        has_more: true,
    }
}

#[test]
fn every_served_version_reads_and_answers_in_its_own_layout() {
    let record = AnyRecord::Customer(Customer::new("Café Mitte"));
    let page = snapshot_page(WireRecord::new(&record).unwrap());
    for version in OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION {
        let body = encode_pull_response(&page, version).unwrap();
        assert_eq!(body[4], version);
        assert_eq!(version_of(&body), Ok(version));
        assert_eq!(
            decode_pull_response(&body, LIMIT).unwrap(),
            page,
            "v{version}"
        );
        let request = PullRequest {
            cursor: 3,
            limit: 10,
        };
        let body = encode_as(&request, version).unwrap();
        assert_eq!(decode_versioned(&body, LIMIT), Ok((request, version)));
    }
    // Version 1 inlines the record: its payload is the postcard of version 1's own structs,
    // with the record's bytes where version 2 has a format number first.
    let v1 = encode_pull_response(&page, 1).unwrap();
    let v2 = encode_pull_response(&page, 2).unwrap();
    assert_ne!(v1[HEADER_LEN..], v2[HEADER_LEN..]);
}

#[test]
fn a_record_in_an_unknown_format_cannot_go_to_a_version_1_app() {
    let page = snapshot_page(WireRecord {
        format: RECORD_FORMAT + 1,
        bytes: vec![0xFF; 8],
    });
    // Version 2 carries it as it is (the device reads the document instead) ...
    let body = encode_pull_response(&page, 2).unwrap();
    assert_eq!(decode_pull_response(&body, LIMIT).unwrap(), page);
    // ... version 1 has nowhere to put it.
    assert!(matches!(
        encode_pull_response(&page, 1),
        Err(ProtocolError::Malformed(_))
    ));
}

#[test]
fn versions_outside_the_served_range_get_their_own_codes() {
    let mut old = encode(&push()).unwrap();
    old[4] = OLDEST_PROTOCOL_VERSION - 1;
    let err = decode::<PushRequest>(&old, LIMIT).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::UpgradeRequired {
            found: OLDEST_PROTOCOL_VERSION - 1,
            oldest: OLDEST_PROTOCOL_VERSION
        }
    );
    assert_eq!(err.code(), "upgrade_required");
    let mut newer = encode(&push()).unwrap();
    newer[4] = PROTOCOL_VERSION + 1;
    let err = decode_pull_response(&newer, LIMIT).unwrap_err();
    assert_eq!(err.code(), "unsupported_protocol_version");
    assert!(encode_as(&push(), PROTOCOL_VERSION + 1).is_err());
    assert!(encode_as(&push(), OLDEST_PROTOCOL_VERSION - 1).is_err());
}

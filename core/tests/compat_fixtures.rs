//! Compatibility with what version 1 wrote: the fixtures in `tests/fixtures/compat/v1/` were
//! made by the code of protocol version 1 (see `compat_fixtures_gen.rs` for how) and are never
//! rewritten. Every message and document must still read, with the current code, as the
//! values written out below. These values are the record of what version 1 sent; they are
//! not derived from any code that writes, so a change of format that misreads old bytes fails
//! here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fieldcrm_core::protocol::{
    self, PingAck, PingUpload, PullRequest, PullResponse, PulledPayload, PushRequest, PushResponse,
    RefetchRequest, RefetchResponse, RefusedPing, RejectCode, Rejection,
};
use fieldcrm_core::*;

/// The server's default limit on an inflated body.
const LIMIT: usize = 4 * 1024 * 1024;

const ANNA: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e01";
const HARBOUR: &str = "7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c01";
const CUSTOMER: &str = "01937a00-0000-7000-8000-000000000001";
const CONTACT: &str = "01937a00-0000-7000-8000-000000000002";
const OPPORTUNITY: &str = "01937a00-0000-7000-8000-000000000003";
const VISIT: &str = "01937a00-0000-7000-8000-000000000004";
const TASK: &str = "01937a00-0000-7000-8000-000000000005";
const CASE: &str = "01937a00-0000-7000-8000-000000000006";

fn fixture(path: &str) -> Vec<u8> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compat/v1")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// A version-1 message body: the header says version 1, it decodes, and this code answers a
/// version 1 app with exactly these bytes (what an app installed before version 2 reads).
fn message<T: protocol::SameInEveryVersion + std::fmt::Debug + PartialEq>(name: &str) -> T {
    let body = version_1_body(name);
    let message: T = protocol::decode(&body, LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        protocol::encode_as(&message, 1).unwrap(),
        body,
        "{name}: written again"
    );
    message
}

fn version_1_body(name: &str) -> Vec<u8> {
    let body = fixture(&format!("protocol/{name}"));
    assert_eq!(&body[..4], b"FCRM", "{name}");
    assert_eq!(body[4], 1, "{name} was written by protocol version 1");
    body
}

/// The version 1 pull page, read as this code reads any page; and written again for a
/// version 1 app, byte for byte.
fn version_1_page() -> PullResponse {
    let body = version_1_body("pull_response.bin");
    let page = protocol::decode_pull_response(&body, LIMIT).unwrap();
    assert_eq!(protocol::encode_pull_response(&page, 1).unwrap(), body);
    page
}

fn document(kind: Kind) -> Vec<u8> {
    fixture(&format!("documents/{kind}.automerge"))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn meta(id: &str, created_at: Millis, updated_at: Millis) -> RecordMeta {
    RecordMeta {
        id: id.into(),
        created_at,
        created_by: ANNA.into(),
        updated_at,
        deleted: false,
    }
}

// The six records as version 1 wrote them.

fn customer() -> Customer {
    Customer {
        meta: meta(CUSTOMER, 1_795_800_577_864, 1_795_800_577_923),
        name: "Bäckerei Sonnenschein".into(),
        customer_kind: CustomerKind::Company,
        grade: Some(Grade::A),
        segments: set(&["bakery", "key-account"]),
        phones: set(&["+49 170 5550100", "+49 40 3861 0471"]),
        emails: set(&["info@sonnenschein-baeckerei.de"]),
        address: Address {
            line: Some("Ottenser Hauptstraße 12".into()),
            city: Some("Hamburg".into()),
            region: Some("Hamburg".into()),
            postal_code: Some("22765".into()),
            country: Some("DE".into()),
        },
        location: Some(GeoLocation {
            lat: 53.552_41,
            lon: 9.927_65,
            source: LocationSource::Geocoded,
            at: 1_790_000_000_000,
        }),
        visit_radius_m: 120,
        visit_cadence_days: Some(14),
        owner: Some(ANNA.into()),
        territory: Some(HARBOUR.into()),
        notes: "Deliveries at the back door before 7:00.\n\
                Ask for Frau Weber; she decides on equipment."
            .into(),
        custom_fields: BTreeMap::from([
            ("opening_hours".to_owned(), "Mo–Sa 6–18".to_owned()),
            ("vat_id".to_owned(), "DE123456789".to_owned()),
        ]),
    }
}

fn contact() -> Contact {
    Contact {
        meta: meta(CONTACT, 1_795_800_577_930, 1_795_800_577_939),
        customer_id: CUSTOMER.into(),
        name: "Greta Weber".into(),
        title: Some("Owner".into()),
        phones: set(&["+49 170 5550100"]),
        emails: set(&[
            "g.weber@example.org",
            "greta.weber@sonnenschein-baeckerei.de",
        ]),
        notes: "Prefers calls after 14:00.".into(),
    }
}

fn opportunity() -> Opportunity {
    let change = |stage: Stage, at: Millis| StageChange {
        stage,
        at,
        by: ANNA.into(),
    };
    Opportunity {
        meta: meta(OPPORTUNITY, 1_795_800_577_940, 1_795_800_577_947),
        customer_id: CUSTOMER.into(),
        title: "Deck oven replacement".into(),
        stage: Stage::Lost,
        amount: Money {
            minor: 1_850_000,
            currency: "EUR".into(),
        },
        probability: Some(0),
        expected_close_at: Some(1_798_675_200_000),
        owner: Some(ANNA.into()),
        lost_reason: Some("Chose a competitor's oven with a longer warranty".into()),
        stage_history: vec![
            change(Stage::Lead, 1_795_800_577_940),
            change(Stage::Negotiation, 1_795_800_577_944),
            change(Stage::Lost, 1_795_800_577_947),
        ],
    }
}

fn visit() -> Visit {
    Visit {
        meta: meta(VISIT, 1_795_800_577_950, 1_795_800_577_961),
        customer_id: CUSTOMER.into(),
        rep: ANNA.into(),
        planned_start: Some(1_795_000_000_000),
        planned_end: Some(1_795_002_700_000),
        status: VisitStatus::Done,
        check_in: Some(GpsStamp {
            at: 1_795_800_577_953,
            lat: 53.552_45,
            lon: 9.927_7,
            accuracy_m: 8.5,
            fix_at: 1_795_000_300_000,
            mock: false,
        }),
        check_out: Some(GpsStamp {
            at: 1_795_800_577_957,
            lat: 53.552_5,
            lon: 9.927_58,
            accuracy_m: 8.5,
            fix_at: 1_795_002_400_000,
            mock: false,
        }),
        outcome: Some("Ordered rolls for the week; oven decision next month".into()),
        notes: "Bring the oven brochure. Left it with Greta.".into(),
        next_step: Some("Send the warranty comparison".into()),
        order_lines: vec![
            VisitOrderLine {
                product: "Rye flour 25 kg".into(),
                quantity: 4,
                unit_price_minor: 2_390,
            },
            VisitOrderLine {
                product: "Baking paper, 500 sheets".into(),
                quantity: 2,
                unit_price_minor: 1_450,
            },
        ],
        verification: Some(Verification::Verified),
    }
}

fn task() -> Task {
    Task {
        meta: meta(TASK, 1_795_800_577_965, 1_795_800_577_967),
        title: "Send the warranty comparison".into(),
        due_at: Some(1_795_600_000_000),
        status: TaskStatus::Done,
        assignee: Some(ANNA.into()),
        linked_id: Some(VISIT.into()),
    }
}

fn case() -> Case {
    Case {
        meta: meta(CASE, 1_795_800_577_969, 1_795_800_577_971),
        customer_id: CUSTOMER.into(),
        subject: "Proofer door does not seal".into(),
        severity: Severity::High,
        status: CaseStatus::Resolved,
        resolution: Some("Seal replaced under warranty on site.".into()),
        satisfaction: Some(4),
        // Written before cases had service fields.
        assignee: None,
        due_at: None,
        status_history: Vec::new(),
        escalated_at: None,
        survey: None,
    }
}

fn expected(kind: Kind) -> AnyRecord {
    match kind {
        Kind::Customer => AnyRecord::Customer(customer()),
        Kind::Contact => AnyRecord::Contact(contact()),
        Kind::Opportunity => AnyRecord::Opportunity(opportunity()),
        Kind::Visit => AnyRecord::Visit(visit()),
        Kind::Task => AnyRecord::Task(task()),
        Kind::Case => AnyRecord::Case(case()),
        // Kinds added after version 1: their documents are pinned in `compat_fixtures_v3.rs`
        // and `compat_fixtures_v4.rs`.
        Kind::Product | Kind::Order | Kind::Activity => {
            unreachable!("version 1 wrote no {kind}")
        }
    }
}

/// Each document with the hashes of its changes, in the order they were made (and pushed).
const DOCUMENTS: [(Kind, &str, &[&str]); 6] = [
    (
        Kind::Customer,
        CUSTOMER,
        &[
            "3e202b57810158837a25ff1e36a6566a72819ad36e73e47d232fc87c11b4c5c5",
            "7e64a0dde6b9c7e0c537435bbf0c3f14a9f6fefdf82a0a88e944f5765dc1cffd",
        ],
    ),
    (
        Kind::Contact,
        CONTACT,
        &[
            "05d474ef9d5138e50ca901ef161606536baa8c41ba74ceafd684065f162596a4",
            "900bc34387126ae107b94bd5261c755050f6d20f33b0b0608455bf664049cffd",
        ],
    ),
    (
        Kind::Opportunity,
        OPPORTUNITY,
        &[
            "ffea833643338391565603838ebff61998e0d6eff2e90834c0a762ec35812c67",
            "8cb6b9f479c14e5b3ecb2a519b0fcb818f8487d220b2788fb6543c529f0db5a0",
            "31130597862709e84a6421b81583bf63e1d21761eb5302ee6b6a77d555e1633e",
        ],
    ),
    (
        Kind::Visit,
        VISIT,
        &[
            "dc59e3ea854fca8692fcf3fdbc97313b5a739e151e186a73fbaebbe0288cfb3a",
            "bf30f89e319be1a45cf005a4dc7ad6d54612ebff74a4995d9bd1dcc50a62b414",
            "a9b62debfaf1dda95825a076602df10a8c5e09d26bd7a6a6dbef0e5a19e9e7b4",
            "60b92c868fbf2fc081f449f393c47cf9b6f24c51db65d8602ef5f648b5cd0102",
        ],
    ),
    (
        Kind::Task,
        TASK,
        &[
            "ac62fb093d4b631886192a17235cae94a809f24e08b0d765213d202e09b71283",
            "1e5cebec8aea9cea987e61060dbd31b15155db304d1ac681852f61631c18392b",
        ],
    ),
    (
        Kind::Case,
        CASE,
        &[
            "09f05c6ef47e8a89b2286919c6b57f2705b0b3ae101e503bd4f5d9fbd1473497",
            "177e4604ec9606423fb5c91873affd9c62c2bbe7ea3a004b1c5f9f3ac3b9029d",
        ],
    ),
];

fn hashes(changes: &[Vec<u8>]) -> Vec<String> {
    changes
        .iter()
        .map(|c| authority::change_hash(c).expect("a change chunk"))
        .collect()
}

fn changes_of(id: &str) -> Vec<String> {
    let (_, _, hashes) = DOCUMENTS.iter().find(|(_, d, _)| *d == id).unwrap();
    strings(hashes)
}

fn fresh_store(dir: &tempfile::TempDir) -> Store {
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(ANNA).unwrap();
    store
}

// ---------------------------------------------------------------------------------------------
// Protocol messages

#[test]
fn a_version_1_push_request_decodes_with_every_change() {
    let push: PushRequest = message("push_request.bin");
    assert_eq!(push.docs.len(), DOCUMENTS.len());
    for (entry, (kind, id, expected_hashes)) in push.docs.iter().zip(DOCUMENTS) {
        assert_eq!(entry.doc_id, id);
        assert_eq!(entry.kind, kind, "{id}");
        assert_eq!(hashes(&entry.changes), strings(expected_hashes), "{id}");
    }

    // The changes are whole: replayed on a fresh device they are the six records.
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir);
    let report = store
        .import(
            push.docs
                .into_iter()
                .map(|d| IncomingDoc {
                    doc_id: d.doc_id,
                    payload: IncomingPayload::Changes(d.changes),
                })
                .collect(),
        )
        .unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!((report.applied, report.held_changes), (6, 0));
    for (kind, id, _) in DOCUMENTS {
        assert_eq!(store.get_any(id).unwrap(), Some(expected(kind)), "{id}");
    }
}

#[test]
fn a_version_1_push_response_decodes_with_every_reject_code() {
    let response: PushResponse = message("push_response.bin");
    let acknowledged: Vec<String> = [CUSTOMER, CONTACT, OPPORTUNITY, VISIT]
        .into_iter()
        .flat_map(changes_of)
        .collect();
    let rejection = |doc_id: &str, hashes: Vec<String>, code, reason: &str| Rejection {
        doc_id: doc_id.into(),
        hashes,
        code,
        reason: reason.into(),
    };
    assert_eq!(
        response,
        PushResponse {
            acknowledged,
            rejected: vec![
                rejection(
                    TASK,
                    changes_of(TASK),
                    RejectCode::Forbidden,
                    "you may not write this record"
                ),
                rejection(
                    CASE,
                    changes_of(CASE),
                    RejectCode::InvalidRecord,
                    "satisfaction: score must be 1 to 5"
                ),
                rejection(
                    "01937a00-0000-7000-8000-0000000000f1",
                    vec!["00".repeat(32)],
                    RejectCode::MalformedChange,
                    "not an Automerge change chunk"
                ),
                rejection(
                    "01937a00-0000-7000-8000-0000000000f2",
                    vec!["11".repeat(32)],
                    RejectCode::ForeignActor,
                    "change authored by an actor not registered to you"
                ),
                rejection(
                    "01937a00-0000-7000-8000-0000000000f3",
                    vec!["22".repeat(32)],
                    RejectCode::ImmutableField,
                    "rep is written once"
                ),
            ],
        }
    );
}

#[test]
fn a_version_1_pull_request_decodes() {
    let request: PullRequest = message("pull_request.bin");
    assert_eq!(
        request,
        PullRequest {
            cursor: 4_294_967_424,
            limit: 500,
        }
    );
}

#[test]
fn a_version_1_pull_page_decodes_with_a_snapshot_of_every_kind_changes_and_removals() {
    let page = version_1_page();
    assert_eq!(page.docs.len(), 7);
    for (pulled, (kind, id, _)) in page.docs.iter().zip(DOCUMENTS) {
        assert_eq!(pulled.doc_id, id);
        match &pulled.payload {
            PulledPayload::Snapshot { bytes, record } => {
                assert_eq!(bytes, &document(kind), "{kind}: the saved document");
                assert_eq!(record.format, protocol::RECORD_FORMAT);
                assert_eq!(
                    record.read(),
                    Some(expected(kind)),
                    "{kind}: the record beside it"
                );
            }
            other => panic!("{kind}: a snapshot expected, got {other:?}"),
        }
    }
    assert_eq!(page.docs[6].doc_id, TASK);
    match &page.docs[6].payload {
        PulledPayload::Changes(changes) => assert_eq!(hashes(changes), changes_of(TASK)),
        other => panic!("changes expected, got {other:?}"),
    }
    assert_eq!(
        page.removals,
        strings(&[
            "01937a00-0000-7000-8000-0000000000e1",
            "01937a00-0000-7000-8000-0000000000e2",
        ])
    );
    assert_eq!(page.next_cursor, 4_294_967_431);
    assert!(page.has_more);

    // The page applies on a fresh device the way the sync applies it: the bootstrap path, then
    // the background verification of every document against the record it came with.
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir);
    let batch = page
        .docs
        .into_iter()
        .map(|d| IncomingDoc {
            doc_id: d.doc_id,
            payload: match d.payload {
                PulledPayload::Snapshot { bytes, record } => IncomingPayload::SnapshotWithRecord {
                    bytes,
                    record: Box::new(record.read().unwrap()),
                },
                PulledPayload::Changes(changes) => IncomingPayload::Changes(changes),
            },
        })
        .collect();
    let report = store.import(batch).unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
    let verified = store.verify_documents(100).unwrap();
    assert!(verified.failed.is_empty(), "{verified:?}");
    assert_eq!((verified.verified, verified.remaining), (6, 0));
    for (kind, id, _) in DOCUMENTS {
        assert_eq!(store.get_any(id).unwrap(), Some(expected(kind)), "{id}");
    }
}

#[test]
fn a_version_1_ping_upload_and_its_acknowledgement_decode() {
    let fix = |at: Millis, lat: f64, lon: f64, accuracy_m: f64, mock: bool| Fix {
        at,
        lat,
        lon,
        accuracy_m,
        mock,
    };
    let upload: PingUpload = message("ping_upload.bin");
    assert_eq!(
        upload,
        PingUpload {
            batch_id: "0193a0c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b".into(),
            pings: vec![
                fix(1_794_999_700_000, 53.549_8, 9.935_1, 12.0, false),
                fix(1_794_999_760_000, 53.550_92, 9.931_44, 6.5, false),
                fix(1_794_999_820_000, 53.552_3, 9.927_9, 25.25, true),
            ],
        }
    );
    let ack: PingAck = message("ping_ack.bin");
    assert_eq!(
        ack,
        PingAck {
            batch_id: "0193a0c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b".into(),
            stored: 1,
            duplicates: 1,
            refused: vec![RefusedPing {
                at: 1_794_999_820_000,
                reason: "the fix time is more than 10 minutes ahead of the server".into(),
            }],
        }
    );
}

#[test]
fn a_version_1_refetch_and_its_answer_decode() {
    let request: RefetchRequest = message("refetch_request.bin");
    assert_eq!(
        request.doc_ids,
        strings(&[VISIT, "01937a00-0000-7000-8000-0000000000e3"])
    );
    let body = version_1_body("refetch_response.bin");
    let response: RefetchResponse = protocol::decode_refetch_response(&body, LIMIT).unwrap();
    assert_eq!(
        protocol::encode_refetch_response(&response, 1).unwrap(),
        body
    );
    assert_eq!(
        response.missing,
        strings(&["01937a00-0000-7000-8000-0000000000e3"])
    );
    assert_eq!(response.docs.len(), 1);
    assert_eq!(response.docs[0].doc_id, VISIT);
    let PulledPayload::Changes(changes) = &response.docs[0].payload else {
        panic!("a history expected, got {:?}", response.docs[0].payload);
    };
    assert_eq!(hashes(changes), changes_of(VISIT));
}

// ---------------------------------------------------------------------------------------------
// Documents

#[test]
fn each_version_1_document_imports_into_a_fresh_store_as_its_record() {
    for (kind, id, _) in DOCUMENTS {
        let dir = tempfile::tempdir().unwrap();
        let store = fresh_store(&dir);
        let report = store
            .import(vec![IncomingDoc {
                doc_id: id.into(),
                payload: IncomingPayload::Snapshot(document(kind)),
            }])
            .unwrap();
        assert!(report.refused.is_empty(), "{kind}: {report:?}");
        assert_eq!(report.applied, 1, "{kind}");
        assert_eq!(store.get_any(id).unwrap(), Some(expected(kind)), "{kind}");
        assert_eq!(store.document_ids(kind).unwrap(), vec![id.to_owned()]);
        assert!(store.conflicts(id).unwrap().is_empty(), "{kind}");
        let history = store.document_changes(id).unwrap();
        assert_eq!(hashes(&history), changes_of(id), "{kind}: its changes");
    }
}

#[test]
fn version_1_documents_are_projected_and_editable_on_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir);
    let batch = DOCUMENTS
        .iter()
        .map(|(kind, id, _)| IncomingDoc {
            doc_id: (*id).into(),
            payload: IncomingPayload::Snapshot(document(*kind)),
        })
        .collect();
    assert_eq!(store.import(batch).unwrap().applied, 6);
    let found = store
        .query(&Query::SearchCustomers {
            text: "Sonnensch".into(),
            limit: 10,
        })
        .unwrap();
    let QueryResult::Customers(found) = found else {
        panic!("customers expected, got {found:?}");
    };
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].id.as_str(), found[0].city.as_deref()),
        (CUSTOMER, Some("Hamburg"))
    );

    // An edit on top of a version-1 document keeps everything else.
    let mut edited = customer();
    edited.grade = Some(Grade::B);
    let edited = store.update(edited).unwrap();
    let mut wanted = customer();
    wanted.grade = Some(Grade::B);
    wanted.meta.updated_at = edited.meta.updated_at;
    assert_eq!(store.get::<Customer>(CUSTOMER).unwrap(), Some(wanted));
}

#[test]
fn the_server_reads_each_version_1_document_as_its_record() {
    for (kind, id, hashes) in DOCUMENTS {
        let current =
            authority::Current::load(&document(kind)).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert_eq!(current.record, expected(kind), "{kind}");
        assert_eq!(current.record.meta().id, id);
        let mut heads: Vec<String> = current
            .doc
            .get_heads()
            .iter()
            .map(|h| h.to_string())
            .collect();
        heads.sort();
        // Every document was edited in a line on one device: one head, its last change.
        assert_eq!(heads, strings(&hashes[hashes.len() - 1..]), "{kind}");
    }
}

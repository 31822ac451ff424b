//! Writes the version-1 compatibility fixtures (`tests/fixtures/compat/v1/`): every protocol
//! message encoded by today's encoder, and the saved Automerge document of every record kind,
//! written through the real `Store`. Not a test: `tests/compat_fixtures.rs` reads what this
//! wrote, and the committed files, not this code, are the truth it checks against.
//!
//! The fixtures pin the format of protocol version 1 and of the documents it carries. Once the
//! formats change, this code no longer makes version-1 bytes: never regenerate them then. So
//! it writes nothing when the folder exists; to regenerate with version-1 code, delete the
//! folder first, then `cargo test -p fieldcrm-core --test compat_fixtures_gen -- --ignored`
//! and update the expected values in `compat_fixtures.rs` (timestamps and actors differ on
//! every run).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fieldcrm_core::protocol::{
    self, PingAck, PingUpload, PullRequest, PullResponse, PulledDoc, PulledPayload, PushResponse,
    RefetchRequest, RefetchResponse, RefusedPing, RejectCode, Rejection,
};
use fieldcrm_core::*;

const ANNA: &str = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e01";
const HARBOUR: &str = "7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c01";
const CUSTOMER: &str = "01937a00-0000-7000-8000-000000000001";
const CONTACT: &str = "01937a00-0000-7000-8000-000000000002";
const OPPORTUNITY: &str = "01937a00-0000-7000-8000-000000000003";
const VISIT: &str = "01937a00-0000-7000-8000-000000000004";
const TASK: &str = "01937a00-0000-7000-8000-000000000005";
const CASE: &str = "01937a00-0000-7000-8000-000000000006";

fn v1_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat/v1")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
    println!("{} ({} bytes)", dir.join(name).display(), bytes.len());
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Six records, one of each kind, every optional field set, each edited after its creation
/// the way an app edits (so each document holds a history, not one change).
fn write_records(store: &Store) {
    let mut customer = Customer::new("Bäckerei Sonnenschein");
    customer.meta.id = CUSTOMER.into();
    customer.customer_kind = CustomerKind::Company;
    customer.grade = Some(Grade::A);
    customer.segments = set(&["bakery", "key-account"]);
    customer.phones = set(&["+49 40 3861 0471"]);
    customer.emails = set(&["info@sonnenschein-baeckerei.de"]);
    customer.address = Address {
        line: Some("Ottenser Hauptstraße 12".into()),
        city: Some("Hamburg".into()),
        region: Some("Hamburg".into()),
        postal_code: Some("22765".into()),
        country: Some("DE".into()),
    };
    customer.location = Some(GeoLocation {
        lat: 53.552_41,
        lon: 9.927_65,
        source: LocationSource::Geocoded,
        at: 1_790_000_000_000,
    });
    customer.visit_radius_m = 120;
    customer.visit_cadence_days = Some(14);
    customer.owner = Some(ANNA.into());
    customer.territory = Some(HARBOUR.into());
    customer.notes = "Deliveries at the back door before 7:00.".into();
    customer.custom_fields = BTreeMap::from([
        ("vat_id".to_owned(), "DE123456789".to_owned()),
        ("opening_hours".to_owned(), "Mo–Sa 6–18".to_owned()),
    ]);
    let mut customer = store.create(customer).unwrap();
    customer.phones.insert("+49 170 5550100".into());
    customer
        .notes
        .push_str("\nAsk for Frau Weber; she decides on equipment.");
    store.update(customer).unwrap();

    let mut contact = Contact::new(CUSTOMER, "Greta Weber");
    contact.meta.id = CONTACT.into();
    contact.title = Some("Owner".into());
    contact.phones = set(&["+49 170 5550100"]);
    contact.emails = set(&["greta.weber@sonnenschein-baeckerei.de"]);
    contact.notes = "Prefers calls after 14:00.".into();
    let mut contact = store.create(contact).unwrap();
    contact.emails.insert("g.weber@example.org".into());
    store.update(contact).unwrap();

    let mut deal = Opportunity::new(
        CUSTOMER,
        "Deck oven replacement",
        Money {
            minor: 1_850_000,
            currency: "EUR".into(),
        },
    );
    deal.meta.id = OPPORTUNITY.into();
    deal.probability = Some(40);
    deal.expected_close_at = Some(1_798_675_200_000);
    deal.owner = Some(ANNA.into());
    let mut deal = store.create(deal).unwrap();
    deal.stage = Stage::Negotiation;
    deal.probability = Some(70);
    let mut deal = store.update(deal).unwrap();
    deal.stage = Stage::Lost;
    deal.probability = Some(0);
    deal.lost_reason = Some("Chose a competitor's oven with a longer warranty".into());
    store.update(deal).unwrap();

    let mut visit = Visit::new(CUSTOMER, ANNA);
    visit.meta.id = VISIT.into();
    visit.planned_start = Some(1_795_000_000_000);
    visit.planned_end = Some(1_795_002_700_000);
    visit.notes = "Bring the oven brochure.".into();
    store.create(visit).unwrap();
    let fix = |at: Millis, lat: f64, lon: f64| Fix {
        at,
        lat,
        lon,
        accuracy_m: 8.5,
        mock: false,
    };
    store
        .check_in(VISIT, fix(1_795_000_300_000, 53.552_45, 9.927_70))
        .unwrap();
    store
        .check_out(
            VISIT,
            fix(1_795_002_400_000, 53.552_50, 9.927_58),
            Some("Ordered rolls for the week; oven decision next month".into()),
        )
        .unwrap();
    let mut visit: Visit = store.get(VISIT).unwrap().unwrap();
    visit.next_step = Some("Send the warranty comparison".into());
    visit.notes.push_str(" Left it with Greta.");
    visit.order_lines = vec![
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
    ];
    store.update(visit).unwrap();

    let mut task = Task::new("Send the warranty comparison");
    task.meta.id = TASK.into();
    task.due_at = Some(1_795_600_000_000);
    task.assignee = Some(ANNA.into());
    task.linked_id = Some(VISIT.into());
    let mut task = store.create(task).unwrap();
    task.status = TaskStatus::Done;
    store.update(task).unwrap();

    let mut case = Case::new(CUSTOMER, "Proofer door does not seal");
    case.meta.id = CASE.into();
    case.severity = Severity::High;
    let mut case = store.create(case).unwrap();
    case.status = CaseStatus::Resolved;
    case.resolution = Some("Seal replaced under warranty on site.".into());
    case.satisfaction = Some(4);
    store.update(case).unwrap();
}

const IDS: [(Kind, &str); 6] = [
    (Kind::Customer, CUSTOMER),
    (Kind::Contact, CONTACT),
    (Kind::Opportunity, OPPORTUNITY),
    (Kind::Visit, VISIT),
    (Kind::Task, TASK),
    (Kind::Case, CASE),
];

/// Writes `message` as protocol version 1 wrote it (the version these fixtures pin; pages
/// through their version 1 layout, records inline).
fn message<T: protocol::SameInEveryVersion>(dir: &Path, name: &str, message: &T) {
    version_1(dir, name, protocol::encode_as(message, 1).unwrap());
}

fn version_1(dir: &Path, name: &str, bytes: Vec<u8>) {
    assert_eq!(bytes[4], 1, "protocol version 1");
    write(dir, name, &bytes);
}

#[test]
#[ignore = "writes the version-1 compatibility fixtures; run by hand, see the file's comment"]
fn write_v1_compat_fixtures() {
    let v1 = v1_dir();
    if v1.exists() {
        println!(
            "{} exists: the version-1 fixtures are pinned and are not rewritten",
            v1.display()
        );
        return;
    }
    assert_eq!(
        protocol::PROTOCOL_VERSION,
        1,
        "run only with version-1 code"
    );
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(ANNA).unwrap();
    write_records(&store);

    let documents = v1.join("documents");
    for (kind, id) in IDS {
        write(
            &documents,
            &format!("{kind}.automerge"),
            &store.document_bytes(id).unwrap().unwrap(),
        );
    }

    let messages = v1.join("protocol");
    let (push, hashes) = store.push_request(1_000).unwrap().unwrap();
    assert_eq!(push.docs.len(), 6);
    message(&messages, "push_request.bin", &push);
    let task_changes = push.docs.iter().find(|d| d.doc_id == TASK).unwrap();
    let case_changes = push.docs.iter().find(|d| d.doc_id == CASE).unwrap();
    let acknowledged: Vec<String> = hashes
        .iter()
        .filter(|h| {
            !task_changes
                .changes
                .iter()
                .chain(&case_changes.changes)
                .any(|c| authority::change_hash(c).as_deref() == Some(h.as_str()))
        })
        .cloned()
        .collect();
    let hashes_of = |changes: &[Vec<u8>]| -> Vec<String> {
        changes
            .iter()
            .map(|c| authority::change_hash(c).unwrap())
            .collect()
    };
    // Every reject code once (postcard numbers enum variants by position).
    let rejection = |doc_id: &str, hashes: Vec<String>, code: RejectCode, reason: &str| Rejection {
        doc_id: doc_id.into(),
        hashes,
        code,
        reason: reason.into(),
    };
    message(
        &messages,
        "push_response.bin",
        &PushResponse {
            acknowledged,
            rejected: vec![
                rejection(
                    TASK,
                    hashes_of(&task_changes.changes),
                    RejectCode::Forbidden,
                    "you may not write this record",
                ),
                rejection(
                    CASE,
                    hashes_of(&case_changes.changes),
                    RejectCode::InvalidRecord,
                    "satisfaction: score must be 1 to 5",
                ),
                rejection(
                    "01937a00-0000-7000-8000-0000000000f1",
                    vec!["00".repeat(32)],
                    RejectCode::MalformedChange,
                    "not an Automerge change chunk",
                ),
                rejection(
                    "01937a00-0000-7000-8000-0000000000f2",
                    vec!["11".repeat(32)],
                    RejectCode::ForeignActor,
                    "change authored by an actor not registered to you",
                ),
                rejection(
                    "01937a00-0000-7000-8000-0000000000f3",
                    vec!["22".repeat(32)],
                    RejectCode::ImmutableField,
                    "rep is written once",
                ),
            ],
        },
    );

    message(
        &messages,
        "pull_request.bin",
        &PullRequest {
            cursor: 4_294_967_424,
            limit: 500,
        },
    );
    let mut docs: Vec<PulledDoc> = IDS
        .iter()
        .map(|(_, id)| PulledDoc {
            doc_id: (*id).into(),
            payload: PulledPayload::Snapshot {
                bytes: store.document_bytes(id).unwrap().unwrap(),
                record: protocol::WireRecord::new(&store.get_any(id).unwrap().unwrap()).unwrap(),
            },
        })
        .collect();
    docs.push(PulledDoc {
        doc_id: TASK.into(),
        payload: PulledPayload::Changes(store.document_changes(TASK).unwrap()),
    });
    let page = PullResponse {
        docs,
        removals: vec![
            "01937a00-0000-7000-8000-0000000000e1".into(),
            "01937a00-0000-7000-8000-0000000000e2".into(),
        ],
        next_cursor: 4_294_967_431,
        has_more: true,
    };
    version_1(
        &messages,
        "pull_response.bin",
        protocol::encode_pull_response(&page, 1).unwrap(),
    );

    let ping = |at: Millis, lat: f64, lon: f64, accuracy_m: f64, mock: bool| Fix {
        at,
        lat,
        lon,
        accuracy_m,
        mock,
    };
    message(
        &messages,
        "ping_upload.bin",
        &PingUpload {
            batch_id: "0193a0c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b".into(),
            pings: vec![
                ping(1_794_999_700_000, 53.549_80, 9.935_10, 12.0, false),
                ping(1_794_999_760_000, 53.550_92, 9.931_44, 6.5, false),
                ping(1_794_999_820_000, 53.552_30, 9.927_90, 25.25, true),
            ],
        },
    );
    message(
        &messages,
        "ping_ack.bin",
        &PingAck {
            batch_id: "0193a0c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b".into(),
            stored: 1,
            duplicates: 1,
            refused: vec![RefusedPing {
                at: 1_794_999_820_000,
                reason: "the fix time is more than 10 minutes ahead of the server".into(),
            }],
        },
    );
    message(
        &messages,
        "refetch_request.bin",
        &RefetchRequest {
            doc_ids: vec![VISIT.into(), "01937a00-0000-7000-8000-0000000000e3".into()],
        },
    );
    let refetched = RefetchResponse {
        docs: vec![PulledDoc {
            doc_id: VISIT.into(),
            payload: PulledPayload::Changes(store.document_changes(VISIT).unwrap()),
        }],
        missing: vec!["01937a00-0000-7000-8000-0000000000e3".into()],
    };
    version_1(
        &messages,
        "refetch_response.bin",
        protocol::encode_refetch_response(&refetched, 1).unwrap(),
    );

    // What the test must then write out as expected values.
    for (_, id) in IDS {
        println!("{:#?}", store.get_any(id).unwrap().unwrap());
        println!("{id} heads/changes:");
        for change in store.document_changes(id).unwrap() {
            println!("  {}", authority::change_hash(&change).unwrap());
        }
    }
    println!("push hashes in order: {hashes:#?}");
    println!("actor {}", store.actor_id());
}

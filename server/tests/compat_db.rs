//! A server database written by version 1 (before issue 13 versioned the stored record) still
//! serves: `tests/fixtures/compat/v1/server.sqlite` holds an organisation (admin, manager, two
//! reps in two territories of one team), their devices, documents of every record kind pushed
//! by their phones, pings and the visit facts of a check-in. The test starts the real binary
//! on a copy and checks what each user pulls against the records written out below (the
//! record of what version 1 stored, not derived from code that writes), then pushes an edit.
//!
//! The fixture was made by the ignored generator at the end of this file, through the real
//! binary. It is never rewritten: the generator writes nothing when the file exists.
//!
//! Its first start by this version runs the one-time data migration of the visits' free-text
//! order lines: Ana's visit loses its line, which becomes the order `ANA_ORDER` (in the default
//! currency, EUR), so every user who sees Ana's visit also receives that order.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fieldcrm_core::*;
use serde_json::{Value, json};

mod support;
use support::{BIN, Launch, ServerProcess, admin, agent};

const PASSWORD: &str = "compat v1 pass";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat/v1/server.sqlite")
}

fn login(base: &str, username: &str) -> (String, String) {
    let mut response = agent()
        .post(format!("{base}/v1/auth/login"))
        .send_json(json!({"username": username, "password": PASSWORD}))
        .unwrap();
    assert_eq!(response.status(), 200, "login {username}");
    let body: Value = response.body_mut().read_json().unwrap();
    (
        body["token"].as_str().unwrap().to_owned(),
        body["user"]["id"].as_str().unwrap().to_owned(),
    )
}

/// A phone: a fresh store, signed in, its actor registered.
struct Phone {
    store: Store,
    transport: HttpTransport,
    user_id: String,
    _dir: tempfile::TempDir,
}

fn phone(base: &str, username: &str) -> Phone {
    let (token, user_id) = login(base, username);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(&user_id).unwrap();
    let registered = agent()
        .post(format!("{base}/v1/devices"))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(json!({"actor_id": store.actor_id()}))
        .unwrap();
    assert_eq!(registered.status(), 201, "register {username}'s phone");
    Phone {
        store,
        transport: HttpTransport::new(base, &token),
        user_id,
        _dir: dir,
    }
}

impl Phone {
    fn sync(&self) -> SyncReport {
        let report = sync(
            &self.store,
            &self.transport,
            &RetryPolicy::default(),
            &mut |_| {},
            &wall_clock,
        )
        .unwrap();
        assert_eq!(report.rejected, 0, "{report:?}");
        assert_eq!(report.refused_documents, 0, "{report:?}");
        report
    }

    /// Every document on the phone, by id.
    fn ids(&self) -> BTreeSet<String> {
        Kind::ALL
            .into_iter()
            .flat_map(|kind| self.store.document_ids(kind).unwrap())
            .collect()
    }
}

fn wall_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as Millis
}

// ---------------------------------------------------------------------------------------------
// The version-1 database as it was written.

/// Users (ids made by the server when the generator created them).
const MAYA: &str = "01a21e10-9d1d-7342-a922-25ee01db12d7";
const ANA: &str = "01a21e10-9eef-71c9-af90-f1e436501709";
const BEN: &str = "01a21e10-a10e-7610-988e-8a055cdb359a";

const HARBOUR_CUSTOMER: &str = "01937b00-0000-7000-8000-000000000001";
const CONTACT: &str = "01937b00-0000-7000-8000-000000000002";
const OPPORTUNITY: &str = "01937b00-0000-7000-8000-000000000003";
const ANA_VISIT: &str = "01937b00-0000-7000-8000-000000000004";
const ANA_TASK: &str = "01937b00-0000-7000-8000-000000000005";
const CASE: &str = "01937b00-0000-7000-8000-000000000006";
const HILLS_CUSTOMER: &str = "01937b00-0000-7000-8000-000000000011";
const BEN_VISIT: &str = "01937b00-0000-7000-8000-000000000014";
const BEN_TASK: &str = "01937b00-0000-7000-8000-000000000015";
/// The order the data migration made of Ana's visit's line (`<visit id>-order`).
const ANA_ORDER: &str = "01937b00-0000-7000-8000-000000000004-order";

/// 2026-11-18T08:00:00Z and 2026-11-19T08:00:00Z: the reps' field days.
const ANA_DAY: Millis = 1_794_988_800_000;
const BEN_DAY: Millis = 1_795_075_200_000;
const MINUTE: Millis = 60_000;

fn meta(id: &str, by: &str, created_at: Millis, updated_at: Millis) -> RecordMeta {
    RecordMeta {
        id: id.into(),
        created_at,
        created_by: by.into(),
        updated_at,
        deleted: false,
    }
}

fn strings<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

/// The nine documents as version 1 stored them.
fn expected(id: &str) -> AnyRecord {
    match id {
        HARBOUR_CUSTOMER => AnyRecord::Customer(Customer {
            meta: meta(id, ANA, 1_795_800_738_909, 1_795_800_739_059),
            name: "Fischhalle Altona".into(),
            customer_kind: CustomerKind::Company,
            grade: Some(Grade::A),
            segments: strings(["fish", "wholesale"]),
            phones: strings(["+49 40 3801 2290", "+49 40 3801 2291"]),
            emails: strings(["einkauf@fischhalle.example"]),
            address: Address {
                line: Some("Große Elbstraße 9".into()),
                city: Some("Hamburg".into()),
                region: Some("Hamburg".into()),
                postal_code: Some("22767".into()),
                country: Some("DE".into()),
            },
            location: Some(GeoLocation {
                lat: 53.545_12,
                lon: 9.942_33,
                source: LocationSource::Gps,
                at: 1_794_902_400_000,
            }),
            visit_radius_m: 150,
            visit_cadence_days: Some(7),
            owner: Some(ANA.into()),
            territory: Some("harbour".into()),
            notes: "Loading bay on the river side.".into(),
            custom_fields: [("customer_no".to_owned(), "K-10442".to_owned())].into(),
        }),
        CONTACT => AnyRecord::Contact(Contact {
            meta: meta(id, ANA, 1_795_800_738_925, 1_795_800_738_925),
            customer_id: HARBOUR_CUSTOMER.into(),
            name: "Jens Petersen".into(),
            title: Some("Buyer".into()),
            phones: strings(["+49 171 2233445"]),
            emails: strings(["j.petersen@fischhalle.example"]),
            notes: "Orders on Mondays.".into(),
        }),
        OPPORTUNITY => AnyRecord::Opportunity(Opportunity {
            meta: meta(id, ANA, 1_795_800_738_929, 1_795_800_738_934),
            customer_id: HARBOUR_CUSTOMER.into(),
            title: "Ice machine".into(),
            stage: Stage::Proposal,
            amount: Money {
                minor: 640_000,
                currency: "EUR".into(),
            },
            probability: Some(50),
            expected_close_at: Some(1_797_580_800_000),
            owner: Some(ANA.into()),
            lost_reason: None,
            stage_history: vec![
                StageChange {
                    stage: Stage::Lead,
                    at: 1_795_800_738_929,
                    by: ANA.into(),
                },
                StageChange {
                    stage: Stage::Proposal,
                    at: 1_795_800_738_934,
                    by: ANA.into(),
                },
            ],
        }),
        ANA_VISIT => AnyRecord::Visit(Visit {
            meta: meta(id, ANA, 1_795_800_738_936, 1_795_800_738_936),
            customer_id: HARBOUR_CUSTOMER.into(),
            rep: ANA.into(),
            planned_start: Some(1_794_992_400_000),
            planned_end: Some(1_794_994_200_000),
            status: VisitStatus::Done,
            check_in: Some(GpsStamp {
                at: 1_794_992_520_000,
                lat: 53.545_15,
                lon: 9.942_4,
                accuracy_m: 7.0,
                fix_at: 1_794_992_515_000,
                mock: false,
            }),
            check_out: Some(GpsStamp {
                at: 1_794_994_500_000,
                lat: 53.545_1,
                lon: 9.942_3,
                accuracy_m: 7.0,
                fix_at: 1_794_994_495_000,
                mock: false,
            }),
            outcome: Some("Ordered crushed ice for the season".into()),
            notes: "Talked about the ice machine.".into(),
            next_step: Some("Send the offer".into()),
            // Moved to `ANA_ORDER` at the first start.
            order_lines: vec![],
            verification: Some(Verification::Verified),
        }),
        ANA_ORDER => AnyRecord::Order(Order {
            meta: meta(id, ANA, 1_795_800_738_936, 1_795_800_738_936),
            customer_id: HARBOUR_CUSTOMER.into(),
            visit_id: Some(ANA_VISIT.into()),
            currency: "EUR".into(),
            status: OrderStatus::Submitted,
            owner: ANA.into(),
            ordered_at: 1_794_992_520_000,
            notes: String::new(),
            lines: vec![OrderLine {
                id: format!("{ANA_VISIT}-line-0000"),
                product_id: "free-text".into(),
                sku: String::new(),
                name: "Crushed ice 10 kg".into(),
                quantity: 40,
                unit_price_minor: 450,
                tax_rate_bp: 0,
                discount_bp: 0,
            }],
            status_history: vec![OrderStatusChange {
                status: OrderStatus::Submitted,
                at: 1_794_992_520_000,
                by: ANA.into(),
            }],
        }),
        ANA_TASK => AnyRecord::Task(Task {
            meta: meta(id, ANA, 1_795_800_738_946, 1_795_800_738_946),
            title: "Send the ice machine offer".into(),
            due_at: Some(1_795_161_600_000),
            status: TaskStatus::Open,
            assignee: Some(ANA.into()),
            linked_id: Some(OPPORTUNITY.into()),
        }),
        CASE => AnyRecord::Case(Case {
            meta: meta(id, ANA, 1_795_800_738_948, 1_795_800_738_951),
            customer_id: HARBOUR_CUSTOMER.into(),
            subject: "Late delivery on Friday".into(),
            severity: Severity::Low,
            status: CaseStatus::Closed,
            resolution: Some("Driver rerouted; credited the delivery fee.".into()),
            satisfaction: Some(3),
            // Written before cases had service fields.
            assignee: None,
            due_at: None,
            status_history: Vec::new(),
            escalated_at: None,
            survey: None,
        }),
        HILLS_CUSTOMER => AnyRecord::Customer(Customer {
            meta: meta(id, BEN, 1_795_800_738_953, 1_795_800_738_953),
            name: "Hofladen Blankenese".into(),
            customer_kind: CustomerKind::Person,
            grade: None,
            segments: BTreeSet::new(),
            phones: strings(["+49 40 8660 1234"]),
            emails: BTreeSet::new(),
            address: Address {
                city: Some("Hamburg".into()),
                ..Address::default()
            },
            location: Some(GeoLocation {
                lat: 53.558_7,
                lon: 9.801_2,
                source: LocationSource::Manual,
                at: 1_794_988_800_000,
            }),
            visit_radius_m: 150,
            visit_cadence_days: None,
            owner: Some(BEN.into()),
            territory: Some("hills".into()),
            notes: String::new(),
            custom_fields: Default::default(),
        }),
        BEN_VISIT => AnyRecord::Visit(Visit {
            meta: meta(id, BEN, 1_795_800_738_959, 1_795_800_739_044),
            customer_id: HILLS_CUSTOMER.into(),
            rep: BEN.into(),
            planned_start: Some(1_795_082_400_000),
            planned_end: Some(1_795_084_200_000),
            status: VisitStatus::Planned,
            check_in: None,
            check_out: None,
            outcome: None,
            notes: "Ask about the winter assortment.".into(),
            next_step: None,
            order_lines: vec![],
            verification: None,
        }),
        BEN_TASK => AnyRecord::Task(Task {
            meta: meta(id, MAYA, 1_795_800_739_025, 1_795_800_739_025),
            title: "Call about the winter assortment".into(),
            due_at: Some(1_795_680_000_000),
            status: TaskStatus::Open,
            assignee: Some(BEN.into()),
            linked_id: Some(HILLS_CUSTOMER.into()),
        }),
        other => panic!("no document {other} in the version-1 database"),
    }
}

const ANA_SEES: [&str; 7] = [
    HARBOUR_CUSTOMER,
    CONTACT,
    OPPORTUNITY,
    ANA_VISIT,
    ANA_TASK,
    CASE,
    ANA_ORDER,
];
const BEN_SEES: [&str; 3] = [HILLS_CUSTOMER, BEN_VISIT, BEN_TASK];

/// A copy of the version-1 database with the real binary serving it; the committed file is
/// never opened for writing.
struct Copy {
    server: ServerProcess,
    _dir: tempfile::TempDir,
}

fn serve_a_copy() -> Copy {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite");
    std::fs::copy(fixture(), &db).unwrap();
    let server = ServerProcess::start(BIN, &db, Launch::default());
    Copy { server, _dir: dir }
}

/// A fresh phone of `username` pulls everything and holds exactly `ids`, each as version 1
/// stored it, and every bootstrapped document verifies against the record it came with.
fn pulls_exactly(base: &str, username: &str, ids: &[&str]) -> Phone {
    let phone = phone(base, username);
    let report = phone.sync();
    assert_eq!(
        report.pulled_docs as usize,
        ids.len(),
        "{username}: {report:?}"
    );
    assert_eq!(
        phone.ids(),
        ids.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>(),
        "{username}"
    );
    let verified = phone.store.verify_documents(1_000).unwrap();
    assert!(verified.failed.is_empty(), "{username}: {verified:?}");
    assert_eq!(verified.remaining, 0);
    for id in ids {
        assert_eq!(
            phone.store.get_any(id).unwrap(),
            Some(expected(id)),
            "{username}: {id}"
        );
    }
    phone
}

#[test]
fn a_version_1_database_serves_every_user_what_they_may_see() {
    let copy = serve_a_copy();
    let base = &copy.server.base;
    pulls_exactly(base, "ana", &ANA_SEES);
    pulls_exactly(base, "ben", &BEN_SEES);
    let everything: Vec<&str> = ANA_SEES.iter().chain(&BEN_SEES).copied().collect();
    pulls_exactly(base, "maya", &everything);
    pulls_exactly(base, "adele", &everything);
}

#[test]
fn a_version_1_database_takes_new_pushes_to_its_documents() {
    let copy = serve_a_copy();
    let base = &copy.server.base;
    let ana = pulls_exactly(base, "ana", &ANA_SEES);
    let ben = pulls_exactly(base, "ben", &BEN_SEES);
    let maya = pulls_exactly(
        base,
        "maya",
        &ANA_SEES
            .iter()
            .chain(&BEN_SEES)
            .copied()
            .collect::<Vec<_>>(),
    );

    let mut customer: Customer = ana.store.get(HARBOUR_CUSTOMER).unwrap().unwrap();
    customer.grade = Some(Grade::B);
    customer.notes.push_str(" Ring twice.");
    let customer = ana.store.update(customer).unwrap();
    let mut deal: Opportunity = ana.store.get(OPPORTUNITY).unwrap().unwrap();
    deal.stage = Stage::Won;
    let deal = ana.store.update(deal).unwrap();
    assert_eq!(deal.stage_history.len(), 3);
    assert_eq!(ana.sync().pushed, 2);
    assert_eq!(ana.store.sync_status().unwrap().pending_changes, 0);

    // Ben checks in to the visit version 1 stored as planned: the field-work tables take it.
    let visit = ben
        .store
        .check_in(
            BEN_VISIT,
            Fix {
                at: wall_clock() - 60_000,
                lat: 53.558_75,
                lon: 9.801_25,
                accuracy_m: 6.0,
                mock: false,
            },
        )
        .unwrap();
    assert_eq!(visit.verification, Some(Verification::Verified));
    assert_eq!(ben.sync().pushed, 1);

    maya.sync();
    assert_eq!(
        maya.store.get::<Customer>(HARBOUR_CUSTOMER).unwrap(),
        Some(customer)
    );
    assert_eq!(
        maya.store.get::<Opportunity>(OPPORTUNITY).unwrap(),
        Some(deal)
    );
    assert_eq!(maya.store.get::<Visit>(BEN_VISIT).unwrap(), Some(visit));
}

#[test]
fn a_version_1_database_keeps_the_reps_field_days() {
    let copy = serve_a_copy();
    let base = &copy.server.base;
    let (token, maya) = login(base, "maya");
    assert_eq!(maya, MAYA);
    let day = |rep: &str, date: &str| -> RouteReview {
        let mut response = agent()
            .get(format!("{base}/v1/routes/{rep}/{date}"))
            .header("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        assert_eq!(response.status(), 200, "{rep} {date}");
        response.body_mut().read_json().unwrap()
    };
    let ana = day(ANA, "2026-11-18");
    assert_eq!(ana.pings, 3);
    assert_eq!(ana.visits.len(), 1);
    let visit = &ana.visits[0];
    assert_eq!(
        (visit.visit_id.as_str(), visit.customer_name.as_deref()),
        (ANA_VISIT, Some("Fischhalle Altona"))
    );
    assert_eq!(
        (visit.check_in_at, visit.check_out_at),
        (1_794_992_520_000, Some(1_794_994_500_000))
    );
    // The server verified the check-in against the customer's place as it held it before the
    // push, and the customer arrived in the same push: version 1 stored no location to check.
    assert_eq!(visit.verification, Some(Verification::NoCustomerLocation));
    assert_eq!(ana.actual_order, vec![ANA_VISIT.to_owned()]);
    let ben = day(BEN, "2026-11-19");
    assert_eq!((ben.pings, ben.visits.len()), (2, 0));
    assert_eq!(ben.planned_order, vec![BEN_VISIT.to_owned()]);
}

/// The sales backfill (run at the latest migration that creates the stage history) fills the
/// sales tables from version 1's documents: its deal is in the manager's pipeline, funnel and
/// big deals, from its stage history.
#[test]
fn a_version_1_database_has_its_deal_in_the_sales_reports() {
    let copy = serve_a_copy();
    let base = &copy.server.base;
    let (token, _) = login(base, "maya");
    let get = |path: &str| -> Value {
        let mut response = agent()
            .get(format!("{base}{path}"))
            .header("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.body_mut().read_json().unwrap()
    };
    let pipeline = get("/v1/pipeline");
    assert_eq!(
        pipeline["stages"],
        json!([{"stage": "proposal", "currency": "EUR", "count": 1, "amount_minor": 640_000,
                "weighted_minor": 320_000}])
    );
    assert_eq!(pipeline["reps"][0]["rep_id"], ANA);
    // Created at 2026-11-27T17:32Z as a lead, a proposal 5 ms later.
    let funnel = get("/v1/pipeline/funnel?period=2026-Q4");
    let reached: Vec<u64> = funnel["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_u64().unwrap())
        .collect();
    assert_eq!(reached, [1, 1, 1, 0, 0]);
    assert_eq!(funnel["stages"][0]["median_ms_in_stage"], 5);
    let big = get("/v1/pipeline/big-deals?min_amount=640000");
    assert_eq!(big["deals"][0]["opportunity_id"], OPPORTUNITY);
    assert_eq!(big["deals"][0]["customer_name"], "Fischhalle Altona");
}

// ---------------------------------------------------------------------------------------------
// The generator

fn fix(at: Millis, lat: f64, lon: f64) -> Fix {
    Fix {
        at,
        lat,
        lon,
        accuracy_m: 9.0,
        mock: false,
    }
}

/// Ana's harbour customer with everything around it, and her day at it.
fn ana_works(ana: &Phone) {
    let mut customer = Customer::new("Fischhalle Altona");
    customer.meta.id = HARBOUR_CUSTOMER.into();
    customer.grade = Some(Grade::A);
    customer.segments = ["fish".to_owned(), "wholesale".to_owned()].into();
    customer.phones = ["+49 40 3801 2290".to_owned()].into();
    customer.emails = ["einkauf@fischhalle.example".to_owned()].into();
    customer.address = Address {
        line: Some("Große Elbstraße 9".into()),
        city: Some("Hamburg".into()),
        region: Some("Hamburg".into()),
        postal_code: Some("22767".into()),
        country: Some("DE".into()),
    };
    customer.location = Some(GeoLocation {
        lat: 53.545_12,
        lon: 9.942_33,
        source: LocationSource::Gps,
        at: ANA_DAY - 86_400_000,
    });
    customer.visit_cadence_days = Some(7);
    customer.owner = Some(ana.user_id.clone());
    customer.territory = Some("harbour".into());
    customer.notes = "Loading bay on the river side.".into();
    customer.custom_fields = [("customer_no".to_owned(), "K-10442".to_owned())].into();
    ana.store.create(customer).unwrap();

    let mut contact = Contact::new(HARBOUR_CUSTOMER, "Jens Petersen");
    contact.meta.id = CONTACT.into();
    contact.title = Some("Buyer".into());
    contact.phones = ["+49 171 2233445".to_owned()].into();
    contact.emails = ["j.petersen@fischhalle.example".to_owned()].into();
    contact.notes = "Orders on Mondays.".into();
    ana.store.create(contact).unwrap();

    let mut deal = Opportunity::new(
        HARBOUR_CUSTOMER,
        "Ice machine",
        Money {
            minor: 640_000,
            currency: "EUR".into(),
        },
    );
    deal.meta.id = OPPORTUNITY.into();
    deal.probability = Some(50);
    deal.expected_close_at = Some(ANA_DAY + 30 * 86_400_000);
    deal.owner = Some(ana.user_id.clone());
    let mut deal = ana.store.create(deal).unwrap();
    deal.stage = Stage::Proposal;
    ana.store.update(deal).unwrap();

    let mut visit = Visit::new(HARBOUR_CUSTOMER, &ana.user_id);
    visit.meta.id = ANA_VISIT.into();
    visit.planned_start = Some(ANA_DAY + 60 * MINUTE);
    visit.planned_end = Some(ANA_DAY + 90 * MINUTE);
    visit.status = VisitStatus::Done;
    let stamp = |at: Millis, lat: f64, lon: f64| GpsStamp {
        at,
        lat,
        lon,
        accuracy_m: 7.0,
        fix_at: at - 5_000,
        mock: false,
    };
    visit.check_in = Some(stamp(ANA_DAY + 62 * MINUTE, 53.545_15, 9.942_40));
    visit.check_out = Some(stamp(ANA_DAY + 95 * MINUTE, 53.545_10, 9.942_30));
    visit.outcome = Some("Ordered crushed ice for the season".into());
    visit.notes = "Talked about the ice machine.".into();
    visit.next_step = Some("Send the offer".into());
    visit.order_lines = vec![VisitOrderLine {
        product: "Crushed ice 10 kg".into(),
        quantity: 40,
        unit_price_minor: 450,
    }];
    visit.verification = Some(Verification::Verified);
    ana.store.create(visit).unwrap();

    let mut task = Task::new("Send the ice machine offer");
    task.meta.id = ANA_TASK.into();
    task.due_at = Some(ANA_DAY + 2 * 86_400_000);
    task.assignee = Some(ana.user_id.clone());
    task.linked_id = Some(OPPORTUNITY.into());
    ana.store.create(task).unwrap();

    let mut case = Case::new(HARBOUR_CUSTOMER, "Late delivery on Friday");
    case.meta.id = CASE.into();
    case.severity = Severity::Low;
    let mut case = ana.store.create(case).unwrap();
    case.status = CaseStatus::Closed;
    case.resolution = Some("Driver rerouted; credited the delivery fee.".into());
    case.satisfaction = Some(3);
    ana.store.update(case).unwrap();

    ana.store
        .record_pings(&[
            fix(ANA_DAY + 40 * MINUTE, 53.549_90, 9.962_10),
            fix(ANA_DAY + 50 * MINUTE, 53.547_30, 9.951_80),
            fix(ANA_DAY + 60 * MINUTE, 53.545_40, 9.943_10),
        ])
        .unwrap();
}

/// Ben's hills customer and a planned visit there.
fn ben_works(ben: &Phone) {
    let mut customer = Customer::new("Hofladen Blankenese");
    customer.meta.id = HILLS_CUSTOMER.into();
    customer.customer_kind = CustomerKind::Person;
    customer.phones = ["+49 40 8660 1234".to_owned()].into();
    customer.address.city = Some("Hamburg".into());
    customer.location = Some(GeoLocation {
        lat: 53.558_70,
        lon: 9.801_20,
        source: LocationSource::Manual,
        at: BEN_DAY - 86_400_000,
    });
    customer.owner = Some(ben.user_id.clone());
    customer.territory = Some("hills".into());
    ben.store.create(customer).unwrap();

    let mut visit = Visit::new(HILLS_CUSTOMER, &ben.user_id);
    visit.meta.id = BEN_VISIT.into();
    visit.planned_start = Some(BEN_DAY + 120 * MINUTE);
    visit.planned_end = Some(BEN_DAY + 150 * MINUTE);
    ben.store.create(visit).unwrap();

    ben.store
        .record_pings(&[
            fix(BEN_DAY + 100 * MINUTE, 53.560_00, 9.820_00),
            fix(BEN_DAY + 110 * MINUTE, 53.559_10, 9.810_50),
        ])
        .unwrap();
}

#[test]
#[ignore = "writes the version-1 server database fixture; run by hand, see the file's comment"]
fn write_v1_server_database() {
    let target = fixture();
    if target.exists() {
        println!(
            "{} exists: the version-1 database is pinned and is not rewritten",
            target.display()
        );
        return;
    }
    assert_eq!(
        protocol::PROTOCOL_VERSION,
        1,
        "run only with version-1 code"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite");
    admin(&db, &["team", "add", "--name", "north"]);
    for territory in ["harbour", "hills"] {
        admin(
            &db,
            &["territory", "add", "--name", territory, "--team", "north"],
        );
    }
    for (username, role, team, territory) in [
        ("adele", "admin", None, None),
        ("maya", "manager", Some("north"), None),
        ("ana", "rep", Some("north"), Some("harbour")),
        ("ben", "rep", Some("north"), Some("hills")),
    ] {
        let mut args = vec![
            "user",
            "add",
            "--username",
            username,
            "--password",
            PASSWORD,
            "--role",
            role,
        ];
        if let Some(team) = team {
            args.extend(["--team", team]);
        }
        admin(&db, &args);
        if let Some(territory) = territory {
            admin(
                &db,
                &[
                    "territory",
                    "assign-user",
                    "--username",
                    username,
                    "--territory",
                    territory,
                ],
            );
        }
    }

    let server = ServerProcess::start(BIN, &db, Launch::default());
    let ana = phone(&server.base, "ana");
    let ben = phone(&server.base, "ben");
    let maya = phone(&server.base, "maya");
    let adele = phone(&server.base, "adele");
    ana_works(&ana);
    ben_works(&ben);
    assert_eq!(ana.sync().pings_uploaded, 3);
    assert_eq!(ben.sync().pings_uploaded, 2);
    maya.sync();
    let mut task = Task::new("Call about the winter assortment");
    task.meta.id = BEN_TASK.into();
    task.due_at = Some(BEN_DAY + 7 * 86_400_000);
    task.assignee = Some(ben.user_id.clone());
    task.linked_id = Some(HILLS_CUSTOMER.into());
    maya.store.create(task).unwrap();
    maya.sync();
    // Later edits on top of what is stored: the server's rows are not all first versions.
    ben.sync();
    let mut visit: Visit = ben.store.get(BEN_VISIT).unwrap().unwrap();
    visit.notes = "Ask about the winter assortment.".into();
    ben.store.update(visit).unwrap();
    ben.sync();
    let mut customer: Customer = ana.store.get(HARBOUR_CUSTOMER).unwrap().unwrap();
    customer.phones.insert("+49 40 3801 2291".into());
    ana.store.update(customer).unwrap();
    ana.sync();
    adele.sync();
    assert_eq!(adele.ids().len(), 9);
    drop(server);

    // The database as the server left it (WAL mode), checkpointed into one compact file.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch("VACUUM").unwrap();
    drop(conn);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy(&db, &target).unwrap();
    println!(
        "{} ({} bytes)",
        target.display(),
        std::fs::metadata(&target).unwrap().len()
    );
    for (name, phone) in [
        ("adele", &adele),
        ("maya", &maya),
        ("ana", &ana),
        ("ben", &ben),
    ] {
        println!("{name}: {}", phone.user_id);
    }
    for id in adele.ids() {
        println!("{:#?}", adele.store.get_any(&id).unwrap().unwrap());
    }
}

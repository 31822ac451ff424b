//! Sync end to end: the real server binary on a loopback port, several device stores talking
//! to it through the core library's HTTP transport.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::protocol::{self, RejectCode};
use fieldcrm_core::*;
use serde_json::{Value, json};

mod support;
use support::{BIN, Launch, OrgServer, admin, agent};
const NOW: i64 = 1_790_000_000_000;

type Server = OrgServer;

/// Lets the tests read `/metrics` (otherwise an admin's token is needed).
const METRICS_TOKEN: &str = "sync-e2e-scrape";

/// An organisation: team north with territories harbour (reps ana and ben) and hills (rep
/// cat), manager maya.
fn server() -> Server {
    let users = [
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
        ("cat", "rep", Some("hills")),
        ("maya", "manager", None),
    ];
    OrgServer::start(
        BIN,
        &users,
        "secret pass",
        Launch {
            env: &[("FIELDCRM_METRICS_TOKEN", METRICS_TOKEN)],
            ..Launch::default()
        },
    )
}

struct Device {
    store: Store,
    transport: HttpTransport,
    token: String,
    user_id: String,
    _dir: tempfile::TempDir,
}

fn device(server: &Server, username: &str) -> Device {
    let agent = agent();
    let mut login = agent
        .post(format!("{}/v1/auth/login", server.base))
        .send_json(json!({"username": username, "password": "secret pass"}))
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.body_mut().read_json().unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let user_id = login["user"]["id"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(&user_id).unwrap();
    let registered = agent
        .post(format!("{}/v1/devices", server.base))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(json!({"actor_id": store.actor_id()}))
        .unwrap();
    assert_eq!(registered.status(), 201);
    let transport = HttpTransport::new(&server.base, &token);
    Device {
        store,
        transport,
        token,
        user_id,
        _dir: dir,
    }
}

impl Device {
    fn sync(&self) -> SyncReport {
        sync(
            &self.store,
            &self.transport,
            &RetryPolicy::default(),
            &mut |_| {},
            &|| NOW,
        )
        .unwrap()
    }

    fn customers(&self) -> Vec<CustomerSummary> {
        match self
            .store
            .query(&Query::Customers(CustomerFilter {
                limit: 10_000,
                ..Default::default()
            }))
            .unwrap()
        {
            QueryResult::Customers(rows) => rows,
            other => panic!("customers expected, got {other:?}"),
        }
    }
}

fn customer(name: &str, territory: &str) -> Customer {
    let mut c = Customer::new(name);
    c.territory = Some(territory.to_owned());
    c.address.city = Some("Hamburg".into());
    c
}

#[test]
fn three_devices_with_conflicting_offline_edits_converge() {
    let server = server();
    let (ana, ben, maya) = (
        device(&server, "ana"),
        device(&server, "ben"),
        device(&server, "maya"),
    );
    let shared = ana.store.create(customer("Fischhalle", "harbour")).unwrap();
    ana.sync();
    ben.sync();
    maya.sync();
    assert_eq!(
        ben.store.get::<Customer>(&shared.meta.id).unwrap().unwrap(),
        shared
    );

    // Offline: the same customer edited on all three devices, plus new records.
    let mut on_ana: Customer = ana.store.get(&shared.meta.id).unwrap().unwrap();
    on_ana.name = "Fischhalle Altona".into();
    on_ana.grade = Some(Grade::A);
    ana.store.update(on_ana).unwrap();
    let mut on_ben: Customer = ben.store.get(&shared.meta.id).unwrap().unwrap();
    on_ben.name = "Fischhalle GmbH".into();
    on_ben.phones.insert("+49 40 123".into());
    ben.store.update(on_ben).unwrap();
    let mut on_maya: Customer = maya.store.get(&shared.meta.id).unwrap().unwrap();
    on_maya.notes = "Key account.".into();
    maya.store.update(on_maya).unwrap();
    ben.store.create(customer("Elbcafé", "harbour")).unwrap();
    let mut visit = Visit::new(&shared.meta.id, &ana.user_id);
    visit.planned_start = Some(NOW);
    ana.store.create(visit).unwrap();

    for order in [
        [&ben, &maya, &ana],
        [&ana, &ben, &maya],
        [&maya, &ana, &ben],
    ] {
        for device in order {
            device.sync();
        }
    }
    let expected: Customer = ana.store.get(&shared.meta.id).unwrap().unwrap();
    for device in [&ben, &maya] {
        assert_eq!(
            device
                .store
                .get::<Customer>(&shared.meta.id)
                .unwrap()
                .unwrap(),
            expected
        );
        assert_eq!(device.customers(), ana.customers());
        assert_eq!(
            device.store.conflicts(&shared.meta.id).unwrap(),
            ana.store.conflicts(&shared.meta.id).unwrap()
        );
    }
    assert!(["Fischhalle Altona", "Fischhalle GmbH"].contains(&expected.name.as_str()));
    assert_eq!(expected.grade, Some(Grade::A));
    assert!(expected.phones.contains("+49 40 123"));
    assert_eq!(expected.notes, "Key account.");
    assert_eq!(ana.customers().len(), 2);
    // The visit is ana's own: the manager sees it, the other rep does not.
    let visits = |d: &Device| match d
        .store
        .query(&Query::VisitsForRep {
            rep: ana.user_id.clone(),
            from: 0,
            to: i64::MAX,
        })
        .unwrap()
    {
        QueryResult::Visits(rows) => rows.len(),
        _ => usize::MAX,
    };
    assert_eq!((visits(&ana), visits(&maya), visits(&ben)), (1, 1, 0));
    for device in [&ana, &ben, &maya] {
        let status = device.store.sync_status().unwrap();
        assert_eq!(
            (
                status.pending_changes,
                status.rejected_changes,
                status.last_error
            ),
            (0, 0, None)
        );
    }
}

#[test]
fn a_reassigned_customer_leaves_one_rep_and_reaches_the_other() {
    let server = server();
    let (ana, cat) = (device(&server, "ana"), device(&server, "cat"));
    let moving = ana.store.create(customer("Hafenkiosk", "harbour")).unwrap();
    let contact = ana
        .store
        .create(Contact::new(&moving.meta.id, "Jens Petersen"))
        .unwrap();
    ana.store.create(customer("Stays here", "harbour")).unwrap();
    ana.sync();
    cat.sync();
    assert!(cat.customers().is_empty());

    admin(
        &server.db,
        &[
            "customer",
            "assign",
            "--customer-id",
            &moving.meta.id,
            "--territory",
            "hills",
        ],
    );
    let report = ana.sync();
    assert_eq!(report.removed, 2, "the customer and its contact");
    assert!(ana.store.get_any(&moving.meta.id).unwrap().is_none());
    assert!(ana.store.get_any(&contact.meta.id).unwrap().is_none());
    assert_eq!(ana.customers().len(), 1);
    cat.sync();
    let names: Vec<String> = cat.customers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Hafenkiosk"]);
    assert_eq!(
        cat.store.get::<Contact>(&contact.meta.id).unwrap().unwrap(),
        contact
    );
}

#[test]
fn users_gaining_or_losing_sight_of_records_see_it_on_their_next_sync() {
    let server = server();
    let (ana, cat, maya) = (
        device(&server, "ana"),
        device(&server, "cat"),
        device(&server, "maya"),
    );
    let kiosk = ana.store.create(customer("Hafenkiosk", "harbour")).unwrap();
    let visit = ana
        .store
        .create(Visit::new(&kiosk.meta.id, &ana.user_id))
        .unwrap();
    ana.sync();
    cat.sync();
    maya.sync();
    assert!(cat.customers().is_empty());
    assert!(maya.store.get_any(&visit.meta.id).unwrap().is_some());
    let metrics = agent()
        .get(format!("{}/metrics", server.base))
        .header("authorization", &format!("Bearer {METRICS_TOKEN}"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("fieldcrm_connected_devices 3"),
        "three devices synced:\n{metrics}"
    );

    // cat gains harbour: the customer arrives although it has not changed since cat's cursor.
    admin(
        &server.db,
        &[
            "territory",
            "assign-user",
            "--username",
            "cat",
            "--territory",
            "harbour",
        ],
    );
    cat.sync();
    let names: Vec<String> = cat.customers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Hafenkiosk"]);

    // ana loses harbour: the customer leaves her device; her own visit stays.
    admin(
        &server.db,
        &[
            "territory",
            "unassign-user",
            "--username",
            "ana",
            "--territory",
            "harbour",
        ],
    );
    let report = ana.sync();
    assert_eq!(report.removed, 1, "{report:?}");
    assert!(ana.customers().is_empty());
    assert!(ana.store.get_any(&visit.meta.id).unwrap().is_some());
    // A second sync changes nothing more.
    assert_eq!(ana.sync().removed, 0);
    assert!(ana.store.get_any(&visit.meta.id).unwrap().is_some());

    // ana moves to team south: her visit leaves manager maya's device.
    admin(&server.db, &["team", "add", "--name", "south"]);
    admin(
        &server.db,
        &["user", "move", "--username", "ana", "--team", "south"],
    );
    let report = maya.sync();
    assert_eq!(report.removed, 1, "{report:?}");
    assert!(maya.store.get_any(&visit.meta.id).unwrap().is_none());
    assert!(maya.store.get_any(&kiosk.meta.id).unwrap().is_some());
    // ana still writes her visit, now in team south.
    let mut done = ana.store.get::<Visit>(&visit.meta.id).unwrap().unwrap();
    done.notes = "Regal aufgefüllt".to_owned();
    ana.store.update(done).unwrap();
    assert_eq!(ana.sync().rejected, 0);
}

#[test]
fn forbidden_writes_are_rejected_per_document_and_stay_visible() {
    let server = server();
    let (ana, ben) = (device(&server, "ana"), device(&server, "ben"));
    let allowed = ana.store.create(customer("Allowed", "harbour")).unwrap();
    let elsewhere = ana
        .store
        .create(customer("Other territory", "hills"))
        .unwrap();
    let in_bens_name = ana
        .store
        .create(Visit::new(&allowed.meta.id, &ben.user_id))
        .unwrap();
    let report = ana.sync();
    assert_eq!((report.pushed, report.rejected), (1, 2));
    let rejected = ana.store.rejected_changes().unwrap();
    let ids: Vec<&str> = rejected.iter().map(|r| r.doc_id.as_str()).collect();
    assert!(
        ids.contains(&elsewhere.meta.id.as_str()) && ids.contains(&in_bens_name.meta.id.as_str())
    );
    assert!(
        rejected
            .iter()
            .all(|r| r.code == RejectCode::Forbidden && !r.reason.is_empty())
    );
    assert!(
        ana.store
            .get::<Customer>(&elsewhere.meta.id)
            .unwrap()
            .is_some(),
        "kept on the device"
    );
    ben.sync();
    assert_eq!(ben.customers().len(), 1, "nothing rejected reached anyone");
    assert!(ben.store.get_any(&in_bens_name.meta.id).unwrap().is_none());
}

#[test]
fn bad_requests_get_stable_codes_and_change_nothing() {
    let server = server();
    let ana = device(&server, "ana");
    ana.store.create(customer("Before", "harbour")).unwrap();
    ana.sync();
    let agent = agent();
    let post = |path: &str, token: Option<&str>, body: Vec<u8>| {
        let mut request = agent
            .post(format!("{}{path}", server.base))
            .header("content-type", protocol::CONTENT_TYPE);
        if let Some(token) = token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response = request.send(&body[..]).unwrap();
        let status = response.status().as_u16();
        let body: Value = response.body_mut().read_json().unwrap_or(Value::Null);
        (
            status,
            body["error"]["code"].as_str().unwrap_or("").to_owned(),
        )
    };
    let good = protocol::encode(&protocol::PullRequest {
        cursor: 0,
        limit: 10,
    })
    .unwrap();
    let mut future = good.clone();
    future[4] = 99;
    let token = Some(ana.token.as_str());
    assert_eq!(
        post("/v1/sync/pull", token, future),
        (400, "unsupported_protocol_version".into())
    );
    assert_eq!(
        post("/v1/sync/pull", token, b"{\"cursor\": 0}".to_vec()),
        (400, "malformed_message".into())
    );
    let push = protocol::encode(&protocol::PushRequest {
        docs: vec![protocol::DocChanges {
            doc_id: "x".into(),
            kind: Kind::Customer,
            changes: vec![vec![7; 40]],
        }],
    })
    .unwrap();
    assert_eq!(
        post("/v1/sync/push", token, push[..push.len() / 2].to_vec()),
        (400, "malformed_message".into())
    );
    assert_eq!(
        post("/v1/sync/pull", None, good.clone()),
        (401, "unauthorized".into())
    );
    assert_eq!(
        post("/v1/sync/pull", Some("not.a.token"), good.clone()),
        (401, "invalid_token".into())
    );
    let corrupt = protocol::encode(&protocol::PushRequest {
        docs: vec![protocol::DocChanges {
            doc_id: "x".into(),
            kind: Kind::Customer,
            changes: vec![vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]],
        }],
    })
    .unwrap();
    let (status, _) = post("/v1/sync/push", token, corrupt);
    assert_eq!(status, 200, "a corrupt change is a per-document rejection");
    // The server still serves, and a fresh device of the same user sees exactly what was there.
    let again = device(&server, "ana");
    again.sync();
    let names: Vec<String> = again.customers().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Before"]);
}

#[test]
fn small_pages_still_deliver_every_change_of_documents_edited_later() {
    let server = server();
    let (ana, ben) = (device(&server, "ana"), device(&server, "ben"));
    // Early documents edited after later ones were created: their history straddles pages.
    let mut early = Vec::new();
    for i in 0..6 {
        early.push(
            ana.store
                .create(customer(&format!("Early {i}"), "harbour"))
                .unwrap(),
        );
        ana.sync();
    }
    for i in 0..6 {
        ana.store
            .create(customer(&format!("Late {i}"), "harbour"))
            .unwrap();
        ana.sync();
    }
    ben.sync(); // ben has everything before the edits
    for (i, mut c) in early.into_iter().enumerate() {
        c.grade = Some(Grade::B);
        c.notes = format!("edited {i}");
        ana.store.update(c).unwrap();
        ana.sync();
    }
    let pull_in_pages = |device: &Device, page_size: u32| {
        let mut session = SyncSession::new(&device.store).unwrap();
        session.page_size = page_size;
        let mut pages = 0;
        loop {
            let body = device
                .transport
                .pull(session.build_pull().unwrap())
                .unwrap();
            pages += 1;
            if !session.apply_pull_response(&body, NOW).unwrap().has_more {
                return pages;
            }
        }
    };
    let pages = pull_in_pages(&ben, 1);
    assert!(pages > 2, "paged: {pages}");
    assert_eq!(
        ben.customers(),
        ana.customers(),
        "catching up in pages of one"
    );
    for page_size in [1, 2, 5] {
        let fresh = device(&server, "ben");
        let pages = pull_in_pages(&fresh, page_size);
        assert!(pages > 2, "paged: {pages}");
        let mut names: Vec<String> = fresh.customers().into_iter().map(|c| c.name).collect();
        names.sort();
        assert_eq!(names.len(), 12, "page size {page_size}: {names:?}");
        let all = ana.customers();
        assert_eq!(fresh.customers(), all, "page size {page_size}");
    }
}

/// GET `path` as the holder of `token`; status and JSON body.
fn get_json(server: &Server, path: &str, token: &str) -> (u16, Value) {
    let mut response = agent()
        .get(format!("{}{path}", server.base))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap())
}

#[test]
fn a_field_day_syncs_and_its_manager_reviews_the_route() {
    let server = server();
    let ana = device(&server, "ana");
    let maya = device(&server, "maya");
    let ben = device(&server, "ben");

    // A customer with a pin; then offline: a planned visit, a drive with pings, check in and
    // out.
    let mut bakery = customer("Bäckerei Lührs", "harbour");
    bakery.visit_radius_m = 100;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    bakery.location = Some(GeoLocation {
        lat: 53.5450,
        lon: 9.9500,
        source: LocationSource::Gps,
        at: now,
    });
    let bakery = ana.store.create(bakery).unwrap();
    // The server verifies a check-in against the pin it held before the push carrying it: the
    // customer reaches it first.
    ana.sync();
    let mut visit = Visit::new(&bakery.meta.id, &ana.user_id);
    visit.planned_start = Some(now - 30 * 60_000);
    let visit = ana.store.create(visit).unwrap();
    // 20 minutes of driving north towards the bakery, a ping a minute.
    let drive: Vec<Fix> = (0..20)
        .map(|i| Fix {
            at: now - (25 - i) * 60_000,
            lat: 53.5350 + i as f64 * 0.0005,
            lon: 9.9500,
            accuracy_m: 8.0,
            mock: false,
        })
        .collect();
    ana.store.record_pings(&drive).unwrap();
    let here = |minutes_ago: i64| Fix {
        at: now - minutes_ago * 60_000,
        lat: 53.5451,
        lon: 9.9500,
        accuracy_m: 12.0,
        mock: false,
    };
    let checked_in = ana.store.check_in(&visit.meta.id, here(4)).unwrap();
    assert_eq!(checked_in.verification, Some(Verification::Verified));
    ana.store
        .check_out(&visit.meta.id, here(0), Some("Ordered bread rolls".into()))
        .unwrap();
    assert_eq!(ana.store.sync_status().unwrap().pending_pings, 20);

    let report = ana.sync();
    assert_eq!(report.pings_uploaded, 20);
    assert_eq!(ana.store.sync_status().unwrap().pending_pings, 0);
    // A second round sends no ping again.
    assert_eq!(ana.sync().pings_uploaded, 0);

    // The manager reviews today's route (UTC day).
    let today = now.div_euclid(86_400_000);
    let date = fieldcrm_server::dates::format_date(today);
    if now.rem_euclid(86_400_000) < 30 * 60_000 {
        return; // the drive began yesterday (UTC): the day's route is split; nothing to check
    }
    let path = format!("/v1/routes/{}/{date}", ana.user_id);
    let (status, route) = get_json(&server, &path, &maya.token);
    assert_eq!(status, 200, "{route}");
    assert_eq!(route["pings"], 20);
    assert_eq!(route["visits"][0]["verification"], "verified");
    // Checked in and out straight away: `at` is when the button was pressed.
    assert!(route["visits"][0]["dwell_ms"].as_i64().unwrap() < 60_000);
    let km = route["total_distance_m"].as_f64().unwrap() / 1000.0;
    assert!((km - 1.06).abs() < 0.05, "{km}");
    // Ana sees her own route; Ben, another rep, does not.
    assert_eq!(get_json(&server, &path, &ana.token).0, 200);
    let (status, body) = get_json(&server, &path, &ben.token);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );

    // The manager's device got the visit, checked out, with the fixes written once.
    maya.sync();
    let synced = maya.store.get::<Visit>(&visit.meta.id).unwrap().unwrap();
    assert_eq!(synced.status, VisitStatus::Done);
    assert_eq!(synced.check_in, checked_in.check_in);
}

/// Passes everything through, except that it damages one snapshot of the first pull page (a
/// byte flipped in its middle, as a corrupted store or link would) and remembers which.
struct DamagingFirstSnapshot {
    inner: HttpTransport,
    damaged: std::cell::RefCell<Option<String>>,
}

impl Transport for DamagingFirstSnapshot {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.inner.push(body)
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let response = self.inner.pull(body)?;
        if self.damaged.borrow().is_some() {
            return Ok(response);
        }
        let mut page = protocol::decode_pull_response(&response, MAX_RESPONSE_BYTES).unwrap();
        let doc = page
            .docs
            .iter_mut()
            .find(|d| matches!(d.payload, protocol::PulledPayload::Snapshot { .. }))
            .expect("a bootstrap page holds snapshots");
        if let protocol::PulledPayload::Snapshot { bytes, .. } = &mut doc.payload {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
        }
        *self.damaged.borrow_mut() = Some(doc.doc_id.clone());
        Ok(protocol::encode_pull_response(&page, protocol::PROTOCOL_VERSION).unwrap())
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.inner.upload_pings(body)
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.inner.refetch(body)
    }

    fn analytics(&self, query: &str) -> Result<Vec<u8>, TransportError> {
        self.inner.analytics(query)
    }
}

#[test]
fn a_bootstrap_that_refused_a_document_says_so_and_heals_at_the_next_sync() {
    let server = server();
    let (ana, ben) = (device(&server, "ana"), device(&server, "ben"));
    for n in 0..6 {
        let shop = ana
            .store
            .create(customer(&format!("Fischbude {n}"), "harbour"))
            .unwrap();
        ana.store
            .create(Contact::new(&shop.meta.id, format!("Inhaber {n}")))
            .unwrap();
    }
    ana.sync();

    let transport = DamagingFirstSnapshot {
        inner: ben.transport.clone(),
        damaged: std::cell::RefCell::new(None),
    };
    let sync_ben = || {
        sync(
            &ben.store,
            &transport,
            &RetryPolicy::default(),
            &mut |_| {},
            &|| NOW,
        )
        .unwrap()
    };
    let report = sync_ben();
    let damaged = transport.damaged.borrow().clone().unwrap();
    assert_eq!((report.refused_documents, report.refetched), (1, 0));
    assert!(ben.store.get_any(&damaged).unwrap().is_none(), "not loaded");
    let status = ben.store.sync_status().unwrap();
    assert_eq!(status.refused_documents, 1);
    assert_eq!(
        status.last_error_code.as_deref(),
        Some("document_refused"),
        "not a clean success"
    );
    assert!(status.last_error.is_some());
    let refused = ben.store.refused_documents().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        (
            refused[0].doc_id.as_str(),
            refused[0].code.as_str(),
            refused[0].attempts
        ),
        (damaged.as_str(), "malformed_data", 1)
    );

    let report = sync_ben();
    assert_eq!((report.refused_documents, report.refetched), (0, 1));
    for kind in Kind::ALL {
        assert_eq!(
            ben.store.document_ids(kind).unwrap(),
            ana.store.document_ids(kind).unwrap(),
            "every {kind} the server has"
        );
    }
    assert_eq!(ben.customers(), ana.customers());
    assert!(ben.store.get_any(&damaged).unwrap().is_some());
    let status = ben.store.sync_status().unwrap();
    assert_eq!(
        (
            status.refused_documents,
            status.last_error,
            status.last_error_code
        ),
        (0, None, None)
    );
    assert!(ben.store.refused_documents().unwrap().is_empty());
}

//! The security review's findings, replayed against the real binary as a rep's device would
//! send them (a valid login, a registered device, raw protocol bodies crafted with our own
//! core library and Automerge), each asserting the refusal. The server runs under an
//! address-space limit (`ulimit -v`), so an attack that makes it allocate without bound kills
//! it, and every test ends by checking that it is still up and serving honest devices.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT, ReadDoc};
use fieldcrm_core::authority::{self, Current, Writer};
use fieldcrm_core::protocol::{self, DocChanges, PushRequest, PushResponse, RejectCode};
use fieldcrm_core::*;
use serde_json::{Value, json};

#[path = "support/attacks.rs"]
mod attacks;
mod support;
use attacks::{deflate_bomb, million_entries, reseal};
use support::{BIN, Launch, OrgServer, agent};

const NOW: i64 = 1_790_000_000_000;
/// The server's address space: enough for its threads, SQLite and honest work, far below what
/// the million-entry push once reserved (23 GB).
const ADDRESS_SPACE_KB: u64 = 3 * 1024 * 1024;

type Server = OrgServer;

/// Team north: reps ana (harbour) and cat (hills), manager maya; the server under an
/// address-space limit.
fn start_server() -> Server {
    let users = [
        ("ana", "rep", Some("harbour")),
        ("cat", "rep", Some("hills")),
        ("maya", "manager", None),
    ];
    OrgServer::start(
        BIN,
        &users,
        "secret pass",
        Launch {
            address_space_kb: Some(ADDRESS_SPACE_KB),
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

fn login(server: &Server, username: &str) -> (String, String) {
    let mut login = agent()
        .post(format!("{}/v1/auth/login", server.base))
        .send_json(json!({"username": username, "password": "secret pass"}))
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.body_mut().read_json().unwrap();
    (
        login["token"].as_str().unwrap().to_owned(),
        login["user"]["id"].as_str().unwrap().to_owned(),
    )
}

/// A device of `username`, registered; its store signed in as `signed_in_as` (normally the
/// user's own id).
fn device_as(server: &Server, username: &str, signed_in_as: Option<&str>) -> Device {
    let (token, user_id) = login(server, username);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("device.sqlite")).unwrap();
    store.set_user(signed_in_as.unwrap_or(&user_id)).unwrap();
    let registered = agent()
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

fn device(server: &Server, username: &str) -> Device {
    device_as(server, username, None)
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

    /// Sends a raw push body; returns the HTTP status and, on 200, the decoded answer.
    fn push_raw(&self, server: &Server, body: Vec<u8>) -> (u16, Option<PushResponse>) {
        let mut response = agent()
            .post(format!("{}/v1/sync/push", server.base))
            .header("authorization", &format!("Bearer {}", self.token))
            .header("content-type", protocol::CONTENT_TYPE)
            .send(&body[..])
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.body_mut().read_to_vec().unwrap();
        let decoded = (status == 200).then(|| protocol::decode(&bytes, 64 << 20).unwrap());
        (status, decoded)
    }

    fn push(&self, server: &Server, request: &PushRequest) -> PushResponse {
        let (status, response) = self.push_raw(server, protocol::encode(request).unwrap());
        assert_eq!(status, 200);
        response.unwrap()
    }

    fn pending_request(&self) -> PushRequest {
        self.store.push_request(500).unwrap().unwrap().0
    }

    /// The device's own document `doc_id`, rebuilt from its pending changes, synced, then edited
    /// with raw Automerge by the device's own actor: the changes of that edit.
    fn raw_edit_after_sync(
        &self,
        doc_id: &str,
        edit: impl FnOnce(
            &mut automerge::transaction::Transaction<'_>,
        ) -> Result<(), automerge::AutomergeError>,
    ) -> Vec<Vec<u8>> {
        let own: Vec<u8> = self
            .store
            .pending_changes(100)
            .unwrap()
            .into_iter()
            .filter(|p| p.doc_id == doc_id)
            .flat_map(|p| p.bytes)
            .collect();
        self.sync();
        let mut doc = Automerge::load(&own).unwrap();
        doc.set_actor(automerge::ActorId::from(
            hex::decode(self.store.actor_id()).unwrap(),
        ));
        let heads = doc.get_heads();
        doc.transact(edit).unwrap();
        doc.get_changes(&heads)
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect()
    }
}

fn customer(name: &str, territory: &str) -> Customer {
    let mut c = Customer::new(name);
    c.territory = Some(territory.to_owned());
    c
}

fn only_rejection(response: &PushResponse) -> (RejectCode, String) {
    assert_eq!(response.rejected.len(), 1, "{response:?}");
    assert!(response.acknowledged.is_empty(), "{response:?}");
    (
        response.rejected[0].code,
        response.rejected[0].reason.clone(),
    )
}

/// The honest path still works: a new customer pushed, pulled by a fresh device of the manager.
fn assert_honest_sync_works(server: &mut Server) {
    server.assert_up();
    let ana = device(server, "ana");
    let c = ana
        .store
        .create(customer("Honest Kiosk", "harbour"))
        .unwrap();
    let report = ana.sync();
    assert_eq!(report.rejected, 0, "{report:?}");
    let maya = device(server, "maya");
    maya.sync();
    assert!(maya.store.get::<Customer>(&c.meta.id).unwrap().is_some());
    server.assert_up();
}

/// Finding 3: crafted changes that make Automerge panic. Each is refused for its document
/// (inside a 200), more than four of them poison nothing, and the server keeps serving.
#[test]
fn changes_that_panic_automerge_are_refused_and_poison_nothing() {
    let mut server = start_server();
    let ana = device(&server, "ana");
    let mut c = ana.store.create(customer("Fischhalle", "harbour")).unwrap();
    let creation: Vec<Vec<u8>> = ana
        .store
        .pending_changes(10)
        .unwrap()
        .into_iter()
        .map(|p| p.bytes)
        .collect();
    ana.sync();
    c.notes = "Liefert dienstags, Rampe hinten".into();
    c.phones.insert("+49 40 123".into());
    ana.store.update(c.clone()).unwrap();
    let edit = ana.store.pending_changes(10).unwrap()[0].bytes.clone();

    // Find mutants of the edit that panic Automerge on the server's copy (seeded, bounded).
    let base = Current::load(&creation.concat()).unwrap();
    let own_actor = automerge::ActorId::from(hex::decode(ana.store.actor_id()).unwrap());
    let writer = Writer {
        user_id: &ana.user_id,
        actor_allowed: &|actor| *actor == own_actor,
    };
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut panicking = Vec::new();
    for _ in 0..5_000 {
        let mut mutant = edit.clone();
        for _ in 0..1 + next() % 3 {
            let at = 12 + (next() as usize) % (mutant.len() - 12);
            mutant[at] = next() as u8;
        }
        reseal(&mut mutant);
        let outcome =
            authority::check_changes(std::slice::from_ref(&mutant), &writer).and_then(|checked| {
                authority::apply_push(
                    Some(base.clone()),
                    &c.meta.id,
                    Kind::Customer,
                    checked,
                    &writer,
                )
            });
        if outcome.is_err_and(|refusal| refusal.contained_panic) {
            panicking.push(mutant);
            if panicking.len() == 6 {
                break;
            }
        }
    }
    assert!(
        panicking.len() > 4,
        "found {} panicking mutants",
        panicking.len()
    );
    for mutant in panicking {
        let response = ana.push(
            &server,
            &PushRequest {
                docs: vec![DocChanges {
                    doc_id: c.meta.id.clone(),
                    kind: Kind::Customer,
                    changes: vec![mutant],
                }],
            },
        );
        assert_eq!(only_rejection(&response).0, RejectCode::MalformedChange);
    }
    assert_honest_sync_works(&mut server);
}

/// Finding 4: a visit naming a customer of another territory is refused exactly like one
/// naming no customer at all, so route review never shows that customer.
#[test]
fn a_visit_to_another_territorys_customer_is_forbidden_like_an_unknown_one() {
    let mut server = start_server();
    let (ana, cat) = (device(&server, "ana"), device(&server, "cat"));
    let hidden = cat.store.create(customer("Bergkiosk", "hills")).unwrap();
    cat.sync();
    ana.store
        .create(Visit::new(&hidden.meta.id, &ana.user_id))
        .unwrap();
    let forbidden = only_rejection(&ana.push(&server, &ana.pending_request()));
    ana.sync();
    ana.store
        .create(Visit::new(
            "0190a0b0-0000-7000-8000-00000000beef",
            &ana.user_id,
        ))
        .unwrap();
    let unknown = only_rejection(&ana.push(&server, &ana.pending_request()));
    assert_eq!(forbidden.0, RejectCode::Forbidden);
    assert_eq!(forbidden, unknown);
    assert_honest_sync_works(&mut server);
}

/// Finding 6: a change whose chunk checksum is wrong is refused before it is stored, so no
/// fresh device later drops a document the server acknowledged.
#[test]
fn a_change_with_a_wrong_checksum_is_never_acknowledged() {
    let mut server = start_server();
    let ana = device(&server, "ana");
    ana.store.create(customer("Fischhalle", "harbour")).unwrap();
    let mut request = ana.pending_request();
    request.docs[0].changes[0][5] ^= 0x5a;
    let (code, _) = only_rejection(&ana.push(&server, &request));
    assert_eq!(code, RejectCode::MalformedChange);
    let maya = device(&server, "maya");
    maya.sync();
    assert_eq!(maya.store.sync_status().unwrap().last_error, None);
    assert_honest_sync_works(&mut server);
}

/// Finding 7: a raw change that deletes a done visit's reached states is refused.
#[test]
fn a_visit_status_never_moves_back() {
    let mut server = start_server();
    let ana = device(&server, "ana");
    let shop = ana.store.create(customer("Fischhalle", "harbour")).unwrap();
    let mut visit = ana
        .store
        .create(Visit::new(&shop.meta.id, &ana.user_id))
        .unwrap();
    visit.status = VisitStatus::Done;
    visit.outcome = Some("ordered".into());
    let visit = ana.store.update(visit).unwrap();
    let changes = ana.raw_edit_after_sync(&visit.meta.id, |tx| {
        let (_, status) = tx.get(ROOT, "status")?.unwrap();
        for state in ["in_progress", "done"] {
            let _ = tx.delete(&status, state);
        }
        Ok(())
    });
    let response = ana.push(
        &server,
        &PushRequest {
            docs: vec![DocChanges {
                doc_id: visit.meta.id.clone(),
                kind: Kind::Visit,
                changes,
            }],
        },
    );
    let (code, reason) = only_rejection(&response);
    assert_eq!(code, RejectCode::InvalidRecord);
    assert!(reason.contains("only moves forward"), "{reason}");
    assert_honest_sync_works(&mut server);
}

/// Finding 8: a device registered to ana cannot write records that claim cat made them.
#[test]
fn created_by_cannot_be_forged() {
    let mut server = start_server();
    let cat_id = login(&server, "cat").1;
    let forger = device_as(&server, "ana", Some(&cat_id));
    forger
        .store
        .create(customer("Fischhalle", "harbour"))
        .unwrap();
    let (code, reason) = only_rejection(&forger.push(&server, &forger.pending_request()));
    assert_eq!(code, RejectCode::InvalidRecord);
    assert!(reason.contains("created_by"), "{reason}");
    assert_honest_sync_works(&mut server);
}

/// Findings 2 and 11: entries without changes cost nothing (thousands naming a big document
/// get an empty answer), a hidden document's id reveals nothing, and a document named once per
/// change is merged once.
#[test]
fn empty_entries_hidden_ids_and_repeated_entries() {
    let mut server = start_server();
    let (ana, cat) = (device(&server, "ana"), device(&server, "cat"));
    let mut big = ana.store.create(customer("Fischhalle", "harbour")).unwrap();
    for round in 0..200 {
        big.notes = format!("{}Besuch {round}. ", big.notes);
        big = ana.store.update(big).unwrap();
    }
    // One entry per change: 201 entries for one document.
    let docs: Vec<DocChanges> = ana
        .store
        .pending_changes(500)
        .unwrap()
        .into_iter()
        .map(|p| DocChanges {
            doc_id: p.doc_id,
            kind: p.kind,
            changes: vec![p.bytes],
        })
        .collect();
    let response = ana.push(&server, &PushRequest { docs });
    assert!(response.rejected.is_empty(), "{response:?}");
    assert_eq!(response.acknowledged.len(), 201);
    ana.store.acknowledge(&response.acknowledged).unwrap();

    let empties = PushRequest {
        docs: (0..protocol::MAX_DOCS_PER_PUSH)
            .map(|_| DocChanges {
                doc_id: big.meta.id.clone(),
                kind: Kind::Customer,
                changes: Vec::new(),
            })
            .collect(),
    };
    for _ in 0..3 {
        assert_eq!(ana.push(&server, &empties), PushResponse::default());
    }

    // cat pushes a new task of hers under the id of ana's customer: forbidden, kind unsaid.
    let task = cat.store.create(Task::new("Call back")).unwrap();
    let mut request = cat.pending_request();
    for doc in &mut request.docs {
        if doc.doc_id == task.meta.id {
            doc.doc_id = big.meta.id.clone();
        }
    }
    let (code, reason) = only_rejection(&cat.push(&server, &request));
    assert_eq!(code, RejectCode::Forbidden);
    assert!(!reason.contains("customer"), "{reason}");
    assert_honest_sync_works(&mut server);
}

fn error_code(status_and_body: (u16, Vec<u8>)) -> (u16, String) {
    let (status, body) = status_and_body;
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (
        status,
        json["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

fn post_raw(server: &Server, device: &Device, body: &[u8]) -> (u16, Vec<u8>) {
    let mut response = agent()
        .post(format!("{}/v1/sync/push", server.base))
        .header("authorization", &format!("Bearer {}", device.token))
        .header("content-type", protocol::CONTENT_TYPE)
        .send(body)
        .unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_vec().unwrap(),
    )
}

/// Finding 1: a body of a few KB declaring a million entries, and a deflate bomb, are refused
/// while decoding, before anything is reserved from a declared count; the server, under its
/// address-space limit, stays up.
#[test]
fn count_and_deflate_bombs_are_refused_while_decoding() {
    let mut server = start_server();
    let ana = device(&server, "ana");
    let million = million_entries();
    assert!(million.len() < 64 * 1024, "{}", million.len());
    let bomb = deflate_bomb(48 << 20);
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    for _ in 0..5 {
        assert_eq!(
            error_code(post_raw(&server, &ana, &million)),
            (413, "limit_exceeded".to_owned())
        );
        assert_eq!(
            error_code(post_raw(&server, &ana, &bomb)),
            (413, "payload_too_large".to_owned())
        );
    }
    assert_honest_sync_works(&mut server);
}

/// Finding 9: wrong passwords are limited per user; past the limit even the right password
/// is refused with 429 and a Retry-After, and other users log in as usual.
#[test]
fn logins_are_limited_per_user() {
    let mut server = start_server();
    let mut refused = None;
    for attempt in 0..30 {
        let response = agent()
            .post(format!("{}/v1/auth/login", server.base))
            .send_json(json!({"username": "cat", "password": "wrong"}))
            .unwrap();
        if response.status() == 429 {
            refused = Some(attempt);
            break;
        }
        assert_eq!(response.status(), 401);
    }
    let allowed = refused.expect("never limited");
    assert!(allowed <= 10, "{allowed} attempts allowed");
    let right = agent()
        .post(format!("{}/v1/auth/login", server.base))
        .send_json(json!({"username": "cat", "password": "secret pass"}))
        .unwrap();
    assert_eq!(right.status(), 429);
    assert!(right.headers().get("retry-after").is_some());
    login(&server, "ana");
    server.assert_up();
}

/// Fuzz finding 7: a change with marks (rich-text formatting) makes Automerge 0.12 panic while
/// applying it and panic again while unwinding, which aborts the process. No record holds
/// marks, so a change with any mark is refused before it is applied; here a rep's own device
/// marks its customer's notes (a well-formed mark, sent as a real client would).
#[test]
fn a_change_with_marks_is_refused_before_it_is_applied() {
    let mut server = start_server();
    let ana = device(&server, "ana");
    let mut shop = customer("Fischhalle", "harbour");
    shop.notes = "Liefert dienstags".into();
    let shop = ana.store.create(shop).unwrap();
    let changes = ana.raw_edit_after_sync(&shop.meta.id, |tx| {
        let (_, notes) = tx.get(ROOT, "notes")?.unwrap();
        let bold = automerge::marks::Mark::new("bold".into(), true, 0, 7);
        tx.mark(&notes, bold, automerge::marks::ExpandMark::None)
    });
    let response = ana.push(
        &server,
        &PushRequest {
            docs: vec![DocChanges {
                doc_id: shop.meta.id.clone(),
                kind: Kind::Customer,
                changes,
            }],
        },
    );
    let (code, reason) = only_rejection(&response);
    assert_eq!(code, RejectCode::MalformedChange);
    assert!(reason.contains("marks"), "{reason}");
    assert_honest_sync_works(&mut server);
}

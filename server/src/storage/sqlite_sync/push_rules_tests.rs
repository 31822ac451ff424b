//! The push path's trust rules on a real `SqliteStorage` (the security review's findings, each
//! as a test): references authorized against the writer's scope, forbidden answered like
//! unknown, authorship, integrity before acknowledgement, and entries coalesced so that the
//! number of entries in a push costs nothing beyond its changes.

use fieldcrm_core::protocol::{DocChanges, PushRequest, PushResponse, RejectCode};
use fieldcrm_core::{Customer, Kind, Store, Task, Visit};

use crate::model::Role;
use crate::scope::Principal;
use crate::storage::{NewUser, SqliteStorage, Storage};

/// Two territories of one team: anna works in `north`, clara in `south`.
struct Org {
    storage: SqliteStorage,
    _dir: tempfile::TempDir,
    anna: Principal,
    anna_device: Store,
    clara: Principal,
    clara_device: Store,
    ben_id: String,
}

fn org() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("server.sqlite")).unwrap();
    let team = storage.create_team("team").unwrap();
    let north = storage.create_territory("north", &team.id).unwrap();
    let south = storage.create_territory("south", &team.id).unwrap();
    let rep = |name: &str, territory: &str| {
        let user = storage
            .create_user(NewUser {
                username: name,
                password_hash: None,
                role: Role::Rep,
                team_id: Some(&team.id),
            })
            .unwrap();
        storage.assign_user_territory(&user.id, territory).unwrap();
        let device = Store::open(dir.path().join(format!("{name}.sqlite"))).unwrap();
        device.set_user(&user.id).unwrap();
        storage
            .register_device(&user.id, &device.actor_id())
            .unwrap();
        (storage.principal(&user).unwrap(), device)
    };
    let (anna, anna_device) = rep("anna", &north.id);
    let (clara, clara_device) = rep("clara", &south.id);
    let ben = storage
        .create_user(NewUser {
            username: "ben",
            password_hash: None,
            role: Role::Rep,
            team_id: Some(&team.id),
        })
        .unwrap();
    Org {
        storage,
        _dir: dir,
        anna,
        anna_device,
        clara,
        clara_device,
        ben_id: ben.id,
    }
}

fn customer(name: &str, territory: &str) -> Customer {
    let mut c = Customer::new(name);
    c.territory = Some(territory.to_owned());
    c
}

/// Pushes everything `device` has pending as `principal`, acknowledging what was accepted.
fn push_all(storage: &SqliteStorage, principal: &Principal, device: &Store) -> PushResponse {
    let (request, _) = device.push_request(1_000).unwrap().unwrap();
    let (response, _) = storage.push_changes(principal, request).unwrap();
    device.acknowledge(&response.acknowledged).unwrap();
    device.record_rejections(&response.rejected, 0).unwrap();
    response
}

fn only_rejection(response: &PushResponse) -> (RejectCode, String) {
    assert_eq!(response.rejected.len(), 1, "{response:?}");
    let r = &response.rejected[0];
    (r.code, r.reason.clone())
}

#[test]
fn a_visit_to_a_customer_outside_the_territory_is_refused_like_an_unknown_customer() {
    let org = org();
    let south_customer = org
        .clara_device
        .create(customer("Kiosk Süd", "south"))
        .unwrap();
    assert!(
        push_all(&org.storage, &org.clara, &org.clara_device)
            .rejected
            .is_empty()
    );

    org.anna_device
        .create(Visit::new(&south_customer.meta.id, &org.anna.user_id))
        .unwrap();
    let hidden = only_rejection(&push_all(&org.storage, &org.anna, &org.anna_device));
    org.anna_device
        .create(Visit::new(
            "0190a0b0-0000-7000-8000-00000000dead",
            &org.anna.user_id,
        ))
        .unwrap();
    let unknown = only_rejection(&push_all(&org.storage, &org.anna, &org.anna_device));
    assert_eq!(hidden.0, RejectCode::Forbidden);
    assert_eq!(hidden, unknown, "forbidden and unknown answered alike");
    assert_eq!(org.storage.document_count(Kind::Visit).unwrap(), 0);
}

#[test]
fn a_task_linked_to_a_hidden_record_is_refused() {
    let org = org();
    let south_customer = org
        .clara_device
        .create(customer("Kiosk Süd", "south"))
        .unwrap();
    push_all(&org.storage, &org.clara, &org.clara_device);
    let mut task = Task::new("Call back");
    task.linked_id = Some(south_customer.meta.id.clone());
    org.anna_device.create(task).unwrap();
    let (code, _) = only_rejection(&push_all(&org.storage, &org.anna, &org.anna_device));
    assert_eq!(code, RejectCode::Forbidden);
    // Linked to a customer of her own territory, it is accepted.
    let own = org
        .anna_device
        .create(customer("Kiosk Nord", "north"))
        .unwrap();
    let mut task = Task::new("Call back");
    task.linked_id = Some(own.meta.id.clone());
    org.anna_device.create(task).unwrap();
    let response = push_all(&org.storage, &org.anna, &org.anna_device);
    assert!(response.rejected.is_empty(), "{response:?}");
}

#[test]
fn a_hidden_document_pushed_under_its_id_reveals_nothing() {
    let org = org();
    let south_customer = org
        .clara_device
        .create(customer("Kiosk Süd", "south"))
        .unwrap();
    push_all(&org.storage, &org.clara, &org.clara_device);
    // anna pushes her own new visit under the id of clara's customer.
    let visit = org
        .anna_device
        .create(Visit::new("whatever", &org.anna.user_id))
        .unwrap();
    let (mut request, _) = org.anna_device.push_request(100).unwrap().unwrap();
    for doc in &mut request.docs {
        if doc.doc_id == visit.meta.id {
            doc.doc_id = south_customer.meta.id.clone();
        }
    }
    let (response, _) = org.storage.push_changes(&org.anna, request).unwrap();
    let (code, reason) = only_rejection(&response);
    assert_eq!(code, RejectCode::Forbidden);
    assert!(!reason.contains("customer"), "{reason}");
}

#[test]
fn created_by_must_be_the_pushing_user() {
    let org = org();
    // anna's registered device, signed in as ben: its records claim ben made them.
    let forged = Store::open(org._dir.path().join("forged.sqlite")).unwrap();
    forged.set_user(&org.ben_id).unwrap();
    org.storage
        .register_device(&org.anna.user_id, &forged.actor_id())
        .unwrap();
    forged.create(customer("Kiosk Nord", "north")).unwrap();
    let (code, reason) = only_rejection(&push_all(&org.storage, &org.anna, &forged));
    assert_eq!(code, RejectCode::InvalidRecord);
    assert!(reason.contains("created_by"), "{reason}");
}

#[test]
fn a_change_with_a_wrong_checksum_is_refused_before_it_is_stored() {
    let org = org();
    org.anna_device
        .create(customer("Kiosk Nord", "north"))
        .unwrap();
    let (mut request, hashes) = org.anna_device.push_request(100).unwrap().unwrap();
    request.docs[0].changes[0][4] ^= 0xff;
    let (response, _) = org.storage.push_changes(&org.anna, request).unwrap();
    let (code, _) = only_rejection(&response);
    assert_eq!(code, RejectCode::MalformedChange);
    assert_eq!(
        response.rejected[0].hashes, hashes,
        "named by the hash the device knows, so it stays visible there"
    );
    assert!(response.acknowledged.is_empty());
    assert_eq!(org.storage.document_count(Kind::Customer).unwrap(), 0);
}

#[test]
fn empty_entries_cost_nothing_and_a_document_named_many_times_merges_once() {
    let org = org();
    let mut c = org
        .anna_device
        .create(customer("Kiosk Nord", "north"))
        .unwrap();
    for round in 0..30 {
        c.notes = format!("Besuch {round}");
        c = org.anna_device.update(c).unwrap();
    }
    let pending = org.anna_device.pending_changes(1_000).unwrap();
    // One entry per change, with empty entries for the same document in between.
    let mut docs = Vec::new();
    for change in &pending {
        docs.push(DocChanges {
            doc_id: change.doc_id.clone(),
            kind: change.kind,
            changes: vec![change.bytes.clone()],
        });
        docs.push(DocChanges {
            doc_id: change.doc_id.clone(),
            kind: change.kind,
            changes: Vec::new(),
        });
    }
    let (response, stats) = org
        .storage
        .push_changes(&org.anna, PushRequest { docs })
        .unwrap();
    assert!(response.rejected.is_empty(), "{response:?}");
    assert_eq!(response.acknowledged.len(), pending.len());
    assert_eq!(stats.merged_changes, pending.len() as u64);
    let last_seq: i64 = org
        .storage
        .read()
        .query_row(
            "SELECT last_seq - first_seq + 1 FROM documents",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(last_seq, pending.len() as i64, "one document, written once");

    // Thousands of empty entries naming it: nothing to do, nothing answered.
    let empties = (0..5_000)
        .map(|_| DocChanges {
            doc_id: c.meta.id.clone(),
            kind: Kind::Customer,
            changes: Vec::new(),
        })
        .collect();
    let (response, stats) = org
        .storage
        .push_changes(&org.anna, PushRequest { docs: empties })
        .unwrap();
    assert_eq!(response, PushResponse::default());
    assert_eq!(stats.merged_changes, 0);
}

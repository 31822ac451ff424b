//! Resolving changes the server refused, end to end through the real server binary: the
//! device rebases (docs/PROTOCOL.md, "Resolving rejected changes"). A refused creation fixed
//! and retried reaches the other devices; a refused edit discarded leaves the device with the
//! server's version, and later edits sync.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::protocol::RejectCode;
use fieldcrm_core::*;

mod support;
use support::{BIN, Device, Launch, OrgServer, device};

const PASSWORD: &str = "secret pass";

/// Team north with territories harbour (reps ana and ben) and hills (rep cat), manager maya.
fn server() -> OrgServer {
    let users = [
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
        ("cat", "rep", Some("hills")),
        ("maya", "manager", None),
    ];
    OrgServer::start(BIN, &users, PASSWORD, Launch::default())
}

fn sync(device: &Device) -> SyncReport {
    device.sync().unwrap()
}

fn counts(device: &Device) -> (u64, u64) {
    let status = device.store.sync_status().unwrap();
    (status.pending_changes, status.rejected_changes)
}

#[test]
fn a_customer_refused_for_its_territory_is_fixed_retried_and_reaches_the_other_device() {
    let server = server();
    let (ana, ben) = (
        device(&server.base, "ana", PASSWORD),
        device(&server.base, "ben", PASSWORD),
    );
    let created = ana.store.create(Customer::new("Hafenkiosk")).unwrap();
    let id = created.meta.id.clone();

    // Created without a territory: refused, with its reason.
    let report = sync(&ana);
    assert_eq!((report.pushed, report.rejected), (0, 1), "{report:?}");
    let rejected = ana.store.rejected_changes().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].doc_id, id);
    assert_eq!(rejected[0].code, RejectCode::Forbidden);
    assert!(!rejected[0].reason.is_empty());

    // The territory set: refused too, since it builds on the refused creation.
    let mut fixed = ana.store.get::<Customer>(&id).unwrap().unwrap();
    fixed.territory = Some("harbour".into());
    ana.store.update(fixed).unwrap();
    let report = sync(&ana);
    assert_eq!((report.pushed, report.rejected), (0, 1), "{report:?}");
    assert!(
        ana.store.rejected_changes().unwrap().iter().any(|r| r
            .reason
            .contains("depends on changes the server does not have")),
        "{:?}",
        ana.store.rejected_changes().unwrap()
    );
    assert_eq!(counts(&ana), (0, 2));

    // Retried after the fix: accepted.
    ana.store.retry_rejected(&id).unwrap();
    assert_eq!(counts(&ana), (1, 0));
    let report = sync(&ana);
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");
    assert_eq!(counts(&ana), (0, 0));
    assert!(ana.store.rejected_changes().unwrap().is_empty());

    // The other rep of the territory receives it, territory and all.
    sync(&ben);
    let received = ben.store.get::<Customer>(&id).unwrap().unwrap();
    assert_eq!(received.name, "Hafenkiosk");
    assert_eq!(received.territory.as_deref(), Some("harbour"));

    // Later edits of the retried record sync as usual.
    let mut later = ana.store.get::<Customer>(&id).unwrap().unwrap();
    later.notes = "Öffnet um sieben".into();
    ana.store.update(later).unwrap();
    let report = sync(&ana);
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");
    sync(&ben);
    assert_eq!(
        ben.store.get::<Customer>(&id).unwrap().unwrap().notes,
        "Öffnet um sieben"
    );
}

#[test]
fn a_refused_edit_discarded_leaves_the_servers_version_and_later_edits_sync() {
    let server = server();
    let (ana, cat, maya) = (
        device(&server.base, "ana", PASSWORD),
        device(&server.base, "cat", PASSWORD),
        device(&server.base, "maya", PASSWORD),
    );
    // A customer of another territory, which ana may not see.
    let mut elsewhere = Customer::new("Bergbäcker");
    elsewhere.territory = Some("hills".into());
    let elsewhere = cat.store.create(elsewhere).unwrap();
    sync(&cat);

    let task = ana.store.create(Task::new("Rückruf")).unwrap();
    let id = task.meta.id.clone();
    let mut task = task;
    task.title = "Rückruf Montag".into();
    let task = ana.store.update(task).unwrap();
    assert_eq!(sync(&ana).pushed, 2, "the task and its acknowledged edit");

    // Linked to a record ana may not see: refused; an edit after it is refused too.
    let mut linked = task.clone();
    linked.linked_id = Some(elsewhere.meta.id.clone());
    let linked = ana.store.update(linked).unwrap();
    let mut later = linked;
    later.title = "Rückruf Dienstag".into();
    ana.store.update(later).unwrap();
    let report = sync(&ana);
    assert_eq!((report.pushed, report.rejected), (0, 2), "{report:?}");
    assert_eq!(counts(&ana), (0, 2));

    ana.store.discard_rejected(&id).unwrap();
    let back = ana.store.get::<Task>(&id).unwrap().unwrap();
    assert_eq!(back.linked_id, None);
    assert_eq!(back.title, "Rückruf Montag", "the acknowledged edit stays");
    assert_eq!(counts(&ana), (0, 0));
    let report = sync(&ana);
    assert_eq!((report.pushed, report.rejected), (0, 0), "{report:?}");

    // A new edit builds on the server's version and is accepted.
    let mut edit = back;
    edit.title = "Rückruf Mittwoch".into();
    ana.store.update(edit).unwrap();
    let report = sync(&ana);
    assert_eq!((report.pushed, report.rejected), (1, 0), "{report:?}");
    sync(&maya);
    let seen = maya.store.get::<Task>(&id).unwrap().unwrap();
    assert_eq!(seen.title, "Rückruf Mittwoch");
    assert_eq!(seen.linked_id, None, "nothing refused reached anyone");

    // A creation refused and discarded leaves the device; the server never had it.
    let orphan = ana.store.create(Customer::new("Ohne Gebiet")).unwrap();
    assert_eq!(sync(&ana).rejected, 1);
    ana.store.discard_rejected(&orphan.meta.id).unwrap();
    assert!(ana.store.get_any(&orphan.meta.id).unwrap().is_none());
    assert_eq!(counts(&ana), (0, 0));
    assert_eq!(sync(&ana).rejected, 0);
    sync(&maya);
    assert!(maya.store.get_any(&orphan.meta.id).unwrap().is_none());
}

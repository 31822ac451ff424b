//! The server killed inside a push (after its commit, before it) and in the middle of a large sync; restarted on the same database, nothing acknowledged is lost or duplicated.

use super::*;

// ---------------------------------------------------------------------------------------------
// 1. The server dies inside a push
// ---------------------------------------------------------------------------------------------

/// Offline edits, a push that kills the server at `fault`, a restart on the same database, a
/// retry: every change is in the log exactly once and every device sees the same records.
fn server_dies_inside_a_push(fault: Fault) {
    let org = org(&[
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
    ]);
    let server = start(&org.db, None);
    let (ana_account, ben_account) = (login(&server.base, "ana"), login(&server.base, "ben"));
    let ana = device(&server.base, &ana_account);
    let ben = device(&server.base, &ben_account);
    let mut sent = BTreeSet::new();
    let shared = ana.store.create(customer("Fischhalle")).unwrap();
    sent.extend(ana.pending_hashes());
    ana.sync(&server.base);
    ben.sync(&server.base);
    server.kill();

    // Offline on both devices: new customers and edits, one customer edited on both.
    let server = start(&org.db, Some(fault));
    offline_work(&ana, "Ana", 12, 2);
    let mut on_ana: Customer = ana.store.get(&shared.meta.id).unwrap().unwrap();
    on_ana.grade = Some(Grade::A);
    on_ana.custom_fields.insert("ana".into(), "1".into());
    ana.store.update(on_ana).unwrap();
    let mut on_ben: Customer = ben.store.get(&shared.meta.id).unwrap().unwrap();
    on_ben.phones.insert("+49 40 123".into());
    on_ben.custom_fields.insert("ben".into(), "1".into());
    ben.store.update(on_ben).unwrap();
    let queued = ana.pending_hashes();
    assert_eq!(queued.len(), 12 * 3 + 1);

    let err = ana
        .try_sync(&ana.transport(&server.base), &no_retry())
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Transport(TransportError::Offline(_))),
        "the connection drops without an answer: {err}"
    );
    assert_eq!(server.exit_status().code(), Some(FAULT_EXIT_CODE));
    assert_eq!(ana.pending_hashes(), queued, "nothing left the queue");
    assert!(ana.store.sync_status().unwrap().last_error.is_some());
    let log = change_log(&org.db);
    match fault {
        Fault::AfterCommit => assert!(log.hashes.is_superset(&queued), "committed"),
        Fault::BeforeCommit => {
            assert!(log.hashes.is_disjoint(&queued), "rolled back");
            log.assert_exactly(&sent);
        }
    }

    // Restarted without the fault: the retry is acknowledged (again, for after-commit).
    let server = start(&org.db, None);
    let report = ana.sync(&server.base);
    assert_eq!((report.pushed, report.rejected), (queued.len(), 0));
    sent.extend(queued);
    sent.extend(ben.pending_hashes());
    ben.sync(&server.base);
    ana.sync(&server.base);
    let fresh = device(&server.base, &ben_account);
    fresh.sync(&server.base);
    for device in [&ana, &ben, &fresh] {
        device.assert_settled();
    }
    let records = ana.customers();
    assert_eq!(records.len(), 13);
    assert_eq!(ben.customers(), records);
    assert_eq!(fresh.customers(), records);
    let merged = &records[&shared.meta.id];
    assert_eq!(merged.grade, Some(Grade::A));
    assert!(merged.phones.contains("+49 40 123"));
    assert_eq!(merged.custom_fields.len(), 2, "{merged:?}");
    assert!(records.values().all(|c| c.meta.id == shared.meta.id
        || c.custom_fields.get("rev").map(String::as_str) == Some("2")));
    server.kill();
    change_log(&org.db).assert_exactly(&sent);
}

#[test]
fn server_exits_after_commit_before_answering_a_push() {
    server_dies_inside_a_push(Fault::AfterCommit);
}

#[test]
fn server_exits_inside_a_push_before_commit() {
    server_dies_inside_a_push(Fault::BeforeCommit);
}

/// A real SIGKILL while a device pushes a large queue in several requests.
#[test]
fn server_killed_in_the_middle_of_a_large_sync() {
    let org = org(&[
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
    ]);
    let server = start(&org.db, None);
    let (ana_account, ben_account) = (login(&server.base, "ana"), login(&server.base, "ben"));
    let ana = device(&server.base, &ana_account);
    let ben = device(&server.base, &ben_account);
    // 1,600 changes: four push requests of 500 (the `sync` default).
    offline_work(&ana, "Big", 200, 7);
    let queued = ana.pending_hashes();
    assert_eq!(queued.len(), 1_600);

    let transport = ana.transport(&server.base);
    let interrupted = std::thread::scope(|scope| {
        let syncing = scope.spawn(|| ana.try_sync(&transport, &no_retry()));
        // Kill as soon as the first push is acknowledged: later pushes are in flight.
        let deadline = Instant::now() + Duration::from_secs(30);
        while ana.store.sync_status().unwrap().pending_changes == queued.len() as u64 {
            assert!(Instant::now() < deadline, "the first push never finished");
            assert!(!syncing.is_finished(), "the sync stopped early");
            std::thread::sleep(Duration::from_millis(1));
        }
        server.kill();
        syncing.join().unwrap()
    });
    let left = ana.store.sync_status().unwrap().pending_changes;
    assert!(
        interrupted.is_err() && left > 0 && left < queued.len() as u64,
        "the kill should land mid-sync: {interrupted:?}, {left} pending"
    );

    let server = start(&org.db, None);
    ana.sync(&server.base);
    ben.sync(&server.base);
    ana.assert_settled();
    ben.assert_settled();
    let records = ana.customers();
    assert_eq!(records.len(), 200);
    assert_eq!(ben.customers(), records);
    assert!(
        records
            .values()
            .all(|c| c.custom_fields.get("rev").map(String::as_str) == Some("7"))
    );
    server.kill();
    change_log(&org.db).assert_exactly(&queued);
}

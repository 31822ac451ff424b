//! A device offline for the whole run syncs thousands of changes in pages.

use super::*;

// ---------------------------------------------------------------------------------------------
// 2. A device offline for the whole run
// ---------------------------------------------------------------------------------------------

/// Pushes everything pending in requests of `batch` changes; returns how many requests.
fn push_all(session: &SyncSession<'_>, transport: &dyn Transport) -> usize {
    let mut requests = 0;
    while let Some(push) = session.build_push().unwrap() {
        let body = transport.push(push.body).unwrap();
        let outcome = session.apply_push_response(&body, NOW).unwrap();
        assert_eq!(
            (outcome.acknowledged, outcome.rejected),
            (push.hashes.len(), 0)
        );
        requests += 1;
    }
    requests
}

/// Pulls every page; returns how many pages, checking that only the last has no more.
fn pull_all(session: &SyncSession<'_>, transport: &dyn Transport) -> usize {
    let mut pages = 0;
    loop {
        let body = transport.pull(session.build_pull().unwrap()).unwrap();
        let outcome = session.apply_pull_response(&body, NOW).unwrap();
        pages += 1;
        assert!(pages < 1_000, "pulling never ends");
        if !outcome.has_more {
            return pages;
        }
    }
}

#[test]
fn a_device_offline_for_the_whole_run_syncs_thousands_of_changes_in_pages() {
    let org = org(&[
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
        ("maya", "manager", None),
    ]);
    let server = start(&org.db, None);
    let offline = device(&server.base, &login(&server.base, "ana"));
    let online = device(&server.base, &login(&server.base, "ben"));
    let manager = device(&server.base, &login(&server.base, "maya"));

    // While the offline device works, the others keep syncing.
    let mut offline_ids = Vec::new();
    for round in 0..3 {
        offline_ids.extend(offline_work(&offline, &format!("Offline {round}"), 100, 9));
        offline_work(&online, &format!("Online {round}"), 10, 1);
        online.sync(&server.base);
        manager.sync(&server.base);
    }
    assert_eq!(offline.store.sync_status().unwrap().pending_changes, 3_000);

    let transport = offline.transport(&server.base);
    let mut session = SyncSession::new(&offline.store).unwrap();
    session.push_batch = 400;
    session.page_size = 64;
    assert_eq!(push_all(&session, &transport), 8);
    // Its own 300 documents come back as snapshots, with the online device's 30.
    assert_eq!(pull_all(&session, &transport), 6);

    let transport = manager.transport(&server.base);
    let mut session = SyncSession::new(&manager.store).unwrap();
    session.page_size = 50;
    assert_eq!(pull_all(&session, &transport), 6, "300 new documents");
    online.sync(&server.base);

    let log = change_log(&org.db);
    assert_eq!(log.rows, 3_000 + 60);
    let head = log.head;
    for device in [&offline, &online, &manager] {
        device.assert_settled();
        let cursor = u64::try_from(device.store.sync_status().unwrap().cursor).unwrap();
        assert_eq!(fieldcrm_server::storage::cursor_position(cursor), head);
    }
    let records = offline.customers();
    assert_eq!(records.len(), 330);
    assert_eq!(online.customers(), records);
    assert_eq!(manager.customers(), records);
    for id in &offline_ids {
        assert_eq!(records[id].custom_fields["rev"], "9");
    }
}

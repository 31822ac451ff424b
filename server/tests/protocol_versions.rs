//! Apps installed before the server was upgraded keep syncing, end to end: the real server
//! binary, device stores speaking protocol version 1 (the previous version, records inline in
//! pull pages) and version 2 through the core library's sans-IO session and HTTP transport. An
//! app older than the server serves gets `426 upgrade_required`, keeps everything it holds, and
//! syncs it once updated (docs/PROTOCOL.md, "Versions").

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::protocol::{self, OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION};
use fieldcrm_core::*;

mod support;
use support::{BIN, Device, Launch, OrgServer, agent, device};

const PASSWORD: &str = "secret pass";
const NOW: Millis = 1_790_000_000_000;

fn organisation(launch: Launch<'_>) -> OrgServer {
    OrgServer::start(
        BIN,
        &[
            ("ana", "rep", Some("harbour")),
            ("ben", "rep", Some("harbour")),
            ("mia", "manager", None),
        ],
        PASSWORD,
        launch,
    )
}

/// A session of `device` speaking `version`.
fn session(device: &Device, version: u8) -> SyncSession<'_> {
    let mut session = SyncSession::new(&device.store).unwrap();
    session.protocol_version = version;
    session
}

/// Pushes everything pending in `version`; the versions of the answers it got.
fn push_all(device: &Device, version: u8) -> Result<Vec<u8>, SyncError> {
    let session = session(device, version);
    let mut answered_in = Vec::new();
    while let Some(push) = session.build_push()? {
        let body = device.transport.push(push.body)?;
        answered_in.push(protocol::version_of(&body)?);
        let outcome = session.apply_push_response(&body, NOW)?;
        assert_eq!(outcome.rejected, 0);
    }
    Ok(answered_in)
}

/// Pulls every page in `version`; the versions of the answers it got.
fn pull_all(device: &Device, version: u8) -> Result<Vec<u8>, SyncError> {
    let session = session(device, version);
    let mut answered_in = Vec::new();
    loop {
        let body = device.transport.pull(session.build_pull()?)?;
        answered_in.push(protocol::version_of(&body)?);
        if !session.apply_pull_response(&body, NOW)?.has_more {
            return Ok(answered_in);
        }
    }
}

fn harbour_customer(device: &Device, name: &str) -> Customer {
    let mut customer = Customer::new(name);
    customer.territory = Some("harbour".into());
    customer.notes = "Delivery at the back".into();
    customer.segments.insert("horeca".into());
    device.store.create(customer).unwrap()
}

#[test]
fn an_app_speaking_the_previous_protocol_keeps_syncing_with_a_newer_one() {
    let server = organisation(Launch::default());
    let old = device(&server.base, "ana", PASSWORD);
    // The manager's app is up to date; she sees her reps' visits.
    let new = device(&server.base, "mia", PASSWORD);

    // The old app writes a customer and a visit and pushes them in version 1.
    let customer = harbour_customer(&old, "Café Mitte");
    let mut visit = Visit::new(&customer.meta.id, old.store.user());
    visit.notes = "Bring the new price list".into();
    let visit = old.store.create(visit).unwrap();
    assert_eq!(push_all(&old, 1).unwrap(), vec![1], "answered in version 1");
    assert_eq!(old.store.sync_status().unwrap().pending_changes, 0);
    let pings = [Fix {
        at: NOW - 60_000,
        lat: 52.52,
        lon: 13.40,
        accuracy_m: 8.0,
        mock: false,
    }];
    old.store.record_pings(&pings).unwrap();
    let upload = session(&old, 1).build_ping_upload().unwrap().unwrap();
    let ack = old.transport.upload_pings(upload.body.clone()).unwrap();
    assert_eq!(protocol::version_of(&ack).unwrap(), 1);
    assert_eq!(session(&old, 1).apply_ping_ack(&upload, &ack).unwrap(), 1);

    // The new app sees both, and edits the customer.
    new.sync().unwrap();
    assert_eq!(
        new.store
            .get::<Customer>(&customer.meta.id)
            .unwrap()
            .unwrap(),
        customer
    );
    assert_eq!(
        new.store.get::<Visit>(&visit.meta.id).unwrap().unwrap(),
        visit
    );
    let mut edited = new
        .store
        .get::<Customer>(&customer.meta.id)
        .unwrap()
        .unwrap();
    edited.notes = "Delivery at the front now".into();
    new.store.update(edited.clone()).unwrap();
    new.sync().unwrap();

    // The old app gets the edit in version 1 pages ...
    assert!(pull_all(&old, 1).unwrap().iter().all(|&v| v == 1));
    assert_eq!(
        old.store
            .get::<Customer>(&customer.meta.id)
            .unwrap()
            .unwrap()
            .notes,
        "Delivery at the front now"
    );
    // ... and a fresh old app bootstraps from snapshots whose records travel inline.
    let fresh = device(&server.base, "ana", PASSWORD);
    assert!(pull_all(&fresh, 1).unwrap().iter().all(|&v| v == 1));
    let got = fresh
        .store
        .get::<Customer>(&customer.meta.id)
        .unwrap()
        .unwrap();
    assert_eq!(got.notes, "Delivery at the front now");
    assert_eq!(got.segments, customer.segments);
    assert_eq!(
        fresh.store.get::<Visit>(&visit.meta.id).unwrap().unwrap(),
        visit
    );
    assert_eq!(
        fresh
            .store
            .sync_status()
            .unwrap()
            .records_read_from_documents,
        0
    );
    // The new app's own pages are in its version, and version 2 is still served.
    for version in [2, PROTOCOL_VERSION] {
        assert!(
            pull_all(&new, version)
                .unwrap()
                .iter()
                .all(|&v| v == version)
        );
    }
}

#[test]
fn an_app_older_than_the_server_serves_is_told_to_upgrade_and_loses_nothing() {
    // The operator retired protocol version 1.
    let server = organisation(Launch {
        env: &[("FIELDCRM_OLDEST_PROTOCOL_VERSION", "2")],
        ..Launch::default()
    });
    let old = device(&server.base, "ana", PASSWORD);
    let customer = harbour_customer(&old, "Kiosk am Hafen");

    let err = push_all(&old, 1).unwrap_err();
    assert!(err.is_upgrade_required(), "{err}");
    assert!(
        matches!(
            &err,
            SyncError::Transport(TransportError::Server { status: 426, .. })
        ),
        "{err:?}"
    );
    let err = pull_all(&old, 1).unwrap_err();
    assert!(err.is_upgrade_required(), "{err}");
    // Nothing was acknowledged: the change waits, the record reads as written.
    assert_eq!(old.store.sync_status().unwrap().pending_changes, 1);
    assert_eq!(
        old.store
            .get::<Customer>(&customer.meta.id)
            .unwrap()
            .unwrap(),
        customer
    );

    // The updated app (same store, the current protocol) sends it.
    assert_eq!(
        push_all(&old, PROTOCOL_VERSION).unwrap(),
        vec![PROTOCOL_VERSION]
    );
    let colleague = device(&server.base, "ben", PASSWORD);
    colleague.sync().unwrap();
    assert_eq!(
        colleague
            .store
            .get::<Customer>(&customer.meta.id)
            .unwrap()
            .unwrap(),
        customer
    );
}

#[test]
fn versions_this_server_never_spoke_get_stable_codes() {
    let server = organisation(Launch::default());
    let ana = device(&server.base, "ana", PASSWORD);
    let body = |version: u8| {
        let mut body = protocol::encode(&protocol::PullRequest {
            cursor: 0,
            limit: 10,
        })
        .unwrap();
        body[4] = version;
        body
    };
    for (version, status, code) in [
        (OLDEST_PROTOCOL_VERSION - 1, 426, "upgrade_required"),
        (PROTOCOL_VERSION + 1, 400, "unsupported_protocol_version"),
    ] {
        for path in ["push", "pull", "pings", "refetch"] {
            let mut response = agent()
                .post(format!("{}/v1/sync/{path}", server.base))
                .header("authorization", &format!("Bearer {}", ana.token))
                .header("content-type", protocol::CONTENT_TYPE)
                .send(body(version))
                .unwrap();
            assert_eq!(response.status(), status, "{path} v{version}");
            let json: serde_json::Value = response.body_mut().read_json().unwrap();
            assert_eq!(json["error"]["code"], code, "{path} v{version}");
        }
    }
}

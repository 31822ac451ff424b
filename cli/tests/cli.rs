//! The `fieldcrm` binary against a real server running in this process on a loopback port:
//! log in, add a customer, sync; a second device of another rep in the same territory syncs and
//! finds it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod support;

use std::process::Command;

use support::{BIN, Device, PASSWORD, server, session_file};

#[test]
fn two_reps_of_a_territory_share_a_customer_through_the_server() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    assert!(session_file(&ana.store).exists());

    let out = ana.ok(&[
        "customer",
        "add",
        "--name",
        "Fischhalle Altona",
        "--city",
        "Hamburg",
        "--phone",
        "+49 40 1234567",
        "--territory",
        "harbour",
        "--lat",
        "53.5450",
        "--lon",
        "9.9380",
        "--grade",
        "a",
    ]);
    let id = out
        .strip_prefix("customer ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert!(ana.ok(&["pending"]).contains(&id));
    assert!(ana.ok(&["status"]).contains("pending:        1 changes"));
    let synced = ana.ok(&["sync"]);
    assert!(synced.contains("1 changes pushed, 0 rejected"), "{synced}");
    assert!(ana.ok(&["pending"]).contains("no pending changes"));

    // Ben, the other rep of the harbour territory, gets it with his first sync.
    let ben = Device::new();
    ben.login(&server, "ben");
    assert!(ben.ok(&["search", "fisch"]).contains("no customers"));
    ben.ok(&["sync"]);
    let found = ben.ok(&["search", "fisch"]);
    assert!(
        found.contains(&id) && found.contains("Fischhalle Altona"),
        "{found}"
    );
    let near = ben.ok(&[
        "nearby", "--lat", "53.5451", "--lon", "9.9381", "--limit", "3",
    ]);
    assert!(near.contains(&id), "{near}");

    // Ben edits it and checks in there; ana sees the edit after syncing.
    ben.ok(&["customer", "edit", &id, "--phone-add", "+49 40 7654321"]);
    let checkin = ben.ok(&[
        "checkin",
        &id,
        "--lat",
        "53.5451",
        "--lon",
        "9.9381",
        "--accuracy",
        "8",
    ]);
    assert!(checkin.contains("verified"), "{checkin}");
    let synced = ben.ok(&["sync"]);
    // The edit, the visit started at the customer, and its check-in.
    assert!(synced.contains("3 changes pushed, 0 rejected"), "{synced}");
    ana.ok(&["sync"]);
    let shown = ana.ok(&["customer", "show", &id]);
    assert!(shown.contains("+49 40 7654321"), "{shown}");

    // Cat works the hills territory: she never sees it, and a customer she files under
    // harbour is refused by the server and shown as rejected with the reason.
    let cat = Device::new();
    cat.login(&server, "cat");
    cat.ok(&["sync"]);
    assert!(cat.ok(&["search", "fisch"]).contains("no customers"));
    cat.ok(&[
        "customer",
        "add",
        "--name",
        "Hafenkiosk",
        "--territory",
        "harbour",
    ]);
    let synced = cat.ok(&["sync"]);
    assert!(synced.contains("1 rejected"), "{synced}");
    let status = cat.ok(&["status"]);
    assert!(status.contains("rejected:       1 changes"), "{status}");
    assert!(status.contains("forbidden"), "{status}");
}

#[test]
fn errors_are_messages_not_panics() {
    let server = server();
    let device = Device::new();
    // Not logged in yet.
    let err = device.fails(&["sync"]);
    assert!(err.contains("not logged in"), "{err}");
    let err = device.fails(&["checkin", "x", "--lat", "1", "--lon", "1"]);
    assert!(err.contains("not logged in"), "{err}");
    // Wrong password, no password, unreachable server.
    let err = device.fails(&[
        "login",
        "--server",
        &server.base,
        "--username",
        "ana",
        "--password",
        "wrong",
    ]);
    assert!(err.contains("refused the login"), "{err}");
    let err = device.fails(&["login", "--server", &server.base, "--username", "ana"]);
    assert!(err.contains("FIELDCRM_PASSWORD"), "{err}");
    let err = device.fails(&[
        "login",
        "--server",
        "http://127.0.0.1:9",
        "--username",
        "ana",
        "--password",
        PASSWORD,
    ]);
    assert!(err.contains("cannot reach"), "{err}");
    // Bad input.
    device.fails(&["customer", "add", "--name", " "]);
    device.fails(&["customer", "edit", "no-such-id", "--name", "x"]);
    device.fails(&["nearby", "--lat", "91", "--lon", "0"]);
    // clap refuses a bad grade with its own message and exit code 2.
    let output = device.run(&["customer", "add", "--name", "x", "--grade", "Z"]);
    assert_eq!(output.status.code(), Some(2));
    // A store of one user cannot be logged in as another.
    device.login(&server, "ana");
    let err = device.fails(&[
        "login",
        "--server",
        &server.base,
        "--username",
        "ben",
        "--password",
        PASSWORD,
    ]);
    assert!(err.contains("belongs to another user"), "{err}");
    // A file that is not a store.
    let bogus = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bogus.path(), b"definitely not sqlite, just some bytes here").unwrap();
    let output = Command::new(BIN)
        .arg("--store")
        .arg(bogus.path())
        .arg("status")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot open the store"));
}

#[test]
fn a_revoked_device_wipes_its_store_and_says_so() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    ana.ok(&[
        "customer",
        "add",
        "--name",
        "Fischhalle Altona",
        "--territory",
        "harbour",
    ]);
    assert!(ana.ok(&["sync"]).contains("1 changes pushed"));
    ana.ok(&[
        "customer",
        "add",
        "--name",
        "Not yet sent",
        "--territory",
        "harbour",
    ]);
    let user = server.storage.user_by_username("ana").unwrap().unwrap();
    let actor = server.storage.device_statuses(&user.id).unwrap()[0]
        .device
        .actor_id
        .clone();
    assert!(
        server.storage.revoke_device(&actor, 1).unwrap().is_some(),
        "{actor}"
    );

    let err = ana.fails(&["sync"]);
    assert!(err.contains("revoked") && err.contains("wiped"), "{err}");
    assert!(!session_file(&ana.store).exists(), "the dead token is gone");
    assert!(ana.ok(&["search", "fisch"]).contains("no customers"));
    assert!(ana.ok(&["pending"]).contains("no pending changes"));
    assert!(ana.ok(&["status"]).contains("device_revoked"));
    // A new login starts the wiped store afresh as a new device.
    ana.login(&server, "ana");
    ana.ok(&["sync"]);
    assert!(ana.ok(&["search", "fisch"]).contains("Fischhalle Altona"));
}

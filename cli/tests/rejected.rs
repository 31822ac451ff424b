//! `fieldcrm rejected`, `rejected retry` and `rejected discard` against a real server in this
//! process: a customer refused for its missing territory is fixed, retried and reaches the
//! other rep; another refused customer is discarded; wrong arguments are one-line errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod support;

use support::{Device, server};

/// The id `customer add` printed (`customer ID ...`).
fn added_id(out: &str) -> String {
    out.strip_prefix("customer ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned()
}

#[test]
fn a_refused_customer_is_fixed_and_retried_and_another_is_discarded() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    assert!(ana.ok(&["rejected"]).contains("no rejected changes"));

    let id = added_id(&ana.ok(&["customer", "add", "--name", "Hafenkiosk"]));
    let synced = ana.ok(&["sync"]);
    assert!(synced.contains("0 changes pushed, 1 rejected"), "{synced}");
    assert!(synced.contains("fieldcrm rejected"), "{synced}");
    let listed = ana.ok(&["rejected"]);
    assert!(
        listed.contains(&id) && listed.contains("forbidden"),
        "{listed}"
    );

    // The fix alone is refused too: it builds on the refused creation.
    ana.ok(&["customer", "edit", &id, "--territory", "harbour"]);
    let synced = ana.ok(&["sync"]);
    assert!(synced.contains("0 changes pushed, 1 rejected"), "{synced}");
    let listed = ana.ok(&["rejected"]);
    assert!(
        listed.contains("depends on changes the server does not have"),
        "{listed}"
    );

    let retried = ana.ok(&["rejected", "retry", &id]);
    assert!(retried.contains("queued again"), "{retried}");
    assert!(ana.ok(&["rejected"]).contains("no rejected changes"));
    assert!(ana.ok(&["pending"]).contains(&id));
    let synced = ana.ok(&["sync"]);
    assert!(synced.contains("1 changes pushed, 0 rejected"), "{synced}");

    let ben = Device::new();
    ben.login(&server, "ben");
    ben.ok(&["sync"]);
    let found = ben.ok(&["search", "hafen"]);
    assert!(found.contains(&id), "{found}");

    // Another customer refused, then discarded: it leaves ana's device.
    let other = added_id(&ana.ok(&["customer", "add", "--name", "Ohne Gebiet"]));
    assert!(ana.ok(&["sync"]).contains("1 rejected"));
    let discarded = ana.ok(&["rejected", "discard", &other]);
    assert!(discarded.contains("removed"), "{discarded}");
    assert!(ana.ok(&["rejected"]).contains("no rejected changes"));
    assert!(ana.ok(&["search", "gebiet"]).contains("no customers"));
    assert!(ana.ok(&["sync"]).contains("0 changes pushed, 0 rejected"));
}

#[test]
fn resolving_a_record_without_rejected_changes_is_an_error_that_changes_nothing() {
    let device = Device::new();
    let id = added_id(&device.ok(&["customer", "add", "--name", "Kiosk"]));
    for action in ["retry", "discard"] {
        let err = device.wrong(&["rejected", action, &id]);
        assert!(err.contains("no rejected change"), "{err}");
        device.wrong(&["rejected", action, "no-such-id"]);
        // clap refuses a missing id with its usage and exit code 2.
        let output = device.run(&["rejected", action]);
        assert_eq!(output.status.code(), Some(2));
    }
    assert_eq!(device.run(&["rejected", "bogus"]).status.code(), Some(2));
    assert!(
        device.ok(&["pending"]).contains(&id),
        "the creation stays queued"
    );
}

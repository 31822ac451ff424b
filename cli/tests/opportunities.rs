//! `fieldcrm opportunity` against a real server in this process: a rep opens deals, works them
//! through the stages (a loss only with its reason), syncs, and the other rep of the territory
//! sees them by stage with the same totals.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod support;

use support::{Device, server};

/// Whether one line of `out` holds every one of `parts`.
fn line_with(out: &str, parts: &[&str]) -> bool {
    out.lines()
        .any(|line| parts.iter().all(|part| line.contains(part)))
}

/// The id a `... created: ...` line names.
fn created_id(out: &str, kind: &str) -> String {
    out.strip_prefix(&format!("{kind} "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no id in {out:?}"))
        .to_owned()
}

#[test]
fn a_rep_works_deals_through_the_stages_and_the_territory_sees_them() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    let customer = created_id(
        &ana.ok(&[
            "customer",
            "add",
            "--name",
            "Fischhalle Altona",
            "--territory",
            "harbour",
        ]),
        "customer",
    );
    let ovens = created_id(
        &ana.ok(&[
            "opportunity",
            "add",
            "--customer",
            &customer,
            "--title",
            "Two ovens",
            "--amount",
            "12500.50",
            "--currency",
            "EUR",
            "--probability",
            "40",
            "--close",
            "2026-12-31",
        ]),
        "opportunity",
    );
    let scales = created_id(
        &ana.ok(&[
            "deal",
            "add",
            "--customer",
            &customer,
            "--title",
            "Scales",
            "--amount",
            "800",
            "--currency",
            "CHF",
        ]),
        "opportunity",
    );

    let shown = ana.ok(&["opportunity", "show", &ovens]);
    for expected in [
        "Two ovens",
        "Fischhalle Altona",
        "12500.50 EUR",
        "40%",
        "5000.20 EUR",
        "2026-12-31",
        "lead",
    ] {
        assert!(shown.contains(expected), "{expected} in {shown}");
    }

    ana.ok(&[
        "opportunity",
        "edit",
        &ovens,
        "--amount",
        "15000",
        "--currency",
        "EUR",
        "--probability",
        "60",
        "--close",
        "2027-01-15",
    ]);
    ana.ok(&["opportunity", "stage", &ovens, "negotiation"]);
    let shown = ana.ok(&["opportunity", "show", &ovens]);
    assert!(
        shown.contains("15000.00 EUR") && shown.contains("60%") && shown.contains("2027-01-15"),
        "{shown}"
    );
    assert!(shown.contains("negotiation by"), "{shown}");

    // A loss needs its reason: refused with a message, nothing written.
    let err = ana.fails(&["opportunity", "stage", &scales, "lost"]);
    assert!(err.contains("--reason"), "{err}");
    let err = ana.fails(&["opportunity", "stage", &scales, "lost", "--reason", " "]);
    assert!(err.contains("--reason"), "{err}");
    let shown = ana.ok(&["opportunity", "show", &scales]);
    assert!(line_with(&shown, &["stage", "lead"]), "{shown}");
    let lost = ana.ok(&[
        "opportunity",
        "stage",
        &scales,
        "lost",
        "--reason",
        "Bought second-hand",
    ]);
    assert!(lost.contains("is now lost"), "{lost}");

    let pipeline = ana.ok(&["opportunity", "list"]);
    let negotiation = pipeline.find("negotiation (1)").expect("negotiation stage");
    let lost_at = pipeline.find("lost (1)").expect("lost stage");
    assert!(negotiation < lost_at, "stages in order: {pipeline}");
    assert!(
        line_with(
            &pipeline,
            &["total", "15000.00 EUR", "weighted", "9000.00 EUR"]
        ),
        "{pipeline}"
    );
    assert!(
        !pipeline.contains("lead ("),
        "empty stages are left out: {pipeline}"
    );
    let only_lost = ana.ok(&["opportunity", "list", "--stage", "lost"]);
    assert!(
        only_lost.contains("Scales") && !only_lost.contains("Two ovens"),
        "{only_lost}"
    );

    let synced = ana.ok(&["sync"]);
    assert!(synced.contains("0 rejected"), "{synced}");

    // Ben, of the same territory, sees ana's deals with --all, none of his own.
    let ben = Device::new();
    ben.login(&server, "ben");
    ben.ok(&["sync"]);
    assert!(ben.ok(&["opportunity", "list"]).contains("no deals"));
    let all = ben.ok(&["opportunity", "list", "--all"]);
    assert!(
        all.contains("Two ovens") && all.contains("Scales") && all.contains("800.00 CHF"),
        "{all}"
    );
    let shown = ben.ok(&["opportunity", "show", &scales]);
    assert!(
        line_with(&shown, &["lost reason", "Bought second-hand"]),
        "{shown}"
    );
    // He wins the ovens; ana sees it after her next sync.
    ben.ok(&["opportunity", "stage", &ovens, "won"]);
    assert!(ben.ok(&["sync"]).contains("1 changes pushed, 0 rejected"));
    ana.ok(&["sync"]);
    let pipeline = ana.ok(&["opportunity", "list", "--stage", "won"]);
    assert!(
        pipeline.contains("won (1)") && pipeline.contains("Two ovens"),
        "{pipeline}"
    );
}

#[test]
fn bad_deal_input_is_a_message() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    let customer = created_id(
        &ana.ok(&[
            "customer",
            "add",
            "--name",
            "Kiosk",
            "--territory",
            "harbour",
        ]),
        "customer",
    );
    let add = |extra: &[&str]| {
        let mut args = vec![
            "opportunity",
            "add",
            "--customer",
            customer.as_str(),
            "--title",
            "Deal",
        ];
        args.extend_from_slice(extra);
        ana.run(&args)
    };
    for (bad, expected) in [
        (&["--amount", "-5", "--currency", "EUR"][..], "amount"),
        (&["--amount", "1.234", "--currency", "EUR"], "digits"),
        (&["--amount", "10", "--currency", "eur"], "currency"),
        (
            &[
                "--amount",
                "10",
                "--currency",
                "EUR",
                "--close",
                "2026-02-30",
            ],
            "date",
        ),
        (
            &[
                "--amount",
                "10",
                "--currency",
                "EUR",
                "--probability",
                "101",
            ],
            "101",
        ),
        (&["--amount", "10"], "currency"),
        (&[], "--amount"),
    ] {
        let output = add(bad);
        assert!(!output.status.success(), "{bad:?} was taken");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{bad:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let err = ana.fails(&[
        "opportunity",
        "add",
        "--customer",
        "no-such-customer",
        "--title",
        "Deal",
        "--amount",
        "1",
        "--currency",
        "EUR",
    ]);
    assert!(err.contains("no record"), "{err}");
    let err = ana.fails(&["opportunity", "show", &customer]);
    assert!(err.contains("not an opportunity"), "{err}");
    let err = ana.fails(&["opportunity", "stage", "no-such-deal", "won"]);
    assert!(err.contains("no record"), "{err}");
    let output = ana.run(&["opportunity", "stage", "x", "on_hold"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "clap refuses an unknown stage"
    );
    assert!(ana.ok(&["opportunity", "list"]).contains("no deals"));
}

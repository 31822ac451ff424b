//! `fieldcrm visit list` and `checkout` against a real server in this process: the visit id
//! `checkin` gives is found in today's list, checked out, and filtered by customer and state;
//! times are shown in local time; wrong arguments are one-line errors with the usage.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod support;

use support::{Device, server};

/// The id after `prefix` in a command's output (`customer ID ...`, `... visit ID at ...`).
fn id_after(out: &str, prefix: &str) -> String {
    out.split(prefix)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {prefix:?} in {out}"))
        .to_owned()
}

/// Human output: no raw epoch milliseconds (13 digits in a row), no Rust debug values.
fn assert_readable(out: &str) {
    let mut run = 0;
    for c in out.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        assert!(run < 12, "a raw number in: {out}");
    }
    assert!(!out.contains("Some(") && !out.contains("None"), "{out}");
}

fn add_customer(device: &Device, name: &str, lat: &str, lon: &str) -> String {
    let out = device.ok(&[
        "customer",
        "add",
        "--name",
        name,
        "--territory",
        "harbour",
        "--lat",
        lat,
        "--lon",
        lon,
        "--grade",
        "b",
    ]);
    id_after(&out, "customer ")
}

#[test]
fn a_visit_is_found_in_todays_list_checked_out_and_filtered() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    assert!(ana.ok(&["visit", "list"]).contains("no visits today"));
    let bakery = add_customer(&ana, "Bäckerei Elbe", "53.5450", "9.9380");
    let kiosk = add_customer(&ana, "Kiosk Altona", "53.5500", "9.9400");

    let out = ana.ok(&["checkin", &bakery, "--lat", "53.5451", "--lon", "9.9381"]);
    let visit = id_after(&out, "visit ");
    let listed = ana.ok(&["visit", "list"]);
    assert_readable(&listed);
    assert!(
        listed.contains(&visit) && listed.contains("in_progress") && listed.contains("Bäckerei"),
        "{listed}"
    );
    assert!(listed.contains("verified"), "{listed}");
    ana.ok(&["checkin", &kiosk, "--lat", "53.5500", "--lon", "9.9400"]);

    let out = ana.ok(&[
        "checkout",
        &visit,
        "--lat",
        "53.5451",
        "--lon",
        "9.9381",
        "--outcome",
        "ordered rolls",
    ]);
    assert_readable(&out);
    assert!(
        out.contains(&format!("checked out: visit {visit}")),
        "{out}"
    );
    assert!(
        out.contains("is done") && out.contains("after check-in at"),
        "{out}"
    );
    let err = ana.wrong(&["checkout", &visit, "--lat", "53.5451", "--lon", "9.9381"]);
    assert!(err.contains("checked out already"), "{err}");

    // By state and by customer.
    let done = ana.ok(&["visit", "list", "--status", "done"]);
    assert!(done.contains(&visit) && !done.contains("Kiosk"), "{done}");
    let checked_in = ana.ok(&["visit", "list", "--status", "checked-in"]);
    assert!(
        checked_in.contains("Kiosk") && !checked_in.contains(&visit),
        "{checked_in}"
    );
    let at_bakery = ana.ok(&["visit", "list", "--customer", &bakery]);
    assert!(
        at_bakery.contains(&visit) && !at_bakery.contains("Kiosk"),
        "{at_bakery}"
    );
    assert!(
        ana.ok(&["visit", "list", "--date", "2001-01-01"])
            .contains("no visits on 2001-01-01")
    );
    assert!(ana.ok(&["visit", "list", "--any-day"]).contains(&visit));

    // Synced, it reaches the server whole; --all adds no one else's on this device.
    assert!(ana.ok(&["sync"]).contains("0 rejected"));
    assert!(ana.ok(&["visit", "list", "--all"]).contains(&visit));

    // Two visits today: a page of one says so.
    let page = ana.ok(&["visit", "list", "--limit", "1"]);
    assert!(
        page.contains("1 of 2 shown; use --limit/--offset for more"),
        "{page}"
    );
    let next = ana.ok(&["visit", "list", "--limit", "1", "--offset", "1"]);
    assert!(next.contains("2 to 2 of 2 shown"), "{next}");
}

#[test]
fn visit_times_are_shown_in_local_time() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    let bakery = add_customer(&ana, "Bäckerei Elbe", "53.5450", "9.9380");
    ana.ok(&["checkin", &bakery, "--lat", "53.5451", "--lon", "9.9381"]);
    let listed_in = |tz: &str| {
        let output = ana.run_with_env(&["visit", "list"], &[("TZ", tz)]);
        assert!(output.status.success());
        let out = String::from_utf8(output.stdout).unwrap();
        assert!(!out.contains("UTC"), "the offset was read: {out}");
        // `ID  2026-11-28 09:12  in_progress ...`: the time after the id.
        let mut words = out.split_whitespace().skip(1);
        format!("{} {}", words.next().unwrap(), words.next().unwrap())
    };
    let utc = listed_in("UTC0");
    // POSIX TZ: 14 hours east of UTC.
    let east = listed_in("<+14>-14");
    assert_ne!(utc, east, "the same instant in two zones");
    assert_eq!(utc.len(), "2026-11-28 09:12".len(), "{utc}");
}

#[test]
fn wrong_visit_arguments_are_errors_with_the_usage_that_write_nothing() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    let bakery = add_customer(&ana, "Bäckerei Elbe", "53.5450", "9.9380");
    let pending = ana.ok(&["pending"]);

    for args in [
        &["visit", "list", "--status", "finished"][..],
        &["visit", "list", "--date", "2026-13-01"],
        &["visit", "list", "--date", "2026-12-01", "--any-day"],
        &["visit", "list", "--limit", "0"],
        &["visit", "list", "--offset", "-1"],
        &["visit", "bogus"],
        &["checkout"],
        &["checkout", "x", "--lat", "1"],
        &["checkout", "x", "--lat", "north", "--lon", "1"],
    ] {
        ana.wrong(args);
    }
    let err = ana.wrong(&["visit", "list", "--customer", "no-such-id"]);
    assert!(err.contains("no record with id no-such-id"), "{err}");
    let err = ana.wrong(&["checkout", "no-such-id", "--lat", "1", "--lon", "1"]);
    assert!(err.contains("no record"), "{err}");
    let err = ana.wrong(&["checkout", &bakery, "--lat", "1", "--lon", "1"]);
    assert!(err.contains("not a visit"), "{err}");
    let err = ana.wrong(&["checkout", &bakery, "--lat", "91", "--lon", "1"]);
    assert!(err.contains("check_out"), "{err}");
    assert_eq!(ana.ok(&["pending"]), pending, "nothing was written");

    // Logged out, a check-out is refused before anything is read.
    let other = Device::new();
    let err = other.fails(&["checkout", "x", "--lat", "1", "--lon", "1"]);
    assert!(err.contains("not logged in"), "{err}");
    assert!(other.files().is_empty(), "{:?}", other.files());
}

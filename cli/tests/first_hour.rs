//! What a new user meets in the first hour, against a real server in this process: a server
//! address without a scheme, failed logins and `sync` while logged out that leave no files
//! behind, lists that say where they were cut, and wrong arguments answered with the usage.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

mod support;

use support::{Device, PASSWORD, server, session_file};

#[test]
fn a_loopback_server_without_a_scheme_is_plain_http_and_another_host_needs_one() {
    let server = server();
    let ana = Device::new();
    let bare = server.base.strip_prefix("http://").unwrap();
    let out = ana.ok(&[
        "login",
        "--server",
        bare,
        "--username",
        "ana",
        "--password",
        PASSWORD,
    ]);
    assert!(
        out.contains(&format!("logged in to {}", server.base)),
        "{out}"
    );
    assert!(ana.ok(&["status"]).contains(&format!("at {}", server.base)));
    assert!(
        ana.ok(&["sync"])
            .contains(&format!("synced with {}", server.base))
    );

    let other = Device::new();
    let err = other.wrong(&[
        "login",
        "--server",
        "crm.example.com:8080",
        "--username",
        "ana",
        "--password",
        PASSWORD,
    ]);
    assert!(err.contains("add https://"), "{err}");
    assert!(other.files().is_empty(), "{:?}", other.files());
}

#[test]
fn an_https_address_speaks_tls() {
    // A listener that records the first bytes the CLI sends to an `https://` address: a TLS
    // handshake record (0x16, version 3.x), not plain HTTP and not a refusal of the scheme.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let https = format!("https://{}", listener.local_addr().unwrap());
    let first_bytes = std::thread::spawn(move || {
        use std::io::Read;
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = [0u8; 3];
        stream.read_exact(&mut head).unwrap();
        head
    });
    let device = Device::new();
    let output = device.run(&[
        "login",
        "--server",
        &https,
        "--username",
        "ana",
        "--password",
        PASSWORD,
    ]);
    assert_eq!(first_bytes.join().unwrap()[..2], [0x16, 0x03]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!("error: cannot reach the server at {https}")),
        "{stderr}"
    );
    assert!(device.files().is_empty(), "{:?}", device.files());
}

#[test]
fn failed_logins_and_sync_while_logged_out_leave_no_files() {
    let server = server();
    let device = Device::new();
    let login = |server: &str, password: Option<&str>| {
        let mut args = vec!["login", "--server", server, "--username", "ana"];
        if let Some(password) = password {
            args.extend(["--password", password]);
        }
        device.run(&args)
    };
    let failures = [
        ("a wrong password", login(&server.base, Some("wrong"))),
        ("no password", login(&server.base, None)),
        (
            "an unreachable server",
            login("http://127.0.0.1:9", Some(PASSWORD)),
        ),
        ("an unknown user", {
            let mut args = vec!["login", "--server", &server.base];
            args.extend(["--username", "nobody", "--password", PASSWORD]);
            device.run(&args)
        }),
        ("sync while logged out", device.run(&["sync"])),
    ];
    for (what, output) in failures {
        assert!(!output.status.success(), "{what} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{what}: {stderr}");
        assert!(
            device.files().is_empty(),
            "{what} left {:?}",
            device.files()
        );
    }
    // A wrong argument on a new store writes nothing either.
    device.wrong(&["customer", "add", "--name", " "]);
    device.wrong(&["nearby", "--lat", "91", "--lon", "0"]);
    assert!(device.files().is_empty(), "{:?}", device.files());

    // The right password: the store and its session, nothing else.
    device.login(&server, "ana");
    assert!(session_file(&device.store).exists());
    assert!(device.store.exists());
}

#[test]
fn cut_lists_say_how_many_of_how_many_are_shown() {
    let device = Device::new();
    for i in 0..7 {
        device.ok(&[
            "customer",
            "add",
            "--name",
            &format!("Kunde {i}"),
            "--lat",
            &format!("53.5{i}"),
            "--lon",
            "9.93",
            "--grade",
            "a",
        ]);
    }
    let all = device.ok(&["customer", "list"]);
    assert_eq!(all.lines().count(), 7, "{all}");
    assert!(!all.contains("shown"), "nothing cut: {all}");
    assert!(!all.contains("Some("), "{all}");
    assert!(all.contains(" A "), "grades as A: {all}");

    let first = device.ok(&["customer", "list", "--limit", "5"]);
    assert!(
        first.ends_with("5 of 7 shown; use --limit/--offset for more\n"),
        "{first}"
    );
    let rest = device.ok(&["customer", "list", "--limit", "5", "--offset", "5"]);
    assert!(
        rest.contains("Kunde 5") && rest.contains("Kunde 6"),
        "{rest}"
    );
    assert!(rest.contains("6 to 7 of 7 shown"), "{rest}");
    let past = device.ok(&["customer", "list", "--offset", "10"]);
    assert!(past.contains("none of 7 shown"), "{past}");

    let found = device.ok(&["search", "kunde", "--limit", "3"]);
    assert_eq!(found.lines().count(), 4, "{found}");
    assert!(found.contains("3 of 7 shown"), "{found}");
    let found = device.ok(&["search", "kunde", "--limit", "3", "--offset", "6"]);
    assert!(
        found.contains("Kunde") && found.contains("7 to 7 of 7 shown"),
        "{found}"
    );

    let near = device.ok(&["nearby", "--lat", "53.50", "--lon", "9.93", "--limit", "2"]);
    assert!(
        near.contains("Kunde 0") && near.contains("2 of 7 shown"),
        "{near}"
    );
    let near = device.ok(&[
        "nearby", "--lat", "53.50", "--lon", "9.93", "--limit", "2", "--within", "2500",
    ]);
    // 0, ~1.1 and ~2.2 km away: three within 2.5 km.
    assert!(near.contains("2 of 3 shown"), "{near}");

    // Deals are cut per stage; the stage's own count says how many there are.
    let customer = all.split_whitespace().next().unwrap();
    for title in ["Ovens", "Flour", "Trays"] {
        device.ok(&[
            "deal",
            "add",
            "--customer",
            customer,
            "--title",
            title,
            "--amount",
            "100",
            "--currency",
            "EUR",
        ]);
    }
    let deals = device.ok(&["deal", "list", "--limit", "2"]);
    assert!(
        deals.contains("2 of 3 shown; use --limit for more"),
        "{deals}"
    );
    assert!(!device.ok(&["deal", "list"]).contains("shown"));

    device.wrong(&["customer", "list", "--limit", "0"]);
    device.wrong(&["customer", "list", "--limit", "10001"]);
    let err = device.wrong(&["search", "kunde", "--offset", "9999", "--limit", "2"]);
    assert!(err.contains("--offset plus --limit"), "{err}");
    device.wrong(&["opportunity", "list", "--limit", "0"]);
}

#[test]
fn status_shows_times_readably() {
    let server = server();
    let ana = Device::new();
    ana.login(&server, "ana");
    ana.ok(&["sync"]);
    let status = ana.ok(&["status"]);
    let last_sync = status
        .lines()
        .find_map(|line| line.strip_prefix("last sync:"))
        .unwrap()
        .trim();
    // `2026-11-28 09:12`, in local time.
    let bytes = last_sync.as_bytes();
    assert_eq!(bytes.len(), 16, "{last_sync}");
    assert_eq!(
        (bytes[4], bytes[10], bytes[13]),
        (b'-', b' ', b':'),
        "{last_sync}"
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `fieldcrm customer list | head -1`: the reader is gone before the list is printed.
    let device = Device::new();
    for name in ["Elbcafé", "Bäckerei Ottensen", "Hansa Optik"] {
        device.ok(&["customer", "add", "--name", name]);
    }
    let mut child = device
        .command(&["customer", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

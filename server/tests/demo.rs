//! `fieldcrm-server serve --demo` as a process: the first start seeds and prints how to log
//! in after the "listening" line; the second start reuses the data and prints the hint again.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::Path;
use std::time::Duration;

use fieldcrm_core::*;
use fieldcrm_tests::server::{Launch, ServerProcess};
use serde_json::{Value, json};

mod support;
use support::BIN;

/// How long the login hint may take after the "listening" line (printed right after it).
const HINT: Duration = Duration::from_secs(60);

struct Running {
    process: ServerProcess,
    /// What it printed after the "listening" line, up to the end of the login hint.
    lines: Vec<String>,
}

/// Starts the demo server (flag from the environment) and reads its stdout up to the end of the
/// login hint.
fn start(db: &Path) -> Running {
    // The demo is seeded before the "listening" line.
    let process = ServerProcess::start(
        BIN,
        db,
        Launch {
            env: &[("FIELDCRM_DEMO", "1")],
            ..Launch::default()
        },
    );
    let mut lines = Vec::new();
    loop {
        let line = process
            .next_stdout_line(HINT)
            .expect("the login hint, before stdout closes");
        let done = line.contains("-- nearby");
        lines.push(line);
        if done {
            break;
        }
    }
    Running { process, lines }
}

fn customers_seen_by(base: &str, username: &str, dir: &Path) -> usize {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut login = agent
        .post(format!("{base}/v1/auth/login"))
        .send_json(json!({"username": username, "password": "fieldcrm-demo"}))
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.body_mut().read_json().unwrap();
    let token = login["token"].as_str().unwrap();
    let store = Store::open(dir.join(format!("{username}.sqlite"))).unwrap();
    store
        .set_user(login["user"]["id"].as_str().unwrap())
        .unwrap();
    let transport = HttpTransport::new(base, token);
    sync(
        &store,
        &transport,
        &RetryPolicy::default(),
        &mut |_| {},
        &|| 1_790_000_000_000,
    )
    .unwrap();
    match store
        .query(&Query::Customers(CustomerFilter {
            limit: 10_000,
            ..Default::default()
        }))
        .unwrap()
    {
        QueryResult::Customers(rows) => rows.len(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn demo_seeds_once_and_always_prints_how_to_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.sqlite");
    {
        let server = start(&db);
        let text = server.lines.join("\n");
        for user in ["anna", "ben", "clara", "mia", "admin", "fieldcrm-demo"] {
            assert!(text.contains(user), "{text}");
        }
        assert!(text.contains(&format!("{}/v1/auth/login", server.process.base)));
        assert_eq!(
            customers_seen_by(&server.process.base, "clara", dir.path()),
            120
        );
    }
    let server = start(&db);
    assert!(server.lines.join("\n").contains("anna"));
    assert_eq!(
        customers_seen_by(&server.process.base, "mia", dir.path()),
        300
    );
}

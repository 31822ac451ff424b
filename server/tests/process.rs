//! The real binary: admin commands on a fresh database, `serve` on a loopback port, login and
//! health over HTTP, then SIGTERM and a clean exit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::process::Command;
use std::time::Duration;

use fieldcrm_tests::server::{Launch, ServerError, ServerProcess, try_admin};
use serde_json::{Value, json};

mod support;
use support::{BIN, agent};

/// Runs an admin command; its stdout.
fn admin(db: &std::path::Path, args: &[&str]) -> String {
    fieldcrm_tests::server::admin(BIN, db, args)
}

#[test]
fn serves_logs_in_and_shuts_down_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite");

    admin(&db, &["team", "add", "--name", "north"]);
    let out = admin(
        &db,
        &[
            "user",
            "add",
            "--username",
            "ana",
            "--password",
            "correct horse",
            "--role",
            "rep",
            "--team",
            "north",
        ],
    );
    assert!(out.contains("user ana created"), "{out}");
    admin(
        &db,
        &["territory", "add", "--name", "harbour", "--team", "north"],
    );
    admin(
        &db,
        &[
            "territory",
            "assign-user",
            "--username",
            "ana",
            "--territory",
            "harbour",
        ],
    );
    admin(
        &db,
        &[
            "customer",
            "assign",
            "--customer-id",
            "0190f5c4-7a6e-7cc0-8d2e-1a2b3c4d5e6f",
            "--territory",
            "harbour",
        ],
    );
    // A failing admin command exits non-zero with a message.
    let refused = try_admin(
        BIN,
        &db,
        &[
            "user",
            "add",
            "--username",
            "bo",
            "--role",
            "rep",
            "--team",
            "nowhere",
        ],
    );
    match refused {
        Err(ServerError::Admin { status, stderr, .. }) => {
            assert!(!status.success());
            assert!(stderr.contains("no team named"), "{stderr}");
        }
        other => panic!("the command should fail: {other:?}"),
    }

    // The first stdout line names the address (port 0: the OS chose it).
    let mut server = ServerProcess::start(
        BIN,
        &db,
        Launch {
            log: Some("info"),
            args: &["--token-ttl-secs", "600"],
            env: &[("FIELDCRM_METRICS_TOKEN", "process-test-scrape")],
            unset: &["FIELDCRM_LOG_FORMAT"],
            ..Launch::default()
        },
    );
    let base = server.base.clone();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let agent = agent();

    let mut health = agent.get(format!("{base}/healthz")).call().unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.body_mut().read_json::<Value>().unwrap(),
        json!({"status": "ok"})
    );

    let mut wrong = agent
        .post(format!("{base}/v1/auth/login"))
        .send_json(json!({"username": "ana", "password": "wrong"}))
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let wrong: Value = wrong.body_mut().read_json().unwrap();
    assert_eq!(wrong["error"]["code"], "unauthorized");

    let mut login = agent
        .post(format!("{base}/v1/auth/login"))
        .send_json(json!({"username": "ana", "password": "correct horse"}))
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.body_mut().read_json().unwrap();
    let token = login["token"].as_str().unwrap();
    assert_eq!(login["user"]["role"], "rep");

    let mut me = agent
        .get(format!("{base}/v1/me"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.body_mut().read_json().unwrap();
    assert_eq!(me["username"], "ana");
    assert_eq!(me["territories"][0]["name"], "harbour");

    // `key rotate` from the admin command while the server runs: the old token keeps
    // working, the next login is signed with the new key.
    let old_kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let out = admin(&db, &["key", "rotate"]);
    assert!(out.contains("is now active"), "{out}");
    let me = agent
        .get(format!("{base}/v1/me"))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(
        me.status(),
        200,
        "a token signed before the rotation stays valid"
    );
    let mut relogin = agent
        .post(format!("{base}/v1/auth/login"))
        .send_json(json!({"username": "ana", "password": "correct horse"}))
        .unwrap();
    assert_eq!(relogin.status(), 200);
    let relogin: Value = relogin.body_mut().read_json().unwrap();
    let new_kid = jsonwebtoken::decode_header(relogin["token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert_ne!(new_kid, old_kid);
    assert!(out.contains(&new_kid), "{out}");

    // Metrics need an admin's token or the scrape token.
    let refused = agent.get(format!("{base}/metrics")).call().unwrap();
    assert_eq!(refused.status(), 401);
    let mut metrics = agent
        .get(format!("{base}/metrics"))
        .header("authorization", "Bearer process-test-scrape")
        .call()
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let metrics = metrics.body_mut().read_to_string().unwrap();
    assert!(
        metrics.contains(r#"route="/v1/auth/login",status="200"} 2"#),
        "{metrics}"
    );

    // Graceful shutdown: SIGTERM, then a clean exit.
    let status = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = server
        .wait_for_exit(Duration::from_secs(30))
        .expect("server did not stop");
    assert!(exit.success(), "exit status {exit:?}");
    let logs = server.stderr();
    assert!(logs.contains("SIGTERM: shutting down"), "{logs}");
    assert!(logs.contains("stopped"), "{logs}");

    // The port is free again: nothing is left listening.
    let addr = base.trim_start_matches("http://");
    assert!(std::net::TcpStream::connect(addr).is_err());
}

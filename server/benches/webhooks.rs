//! Webhook delivery latency: the real server binary, a receiver on loopback, and a rep's device
//! pushing new customers at 200 events a second (20 per push, 10 pushes a second) for 20 s.
//!
//! Run with `cargo bench -p fieldcrm-server --bench webhooks`; `FIELDCRM_BENCH_SCALE` (default
//! 1.0) scales the duration (CI runs 0.02 as a smoke run). Figures are printed as
//! `bench: <name> = <value> <unit>`; nothing here asserts on timing.
//!
//! - `webhook_delivery_p99_ms`: p99 over the events of the time from the commit of the change
//!   (the event's `occurred_at`, server clock) to the receiver's first receipt (same machine,
//!   same clock); `webhook_delivery_p50_ms` beside it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails by panicking

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fieldcrm_bench_support::{comment, emit, quantile, scale, scaled};
use fieldcrm_core::protocol::{self, PushResponse};
use fieldcrm_core::{Customer, Store};
use serde_json::{Value, json};

#[path = "../tests/support/mod.rs"]
mod support;
use support::receiver::Receiver;
use support::{BIN, Launch, OrgServer, agent, login};

const PASSWORD: &str = "bench password";
const EVENTS_PER_SECOND: usize = 200;
const PUSHES_PER_SECOND: usize = 10;
/// At scale 1.
const SECONDS: usize = 20;

fn post_json(base: &str, token: &str, path: &str, body: Value) -> Value {
    let mut response = agent()
        .post(format!("{base}{path}"))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(body)
        .unwrap();
    assert!(response.status().is_success(), "{path}");
    response.body_mut().read_json().unwrap()
}

/// Pushes everything pending as one request (retrying a 429 after a pause).
fn push(base: &str, token: &str, store: &Store) {
    while let Some((request, _)) = store.push_request(500).unwrap() {
        let body = protocol::encode(&request).unwrap();
        let mut response = agent()
            .post(format!("{base}/v1/sync/push"))
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", protocol::CONTENT_TYPE)
            .send(&body[..])
            .unwrap();
        if response.status() == 429 {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        assert_eq!(response.status(), 200);
        let bytes = response.body_mut().read_to_vec().unwrap();
        let decoded: PushResponse = protocol::decode(&bytes, 64 << 20).unwrap();
        assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
        store.acknowledge(&decoded.acknowledged).unwrap();
    }
}

fn main() {
    let scale = scale();
    let events = scaled(EVENTS_PER_SECOND * SECONDS, scale);
    let per_push = EVENTS_PER_SECOND / PUSHES_PER_SECOND;
    let pushes = events.div_ceil(per_push);
    let server = OrgServer::start(
        BIN,
        &[("root", "admin", None), ("ana", "rep", Some("harbour"))],
        PASSWORD,
        Launch {
            log: Some("error"),
            ..Launch::default()
        },
    );
    let receiver = Receiver::start();
    let (root, _) = login(&server.base, "root", PASSWORD);
    let created = post_json(
        &server.base,
        &root,
        "/v1/webhooks",
        json!({"url": receiver.url()}),
    );
    *receiver.shared.secret.lock().unwrap() = created["secret"].as_str().unwrap().to_owned();

    let (token, user_id) = login(&server.base, "ana", PASSWORD);
    let store = Store::open(":memory:").unwrap();
    store.set_user(&user_id).unwrap();
    post_json(
        &server.base,
        &token,
        "/v1/devices",
        json!({"actor_id": store.actor_id()}),
    );
    comment(&format!(
        "{events} new customers in {pushes} pushes of {per_push}, {PUSHES_PER_SECOND} pushes a second"
    ));
    let every = Duration::from_secs(1) / PUSHES_PER_SECOND as u32;
    let started = Instant::now();
    let mut n = 0;
    for push_number in 0..pushes {
        for _ in 0..per_push.min(events - n) {
            let mut customer = Customer::new(format!("Shop {n}"));
            customer.territory = Some("harbour".into());
            store.create(customer).unwrap();
            n += 1;
        }
        push(&server.base, &token, &store);
        let next = every * (push_number as u32 + 1);
        if let Some(wait) = next.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let pushing = started.elapsed();
    comment(&format!(
        "pushed at {:.0} events/s",
        events as f64 / pushing.as_secs_f64()
    ));
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut first_receipt: HashMap<String, Duration> = HashMap::new();
    while first_receipt.len() < events {
        assert!(
            Instant::now() < deadline,
            "the deliveries did not all arrive"
        );
        std::thread::sleep(Duration::from_millis(50));
        for received in receiver.accepted() {
            assert!(received.signature_ok);
            let occurred = received.event["occurred_at"].as_i64().unwrap();
            let latency = Duration::from_millis((received.received_at - occurred).max(0) as u64);
            first_receipt.entry(received.event_id).or_insert(latency);
        }
    }
    let mut latencies: Vec<Duration> = first_receipt.into_values().collect();
    emit(
        "webhook_delivery_p50_ms",
        quantile(&mut latencies, 0.5),
        "ms",
    );
    emit(
        "webhook_delivery_p99_ms",
        quantile(&mut latencies, 0.99),
        "ms",
    );
}

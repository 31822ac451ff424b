//! Webhooks end to end through the real server binary and a receiver on loopback: the changes
//! come from a rep's device through normal sync; the receiver checks every signature, gets the
//! events in order, each at least once, through failures (retried with backoff), a receiver
//! that hangs (timed out, parked after the last attempt, replayed, and never in a push's way)
//! and a server restart with deliveries pending; the pull feed pages the same events.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fieldcrm_core::*;
use fieldcrm_server::webhooks::signature;
use serde_json::{Value, json};

mod support;
use support::receiver::{Mode, Received, Receiver};
use support::{BIN, Device, Launch, OrgServer, ServerProcess, agent, device, login};

const PASSWORD: &str = "secret pass";

/// Fast retries so the tests take seconds: 3 attempts, 100 ms doubling to 400 ms, 700 ms per
/// attempt.
const FAST: &[&str] = &[
    "--webhook-attempts",
    "3",
    "--webhook-backoff-ms",
    "100",
    "--webhook-max-backoff-ms",
    "400",
    "--webhook-timeout-ms",
    "700",
];

/// Waits (at most a minute, then fails) until `done`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn organisation(args: &[&str]) -> OrgServer {
    let users = [("root", "admin", None), ("ana", "rep", Some("harbour"))];
    OrgServer::start(
        BIN,
        &users,
        PASSWORD,
        Launch {
            args,
            ..Launch::default()
        },
    )
}

fn call(method: &str, base: &str, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{base}{path}");
    let auth = format!("Bearer {token}");
    let agent = agent();
    let mut response = match (method, body) {
        ("GET", _) => agent.get(&url).header("authorization", &auth).call(),
        (_, Some(body)) => agent
            .post(&url)
            .header("authorization", &auth)
            .send_json(body),
        (_, None) => agent.post(&url).header("authorization", &auth).send_empty(),
    }
    .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Registers the receiver as root; the webhook's id. The receiver learns the secret.
fn register(server: &OrgServer, receiver: &Receiver) -> String {
    let (token, _) = login(&server.base, "root", PASSWORD);
    let (status, created) = call(
        "POST",
        &server.base,
        &token,
        "/v1/webhooks",
        Some(json!({"url": receiver.url()})),
    );
    assert_eq!(status, 201, "{created}");
    *receiver.shared.secret.lock().unwrap() = created["secret"].as_str().unwrap().to_owned();
    created["id"].as_str().unwrap().to_owned()
}

fn synced(device: &Device) {
    let report = device.sync().unwrap();
    assert_eq!(report.rejected, 0, "{report:?}");
}

fn shop(device: &Device, name: &str) -> Customer {
    let mut customer = Customer::new(name);
    customer.territory = Some("harbour".into());
    customer.location = Some(GeoLocation {
        lat: 53.5449,
        lon: 9.9101,
        source: LocationSource::Gps,
        at: now_ms(),
    });
    device.store.create(customer).unwrap()
}

fn fix() -> Fix {
    Fix {
        at: now_ms(),
        lat: 53.5449,
        lon: 9.9102,
        accuracy_m: 8.0,
        mock: false,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The receiver's deliveries of `webhook` in `state`, from the admin API.
fn deliveries(server: &OrgServer, token: &str, webhook: &str, state: &str) -> Vec<Value> {
    let (status, listed) = call(
        "GET",
        &server.base,
        token,
        &format!("/v1/webhooks/{webhook}/deliveries?state={state}"),
        None,
    );
    assert_eq!(status, 200, "{listed}");
    listed["deliveries"].as_array().unwrap().clone()
}

#[test]
fn the_receiver_gets_every_kind_of_event_signed_in_order_and_the_feed_pages_the_same() {
    let server = organisation(FAST);
    let receiver = Receiver::start();
    register(&server, &receiver);
    let (root_token, _) = login(&server.base, "root", PASSWORD);
    let root = device(&server.base, "root", PASSWORD);
    let ana = device(&server.base, "ana", PASSWORD);

    let mut product = Product::new("AB-1001", "Roggenbrot");
    product.prices.insert("EUR".into(), 349);
    let product = root.store.create(product).unwrap();
    synced(&root);

    let customer = shop(&ana, "Bäckerei am Hafen");
    synced(&ana);
    let mut renamed = ana
        .store
        .get::<Customer>(&customer.meta.id)
        .unwrap()
        .unwrap();
    renamed.name = "Bäckerei Hafenkante".into();
    ana.store.update(renamed).unwrap();
    synced(&ana);
    let mut visit = Visit::new(customer.meta.id.clone(), ana.store.user());
    visit.planned_start = Some(now_ms());
    let visit = ana.store.create(visit).unwrap();
    ana.store.check_in(&visit.meta.id, fix()).unwrap();
    synced(&ana);
    ana.store
        .check_out(&visit.meta.id, fix(), Some("order taken".into()))
        .unwrap();
    synced(&ana);
    let order = ana
        .store
        .create_order(&customer.meta.id, Some(&visit.meta.id), "EUR")
        .unwrap();
    ana.store
        .add_order_line(&order.meta.id, &product.meta.id, 10)
        .unwrap();
    ana.store
        .set_order_status(&order.meta.id, OrderStatus::Submitted)
        .unwrap();
    synced(&ana);
    let case = ana
        .store
        .create(Case::new(customer.meta.id.clone(), "Oven broken"))
        .unwrap();
    synced(&ana);
    let mut resolved = ana.store.get::<Case>(&case.meta.id).unwrap().unwrap();
    resolved.change_status(CaseStatus::Resolved, Some("Repaired".into()));
    resolved.resolution = Some("Repaired".into());
    ana.store.update(resolved).unwrap();
    synced(&ana);

    let expected = [
        "customer.created",
        "customer.changed",
        "visit.checked_in",
        "visit.checked_out",
        "order.submitted",
        "case.resolved",
    ];
    wait_until("every event is delivered", || {
        receiver.accepted().len() >= expected.len()
    });
    let accepted = receiver.accepted();
    let types: Vec<&str> = accepted
        .iter()
        .map(|r| r.event["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, expected);
    for received in &accepted {
        assert!(received.signature_ok, "{:?}", received);
        assert_eq!(received.event["id"], received.event_id.as_str());
    }
    let seqs = receiver.accepted_seqs();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(
        accepted[0].event["data"]["customer_id"],
        customer.meta.id.as_str()
    );
    assert_eq!(
        accepted[1].event["data"]["changed"],
        json!(["name"]),
        "{:?}",
        accepted[1]
    );
    assert!(accepted[2].event["data"]["verification"].is_string());
    assert_eq!(accepted[3].event["data"]["outcome"], "order taken");
    assert_eq!(accepted[4].event["data"]["lines"], 1);
    assert_eq!(accepted[5].event["data"]["resolution"], "Repaired");
    // A wrong secret does not verify: the receiver's check is not vacuous.
    let body = serde_json::to_vec(&accepted[0].event).unwrap();
    assert!(!signature::verify("another secret", 1, &body, "v1=00"));

    // The feed: the same events, in pages.
    let mut fed = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = call(
            "GET",
            &server.base,
            &root_token,
            &format!("/v1/events?after={after}&limit=4"),
            None,
        );
        assert_eq!(status, 200, "{page}");
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            break;
        }
        fed.extend(events.iter().cloned());
        after = page["next_after"].as_i64().unwrap();
    }
    let delivered: Vec<Value> = accepted.iter().map(|r| r.event.clone()).collect();
    assert_eq!(fed, delivered);
    // A rep polling the feed gets what an unknown route gets.
    let (status, _) = call("GET", &server.base, &ana.token, "/v1/events", None);
    assert_eq!(status, 404);
}

#[test]
fn failures_are_retried_a_hanging_receiver_is_timed_out_and_parked_and_a_replay_delivers() {
    let mut server = organisation(FAST);
    let receiver = Receiver::start();
    let webhook = register(&server, &receiver);
    let (token, _) = login(&server.base, "root", PASSWORD);
    let ana = device(&server.base, "ana", PASSWORD);

    // Two failures, then the third attempt is taken: the same event id each time.
    receiver.shared.fail_next.store(2, Ordering::SeqCst);
    shop(&ana, "Kiosk");
    synced(&ana);
    wait_until("the first event is delivered", || {
        receiver.accepted().len() == 1
    });
    let first = receiver.accepted()[0].clone();
    let requests = receiver.requests();
    let tries: Vec<&Received> = requests
        .iter()
        .filter(|r| r.event_id == first.event_id)
        .collect();
    assert_eq!(tries.len(), 3);
    assert!(tries.iter().all(|r| r.signature_ok));
    let delivered = deliveries(&server, &token, &webhook, "delivered");
    assert_eq!(delivered[0]["attempts"], 3);

    // The receiver hangs: the push of another change is not held up by it.
    receiver.set_mode(Mode::Hang);
    shop(&ana, "Imbiss");
    synced(&ana);
    wait_until("the receiver holds a request", || {
        receiver.shared.hanging.load(Ordering::SeqCst) >= 1
    });
    shop(&ana, "Fischbude");
    synced(&ana);
    let (_, feed) = call("GET", &server.base, &token, "/v1/events", None);
    let names: Vec<&str> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kiosk", "Imbiss", "Fischbude"]);

    // Timed out three times: parked, and the next event goes.
    wait_until("the hung delivery is parked", || {
        !deliveries(&server, &token, &webhook, "parked").is_empty()
    });
    let parked = deliveries(&server, &token, &webhook, "parked");
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0]["attempts"], 3);
    assert!(
        parked[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{parked:?}"
    );
    let parked_seq = parked[0]["event_seq"].as_i64().unwrap();
    receiver.set_mode(Mode::Accept);
    wait_until("the event after the parked one is delivered", || {
        receiver.accepted().len() == 2
    });
    assert_eq!(receiver.accepted()[1].event["data"]["name"], "Fischbude");

    // Replayed: delivered now, nothing parked any more.
    let (status, replayed) = call(
        "POST",
        &server.base,
        &token,
        &format!("/v1/webhooks/{webhook}/deliveries/{parked_seq}/replay"),
        None,
    );
    assert_eq!((status, replayed), (200, json!({"replayed": 1})));
    wait_until("the replayed event is delivered", || {
        receiver.accepted().len() == 3
    });
    assert_eq!(receiver.accepted()[2].event["seq"], parked_seq);
    assert_eq!(receiver.accepted()[2].event["data"]["name"], "Imbiss");
    assert!(deliveries(&server, &token, &webhook, "parked").is_empty());

    let (_, metrics) = call("GET", &server.base, &token, "/metrics", None);
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("fieldcrm_webhook_deliveries_total{outcome=\"parked\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("fieldcrm_webhook_deliveries_total{outcome=\"delivered\"} 3"));
    server.assert_up();
}

#[test]
fn pending_deliveries_survive_a_restart_and_arrive_in_order_each_at_least_once() {
    // Many attempts, so nothing parks while the receiver refuses.
    let launch_args = [
        "--webhook-attempts",
        "100",
        "--webhook-backoff-ms",
        "50",
        "--webhook-max-backoff-ms",
        "200",
        "--webhook-timeout-ms",
        "700",
    ];
    let mut server = organisation(&launch_args);
    let receiver = Receiver::start();
    let webhook = register(&server, &receiver);
    let ana = device(&server.base, "ana", PASSWORD);

    receiver.set_mode(Mode::Fail);
    for name in ["A", "B", "C", "D", "E"] {
        shop(&ana, name);
    }
    synced(&ana);
    wait_until("the first event was refused twice", || {
        receiver.requests().len() >= 2
    });
    let (token, _) = login(&server.base, "root", PASSWORD);
    // One at a time: only the oldest event is queued while it fails.
    let pending = deliveries(&server, &token, &webhook, "pending");
    assert_eq!(pending.len(), 1, "{pending:?}");

    // Killed with the deliveries pending; started again on the same database.
    server.process.kill().unwrap();
    receiver.set_mode(Mode::Accept);
    let restarted = ServerProcess::start(
        BIN,
        &server.db,
        Launch {
            args: &launch_args,
            ..Launch::default()
        },
    );
    server.base = restarted.base.clone();
    server.process = restarted;
    wait_until("every event is delivered after the restart", || {
        let mut ids: Vec<String> = receiver
            .accepted()
            .iter()
            .map(|r| r.event_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids.len() == 5
    });
    let seqs = receiver.accepted_seqs();
    // In order, each at least once: a repeat may follow itself, never an older event.
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "{seqs:?}");
    let names: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|r| r.event["data"]["name"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let mut firsts = names.clone();
    firsts.dedup();
    assert_eq!(firsts, ["A", "B", "C", "D", "E"]);
    assert!(receiver.accepted().iter().all(|r| r.signature_ok));
    server.assert_up();
}

//! Campaigns through the real binary: a manager aims one at a segment and starts it, the owner's
//! device receives the tasks with its next sync, closes one and takes an order, and the
//! campaign's results follow; a rep's requests to the campaign routes, crafted by hand, get what
//! an unknown route gets, and a malformed body a 400.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::dates::format_date;
use fieldcrm_core::{Customer, DAY_MS, Grade, OrderLine, OrderStatus, Task, TaskStatus};
use serde_json::{Value, json};

mod support;
use support::{BIN, Launch, OrgServer, agent, device, login};

const PASSWORD: &str = "campaign pass";

fn call(method: &str, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let response = match (method, body) {
        ("POST", Some(body)) => agent()
            .post(url)
            .header("authorization", &auth)
            .send_json(body),
        ("POST", None) => agent()
            .post(url)
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .send("{\"name\": "),
        _ => agent().get(url).header("authorization", &auth).call(),
    };
    let mut response = response.unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_json().unwrap_or(Value::Null);
    (status, body)
}

#[test]
fn a_started_campaign_reaches_the_owner_and_its_results_follow_the_rep() {
    let server = OrgServer::start(
        BIN,
        &[
            ("root", "admin", None),
            ("mia", "manager", None),
            ("ana", "rep", Some("harbour")),
        ],
        PASSWORD,
        Launch::default(),
    );
    let base = server.base.as_str();
    let (_, ana_id) = login(base, "ana", PASSWORD);
    let ana = device(base, "ana", PASSWORD);
    let mut customers = Vec::new();
    for name in ["Kiosk", "Bakery", "Florist"] {
        let mut c = Customer::new(name);
        c.territory = Some("harbour".into());
        c.owner = Some(ana_id.clone());
        c.grade = Some(Grade::B);
        customers.push(ana.store.create(c).unwrap().meta.id);
    }
    let mut other = Customer::new("Grade A shop");
    other.territory = Some("harbour".into());
    other.owner = Some(ana_id.clone());
    other.grade = Some(Grade::A);
    ana.store.create(other).unwrap();
    ana.sync().unwrap();

    let (mia, _) = login(base, "mia", PASSWORD);
    // The period around today: the device stamps its order with the real clock.
    let today = fieldcrm_core::now_ms().div_euclid(DAY_MS);
    let (status, campaign) = call(
        "POST",
        &format!("{base}/v1/campaigns"),
        &mia,
        Some(json!({
            "name": "Spring range",
            "filter": {"grades": ["B"]},
            "first_day": format_date(today - 1),
            "last_day": format_date(today + 30),
            "cost_minor": 6_000,
            "currency": "EUR",
            "action": "task",
            "script": "Show the spring catalogue",
        })),
    );
    assert_eq!(status, 201, "{campaign}");
    let id = campaign["id"].as_str().unwrap().to_owned();
    let (status, started) = call(
        "POST",
        &format!("{base}/v1/campaigns/{id}/start"),
        &mia,
        Some(json!({})),
    );
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["targets"], 3);
    assert_eq!(started["actions_written"], 3);

    // The tasks reach ana's device like any record.
    ana.sync().unwrap();
    let (_, page) = call(
        "GET",
        &format!("{base}/v1/campaigns/{id}/targets"),
        &mia,
        None,
    );
    let targets = page["targets"].as_array().unwrap();
    let mut tasks = Vec::new();
    for target in targets {
        let task_id = target["action_doc_id"].as_str().unwrap();
        let task: Task = ana
            .store
            .get(task_id)
            .unwrap()
            .unwrap_or_else(|| panic!("task {task_id} not on ana's device"));
        assert_eq!(task.assignee.as_deref(), Some(ana_id.as_str()));
        assert_eq!(task.status, TaskStatus::Open);
        assert!(task.title.contains("Spring range"), "{}", task.title);
        tasks.push(task);
    }

    // ana closes the first customer's task and takes an order there.
    let first = tasks
        .into_iter()
        .find(|t| t.linked_id.as_deref() == Some(customers[0].as_str()))
        .unwrap();
    let mut done = first;
    done.status = TaskStatus::Done;
    ana.store.update(done).unwrap();
    let mut order = ana.store.create_order(&customers[0], None, "EUR").unwrap();
    order.lines = vec![OrderLine {
        id: "0190a0b0-0000-7000-8000-000000000001".into(),
        product_id: "catalogue".into(),
        sku: "CAT".into(),
        name: "Spring catalogue pack".into(),
        quantity: 4,
        unit_price_minor: 3_000,
        tax_rate_bp: 0,
        discount_bp: 0,
    }];
    let order = ana.store.update(order).unwrap();
    ana.store
        .set_order_status(&order.meta.id, OrderStatus::Submitted)
        .unwrap();
    ana.sync().unwrap();
    assert!(ana.store.rejected_changes().unwrap().is_empty());

    let (_, detail) = call("GET", &format!("{base}/v1/campaigns/{id}"), &mia, None);
    let results = &detail["results"];
    assert_eq!(results["treated"], 3, "{detail}");
    assert_eq!(results["reached"], 1);
    assert_eq!(results["converted"], 1);
    assert_eq!(results["revenue_minor"], 12_000);
    assert_eq!(results["return_on_spend"], 1.0, "(12,000 - 6,000) / 6,000");

    // A rep crafting campaign requests learns nothing, and a broken body is a 400.
    let rep = ana.token.as_str();
    for (method, path) in [
        ("GET", "/v1/campaigns".to_owned()),
        ("GET", format!("/v1/campaigns/{id}")),
        ("GET", format!("/v1/campaigns/{id}/targets")),
    ] {
        let (status, body) = call(method, &format!("{base}{path}"), rep, None);
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["message"], "no such route", "{path}");
    }
    let (status, body) = call(
        "POST",
        &format!("{base}/v1/campaigns/{id}/start"),
        rep,
        Some(json!({})),
    );
    assert_eq!(
        (status, body["error"]["message"].clone()),
        (404, json!("no such route"))
    );
    let (status, body) = call("POST", &format!("{base}/v1/campaigns"), &mia, None);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
}

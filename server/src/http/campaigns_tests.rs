//! Campaigns over HTTP, driven with `oneshot` on the sales tests' organisation: who may run
//! them, drafts refused with a 400 and a stable code, a start that freezes the targets and
//! writes each owner's task (or says why not), the control group held out, and the results
//! following what the reps then do: a task closed, an order taken in the period.

use axum::http::StatusCode;
use serde_json::{Value, json};

use fieldcrm_core::dates::format_date;
use fieldcrm_core::{
    Customer, DAY_MS, IncomingDoc, IncomingPayload, OrderLine, OrderStatus, Task, TaskStatus,
};

use super::sales_tests::SalesApp;
use crate::model::now_ms;
use crate::storage::CsvStorage;

fn today() -> i64 {
    now_ms().div_euclid(DAY_MS)
}

fn draft(name: &str, action: &str, control_pct: u8, filter: Value) -> Value {
    json!({
        "name": name,
        "filter": filter,
        "first_day": format_date(today() - 1),
        "last_day": format_date(today() + 30),
        "cost_minor": 10_000,
        "currency": "EUR",
        "action": action,
        "script": "Offer the winter range",
        "control_pct": control_pct,
    })
}

/// Customers of ana's in harbour: `owned` with her as their owner, and one without owner.
fn customers(app: &SalesApp, owned: usize) -> Vec<String> {
    let ana = app.user("ana");
    let device = app.device("ana");
    let mut ids = Vec::new();
    for i in 0..owned {
        let mut c = Customer::new(format!("Shop {i}"));
        c.territory = Some("harbour".into());
        c.owner = Some(ana.id.clone());
        c.grade = Some(fieldcrm_core::Grade::B);
        ids.push(device.create(c).unwrap().meta.id);
    }
    let mut orphan = Customer::new("Shop without owner");
    orphan.territory = Some("harbour".into());
    orphan.grade = Some(fieldcrm_core::Grade::B);
    ids.push(device.create(orphan).unwrap().meta.id);
    app.push("ana", &device);
    ids
}

async fn create(app: &SalesApp, user: &str, body: Value) -> String {
    let (status, campaign) = app.post("/v1/campaigns", user, body).await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    assert_eq!(campaign["status"], "draft");
    campaign["id"].as_str().unwrap().to_owned()
}

async fn targets(app: &SalesApp, id: &str, user: &str) -> Vec<Value> {
    let (status, page) = app
        .get(&format!("/v1/campaigns/{id}/targets?limit=1000"), user)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["targets"].as_array().unwrap().clone()
}

#[tokio::test]
async fn reps_get_no_campaign_routes_and_bad_drafts_are_400() {
    let app = SalesApp::new().await;
    for (status, body) in [
        app.get("/v1/campaigns", "ana").await,
        app.post("/v1/campaigns", "ana", draft("x", "task", 0, json!({})))
            .await,
        app.post("/v1/campaigns/preview", "ana", json!({})).await,
    ] {
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"]["message"], "no such route");
    }
    for (body, field) in [
        (draft("x", "task", 80, json!({})), "control_pct"),
        (draft("x", "email", 0, json!({})), "action"),
        (draft("", "task", 0, json!({})), "name"),
        (
            draft("x", "task", 0, json!({"segments": ["vip"]})),
            "segments",
        ),
        (draft("x", "task", 0, json!({"colour": ["red"]})), "colour"),
        (
            json!({"name": "x", "first_day": "2026-13-01", "last_day": "2026-12-01",
                   "currency": "EUR", "action": "task"}),
            "first_day",
        ),
        (
            json!({"name": "x", "first_day": "2026-12-01", "last_day": "2026-11-01",
                   "currency": "EUR", "action": "task"}),
            "period",
        ),
    ] {
        let (status, answer) = app.post("/v1/campaigns", "mia", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"]["code"], "bad_request");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(field),
            "{field}: {answer}"
        );
    }
    // A filter on analytics results needs a run.
    let (status, answer) = app
        .post(
            "/v1/campaigns/preview",
            "mia",
            json!({"filter": {"abc_classes": ["A"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answer["error"]["code"], "no_analytics_run");
}

#[tokio::test]
async fn a_start_freezes_targets_writes_tasks_and_results_follow_the_reps() {
    let app = SalesApp::new().await;
    let ids = customers(&app, 3);
    let filter = json!({"grades": ["B"]});
    let (_, preview) = app
        .post("/v1/campaigns/preview", "mia", json!({"filter": filter}))
        .await;
    assert_eq!(preview["matching"], 4, "{preview}");
    // The other team's manager sees none of north's customers.
    let (_, other) = app
        .post("/v1/campaigns/preview", "sam", json!({"filter": filter}))
        .await;
    assert_eq!(other["matching"], 0);

    let id = create(&app, "mia", draft("Winter", "task", 0, filter.clone())).await;
    let (status, listed) = app.get("/v1/campaigns", "mia").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["campaigns"][0]["id"], id.as_str());
    let (_, listed) = app.get("/v1/campaigns", "sam").await;
    assert_eq!(listed["campaigns"], json!([]));
    let (status, _) = app.get(&format!("/v1/campaigns/{id}"), "sam").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another team's is unknown");
    let (_, detail) = app.get(&format!("/v1/campaigns/{id}"), "mia").await;
    assert_eq!(detail["results"], Value::Null);

    let (status, started) = app
        .post(&format!("/v1/campaigns/{id}/start"), "mia", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["targets"], 4);
    assert_eq!(started["actions_written"], 3);
    assert_eq!(started["actions_refused"], 1);
    let (status, again) = app
        .post(&format!("/v1/campaigns/{id}/start"), "mia", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(again["error"]["code"], "campaign_started");

    // A customer created after the start is not a target: the list is frozen.
    customers(&app, 1);
    let frozen = targets(&app, &id, "mia").await;
    assert_eq!(frozen.len(), 4);
    let orphan = frozen
        .iter()
        .find(|t| t["name"] == "Shop without owner")
        .unwrap();
    assert_eq!(orphan["action_error"], "the customer has no owner");

    // Each owner's task is a real task, assigned to ana and linked to the customer.
    let ana = app.device("ana");
    let first = frozen.iter().find(|t| t["customer_id"] == ids[0]).unwrap();
    let task_id = first["action_doc_id"].as_str().unwrap().to_owned();
    let bytes = app
        .storage
        .document_bytes(fieldcrm_core::Kind::Task, &task_id)
        .unwrap()
        .unwrap();
    ana.import(vec![IncomingDoc {
        doc_id: task_id.clone(),
        payload: IncomingPayload::Snapshot(bytes),
    }])
    .unwrap();
    let mut task: Task = ana.get(&task_id).unwrap().unwrap();
    assert_eq!(task.assignee.as_deref(), Some(app.user("ana").id.as_str()));
    assert_eq!(task.linked_id.as_deref(), Some(ids[0].as_str()));
    assert!(task.title.contains("Winter"), "{}", task.title);

    // ana closes it and takes an order from that customer.
    task.status = TaskStatus::Done;
    ana.update(task).unwrap();
    let mut order = ana.create_order(&ids[0], None, "EUR").unwrap();
    order.lines = vec![OrderLine {
        id: "0190a0b0-0000-7000-8000-000000000001".into(),
        product_id: "coffee".into(),
        sku: "COFFEE".into(),
        name: "Coffee".into(),
        quantity: 3,
        unit_price_minor: 5_000,
        tax_rate_bp: 0,
        discount_bp: 0,
    }];
    let order = ana.update(order).unwrap();
    ana.set_order_status(&order.meta.id, OrderStatus::Submitted)
        .unwrap();
    app.push("ana", &ana);

    let (_, detail) = app.get(&format!("/v1/campaigns/{id}"), "mia").await;
    let results = &detail["results"];
    assert_eq!(results["treated"], 4, "{detail}");
    assert_eq!(results["reached"], 1);
    assert_eq!(results["converted"], 1);
    assert_eq!(results["revenue_minor"], 15_000);
    assert_eq!(results["basis"], "attributed");
    assert_eq!(
        results["return_on_spend"], 0.5,
        "(15,000 - 10,000) / 10,000"
    );
    assert_eq!(detail["actions_missing"], 1);
    // The admin sees every team's campaign.
    let (status, _) = app.get(&format!("/v1/campaigns/{id}"), "root").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_control_group_is_held_out_without_actions() {
    let app = SalesApp::new().await;
    customers(&app, 9);
    let id = create(
        &app,
        "mia",
        draft("Calls", "visit", 50, json!({"grades": ["B"]})),
    )
    .await;
    let (_, started) = app
        .post(&format!("/v1/campaigns/{id}/start"), "mia", json!({}))
        .await;
    assert_eq!(started["targets"], 10, "{started}");
    assert_eq!(started["control"], 5);
    let all = targets(&app, &id, "mia").await;
    for t in &all {
        if t["control"] == true {
            assert_eq!(t["action_doc_id"], Value::Null, "{t}");
            assert_eq!(t["action_error"], Value::Null, "{t}");
        } else if t["name"] != "Shop without owner" {
            let visit_id = t["action_doc_id"].as_str().unwrap();
            assert!(
                app.storage
                    .document_bytes(fieldcrm_core::Kind::Visit, visit_id)
                    .unwrap()
                    .is_some()
            );
        }
    }
    let (_, detail) = app.get(&format!("/v1/campaigns/{id}"), "mia").await;
    assert_eq!(detail["results"]["control"], 5);
    assert_eq!(detail["results"]["basis"], "control_group");
}

#[tokio::test]
async fn product_conditions_read_crm_orders_and_imported_history() {
    use crate::csv_import::{self, ImportKind, ImportLimits};
    use crate::storage::HistoryStorage;
    let app = SalesApp::new().await;
    let root = app.user("root");
    let no_limit = ImportLimits { max_rows: None };
    for (kind, csv) in [
        (
            ImportKind::Customers,
            "external_id,name,territory,owner\nk1,Kiosk,harbour,ana\nk2,Bakery,harbour,ana\n",
        ),
        (
            ImportKind::Products,
            "external_id,sku,name\np1,COF,Coffee\np2,FIL,Filters\n",
        ),
    ] {
        csv_import::import(
            kind,
            app.storage.as_ref(),
            &root,
            csv.as_bytes(),
            no_limit,
            &mut |_, _| {},
        )
        .unwrap();
    }
    // The kiosk bought coffee before the CRM; the bakery buys filters in it.
    crate::order_history::import(
        app.storage.as_ref(),
        "customer_external_id,date,amount,currency,sku,quantity,unit_price\n\
         k1,2025-02-03,5.00,EUR,COF,1,5.00\n"
            .as_bytes(),
        no_limit,
        &mut |_, _| {},
    )
    .unwrap();
    let skus = app.storage.product_ids_by_sku().unwrap();
    let (coffee, filters) = (skus["COF"][0].clone(), skus["FIL"][0].clone());
    let (_, everyone) = app
        .post("/v1/campaigns/preview", "mia", json!({"filter": {}}))
        .await;
    let bakery = {
        let (_, page) = app.get("/v1/export/customers.csv", "mia").await;
        let csv = page.as_str().unwrap().to_owned();
        csv.lines()
            .find(|l| l.contains("Bakery"))
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_owned()
    };
    let ana = app.device("ana");
    let bytes = app
        .storage
        .document_bytes(fieldcrm_core::Kind::Customer, &bakery)
        .unwrap()
        .unwrap();
    ana.import(vec![IncomingDoc {
        doc_id: bakery.clone(),
        payload: IncomingPayload::Snapshot(bytes),
    }])
    .unwrap();
    let order = ana.create_order(&bakery, None, "EUR").unwrap();
    let mut order = ana.update(order).unwrap();
    order.lines = vec![OrderLine {
        id: "0190a0b0-0000-7000-8000-0000000000f1".into(),
        product_id: filters.clone(),
        sku: "FIL".into(),
        name: "Filters".into(),
        quantity: 1,
        unit_price_minor: 400,
        tax_rate_bp: 0,
        discount_bp: 0,
    }];
    let order = ana.update(order).unwrap();
    ana.set_order_status(&order.meta.id, OrderStatus::Submitted)
        .unwrap();
    app.push("ana", &ana);

    let matching = |filter: Value| {
        let app = &app;
        async move {
            let (status, preview) = app
                .post("/v1/campaigns/preview", "mia", json!({ "filter": filter }))
                .await;
            assert_eq!(status, StatusCode::OK, "{preview}");
            (
                preview["matching"].as_u64().unwrap(),
                preview["customers"].clone(),
            )
        }
    };
    let (n, who) = matching(json!({"bought_product": coffee})).await;
    assert_eq!(n, 1, "the kiosk, from its history: {who}");
    let (n, who) = matching(json!({"bought_product": filters})).await;
    assert_eq!((n, who), (1, json!([bakery])), "the bakery, from its order");
    let (n, _) = matching(json!({"not_bought_product": coffee})).await;
    assert_eq!(n, everyone["matching"].as_u64().unwrap() - 1);
}

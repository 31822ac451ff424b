//! The pipeline reports and targets over HTTP, driven with `oneshot`: what each role sees,
//! malformed parameters (a 400 with a stable code, never a 500), and targets set, replaced,
//! refused and measured.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use fieldcrm_core::{Customer, DAY_MS, Money, Opportunity, Stage, Store};

use super::*;
use crate::auth::tests::settings;
use crate::auth::{PasswordParams, hash_password};
use crate::model::{User, now_ms};
use crate::sales::Period;
use crate::storage::{NewUser, SalesSettings, SqliteStorage};

pub(super) const PASSWORD: &str = "pw-for-tests";

pub(super) struct SalesApp {
    pub(super) state: AppState,
    pub(super) storage: Arc<SqliteStorage>,
}

impl SalesApp {
    /// Team north (territory harbour): reps ana and bo, manager mia. Team south (territory
    /// quay): rep cy, manager sam. An admin. Big deals from 5,000.00.
    /// Deals: ana's proposal of 8,000.00 EUR (probability 40) expected in 10 days and a lead of
    /// 500.00 USD; bo's negotiation of 2,000.00 EUR, and a deal he won (1,000.00 EUR) and one
    /// he lost; cy's lead of 9,000.00 EUR.
    pub(super) async fn new() -> Self {
        let storage = SqliteStorage::open_in_memory()
            .unwrap()
            .with_sales_settings(SalesSettings {
                big_deal_min_minor: 500_000,
            });
        let storage = Arc::new(storage);
        let params = PasswordParams::fast_for_tests();
        let hash = hash_password(&params, PASSWORD).unwrap();
        let north = storage.create_team("north").unwrap();
        let south = storage.create_team("south").unwrap();
        let harbour = storage.create_territory("harbour", &north.id).unwrap();
        let quay = storage.create_territory("quay", &south.id).unwrap();
        for (name, role, team, territory) in [
            ("ana", Role::Rep, Some(&north.id), Some(&harbour.id)),
            ("bo", Role::Rep, Some(&north.id), Some(&harbour.id)),
            ("mia", Role::Manager, Some(&north.id), None),
            ("cy", Role::Rep, Some(&south.id), Some(&quay.id)),
            ("sam", Role::Manager, Some(&south.id), None),
            ("root", Role::Admin, None, None),
        ] {
            let user = storage
                .create_user(NewUser {
                    username: name,
                    password_hash: Some(&hash),
                    role,
                    team_id: team.map(String::as_str),
                })
                .unwrap();
            if let Some(territory) = territory {
                storage.assign_user_territory(&user.id, territory).unwrap();
            }
        }
        let auth = Auth::new(storage.clone(), settings(), None, params).unwrap();
        let state = AppState {
            storage: storage.clone(),
            auth: Arc::new(auth),
            metrics: Metrics::new().unwrap(),
            limits: Limits {
                max_body_bytes: 4 << 20,
                max_decompressed_bytes: 16 << 20,
                oldest_protocol_version: fieldcrm_core::protocol::OLDEST_PROTOCOL_VERSION,
            },
            rate_limits: Arc::new(crate::rate_limit::RateLimiter::new(
                crate::rate_limit::RateLimits {
                    logins_per_minute: 1_000,
                    ..Default::default()
                },
            )),
            basemap: Default::default(),
            webhooks: Default::default(),
        };
        let app = SalesApp { state, storage };
        app.seed();
        app
    }

    pub(super) fn user(&self, name: &str) -> User {
        self.storage.user_by_username(name).unwrap().unwrap()
    }

    pub(super) fn device(&self, name: &str) -> Store {
        let user = self.user(name);
        let store = Store::open(":memory:").unwrap();
        store.set_user(&user.id).unwrap();
        self.storage
            .register_device(&user.id, &store.actor_id())
            .unwrap();
        store
    }

    pub(super) fn push(&self, name: &str, store: &Store) {
        let principal = self.storage.principal(&self.user(name)).unwrap();
        let (request, hashes) = store.push_request(u32::MAX).unwrap().unwrap();
        let (response, _) = self.storage.push_changes(&principal, request).unwrap();
        assert!(response.rejected.is_empty(), "{:?}", response.rejected);
        store.acknowledge(&hashes).unwrap();
    }

    fn seed(&self) {
        let deal = |device: &Store,
                    customer: &Customer,
                    title: &str,
                    minor: i64,
                    currency: &str,
                    stage: Stage| {
            let mut o = Opportunity::new(
                &customer.meta.id,
                title,
                Money {
                    minor,
                    currency: currency.into(),
                },
            );
            o.expected_close_at = Some(now_ms() + 10 * DAY_MS);
            let o = device.create(o).unwrap();
            if stage != Stage::Lead {
                let mut o = o;
                if stage == Stage::Lost {
                    o.lost_reason = Some("Price".into());
                }
                o.stage = stage;
                o.probability = Some(40);
                device.update(o).unwrap();
            }
        };
        let customer = |device: &Store, name: &str, territory: &str| {
            let mut c = Customer::new(name);
            c.territory = Some(territory.into());
            device.create(c).unwrap()
        };
        let ana = self.device("ana");
        let kiosk = customer(&ana, "Kiosk", "harbour");
        deal(
            &ana,
            &kiosk,
            "Coffee machines",
            800_000,
            "EUR",
            Stage::Proposal,
        );
        deal(&ana, &kiosk, "Cups", 50_000, "USD", Stage::Lead);
        self.push("ana", &ana);
        let bo = self.device("bo");
        let bakery = customer(&bo, "Bakery", "harbour");
        deal(&bo, &bakery, "Ovens", 200_000, "EUR", Stage::Negotiation);
        deal(&bo, &bakery, "Flour", 100_000, "EUR", Stage::Won);
        deal(&bo, &bakery, "Sugar", 70_000, "EUR", Stage::Lost);
        self.push("bo", &bo);
        let cy = self.device("cy");
        let stall = customer(&cy, "Fish stall", "quay");
        deal(&cy, &stall, "Ice", 900_000, "EUR", Stage::Lead);
        self.push("cy", &cy);
    }

    pub(super) async fn call(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if !status.is_success() {
            assert!(value["error"]["code"].is_string(), "{status}: {value}");
        }
        (status, value)
    }

    pub(super) async fn token(&self, name: &str) -> String {
        let request = Request::post("/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({"username": name, "password": PASSWORD}).to_string(),
            ))
            .unwrap();
        let (status, value) = self.call(request).await;
        assert_eq!(status, StatusCode::OK);
        value["token"].as_str().unwrap().to_owned()
    }

    pub(super) async fn get(&self, path: &str, as_user: &str) -> (StatusCode, Value) {
        let request = Request::get(path)
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.token(as_user).await),
            )
            .body(Body::empty())
            .unwrap();
        self.call(request).await
    }

    pub(super) async fn put(&self, path: &str, as_user: &str, body: Value) -> (StatusCode, Value) {
        self.send_json(Request::put(path), as_user, body).await
    }

    pub(super) async fn post(&self, path: &str, as_user: &str, body: Value) -> (StatusCode, Value) {
        self.send_json(Request::post(path), as_user, body).await
    }

    async fn send_json(
        &self,
        request: axum::http::request::Builder,
        as_user: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let request = request
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.token(as_user).await),
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.call(request).await
    }
}

fn titles(deals: &Value) -> Vec<String> {
    deals
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap().to_owned())
        .collect()
}

/// (stage, currency, count, amount) of a report's `stages`.
fn stages(value: &Value) -> Vec<(String, String, u64, i64)> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_owned(),
                s["currency"].as_str().unwrap().to_owned(),
                s["count"].as_u64().unwrap(),
                s["amount_minor"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row(stage: &str, currency: &str, count: u64, amount: i64) -> (String, String, u64, i64) {
    (stage.into(), currency.into(), count, amount)
}

#[tokio::test]
async fn the_pipeline_per_role_keeps_to_the_callers_sight() {
    let app = SalesApp::new().await;
    let north = vec![
        row("lead", "USD", 1, 50_000),
        row("proposal", "EUR", 1, 800_000),
        row("negotiation", "EUR", 1, 200_000),
    ];
    for viewer in ["ana", "bo", "mia"] {
        let (status, body) = app.get("/v1/pipeline", viewer).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(stages(&body["stages"]), north, "{viewer}");
    }
    let south = vec![row("lead", "EUR", 1, 900_000)];
    for viewer in ["cy", "sam"] {
        let (_, body) = app.get("/v1/pipeline", viewer).await;
        assert_eq!(stages(&body["stages"]), south, "{viewer}");
    }
    let (_, body) = app.get("/v1/pipeline", "root").await;
    assert_eq!(
        stages(&body["stages"]),
        [
            row("lead", "EUR", 1, 900_000),
            row("lead", "USD", 1, 50_000),
            row("proposal", "EUR", 1, 800_000),
            row("negotiation", "EUR", 1, 200_000),
        ]
    );
    // Weighted by the deal's probability (40 %), per currency, and per rep.
    let (_, body) = app.get("/v1/pipeline", "mia").await;
    let eur = &body["totals"][0];
    assert_eq!(
        (
            eur["currency"].as_str(),
            eur["amount_minor"].as_i64(),
            eur["weighted_minor"].as_i64()
        ),
        (Some("EUR"), Some(1_000_000), Some(400_000))
    );
    let reps: Vec<&str> = body["reps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["username"].as_str().unwrap())
        .collect();
    assert_eq!(reps, ["ana", "bo"]);
    // Filters: a rep, a currency.
    let bo = app.user("bo").id;
    let (_, body) = app.get(&format!("/v1/pipeline?rep={bo}"), "mia").await;
    assert_eq!(
        stages(&body["stages"]),
        [row("negotiation", "EUR", 1, 200_000)]
    );
    let (_, body) = app.get("/v1/pipeline?currency=USD", "root").await;
    assert_eq!(stages(&body["stages"]), [row("lead", "USD", 1, 50_000)]);
    // Another team's rep filters to nothing.
    let (_, body) = app.get(&format!("/v1/pipeline?rep={bo}"), "sam").await;
    assert_eq!(body["stages"], json!([]));
}

#[tokio::test]
async fn forecast_funnel_win_rate_and_big_deals_per_role() {
    let app = SalesApp::new().await;
    let month = Period::month_of(now_ms()).to_string();
    let (status, body) = app
        .get(
            &format!("/v1/pipeline/forecast?from={month}&months=3"),
            "mia",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let rows = body["rows"].as_array().unwrap();
    // EUR and USD, three months each.
    assert_eq!(rows.len(), 6, "{body}");
    let won: i64 = rows.iter().map(|r| r["won_minor"].as_i64().unwrap()).sum();
    let weighted: i64 = rows
        .iter()
        .filter(|r| r["currency"] == "EUR")
        .map(|r| r["weighted_minor"].as_i64().unwrap())
        .sum();
    assert_eq!((won, weighted), (100_000, 400_000));
    let (_, body) = app.get("/v1/pipeline/forecast", "sam").await;
    let won: i64 = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["won_minor"].as_i64().unwrap())
        .sum();
    assert_eq!((body["months"].as_u64(), won), (Some(6), 0));

    let (status, body) = app.get("/v1/pipeline/funnel", "mia").await;
    assert_eq!(status, StatusCode::OK);
    // North's five deals: all leads, four moved on (bo's lead-to-lost counts as a lead only).
    assert_eq!(body["deals"], 5, "{body}");
    let reached: Vec<u64> = body["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_u64().unwrap())
        .collect();
    assert_eq!(reached, [5, 3, 3, 2, 1]);
    assert_eq!(body["stages"][0]["stays"], 4);
    assert!(body["stages"][0]["median_ms_in_stage"].is_i64());
    let (_, body) = app.get("/v1/pipeline/funnel", "cy").await;
    assert_eq!(body["deals"], 1);

    let (status, body) = app.get("/v1/pipeline/win-rate", "mia").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["won"].as_u64(), body["lost"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["win_rate"], 0.5);
    assert_eq!(body["reps"][0]["username"], "bo");
    let (_, body) = app.get("/v1/pipeline/win-rate", "sam").await;
    assert_eq!(
        (body["win_rate"].clone(), body["reps"].clone()),
        (Value::Null, json!([]))
    );

    // The server's default amount (5,000.00), largest first.
    let (status, body) = app.get("/v1/pipeline/big-deals", "root").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["min_amount_minor"], 500_000);
    assert_eq!(titles(&body["deals"]), ["Ice", "Coffee machines"]);
    assert_eq!(body["deals"][1]["customer_name"], "Kiosk");
    let (_, body) = app.get("/v1/pipeline/big-deals", "ana").await;
    assert_eq!(titles(&body["deals"]), ["Coffee machines"]);
    let (_, body) = app
        .get(
            "/v1/pipeline/big-deals?min_amount=0&currency=EUR&limit=2",
            "mia",
        )
        .await;
    assert_eq!(titles(&body["deals"]), ["Coffee machines", "Ovens"]);
    let (_, body) = app.get("/v1/pipeline/big-deals", "sam").await;
    assert_eq!(titles(&body["deals"]), ["Ice"]);
}

#[tokio::test]
async fn malformed_report_parameters_are_bad_requests() {
    let app = SalesApp::new().await;
    for path in [
        "/v1/pipeline?currency=eur",
        "/v1/pipeline?currency=EURO",
        "/v1/pipeline?rep=",
        "/v1/pipeline/forecast?from=2026-13",
        "/v1/pipeline/forecast?from=2026-Q1",
        "/v1/pipeline/forecast?months=0",
        "/v1/pipeline/forecast?months=25",
        "/v1/pipeline/forecast?months=-1",
        "/v1/pipeline/forecast?months=abc",
        "/v1/pipeline/funnel?period=2026-Q5",
        "/v1/pipeline/funnel?period=yesterday",
        "/v1/pipeline/win-rate?period=1999",
        "/v1/pipeline/big-deals?min_amount=-1",
        "/v1/pipeline/big-deals?min_amount=1e9",
        "/v1/pipeline/big-deals?min_amount=99999999999999999999",
        "/v1/pipeline/big-deals?limit=0",
        "/v1/pipeline/big-deals?limit=501",
        "/v1/targets?period=2026",
        "/v1/targets?period=2026-Q0",
        "/v1/targets/ranking?period=2026-11",
        "/v1/targets/ranking?metric=calls",
        "/v1/targets/ranking?metric=revenue",
        "/v1/targets/ranking?metric=visits&currency=EUR",
        "/v1/team/overview?from=2026-11-01&to=2026-11-02&period=2026",
    ] {
        let (status, body) = app.get(path, "root").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}");
    }
    let request = Request::get("/v1/pipeline").body(Body::empty()).unwrap();
    let (status, _) = app.call(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn targets_are_set_by_managers_for_their_team_and_admins_and_measured() {
    let app = SalesApp::new().await;
    let (ana, bo, cy) = (app.user("ana").id, app.user("bo").id, app.user("cy").id);
    let period = Period::month_of(now_ms()).to_string();
    let target = |rep: &str, metric: &str, value: i64| json!({"rep_id": rep, "period": period, "metric": metric, "value": value});
    // Reps set none, not even their own; a manager only for their team's reps; an unknown
    // rep is refused like another team's.
    for (caller, rep) in [("ana", &ana), ("bo", &ana), ("sam", &ana), ("mia", &cy)] {
        let (status, body) = app
            .put("/v1/targets", caller, target(rep, "visits", 10))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{caller}: {body}");
    }
    let (unknown, _) = app
        .put("/v1/targets", "mia", target("no-such-user", "visits", 10))
        .await;
    assert_eq!(unknown, StatusCode::FORBIDDEN);
    // Bad bodies.
    for body in [
        target(&ana, "calls", 1),
        target(&ana, "visits", -1),
        json!({"rep_id": ana, "period": "2026", "metric": "visits", "value": 1}),
        json!({"rep_id": ana, "period": period, "metric": "revenue", "value": 1}),
        json!({"rep_id": ana, "period": period, "metric": "visits", "currency": "EUR", "value": 1}),
        json!({"rep_id": ana, "period": period, "metric": "visits", "value": 1.5}),
        json!({"rep_id": ana, "period": period, "metric": "visits", "value": 1, "extra": 1}),
        json!({"rep_id": ana, "period": period, "metric": "visits"}),
    ] {
        let (status, answer) = app.put("/v1/targets", "mia", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_request");
    }
    // Set, set again (replaced), and revenue per currency.
    for value in [3, 2] {
        let (status, body) = app
            .put("/v1/targets", "mia", target(&bo, "deals_won", value))
            .await;
        assert_eq!(
            (status, body["value"].as_i64()),
            (StatusCode::OK, Some(value))
        );
    }
    let (status, _) = app
        .put(
            "/v1/targets",
            "root",
            json!({"rep_id": bo, "period": period, "metric": "revenue", "currency": "EUR", "value": 1_000_000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.put("/v1/targets", "mia", target(&ana, "deals_won", 4))
        .await;
    app.put("/v1/targets", "mia", target(&ana, "new_customers", 2))
        .await;
    app.put("/v1/targets", "sam", target(&cy, "visits", 5))
        .await;

    let (status, body) = app
        .get(&format!("/v1/targets?period={period}"), "mia")
        .await;
    assert_eq!(status, StatusCode::OK);
    let reps = body["reps"].as_array().unwrap();
    assert_eq!(reps.len(), 2, "{body}");
    let bo_targets = &reps.iter().find(|r| r["username"] == "bo").unwrap()["targets"];
    assert_eq!(
        bo_targets,
        &json!([
            // No orders yet: revenue 0 (see revenue_tests.rs for orders measured).
            {"metric": "revenue", "currency": "EUR", "target": 1_000_000, "actual": 0, "percent": 0.0},
            {"metric": "deals_won", "target": 2, "actual": 1, "percent": 50.0},
        ])
    );
    let ana_targets = &reps.iter().find(|r| r["username"] == "ana").unwrap()["targets"];
    assert_eq!(
        ana_targets,
        &json!([
            {"metric": "new_customers", "target": 2, "actual": 1, "percent": 50.0},
            {"metric": "deals_won", "target": 4, "actual": 0, "percent": 0.0},
        ])
    );
    // A rep sees their own; another team's manager theirs.
    let (_, body) = app.get("/v1/targets", "ana").await;
    assert_eq!(body["reps"].as_array().unwrap().len(), 1);
    assert_eq!(body["reps"][0]["username"], "ana");
    let (_, body) = app.get("/v1/targets", "sam").await;
    assert_eq!(body["reps"][0]["username"], "cy");
    assert_eq!(body["reps"][0]["targets"][0]["actual"], 0);

    // The ranking: bo (50 %) before ana (0 %); for revenue bo has no orders yet (0 %).
    let (status, body) = app.get("/v1/targets/ranking?metric=deals_won", "mia").await;
    assert_eq!(status, StatusCode::OK);
    let order: Vec<(&str, Value)> = body["reps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["username"].as_str().unwrap(), r["rank"].clone()))
        .collect();
    assert_eq!(order, [("bo", json!(1)), ("ana", json!(2))]);
    let (_, body) = app
        .get("/v1/targets/ranking?metric=revenue&currency=EUR", "root")
        .await;
    let bo_row = body["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["username"] == "bo")
        .unwrap();
    assert_eq!(
        bo_row,
        &json!({"rank": 1, "rep_id": bo, "username": "bo", "target": 1_000_000, "actual": 0, "percent": 0.0})
    );
    let (_, body) = app.get("/v1/targets/ranking?metric=visits", "ana").await;
    assert_eq!(body["reps"].as_array().unwrap().len(), 1);

    // The team overview shows the same attainment.
    let today = crate::dates::format_date(now_ms().div_euclid(DAY_MS));
    let (status, body) = app
        .get(&format!("/v1/team/overview?from={today}&to={today}"), "mia")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["attainment"]["period"], period);
    let bo_row = body["attainment"]["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["username"] == "bo")
        .unwrap();
    assert_eq!(&bo_row["targets"], bo_targets);
}

/// Every file of the dashboard comes from this server under the page's policy, the page loads
/// each script, and no script names another host.
#[tokio::test]
async fn the_dashboard_files_are_served_with_a_self_only_policy() {
    let app = SalesApp::new().await;
    let (_, page) = app
        .call(Request::get("/dashboard").body(Body::empty()).unwrap())
        .await;
    let page = page.as_str().unwrap().to_owned();
    for (path, kind) in [
        ("/dashboard", "text/html"),
        ("/dashboard/", "text/html"),
        ("/dashboard/app.css", "text/css"),
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/map.js", "text/javascript"),
        ("/dashboard/charts.js", "text/javascript"),
        ("/dashboard/sales.js", "text/javascript"),
        ("/dashboard/targets.js", "text/javascript"),
        ("/dashboard/revenue.js", "text/javascript"),
        ("/dashboard/analytics.js", "text/javascript"),
        ("/dashboard/campaigns.js", "text/javascript"),
    ] {
        let (status, [content_type, _, policy], body) =
            super::basemap_tests::get(&app.state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(content_type.starts_with(kind), "{path}: {}", content_type);
        assert!(
            policy.starts_with("default-src 'self';"),
            "{path}: {}",
            policy
        );
        if kind == "text/javascript" {
            assert!(
                page.contains(&format!("<script src=\"{path}\" defer>")),
                "{path}"
            );

            // The SVG namespace is a name, not a request.
            assert_eq!(
                body.matches("://").count(),
                body.matches("http://www.w3.org/2000/svg").count(),
                "{path} names another host"
            );
        }
    }
}

/// `/` sends a browser to the dashboard.
#[tokio::test]
async fn the_root_redirects_to_the_dashboard() {
    let app = SalesApp::new().await;
    let response = super::app(app.state.clone())
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(
        response.headers()[header::LOCATION].to_str().unwrap(),
        "/dashboard/"
    );
}

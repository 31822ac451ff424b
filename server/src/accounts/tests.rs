//! Revocation, disabled users, the device cap and who may read `/metrics`, driven in-process.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use fieldcrm_core::protocol::{self, PullRequest};

use crate::auth::tests::settings;
use crate::auth::{Auth, PasswordParams, hash_password};
use crate::http::{AppState, Limits, app};
use crate::metrics::Metrics;
use crate::model::Role;
use crate::storage::{NewUser, SqliteStorage, Storage};

struct TestApp {
    state: AppState,
    storage: Arc<SqliteStorage>,
}

impl TestApp {
    fn new(max_devices: usize) -> Self {
        let storage = Arc::new(SqliteStorage::open_in_memory().unwrap());
        let params = PasswordParams::fast_for_tests();
        let team = storage.create_team("north").unwrap();
        for (name, role) in [("ana", Role::Rep), ("bo", Role::Rep), ("root", Role::Admin)] {
            let hash = hash_password(&params, &format!("{name}-pw")).unwrap();
            storage
                .create_user(NewUser {
                    username: name,
                    password_hash: Some(&hash),
                    role,
                    team_id: Some(&team.id),
                })
                .unwrap();
        }
        let auth = Auth::new(storage.clone(), settings(), None, params)
            .unwrap()
            .with_max_devices_per_user(max_devices);
        let state = AppState {
            storage: storage.clone(),
            auth: Arc::new(auth),
            metrics: Metrics::new().unwrap().with_scrape_token(Some("scrape-me")),
            limits: Limits {
                max_body_bytes: 1 << 16,
                max_decompressed_bytes: 1 << 18,
                oldest_protocol_version: fieldcrm_core::protocol::OLDEST_PROTOCOL_VERSION,
            },
            rate_limits: Arc::new(crate::rate_limit::RateLimiter::new(
                crate::rate_limit::RateLimits::default(),
            )),
            basemap: Default::default(),
            webhooks: Default::default(),
        };
        TestApp { state, storage }
    }

    fn user_id(&self, name: &str) -> String {
        self.storage.user_by_username(name).unwrap().unwrap().id
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let body = match body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    async fn login(&self, name: &str) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"username": name, "password": format!("{name}-pw")})),
        )
        .await
    }

    async fn token(&self, name: &str) -> String {
        let (status, body) = self.login(name).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn register(&self, token: &str, actor: &str) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/v1/devices",
            Some(&format!("Bearer {token}")),
            Some(json!({"actor_id": actor})),
        )
        .await
    }

    /// A pull with the given Authorization header value.
    async fn pull(&self, authorization: &str) -> (StatusCode, Value) {
        let body = protocol::encode(&PullRequest {
            cursor: 0,
            limit: 10,
        })
        .unwrap();
        let request = Request::post("/v1/sync/pull")
            .header(header::AUTHORIZATION, authorization)
            .header(header::CONTENT_TYPE, protocol::CONTENT_TYPE)
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn a_revoked_device_is_refused_at_once_and_the_other_devices_stay_signed_in() {
    let app = TestApp::new(10);
    let phone = app.token("ana").await;
    let tablet = app.token("ana").await;
    let (status, device) = app.register(&phone, "aa01").await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    assert_eq!(app.register(&tablet, "bb02").await.0, StatusCode::CREATED);
    assert_eq!(app.pull(&bearer(&phone)).await.0, StatusCode::OK);

    let admin = app.token("root").await;
    let path = format!(
        "/v1/admin/devices/{}/revoke",
        device["id"].as_str().unwrap()
    );
    let (status, revoked) = app.call("POST", &path, Some(&bearer(&admin)), None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["actor_id"], "aa01");
    assert!(revoked["revoked_at"].is_i64(), "{revoked}");

    for path in ["/v1/me"] {
        let (status, body) = app.call("GET", path, Some(&bearer(&phone)), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "device_revoked")
        );
    }
    let (status, body) = app.pull(&bearer(&phone)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "device_revoked")
    );
    assert_eq!(app.pull(&bearer(&tablet)).await.0, StatusCode::OK);

    // The revoked actor cannot be registered again, even after a new login.
    let again = app.token("ana").await;
    let (status, body) = app.register(&again, "aa01").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "device_revoked")
    );

    // The admin's listing shows it.
    let path = format!("/v1/admin/users/{}/devices", app.user_id("ana"));
    let (status, devices) = app.call("GET", &path, Some(&bearer(&admin)), None).await;
    assert_eq!(status, StatusCode::OK, "{devices}");
    let revoked: Vec<&Value> = devices
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["revoked_at"].is_i64())
        .collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["actor_id"], "aa01");
}

#[tokio::test]
async fn only_admins_reach_the_admin_endpoints_and_others_learn_nothing() {
    let app = TestApp::new(10);
    let ana = app.token("ana").await;
    let (_, device) = app.register(&ana, "aa01").await;
    let device_id = device["id"].as_str().unwrap().to_owned();
    let bo = app.token("bo").await;
    let bo_id = app.user_id("bo");
    let paths = |device: &str, user: &str| {
        vec![
            ("POST", format!("/v1/admin/devices/{device}/revoke")),
            ("POST", format!("/v1/admin/users/{user}/disable")),
            ("POST", format!("/v1/admin/users/{user}/enable")),
            ("GET", format!("/v1/admin/users/{user}/devices")),
        ]
    };
    let known = paths(&device_id, &bo_id);
    let unknown = paths("00000000-0000-0000-0000-000000000000", "nobody");
    for ((method, existing), (_, missing)) in known.iter().zip(&unknown) {
        let (status, for_existing) = app.call(method, existing, Some(&bearer(&bo)), None).await;
        let (_, for_missing) = app.call(method, missing, Some(&bearer(&bo)), None).await;
        assert_eq!(
            (status, code(&for_existing)),
            (StatusCode::FORBIDDEN, "forbidden")
        );
        assert_eq!(for_existing, for_missing, "{existing}");
        let (status, _) = app.call(method, existing, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Nothing happened to ana's device or to bo.
    assert_eq!(app.pull(&bearer(&ana)).await.0, StatusCode::OK);
    assert_eq!(app.pull(&bearer(&bo)).await.0, StatusCode::OK);

    let admin = app.token("root").await;
    for (method, missing) in &unknown {
        let (status, body) = app.call(method, missing, Some(&bearer(&admin)), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{missing}"
        );
    }
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_and_every_token_is_refused() {
    let app = TestApp::new(10);
    let phone = app.token("ana").await;
    let laptop = app.token("ana").await;
    app.register(&phone, "aa01").await;
    let bo = app.token("bo").await;
    let admin = app.token("root").await;

    let path = format!("/v1/admin/users/{}/disable", app.user_id("ana"));
    let (status, body) = app.call("POST", &path, Some(&bearer(&admin)), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disabled"], true);

    for token in [&phone, &laptop] {
        let (status, body) = app.pull(&bearer(token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "device_revoked")
        );
    }
    assert_eq!(app.pull(&bearer(&bo)).await.0, StatusCode::OK);
    // Login: the answer of a wrong password.
    let (status, refused) = app.login("ana").await;
    let (_, wrong) = app
        .call(
            "POST",
            "/v1/auth/login",
            None,
            Some(json!({"username": "ana", "password": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused, wrong);

    // Enabled again: a new login works, the old tokens stay refused.
    let path = format!("/v1/admin/users/{}/enable", app.user_id("ana"));
    assert_eq!(
        app.call("POST", &path, Some(&bearer(&admin)), None).await.0,
        StatusCode::OK
    );
    let fresh = app.token("ana").await;
    assert_eq!(app.pull(&bearer(&fresh)).await.0, StatusCode::OK);
    assert_eq!(app.pull(&bearer(&phone)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn devices_per_user_are_capped() {
    let app = TestApp::new(2);
    let ana = app.token("ana").await;
    assert_eq!(app.register(&ana, "01").await.0, StatusCode::CREATED);
    assert_eq!(app.register(&ana, "02").await.0, StatusCode::CREATED);
    let (status, body) = app.register(&ana, "03").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "device_limit")
    );
    // Registering a known device again still works.
    assert_eq!(app.register(&ana, "02").await.0, StatusCode::OK);
    // Another user has their own allowance.
    let bo = app.token("bo").await;
    assert_eq!(app.register(&bo, "03").await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn metrics_need_an_admin_or_the_scrape_token() {
    let app = TestApp::new(10);
    let (status, body) = app.call("GET", "/metrics", None, None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let ana = app.token("ana").await;
    let (status, body) = app.call("GET", "/metrics", Some(&bearer(&ana)), None).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) = app
        .call("GET", "/metrics", Some("Bearer scrape-mf"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let admin = app.token("root").await;
    let (status, text) = app
        .call("GET", "/metrics", Some(&bearer(&admin)), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.as_str()
            .unwrap()
            .contains("fieldcrm_connected_devices")
    );
    let (status, _) = app
        .call("GET", "/metrics", Some("Bearer scrape-me"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn whitespace_variants_of_one_token_count_as_one_device() {
    let app = TestApp::new(10);
    let ana = app.token("ana").await;
    let bo = app.token("bo").await;
    for authorization in [
        format!("Bearer {ana}"),
        format!("Bearer   {ana}"),
        format!("bearer {ana} "),
        format!("BEARER {ana}\t"),
        format!("Bearer {bo}"),
    ] {
        assert_eq!(
            app.pull(&authorization).await.0,
            StatusCode::OK,
            "{authorization:?}"
        );
    }
    assert_eq!(app.state.metrics.connected_devices.get(), 2);
}

#[tokio::test]
async fn the_servers_own_actor_cannot_be_registered_as_a_device() {
    let app = TestApp::new(2);
    let ana = app.token("ana").await;
    let server_actor = hex::encode(fieldcrm_core::authority::SERVER_ACTOR);
    let (status, body) = app.register(&ana, &server_actor).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    assert_eq!(app.register(&ana, "01").await.0, StatusCode::CREATED);
}

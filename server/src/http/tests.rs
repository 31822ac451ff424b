//! The HTTP API driven in-process with `tower::ServiceExt::oneshot` (no socket).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::auth::tests::{AUDIENCE, ISSUER, alg_none_token, settings};
use crate::auth::{Claims, PasswordParams, hash_password};
use crate::model::{SigningKey, User, now_unix};
use crate::rate_limit::tests::ManualClock;
use crate::rate_limit::{Rate, RateLimits};
use crate::storage::{Accounts, NewUser, SqliteStorage};

const BODY_LIMIT: usize = 1024;

struct TestApp {
    state: AppState,
    storage: Arc<SqliteStorage>,
    /// The rate limiters' clock.
    time: ManualClock,
}

impl TestApp {
    fn new() -> Self {
        let time = ManualClock::default();
        let storage = Arc::new(SqliteStorage::open_in_memory().unwrap());
        let params = PasswordParams::fast_for_tests();
        let team = storage.create_team("north").unwrap();
        for (name, role) in [
            ("ana", Role::Rep),
            ("bo", Role::Rep),
            ("mia", Role::Manager),
        ] {
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
        let auth = Auth::new(storage.clone(), settings(), None, params).unwrap();
        let state = AppState {
            storage: storage.clone(),
            auth: Arc::new(auth),
            metrics: Metrics::new().unwrap(),
            limits: Limits {
                max_body_bytes: BODY_LIMIT,
                max_decompressed_bytes: 4 * BODY_LIMIT,
                oldest_protocol_version: protocol::OLDEST_PROTOCOL_VERSION,
            },
            rate_limits: Arc::new(crate::rate_limit::RateLimiter::with_clock(
                RateLimits {
                    device: Rate {
                        per_minute: 60,
                        burst: 20,
                    },
                    ..RateLimits::default()
                },
                time.clock(),
            )),
            basemap: Default::default(),
            webhooks: Default::default(),
        };
        TestApp {
            state,
            storage,
            time,
        }
    }

    fn user(&self, name: &str) -> User {
        self.storage.user_by_username(name).unwrap().unwrap()
    }

    fn active_key(&self) -> SigningKey {
        self.storage
            .signing_keys()
            .unwrap()
            .into_iter()
            .find(|k| k.active)
            .unwrap()
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let value = match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(_) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        };
        if !status.is_success() {
            // Every error is our JSON shape.
            assert_eq!(content_type.as_deref(), Some("application/json"), "{value}");
            assert!(value["error"]["code"].is_string(), "{value}");
            assert!(value["error"]["message"].is_string(), "{value}");
        }
        (status, value)
    }

    async fn post_raw(&self, path: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.post_raw(path, token, &body.to_string()).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn login(&self, name: &str) -> String {
        let (status, body) = self
            .post(
                "/v1/auth/login",
                None,
                json!({"username": name, "password": format!("{name}-pw")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// A token with our key and kid but chosen claims.
    fn forge(&self, claims: &Claims) -> String {
        let key = self.active_key();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&key.secret)).unwrap()
    }

    /// Claims naming a new session of `name`.
    fn claims(&self, name: &str) -> Claims {
        let user = self.user(name);
        let now = now_unix() as u64;
        let sid = crate::model::new_id();
        self.storage
            .create_session(&sid, &user.id, now as i64, now as i64 + 600)
            .unwrap();
        Claims {
            sid,
            sub: user.id,
            role: user.role,
            team: user.team_id,
            exp: now + 600,
            iat: now,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        }
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = TestApp::new();
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn login_returns_a_working_token() {
    let app = TestApp::new();
    let (status, body) = app
        .post(
            "/v1/auth/login",
            None,
            json!({"username": "ana", "password": "ana-pw"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ana = app.user("ana");
    assert_eq!(body["user"]["id"], ana.id.as_str());
    assert_eq!(body["user"]["role"], "rep");
    assert_eq!(body["user"]["team"], ana.team_id.unwrap().as_str());
    assert_eq!(body["token_type"], "Bearer");
    let expires_at = body["expires_at"].as_i64().unwrap();
    assert!((expires_at - now_unix() - 3600).abs() <= 5);
    let token = body["token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.kid, Some(app.active_key().kid));

    let (status, me) = app.get("/v1/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["username"], "ana");
    assert_eq!(me["devices"], json!([]));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::new();
    let (status_wrong, wrong) = app
        .post(
            "/v1/auth/login",
            None,
            json!({"username": "ana", "password": "nope"}),
        )
        .await;
    let (status_unknown, unknown) = app
        .post(
            "/v1/auth/login",
            None,
            json!({"username": "zed", "password": "nope"}),
        )
        .await;
    assert_eq!(status_wrong, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&wrong), "unauthorized");
    assert_eq!(status_unknown, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let app = TestApp::new();
    let (status, body) = app.get("/v1/me", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );

    let request = Request::get("/v1/me")
        .header(header::AUTHORIZATION, "Basic YW5hOmFuYS1wdw==")
        .body(Body::empty())
        .unwrap();
    let (status, body) = app.send(request).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    let response = super::app(app.state.clone())
        .oneshot(Request::get("/v1/me").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
}

#[tokio::test]
async fn expired_token_is_token_expired() {
    let app = TestApp::new();
    let mut claims = app.claims("ana");
    claims.iat -= 7200;
    claims.exp = claims.iat + 3600;
    let (status, body) = app.get("/v1/me", Some(&app.forge(&claims))).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
}

#[tokio::test]
async fn forged_tokens_are_invalid_token() {
    let app = TestApp::new();
    let good = app.claims("ana");
    let mut wrong_audience = good.clone();
    wrong_audience.aud = "another-service".into();
    let mut wrong_issuer = good.clone();
    wrong_issuer.iss = "https://evil.example".into();
    let other_key = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(app.active_key().kid);
        jsonwebtoken::encode(
            &header,
            &good,
            &EncodingKey::from_secret(b"another key entirely"),
        )
        .unwrap()
    };
    let tokens = [
        ("wrong audience", app.forge(&wrong_audience)),
        ("wrong issuer", app.forge(&wrong_issuer)),
        ("alg none", alg_none_token(&good, &app.active_key().kid)),
        ("another key", other_key),
        ("truncated", {
            let token = app.forge(&good);
            token[..token.len() - 5].to_owned()
        }),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (what, token) in tokens {
        let (status, body) = app.get("/v1/me", Some(&token)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "invalid_token"),
            "{what}: {body}"
        );
    }
    // The untampered token works, so the failures above are the tampering.
    let (status, _) = app.get("/v1/me", Some(&app.forge(&good))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_bodies_are_bad_request_in_json() {
    let app = TestApp::new();
    let cases = [
        ("malformed", r#"{"username": "ana", "password": }"#),
        ("truncated", r#"{"username": "ana", "passw"#),
        ("wrong type", r#"{"username": "ana", "password": 5}"#),
        ("missing field", r#"{"username": "ana"}"#),
        ("not an object", r#"[1, 2]"#),
        ("empty", ""),
    ];
    for (what, body) in cases {
        let (status, answer) = app.post_raw("/v1/auth/login", None, body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{what}: {answer}"
        );
    }
    // No content type.
    let request = Request::post("/v1/auth/login")
        .body(Body::from(r#"{"username": "ana", "password": "ana-pw"}"#))
        .unwrap();
    let (status, answer) = app.send(request).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    // Also behind authentication.
    let token = app.login("ana").await;
    let (status, answer) = app
        .post_raw("/v1/devices", Some(&token), "{\"actor_id\"")
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
}

#[tokio::test]
async fn oversized_bodies_are_payload_too_large() {
    let app = TestApp::new();
    let big = json!({"username": "ana", "password": "x".repeat(BODY_LIMIT * 2)});
    let (status, body) = app.post("/v1/auth/login", None, big).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // Without a content-length (a streamed body), the limit still holds.
    let chunks: Vec<Result<String, std::io::Error>> =
        (0..10).map(|_| Ok("x".repeat(BODY_LIMIT / 4))).collect();
    let request = Request::post("/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::new(futures_stream(chunks)))
        .unwrap();
    let (status, body) = app.send(request).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

/// A minimal stream over prepared chunks (no futures crate needed).
fn futures_stream(
    chunks: Vec<Result<String, std::io::Error>>,
) -> impl axum::body::HttpBody<Data = axum::body::Bytes, Error = std::io::Error> {
    struct Chunks(std::collections::VecDeque<Result<String, std::io::Error>>);
    impl axum::body::HttpBody for Chunks {
        type Data = axum::body::Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            std::task::Poll::Ready(
                self.0
                    .pop_front()
                    .map(|chunk| chunk.map(|c| http_body::Frame::data(c.into()))),
            )
        }
    }
    Chunks(chunks.into())
}

#[tokio::test]
async fn devices_bind_an_actor_to_one_user() {
    let app = TestApp::new();
    let ana = app.login("ana").await;
    let bo = app.login("bo").await;
    let actor = "0A1B2C3D4E5F60718293A4B5C6D7E8F9";

    let (status, device) = app
        .post("/v1/devices", Some(&ana), json!({"actor_id": actor}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    assert_eq!(device["actor_id"], actor.to_lowercase());
    assert_eq!(device["user_id"], app.user("ana").id.as_str());

    // A retry by the same user is harmless.
    let (status, again) = app
        .post("/v1/devices", Some(&ana), json!({"actor_id": actor}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, device);

    // Another user cannot claim the same actor, whatever the case of the hex.
    let (status, body) = app
        .post(
            "/v1/devices",
            Some(&bo),
            json!({"actor_id": actor.to_lowercase()}),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "actor_taken"));

    for bad in ["", "xyz", "abc", &"ab".repeat(33)] {
        let (status, body) = app
            .post("/v1/devices", Some(&bo), json!({"actor_id": bad}))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{bad:?}"
        );
    }

    // Without a token: no registration.
    let (status, _) = app
        .post("/v1/devices", None, json!({"actor_id": "ff"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, me) = app.get("/v1/me", Some(&ana)).await;
    assert_eq!(me["devices"].as_array().unwrap().len(), 1);
    let (_, me) = app.get("/v1/me", Some(&bo)).await;
    assert_eq!(me["devices"], json!([]));
}

#[tokio::test]
async fn me_lists_territories() {
    let app = TestApp::new();
    let team = app.storage.team_by_name("north").unwrap().unwrap();
    let harbour = app.storage.create_territory("harbour", &team.id).unwrap();
    app.storage
        .assign_user_territory(&app.user("ana").id, &harbour.id)
        .unwrap();
    let token = app.login("ana").await;
    let (status, me) = app.get("/v1/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me["territories"],
        json!([{"id": harbour.id, "name": "harbour"}])
    );
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_and_signs_with_the_new_key() {
    let app = TestApp::new();
    let old = app.login("ana").await;
    let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();
    let new_key = app.state.auth.rotate().unwrap();
    assert_ne!(new_key.kid, old_kid);

    let (status, _) = app.get("/v1/me", Some(&old)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a token signed before rotation stays valid"
    );

    let new = app.login("ana").await;
    let new_kid = jsonwebtoken::decode_header(&new).unwrap().kid.unwrap();
    assert_eq!(new_kid, new_key.kid);
    let (status, _) = app.get("/v1/me", Some(&new)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let app = TestApp::new();
    let (status, body) = app.get("/v1/nothing-here", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = app.get("/v1/auth/login", None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let mut app = TestApp::new();
    app.state.metrics = app.state.metrics.clone().with_scrape_token(Some("scrape"));
    app.get("/healthz", None).await;
    app.get("/v1/me", None).await;
    app.get("/no/such/path/42", None).await;
    let response = super::app(app.state.clone())
        .oneshot(
            Request::get("/metrics")
                .header(header::AUTHORIZATION, "Bearer scrape")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains(
            r#"fieldcrm_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="/v1/me",status="401"} 1"#), "{text}");
    assert!(
        text.contains(r#"route="unmatched",status="404"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains("/no/such/path"),
        "raw paths must not become labels"
    );
    for name in [
        "fieldcrm_changes_merged_total",
        "fieldcrm_push_seconds",
        "fieldcrm_connected_devices",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
}

/// A raw response to `request` (status, headers and body kept).
async fn raw(test: &TestApp, request: Request<Body>) -> axum::response::Response {
    app(test.state.clone()).oneshot(request).await.unwrap()
}

fn login_request(name: &str, password: &str) -> Request<Body> {
    Request::post("/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"username": name, "password": password}).to_string(),
        ))
        .unwrap()
}

async fn error_code_of(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    code(&value).to_owned()
}

#[tokio::test]
async fn logins_are_limited_per_username_even_with_the_right_password() {
    let test = TestApp::new();
    for _ in 0..10 {
        let response = raw(&test, login_request("ana", "guess")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = raw(&test, login_request("ana", "ana-pw")).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "60");
    assert_eq!(error_code_of(response).await, "rate_limited");
    // Another username is not affected.
    assert_eq!(
        raw(&test, login_request("bo", "bo-pw")).await.status(),
        StatusCode::OK
    );
    test.time.advance(std::time::Duration::from_secs(59));
    let response = raw(&test, login_request("ana", "ana-pw")).await;
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    test.time.advance(std::time::Duration::from_secs(1));
    assert_eq!(
        raw(&test, login_request("ana", "ana-pw")).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn sync_requests_are_rate_limited_per_device_with_retry_after() {
    let test = TestApp::new();
    let token = test.login("ana").await;
    let pull = |token: &str| {
        Request::post("/v1/sync/pull")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, protocol::CONTENT_TYPE)
            .body(Body::from(
                protocol::encode(&PullRequest {
                    cursor: 0,
                    limit: 10,
                })
                .unwrap(),
            ))
            .unwrap()
    };
    // The test limits: a burst of 20, then one a second.
    for _ in 0..20 {
        assert_eq!(raw(&test, pull(&token)).await.status(), StatusCode::OK);
    }
    let response = raw(&test, pull(&token)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    assert_eq!(error_code_of(response).await, "rate_limited");
    // Pushes and ping uploads share the device's budget.
    let push = Request::post("/v1/sync/push")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(
            protocol::encode(&PushRequest { docs: vec![] }).unwrap(),
        ))
        .unwrap();
    assert_eq!(
        raw(&test, push).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another device (another token) of the same user has its own budget.
    let mut claims = test.claims("ana");
    claims.exp += 1;
    let other = test.forge(&claims);
    assert_eq!(raw(&test, pull(&other)).await.status(), StatusCode::OK);
    test.time.advance(std::time::Duration::from_secs(1));
    assert_eq!(raw(&test, pull(&token)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_push_over_a_count_limit_is_limit_exceeded() {
    let test = TestApp::new();
    let token = test.login("ana").await;
    let over = PushRequest {
        docs: vec![fieldcrm_core::protocol::DocChanges {
            doc_id: "d".repeat(protocol::MAX_DOC_ID_LEN + 1),
            kind: fieldcrm_core::Kind::Customer,
            changes: vec![],
        }],
    };
    let request = Request::post("/v1/sync/push")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(protocol::encode(&over).unwrap()))
        .unwrap();
    let response = raw(&test, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code_of(response).await, "limit_exceeded");
}

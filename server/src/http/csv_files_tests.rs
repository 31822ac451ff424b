//! CSV import and export over HTTP, driven with `oneshot`: each role, unknown kinds, bad
//! input and the body limit.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::csv_files::MAX_IMPORT_BODY_BYTES;
use super::*;
use crate::auth::tests::settings;
use crate::auth::{PasswordParams, hash_password};
use crate::storage::{NewUser, SqliteStorage};

const PASSWORD: &str = "pw-for-tests";

/// Team north (territory harbour: rep ana; territory hills: rep bo), manager mia; admin root.
/// Sync bodies are limited to 1 KB: the import has a limit of its own.
fn test_app() -> AppState {
    let storage = Arc::new(SqliteStorage::open_in_memory().unwrap());
    let params = PasswordParams::fast_for_tests();
    let hash = hash_password(&params, PASSWORD).unwrap();
    let north = storage.create_team("north").unwrap();
    let harbour = storage.create_territory("harbour", &north.id).unwrap();
    let hills = storage.create_territory("hills", &north.id).unwrap();
    for (name, role, territory) in [
        ("ana", Role::Rep, Some(&harbour.id)),
        ("bo", Role::Rep, Some(&hills.id)),
        ("mia", Role::Manager, None),
        ("root", Role::Admin, None),
    ] {
        let user = storage
            .create_user(NewUser {
                username: name,
                password_hash: Some(&hash),
                role,
                team_id: (role != Role::Admin).then_some(north.id.as_str()),
            })
            .unwrap();
        if let Some(territory) = territory {
            storage.assign_user_territory(&user.id, territory).unwrap();
        }
    }
    let auth = Auth::new(storage.clone(), settings(), None, params).unwrap();
    AppState {
        storage,
        auth: Arc::new(auth),
        metrics: Metrics::new().unwrap(),
        limits: Limits {
            max_body_bytes: 1024,
            max_decompressed_bytes: 4096,
            oldest_protocol_version: protocol::OLDEST_PROTOCOL_VERSION,
        },
        rate_limits: Arc::new(crate::rate_limit::RateLimiter::new(
            crate::rate_limit::RateLimits {
                logins_per_minute: 1_000,
                ..Default::default()
            },
        )),
        basemap: Default::default(),
        webhooks: Default::default(),
    }
}

async fn call(state: &AppState, request: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .unwrap();
    (status, content_type, bytes.to_vec())
}

async fn token(state: &AppState, name: &str) -> String {
    let body = serde_json::json!({"username": name, "password": PASSWORD}).to_string();
    let request = Request::post("/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let (status, _, bytes) = call(state, request).await;
    assert_eq!(status, StatusCode::OK);
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    value["token"].as_str().unwrap().to_owned()
}

async fn import_as(
    state: &AppState,
    user: &str,
    path: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let token = token(state, user).await;
    let request = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(body.into())
        .unwrap();
    let (status, _, bytes) = call(state, request).await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn export_as(
    state: &AppState,
    user: &str,
    path: &str,
) -> (StatusCode, Option<String>, String) {
    let token = token(state, user).await;
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, content_type, bytes) = call(state, request).await;
    (status, content_type, String::from_utf8(bytes).unwrap())
}

/// Larger than the sync body limit (1 KB), so the import's own limit is what lets it in.
fn customers_csv() -> String {
    let mut csv = String::from("external_id,name,territory,notes\n");
    for i in 0..40 {
        let territory = if i % 2 == 0 { "harbour" } else { "hills" };
        csv.push_str(&format!(
            "C-{i},Customer {i},{territory},=cmd|' /C calc'!A0\n"
        ));
    }
    csv.push_str("C-bad,Nowhere,atlantis,\n");
    csv
}

#[tokio::test]
async fn an_admin_imports_and_gets_the_report() {
    let state = test_app();
    let (status, report) = import_as(
        &state,
        "root",
        "/v1/admin/import/customers",
        customers_csv(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], 40);
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["rejections"][0]["line"], 42);
    assert_eq!(report["rejections"][0]["external_id"], "C-bad");
    let (_, again) = import_as(
        &state,
        "root",
        "/v1/admin/import/customers",
        customers_csv(),
    )
    .await;
    assert_eq!(
        (again["unchanged"].as_u64(), again["created"].as_u64()),
        (Some(40), Some(0))
    );
    let contacts = "external_id,customer_external_id,name\nP-1,C-0,Jana\n";
    let (status, report) = import_as(&state, "root", "/v1/admin/import/contacts", contacts).await;
    assert_eq!(
        (status, report["created"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{report}"
    );
}

#[tokio::test]
async fn others_get_what_an_unknown_route_gets() {
    let state = test_app();
    let (_, unknown_route) = import_as(&state, "root", "/v1/admin/nothing/here", "x").await;
    let (status, unknown_kind) = import_as(&state, "root", "/v1/admin/import/users", "x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(unknown_kind, unknown_route);
    for user in ["ana", "mia"] {
        for kind in ["customers", "users"] {
            let (status, body) = import_as(
                &state,
                user,
                &format!("/v1/admin/import/{kind}"),
                customers_csv(),
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{user} {kind}");
            assert_eq!(body, unknown_route, "{user} {kind}");
        }
    }
    let (_, _, csv) = export_as(&state, "root", "/v1/export/customers.csv").await;
    assert_eq!(csv.lines().count(), 1, "nothing was imported: {csv}");
    let (status, _, body) = export_as(&state, "ana", "/v1/export/users.csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), unknown_route);
    // Without a token: refused before anything else.
    let request = Request::post("/v1/admin/import/customers")
        .body(Body::from("external_id,name,territory\n"))
        .unwrap();
    assert_eq!(call(&state, request).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_files_are_bad_requests_that_say_why() {
    let state = test_app();
    let (status, body) = import_as(
        &state,
        "root",
        "/v1/admin/import/contacts",
        "id,customer,name\nP-1,C-1,x\n",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("unknown column \"id\""), "{message}");
    assert!(
        message.contains("external_id*, customer_external_id*, name*, title"),
        "{message}"
    );
    let (status, body) = import_as(
        &state,
        "root",
        "/v1/admin/import/customers",
        &b"external_id,name,territory\nC-1,K\xf6ln,harbour\n"[..],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2 is not UTF-8"),
        "{body}"
    );
    let too_large = vec![b'a'; MAX_IMPORT_BODY_BYTES + 1];
    let (status, body) = import_as(&state, "root", "/v1/admin/import/customers", too_large).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn exports_hold_what_each_role_sees_with_formulas_defused() {
    let state = test_app();
    import_as(
        &state,
        "root",
        "/v1/admin/import/customers",
        customers_csv(),
    )
    .await;
    let (status, content_type, csv) = export_as(&state, "ana", "/v1/export/customers.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("text/csv; charset=utf-8"));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 20, "ana's territory only");
    let notes = headers.iter().position(|h| h == "notes").unwrap();
    assert!(records.iter().all(|r| &r[notes] == "'=cmd|' /C calc'!A0"));
    let territory = headers.iter().position(|h| h == "territory").unwrap();
    assert!(records.iter().all(|r| &r[territory] == "harbour"));
    let (_, _, team) = export_as(&state, "mia", "/v1/export/customers.csv").await;
    assert_eq!(team.lines().count(), 41);
    let (status, _, deals) = export_as(&state, "bo", "/v1/export/opportunities.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        deals.starts_with("id,customer_id,customer_external_id,"),
        "{deals}"
    );
    assert_eq!(deals.lines().count(), 1, "no opportunities yet");
}

#[tokio::test]
async fn an_admin_imports_order_history_and_others_get_what_an_unknown_route_gets() {
    let state = test_app();
    import_as(
        &state,
        "root",
        "/v1/admin/import/customers",
        customers_csv(),
    )
    .await;
    let history = "customer_external_id,date,amount,currency\n\
                   C-0,2024-01-05,10.00,EUR\nC-1,2024-01-06,5,EUR\nC-x,2024-01-06,5,EUR\n";
    let path = "/v1/admin/import/order-history";
    let (_, unknown_route) = import_as(&state, "root", "/v1/admin/nothing/here", "x").await;
    for user in ["ana", "mia"] {
        let (status, body) = import_as(&state, user, path, history).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user}");
        assert_eq!(body, unknown_route, "{user}");
    }
    let (status, report) = import_as(&state, "root", path, history).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["shape"], "orders");
    assert_eq!(
        report["orders_new"], 2,
        "the reps imported nothing: {report}"
    );
    assert_eq!(report["rejections"][0]["line"], 4);
    assert_eq!(report["rejections"][0]["external_id"], "C-x");
    let (_, again) = import_as(&state, "root", path, history).await;
    assert_eq!(
        (
            again["orders_new"].as_u64(),
            again["orders_present"].as_u64()
        ),
        (Some(0), Some(2))
    );
    let (status, body) = import_as(&state, "root", path, "customer,date\n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let too_large = vec![b'a'; MAX_IMPORT_BODY_BYTES + 1];
    let (status, _) = import_as(&state, "root", path, too_large).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

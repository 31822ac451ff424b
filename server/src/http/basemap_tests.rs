//! The base map's routes: the tile source as the dashboard reads it, the page's policy naming
//! the tile host and nothing else, and the vendored Leaflet.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::AppState;
use super::sales_tests::SalesApp;
use crate::basemap::{Basemap, TileTemplate};

/// Status, the content type, cache control and content security policy, and the body of a GET
/// (the dashboard's static-file tests use it too).
pub(super) async fn get(state: &AppState, path: &str) -> (StatusCode, [String; 3], String) {
    let response = super::app(state.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let headers = [
        header(header::CONTENT_TYPE),
        header(header::CACHE_CONTROL),
        header(header::CONTENT_SECURITY_POLICY),
    ];
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn with_tiles(state: &AppState) -> AppState {
    let mut state = state.clone();
    state.basemap = Arc::new(Basemap {
        tiles: Some(TileTemplate::parse("http://127.0.0.1:8099/t/{z}/{x}/{y}.png").unwrap()),
        attribution: Some("Test tiles <b>©</b>".into()),
    });
    state
}

#[tokio::test]
async fn without_a_tile_source_the_dashboard_is_told_so_and_loads_from_this_server_only() {
    let app = SalesApp::new().await;
    let (status, [kind, cache, _], body) = get(&app.state, "/dashboard/basemap.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("application/json"), "{kind}");
    assert_eq!(cache, "no-cache");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"tiles": null})
    );
    let (_, [_, _, policy], _) = get(&app.state, "/dashboard/").await;
    assert_eq!(
        policy,
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'"
    );
}

#[tokio::test]
async fn with_a_tile_source_the_page_may_load_images_from_the_tile_host_only() {
    let app = SalesApp::new().await;
    let state = with_tiles(&app.state);
    let (_, _, body) = get(&state, "/dashboard/basemap.json").await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"tiles": {
            "url_template": "http://127.0.0.1:8099/t/{z}/{x}/{y}.png",
            // Sent as text: the page shows it as text.
            "attribution": "Test tiles <b>©</b>",
        }})
    );
    for path in ["/dashboard", "/dashboard/"] {
        let (status, [kind, cache, policy], _) = get(&state, path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("text/html"), "{kind}");
        assert_eq!(cache, "no-cache");
        assert_eq!(
            policy,
            "default-src 'self'; img-src 'self' data: blob: http://127.0.0.1:8099; style-src 'self'; script-src 'self'; connect-src 'self'"
        );
    }
    // Scripts and styles still come from this server only.
    let (_, [_, _, policy], _) = get(&state, "/dashboard/map.js").await;
    assert!(!policy.contains("8099"), "{policy}");
}

#[tokio::test]
async fn leaflet_is_served_from_the_vendored_copy_and_the_page_loads_it() {
    let app = SalesApp::new().await;
    let (_, _, page) = get(&app.state, "/dashboard/").await;
    for (path, kind, first_line) in [
        (
            "/dashboard/vendor/leaflet.js",
            "text/javascript; charset=utf-8",
            "/* @preserve",
        ),
        (
            "/dashboard/vendor/leaflet.css",
            "text/css; charset=utf-8",
            "/* required styles */",
        ),
    ] {
        let (status, [content_type, cache, policy], body) = get(&app.state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(content_type, kind, "{path}");
        assert_eq!(cache, "no-cache", "{path}");
        assert!(
            policy.starts_with("default-src 'self';"),
            "{path}: {policy}"
        );
        assert!(body.starts_with(first_line), "{path}: {}", &body[..40]);
        assert!(
            page.contains(&format!("\"{path}\"")),
            "the page does not load {path}"
        );
    }
}

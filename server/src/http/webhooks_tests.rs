//! Webhooks and the change feed over HTTP, on the sales tests' organisation (north: ana, bo,
//! manager mia; south: cy, manager sam; admin root): only the admin reaches them, everyone
//! else gets what an unknown route gets; registration refuses bad URLs and secrets, shows the
//! secret once; the feed pages in order.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use super::sales_tests::SalesApp;

const URL: &str = "http://127.0.0.1:9/hook";

async fn delete(app: &SalesApp, path: &str, as_user: &str) -> (StatusCode, Value) {
    let request = Request::delete(path)
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", app.token(as_user).await),
        )
        .body(Body::empty())
        .unwrap();
    app.call(request).await
}

#[tokio::test]
async fn reps_and_managers_get_what_an_unknown_route_gets() {
    let app = SalesApp::new().await;
    let (_, hook) = app.post("/v1/webhooks", "root", json!({"url": URL})).await;
    let id = hook["id"].as_str().unwrap();
    for user in ["ana", "mia"] {
        let unknown = app.get("/v1/no-such-route", user).await;
        assert_eq!(unknown.0, StatusCode::NOT_FOUND);
        for path in [
            "/v1/events".to_owned(),
            "/v1/webhooks".to_owned(),
            format!("/v1/webhooks/{id}/deliveries"),
        ] {
            assert_eq!(app.get(&path, user).await, unknown, "GET {path} as {user}");
        }
        for path in [
            "/v1/webhooks".to_owned(),
            format!("/v1/webhooks/{id}/replay"),
            format!("/v1/webhooks/{id}/deliveries/1/replay"),
        ] {
            assert_eq!(
                app.post(&path, user, json!({"url": URL})).await,
                unknown,
                "POST {path} as {user}"
            );
        }
        assert_eq!(
            delete(&app, &format!("/v1/webhooks/{id}"), user).await,
            unknown
        );
    }
    // Still there: the attempts changed nothing.
    let (status, list) = app.get("/v1/webhooks", "root").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_webhook_shows_its_secret_once_and_is_listed_and_removed() {
    let app = SalesApp::new().await;
    let (status, created) = app.post("/v1/webhooks", "root", json!({"url": URL})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 64);
    let id = created["id"].as_str().unwrap();

    let (_, list) = app.get("/v1/webhooks", "root").await;
    let listed = &list["webhooks"][0];
    assert_eq!(
        (listed["id"].as_str(), listed["url"].as_str()),
        (Some(id), Some(URL))
    );
    assert!(listed.get("secret").is_none(), "{listed}");
    assert!(!list.to_string().contains(secret));

    let (status, chosen) = app
        .post(
            "/v1/webhooks",
            "root",
            json!({"url": "https://hooks.example.org/in", "secret": "x".repeat(30)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(chosen["secret"], "x".repeat(30));

    let (status, deliveries) = app
        .get(
            &format!("/v1/webhooks/{id}/deliveries?state=parked"),
            "root",
        )
        .await;
    assert_eq!(
        (status, deliveries),
        (StatusCode::OK, json!({"deliveries": []}))
    );
    let (status, replayed) = app
        .post(&format!("/v1/webhooks/{id}/replay"), "root", Value::Null)
        .await;
    assert_eq!((status, replayed), (StatusCode::OK, json!({"replayed": 0})));

    assert_eq!(
        delete(&app, &format!("/v1/webhooks/{id}"), "root").await.0,
        StatusCode::NO_CONTENT
    );
    let (status, gone) = delete(&app, &format!("/v1/webhooks/{id}"), "root").await;
    assert_eq!(
        (status, gone["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    for path in [
        format!("/v1/webhooks/{id}/deliveries"),
        "/v1/webhooks/unknown/deliveries".to_owned(),
    ] {
        assert_eq!(
            app.get(&path, "root").await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        app.post(
            "/v1/webhooks/unknown/deliveries/x/replay",
            "root",
            Value::Null
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_urls_and_secrets_are_refused_and_this_server_is_not_a_receiver() {
    let app = SalesApp::new().await;
    app.state
        .webhooks
        .set_own_address("127.0.0.1:8080".parse().unwrap());
    for body in [
        json!({"url": "ftp://example.org/in"}),
        json!({"url": "javascript:alert(1)"}),
        json!({"url": "not a url"}),
        json!({"url": "http://127.0.0.1:8080/v1/sync/push"}),
        json!({"url": "http://localhost:8080/"}),
        json!({"url": URL, "secret": "short"}),
        json!({"url": URL, "extra": true}),
        json!({"secret": "x".repeat(30)}),
    ] {
        let (status, answer) = app.post("/v1/webhooks", "root", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_request");
    }
    // Loopback at another port is another program.
    assert_eq!(
        app.post(
            "/v1/webhooks",
            "root",
            json!({"url": "http://127.0.0.1:8081/in"})
        )
        .await
        .0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_feed_pages_the_organisations_events_in_order() {
    let app = SalesApp::new().await;
    let (status, all) = app.get("/v1/events?limit=1000", "root").await;
    assert_eq!(status, StatusCode::OK);
    let events = all["events"].as_array().unwrap();
    // The seeded customers were pushed: each has its creation.
    let created = events
        .iter()
        .filter(|e| e["type"] == "customer.created")
        .count();
    assert!(created >= 3, "{all}");
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(all["next_after"], *seqs.last().unwrap());

    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let (_, page) = app
            .get(&format!("/v1/events?after={after}&limit=2"), "root")
            .await;
        let got = page["events"].as_array().unwrap();
        if got.is_empty() {
            assert_eq!(page["next_after"], after);
            break;
        }
        assert!(got.len() <= 2);
        paged.extend(got.iter().cloned());
        after = page["next_after"].as_i64().unwrap();
    }
    assert_eq!(&paged, events);

    for query in ["limit=0", "limit=1001", "after=x", "cursor=1"] {
        let (status, answer) = app.get(&format!("/v1/events?{query}"), "root").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
    }
}

//! Route review, pings, team overview and coverage over HTTP, driven with `oneshot`: who may
//! see what, bad input, idempotent ping batches and the server's own check-in verification.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use fieldcrm_core::protocol::{self, PingAck, PingUpload, RejectCode};
use fieldcrm_core::route::Fix;
use fieldcrm_core::{
    Customer, DAY_MS, GeoLocation, GpsStamp, LocationSource, Store, Verification, Visit,
    VisitStatus,
};

use super::*;
use crate::auth::tests::settings;
use crate::auth::{PasswordParams, hash_password};
use crate::dates;
use crate::model::User;
use crate::storage::{NewUser, SqliteStorage};

const DAY: &str = "2026-09-21";
const PASSWORD: &str = "pw-for-tests";

struct FieldApp {
    state: AppState,
    storage: Arc<SqliteStorage>,
    /// 09:00 UTC on [`DAY`].
    morning: i64,
}

impl FieldApp {
    /// Team north (territory harbour): reps ana and bo, manager mia. Team south: manager sam.
    /// And an admin.
    fn new() -> Self {
        let storage = Arc::new(SqliteStorage::open_in_memory().unwrap());
        let params = PasswordParams::fast_for_tests();
        let hash = hash_password(&params, PASSWORD).unwrap();
        let north = storage.create_team("north").unwrap();
        let south = storage.create_team("south").unwrap();
        let harbour = storage.create_territory("harbour", &north.id).unwrap();
        for (name, role, team) in [
            ("ana", Role::Rep, Some(&north.id)),
            ("bo", Role::Rep, Some(&north.id)),
            ("mia", Role::Manager, Some(&north.id)),
            ("sam", Role::Manager, Some(&south.id)),
            ("root", Role::Admin, None),
        ] {
            let user = storage
                .create_user(NewUser {
                    username: name,
                    password_hash: Some(&hash),
                    role,
                    team_id: team.map(String::as_str),
                })
                .unwrap();
            if role == Role::Rep {
                storage
                    .assign_user_territory(&user.id, &harbour.id)
                    .unwrap();
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
            // These tests log in for every request.
            rate_limits: Arc::new(crate::rate_limit::RateLimiter::new(
                crate::rate_limit::RateLimits {
                    logins_per_minute: 1_000,
                    ..Default::default()
                },
            )),
            basemap: Default::default(),
            webhooks: Default::default(),
        };
        let day = dates::parse_date(DAY).unwrap();
        FieldApp {
            state,
            storage,
            morning: dates::local_day(day, 0).0 + 9 * 3_600_000,
        }
    }

    fn user(&self, name: &str) -> User {
        self.storage.user_by_username(name).unwrap().unwrap()
    }

    async fn call(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap();
        (status, bytes.to_vec())
    }

    async fn token(&self, name: &str) -> String {
        let body = serde_json::json!({"username": name, "password": PASSWORD}).to_string();
        let request = Request::post("/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let (status, bytes) = self.call(request).await;
        assert_eq!(status, StatusCode::OK);
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        value["token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str, as_user: &str) -> (StatusCode, Value) {
        let token = self.token(as_user).await;
        let request = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let (status, bytes) = self.call(request).await;
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if !status.is_success() {
            assert!(value["error"]["code"].is_string(), "{status}: {value}");
        }
        (status, value)
    }

    async fn upload(&self, as_user: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let token = self.token(as_user).await;
        let request = Request::post("/v1/sync/pings")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, protocol::CONTENT_TYPE)
            .body(Body::from(body))
            .unwrap();
        self.call(request).await
    }

    /// A device signed in as `name`, registered with the server.
    fn device(&self, name: &str) -> Store {
        let user = self.user(name);
        let store = Store::open(":memory:").unwrap();
        store.set_user(&user.id).unwrap();
        self.storage
            .register_device(&user.id, &store.actor_id())
            .unwrap();
        store
    }

    /// Pushes everything `store` has queued as `name`; returns the rejections.
    fn push(&self, name: &str, store: &Store) -> Vec<fieldcrm_core::protocol::Rejection> {
        let user = self.user(name);
        let principal = self.storage.principal(&user).unwrap();
        let Some((request, _)) = store.push_request(u32::MAX).unwrap() else {
            return Vec::new();
        };
        let (response, _) = self.storage.push_changes(&principal, request).unwrap();
        store.acknowledge(&response.acknowledged).unwrap();
        response.rejected
    }

    /// Ana's day: two customers, three visits (two made, one planned and skipped) and a
    /// drive with pings, pushed and uploaded as her device would.
    fn ana_day(&self) -> (Store, Vec<Visit>) {
        let device = self.device("ana");
        let customer = |name: &str, lat: f64, lon: f64| {
            let mut c = Customer::new(name);
            c.territory = Some("harbour".into());
            c.visit_radius_m = 100;
            c.location = Some(GeoLocation {
                lat,
                lon,
                source: LocationSource::Gps,
                at: self.morning,
            });
            device.create(c).unwrap()
        };
        let bakery = customer("Bakery", 53.5500, 9.9300);
        let kiosk = customer("Kiosk", 53.5600, 9.9300);
        // The customers reach the server before the visits: a check-in is verified against
        // the place the server held before the push that carries it.
        assert!(self.push("ana", &device).is_empty());
        let stamp = |minutes: i64, lat: f64| GpsStamp {
            at: self.morning + minutes * 60_000,
            lat,
            lon: 9.9300,
            accuracy_m: 10.0,
            fix_at: self.morning + minutes * 60_000 - 3_000,
            mock: false,
        };
        let mut visits = Vec::new();
        for (customer, planned, check_in) in [
            (&bakery, 0, Some((5, 53.5501))),
            // The device claims "verified" but the fix is 1.1 km from the kiosk.
            (&kiosk, 60, Some((70, 53.5700))),
            (&bakery, 120, None),
        ] {
            let mut visit = Visit::new(&customer.meta.id, self.user("ana").id);
            visit.planned_start = Some(self.morning + planned * 60_000);
            if let Some((minutes, lat)) = check_in {
                visit.check_in = Some(stamp(minutes, lat));
                visit.check_out = Some(stamp(minutes + 30, lat));
                visit.status = VisitStatus::Done;
                visit.verification = Some(Verification::Verified);
            } else {
                visit.status = VisitStatus::Skipped;
            }
            visits.push(device.create(visit).unwrap());
        }
        assert!(self.push("ana", &device).is_empty());
        // A ping a minute from 08:50 to 10:30 going north, then nothing for 40 minutes.
        let pings: Vec<Fix> = (-10..=90)
            .chain(130..=140)
            .map(|m| Fix {
                at: self.morning + m * 60_000,
                lat: 53.5500 + (m.clamp(0, 70) as f64) * 0.0003,
                lon: 9.9300,
                accuracy_m: 8.0,
                mock: false,
            })
            .collect();
        let upload = PingUpload {
            batch_id: "ana-batch-1".into(),
            pings,
        };
        let outcome = self
            .storage
            .store_pings(&self.user("ana").id, &upload, self.morning + DAY_MS)
            .unwrap();
        assert!(
            matches!(outcome, crate::storage::PingBatchOutcome::Acknowledged(ref a) if a.stored == 112)
        );
        (device, visits)
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn the_route_review_shows_the_day_as_it_happened() {
    let app = FieldApp::new();
    let (_, visits) = app.ana_day();
    let ana = app.user("ana").id;
    let (status, route) = app.get(&format!("/v1/routes/{ana}/{DAY}"), "mia").await;
    assert_eq!(status, StatusCode::OK, "{route}");
    assert_eq!(route["username"], "ana");
    assert_eq!(route["pings"], 112);
    assert_eq!(
        route["segments"].as_array().unwrap().len(),
        2,
        "the 40-minute gap"
    );
    assert_eq!(route["gaps"][0]["duration_ms"], 40 * 60_000);
    let made = route["visits"].as_array().unwrap();
    assert_eq!(made.len(), 2);
    assert_eq!(made[0]["verification"], "verified");
    // The server's verification, not the device's claim.
    assert_eq!(made[1]["verification"], "out_of_range");
    assert_eq!(made[1]["dwell_ms"], 30 * 60_000);
    assert!(made[1]["distance_from_customer_m"].as_f64().unwrap() > 1_000.0);
    let kinds: Vec<&str> = route["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"out_of_range"), "{kinds:?}");
    assert!(kinds.contains(&"planned_not_visited"), "{kinds:?}");
    assert_eq!(route["planned_order"].as_array().unwrap().len(), 3);
    assert_eq!(route["actual_order"][0], visits[0].meta.id.as_str());
    // 70 one-minute steps of ~33 m north; the stationary minutes add nothing.
    let km = route["total_distance_m"].as_f64().unwrap() / 1000.0;
    assert!((km - 2.34).abs() < 0.05, "{km}");

    // The same day in Hamburg's winter time (UTC+1) starts an hour earlier.
    let (_, shifted) = app
        .get(&format!("/v1/routes/{ana}/{DAY}?tz_offset_min=60"), "mia")
        .await;
    assert_eq!(
        shifted["day_start"].as_i64().unwrap(),
        route["day_start"].as_i64().unwrap() - 3_600_000
    );

    for (format, starts_with, content_type) in [
        ("geojson", "{", "application/geo+json"),
        ("gpx", "<?xml", "application/gpx+xml"),
        ("csv", "kind,time,lat,lon", "text/csv; charset=utf-8"),
    ] {
        let token = app.token("mia").await;
        let request = Request::get(format!("/v1/routes/{ana}/{DAY}/export?format={format}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = crate::http::app(app.state.clone())
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], content_type);
        assert!(
            response.headers()[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .contains(&format!("route-ana-{DAY}.{format}"))
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        assert!(
            String::from_utf8_lossy(&bytes).starts_with(starts_with),
            "{format}"
        );
    }

    let (status, overview) = app
        .get(&format!("/v1/team/overview?from={DAY}&to={DAY}"), "mia")
        .await;
    assert_eq!(status, StatusCode::OK, "{overview}");
    let reps = overview["reps"].as_array().unwrap();
    assert_eq!(reps.len(), 2, "ana and bo");
    let row = reps.iter().find(|r| r["username"] == "ana").unwrap();
    assert_eq!(
        (row["visits"].as_u64(), row["verified"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(row["verified_share"], 0.5);
    let overview_km = row["distance_m"].as_f64().unwrap() / 1000.0;
    assert!((overview_km - km).abs() < 1e-6, "overview and review agree");
}

#[tokio::test]
async fn routes_and_pings_are_private_to_the_rep_their_team_managers_and_admins() {
    let app = FieldApp::new();
    app.ana_day();
    let ana = app.user("ana").id;
    let bo = app.user("bo").id;
    let route = format!("/v1/routes/{ana}/{DAY}");
    let export = format!("{route}/export?format=csv");
    for (who, allowed) in [
        ("ana", true),
        ("mia", true),
        ("root", true),
        ("bo", false),
        ("sam", false),
    ] {
        for path in [&route, &export] {
            let (status, body) = app.get(path, who).await;
            if allowed {
                assert_eq!(status, StatusCode::OK, "{who} {path}");
            } else {
                assert_eq!(
                    (status, code(&body)),
                    (StatusCode::FORBIDDEN, "forbidden"),
                    "{who} {path}"
                );
            }
        }
    }
    // An unknown rep id answers like a forbidden one.
    let (status, _) = app.get(&format!("/v1/routes/nobody/{DAY}"), "mia").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let names = |value: &Value| -> Vec<String> {
        value["reps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&app.get("/v1/reps", "bo").await.1), ["bo"]);
    assert_eq!(names(&app.get("/v1/reps", "mia").await.1), ["ana", "bo"]);
    assert!(names(&app.get("/v1/reps", "sam").await.1).is_empty());
    assert_eq!(names(&app.get("/v1/reps", "root").await.1), ["ana", "bo"]);

    let overview = format!("/v1/team/overview?from={DAY}&to={DAY}");
    let (status, body) = app.get(&overview, "ana").await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, body) = app.get(&overview, "sam").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        names(&body).is_empty(),
        "another team's manager sees none of north"
    );

    // Bo's own route is empty, and his overdue list is his territory's, not another team's.
    let (status, own) = app.get(&format!("/v1/routes/{bo}/{DAY}"), "bo").await;
    assert_eq!((status, own["pings"].as_u64()), (StatusCode::OK, Some(0)));
    let (_, overdue) = app.get("/v1/coverage/overdue", "sam").await;
    assert!(overdue["customers"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_review_queries_are_bad_requests() {
    let app = FieldApp::new();
    let ana = app.user("ana").id;
    for path in [
        format!("/v1/routes/{ana}/2026-02-30"),
        format!("/v1/routes/{ana}/21-09-2026"),
        format!("/v1/routes/{ana}/today"),
        format!("/v1/routes/{ana}/{DAY}?tz_offset_min=900"),
        format!("/v1/routes/{ana}/{DAY}?tz_offset_min=abc"),
        format!("/v1/routes/{ana}/{DAY}/export?format=kml"),
        "/v1/team/overview?from=2026-09-21".to_owned(),
        "/v1/team/overview?from=2026-09-21&to=2026-09-20".to_owned(),
        "/v1/team/overview?from=2026-01-01&to=2026-12-31".to_owned(),
        "/v1/coverage/overdue?limit=0".to_owned(),
        "/v1/coverage/overdue?limit=-4".to_owned(),
    ] {
        let (status, body) = app.get(&path, "mia").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn ping_batches_refuse_bad_fixes_and_store_each_fix_once() {
    let app = FieldApp::new();
    let now = crate::model::now_ms();
    let fix = |seconds_ago: i64| Fix {
        at: now - seconds_ago * 1000,
        lat: 53.55,
        lon: 9.93 + seconds_ago as f64 * 1e-5,
        accuracy_m: 6.0,
        mock: false,
    };
    let pings = vec![
        fix(30),
        fix(90), // out of order
        fix(60),
        fix(60), // the same fix twice
        Fix {
            lat: 91.0,
            ..fix(10)
        },
        Fix {
            lon: -181.0,
            ..fix(11)
        },
        Fix {
            lat: f64::NAN,
            ..fix(12)
        },
        Fix {
            accuracy_m: -1.0,
            ..fix(13)
        },
        Fix {
            at: now + DAY_MS,
            ..fix(0)
        },
    ];
    let upload = PingUpload {
        batch_id: "b-1".into(),
        pings,
    };
    let body = protocol::encode(&upload).unwrap();
    let (status, bytes) = app.upload("ana", body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let ack: PingAck = protocol::decode(&bytes, 1 << 20).unwrap();
    assert_eq!((ack.stored, ack.duplicates, ack.refused.len()), (3, 1, 5));
    assert!(
        ack.refused.iter().any(|r| r.reason.contains("future")),
        "{:?}",
        ack.refused
    );
    // Sent again (the answer was lost): the same answer, nothing stored twice.
    let (status, again) = app.upload("ana", body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(protocol::decode::<PingAck>(&again, 1 << 20).unwrap(), ack);
    // Another batch overlapping the first stores only the new fix.
    let overlap = PingUpload {
        batch_id: "b-2".into(),
        pings: vec![fix(30), fix(20)],
    };
    let (_, bytes) = app.upload("ana", protocol::encode(&overlap).unwrap()).await;
    let ack2: PingAck = protocol::decode(&bytes, 1 << 20).unwrap();
    assert_eq!((ack2.stored, ack2.duplicates), (1, 1));
    // Someone else's batch id.
    let (status, bytes) = app.upload("bo", body).await;
    let error: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        (status, code(&error)),
        (StatusCode::CONFLICT, "batch_id_taken")
    );

    for (bad, expected) in [
        (b"not a sync body".to_vec(), "malformed_message"),
        (
            protocol::encode(&PingUpload {
                batch_id: String::new(),
                pings: vec![],
            })
            .unwrap(),
            "bad_request",
        ),
        (
            protocol::encode(&PingUpload {
                batch_id: "big".into(),
                pings: vec![fix(1); protocol::MAX_PINGS_PER_BATCH + 1],
            })
            .unwrap(),
            "limit_exceeded",
        ),
    ] {
        let (status, bytes) = app.upload("ana", bad).await;
        let error: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(status.is_client_error(), "{status}");
        assert_eq!(code(&error), expected);
    }

    let ana = app.user("ana").id;
    let today = dates::format_date(now.div_euclid(DAY_MS));
    let (_, route) = app.get(&format!("/v1/routes/{ana}/{today}"), "ana").await;
    // Four distinct fixes, unless the test straddled midnight UTC.
    let pings = route["pings"].as_u64().unwrap();
    assert!(pings == 4 || now.rem_euclid(DAY_MS) < 120_000, "{route}");
}

#[tokio::test]
async fn the_server_verifies_check_ins_and_refuses_fixes_from_the_future() {
    let app = FieldApp::new();
    let device = app.device("ana");
    let mut customer = Customer::new("No pin yet");
    customer.territory = Some("harbour".into());
    customer.visit_radius_m = 150;
    let customer = device.create(customer).unwrap();
    let mut visit = Visit::new(&customer.meta.id, app.user("ana").id);
    let now = crate::model::now_ms();
    visit.check_in = Some(GpsStamp {
        at: now - 60_000,
        lat: 53.5500,
        lon: 9.9300,
        accuracy_m: 20.0,
        fix_at: now - 65_000,
        mock: false,
    });
    visit.status = VisitStatus::InProgress;
    visit.verification = Some(Verification::NoCustomerLocation);
    let visit = device.create(visit).unwrap();
    assert!(app.push("ana", &device).is_empty());
    let verification = |app: &FieldApp| -> Option<String> {
        app.storage
            .write()
            .query_row(
                "SELECT verification FROM visit_facts WHERE visit_id = ?1",
                [&visit.meta.id],
                |row| row.get(0),
            )
            .unwrap()
    };
    assert_eq!(verification(&app).as_deref(), Some("no_customer_location"));
    // The customer gets its pin 50 m away: the visit is verified against it now.
    let mut pinned = device.get::<Customer>(&customer.meta.id).unwrap().unwrap();
    pinned.location = Some(GeoLocation {
        lat: 53.55045,
        lon: 9.9300,
        source: LocationSource::Gps,
        at: now,
    });
    device.update(pinned).unwrap();
    assert!(app.push("ana", &device).is_empty());
    assert_eq!(verification(&app).as_deref(), Some("verified"));

    // A check-in dated tomorrow is refused and stays on the device with the reason.
    let mut future = Visit::new(&customer.meta.id, app.user("ana").id);
    future.check_in = Some(GpsStamp {
        at: now + DAY_MS,
        fix_at: now + DAY_MS,
        ..visit.check_in.clone().unwrap()
    });
    future.status = VisitStatus::InProgress;
    let future = device.create(future).unwrap();
    let rejected = app.push("ana", &device);
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (rejected[0].doc_id.as_str(), rejected[0].code),
        (future.meta.id.as_str(), RejectCode::InvalidRecord)
    );
    assert!(
        rejected[0].reason.contains("future"),
        "{}",
        rejected[0].reason
    );
}

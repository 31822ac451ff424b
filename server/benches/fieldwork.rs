//! Route review and team overview, server side, on a fixed dataset.
//!
//! Run with `cargo bench -p fieldcrm-server --bench fieldwork`; `FIELDCRM_BENCH_SCALE` (default
//! 1.0) scales the number of reps (CI runs 0.02 as a smoke run). Figures are printed as
//! `bench: <name> = <value> <unit>`; nothing here asserts on timing.
//!
//! Dataset (seeded, the same on every run): 50 reps of one team, each with 40 customers in a
//! territory of their own, and a working week (Monday 2026-09-14 to Friday) of 30 visits a day,
//! checked in and out near the customer, and 2,000 location pings a day (one every 15 s along
//! the day's route from 07:30, with two silent stretches of 20 minutes). Visits go through device stores
//! and the push path, pings through the ping batch path, as in production. The database is a
//! file (WAL), like the server's.
//!
//! Measured through the HTTP router (`oneshot`: authentication, database, review, JSON):
//! - `route_review_2000_pings_30_visits_ms`: `GET /v1/routes/{rep}/{day}` for one rep-day,
//!   median of 60 requests (p95 printed as a comment);
//! - `team_overview_50_reps_week_ms`: `GET /v1/team/overview` for the manager over the week,
//!   median of 20 requests.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use fieldcrm_bench_support::{comment, emit, median, quantile, scale, scaled};
use fieldcrm_core::protocol::PingUpload;
use fieldcrm_core::route::Fix;
use fieldcrm_core::{
    Customer, DAY_MS, GeoLocation, GpsStamp, LocationSource, Millis, Store, Visit, VisitStatus,
};
use fieldcrm_server::auth::{Auth, PasswordParams, TokenSettings, hash_password};
use fieldcrm_server::metrics::Metrics;
use fieldcrm_server::model::Role;
use fieldcrm_server::scope::Principal;
use fieldcrm_server::storage::NewUser;
use fieldcrm_server::{AppState, Limits, SqliteStorage, Storage, app};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tower::ServiceExt;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const SEED: u64 = 0x0F1E_1D00_2026;
const REPS: usize = 50;
const CUSTOMERS_PER_REP: usize = 40;
const WORK_DAYS: i64 = 5;
const VISITS_PER_DAY: usize = 30;
const PINGS_PER_DAY: usize = 2_000;
const PING_EVERY_MS: Millis = 15_000;
/// Monday 2026-09-14, 00:00 UTC.
const MONDAY_MS: Millis = 1_789_344_000_000;
const MONDAY: &str = "2026-09-14";
const FRIDAY: &str = "2026-09-18";
const WEDNESDAY: &str = "2026-09-16";
const SUNDAY: &str = "2026-09-20";
const MINUTE_MS: Millis = 60_000;
const PASSWORD: &str = "bench password";

const ROUTE_REQUESTS: usize = 60;
const OVERVIEW_REQUESTS: usize = 20;

fn offset(lat: f64, lon: f64, north_m: f64, east_m: f64) -> (f64, f64) {
    (
        lat + north_m / 111_320.0,
        lon + east_m / (111_320.0 * lat.to_radians().cos()),
    )
}

/// One rep's customers and week, written in a device store and pushed.
fn seed_rep(
    storage: &SqliteStorage,
    principal: &Principal,
    rng: &mut SmallRng,
    territory: &str,
) -> BenchResult<usize> {
    let device = Store::open(":memory:")?;
    device.set_user(&principal.user_id)?;
    storage.register_device(&principal.user_id, &device.actor_id())?;
    let centre = (
        rng.random_range(52.40..52.60),
        rng.random_range(13.20..13.60),
    );
    let mut customers = Vec::with_capacity(CUSTOMERS_PER_REP);
    for i in 0..CUSTOMERS_PER_REP {
        let (lat, lon) = offset(
            centre.0,
            centre.1,
            rng.random_range(-4_000.0..4_000.0),
            rng.random_range(-4_000.0..4_000.0),
        );
        let mut customer = Customer::new(format!("Customer {territory}-{i}"));
        customer.territory = Some(territory.to_owned());
        customer.visit_radius_m = 150;
        customer.visit_cadence_days = Some(14);
        customer.location = Some(GeoLocation {
            lat,
            lon,
            source: LocationSource::Geocoded,
            at: MONDAY_MS - 30 * DAY_MS,
        });
        customers.push(device.create(customer)?);
    }
    push_all(storage, principal, &device)?;

    let mut pings_stored = 0;
    for day in 0..WORK_DAYS {
        let start = MONDAY_MS + day * DAY_MS + 7 * 60 * MINUTE_MS + 30 * MINUTE_MS;
        // The day's stops, each 16 minutes apart: 10 on site, 6 driving.
        let mut stops = Vec::with_capacity(VISITS_PER_DAY);
        for v in 0..VISITS_PER_DAY {
            let customer = &customers[rng.random_range(0..customers.len())];
            let Some(place) = &customer.location else {
                continue;
            };
            let at = start + 20 * MINUTE_MS + v as i64 * 16 * MINUTE_MS;
            let (lat, lon) = offset(
                place.lat,
                place.lon,
                rng.random_range(-80.0..80.0),
                rng.random_range(-80.0..80.0),
            );
            let stamp = GpsStamp {
                at,
                lat,
                lon,
                accuracy_m: rng.random_range(5.0..30.0_f64).round(),
                fix_at: at - rng.random_range(0..20_000),
                mock: false,
            };
            let mut visit = Visit::new(&customer.meta.id, &principal.user_id);
            // Planned order differs from the actual one now and then.
            visit.planned_start = Some(at + rng.random_range(-1..=1) * 16 * MINUTE_MS);
            visit.verification = Some(customer.verify_check_in(&stamp));
            visit.check_out = Some(GpsStamp {
                at: at + 10 * MINUTE_MS,
                fix_at: at + 10 * MINUTE_MS - 2_000,
                ..stamp.clone()
            });
            visit.check_in = Some(stamp);
            visit.status = VisitStatus::Done;
            visit.outcome = Some("Order placed".into());
            device.create(visit)?;
            stops.push((lat, lon, at));
        }
        // Pings along the stops, with two silent stretches of 20 minutes.
        let mut pings = Vec::with_capacity(PINGS_PER_DAY);
        for p in 0.. {
            if pings.len() == PINGS_PER_DAY {
                break;
            }
            let at = start + p * PING_EVERY_MS;
            let silent = |from_min: i64| {
                let m = (at - start) / MINUTE_MS;
                m >= from_min && m < from_min + 20
            };
            if silent(150) || silent(330) {
                continue;
            }
            let leg = stops
                .iter()
                .position(|s| s.2 > at)
                .unwrap_or(stops.len().saturating_sub(1));
            let to = stops.get(leg).copied().unwrap_or((centre.0, centre.1, at));
            let from = leg
                .checked_sub(1)
                .and_then(|i| stops.get(i))
                .copied()
                .unwrap_or((centre.0, centre.1, start));
            let f = ((at - from.2) as f64 / (to.2 - from.2).max(1) as f64).clamp(0.0, 1.0);
            let (lat, lon) = offset(
                from.0 + (to.0 - from.0) * f,
                from.1 + (to.1 - from.1) * f,
                rng.random_range(-8.0..8.0),
                rng.random_range(-8.0..8.0),
            );
            pings.push(Fix {
                at,
                lat,
                lon,
                accuracy_m: rng.random_range(4.0..20.0_f64).round(),
                mock: false,
            });
        }
        for (index, batch) in pings.chunks(1_000).enumerate() {
            let upload = PingUpload {
                batch_id: format!("{}-{day}-{index}", principal.user_id),
                pings: batch.to_vec(),
            };
            storage.store_pings(&principal.user_id, &upload, MONDAY_MS + 30 * DAY_MS)?;
            pings_stored += batch.len();
        }
    }
    push_all(storage, principal, &device)?;
    Ok(pings_stored)
}

fn push_all(storage: &SqliteStorage, principal: &Principal, device: &Store) -> BenchResult<()> {
    while let Some((request, _)) = device.push_request(2_000)? {
        let (response, _) = storage.push_changes(principal, request)?;
        if let Some(rejection) = response.rejected.first() {
            return Err(format!("push rejected: {}", rejection.reason).into());
        }
        device.acknowledge(&response.acknowledged)?;
    }
    Ok(())
}

async fn get(state: &AppState, path: &str, token: &str) -> BenchResult<(Duration, Value)> {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())?;
    let started = Instant::now();
    let response = app(state.clone()).oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 26).await?;
    let elapsed = started.elapsed();
    if status != StatusCode::OK {
        return Err(format!("{path}: {status} {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok((elapsed, serde_json::from_slice(&bytes)?))
}

async fn login(state: &AppState, username: &str) -> BenchResult<String> {
    let body = serde_json::json!({"username": username, "password": PASSWORD}).to_string();
    let request = Request::post("/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))?;
    let response = app(state.clone()).oneshot(request).await?;
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    let value: Value = serde_json::from_slice(&bytes)?;
    value["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("login failed: {value}").into())
}

fn main() -> BenchResult<()> {
    let scale = scale();
    let reps = scaled(REPS, scale).max(2);
    let dir = tempfile::tempdir()?;
    let storage = Arc::new(SqliteStorage::open(&dir.path().join("server.sqlite"))?);
    let params = PasswordParams::fast_for_tests();
    let hash = hash_password(&params, PASSWORD)?;
    let team = storage.create_team("field")?;
    let mut rng = SmallRng::seed_from_u64(SEED);
    let seeding = Instant::now();
    let mut pings = 0;
    let mut rep_ids = Vec::with_capacity(reps);
    for r in 0..reps {
        let territory = storage.create_territory(&format!("t{r:02}"), &team.id)?;
        let user = storage.create_user(NewUser {
            username: &format!("rep{r:02}"),
            password_hash: Some(&hash),
            role: Role::Rep,
            team_id: Some(&team.id),
        })?;
        storage.assign_user_territory(&user.id, &territory.id)?;
        let principal = storage.principal(&user)?;
        pings += seed_rep(&storage, &principal, &mut rng, &territory.name)?;
        rep_ids.push(user.id);
    }
    storage.create_user(NewUser {
        username: "manager",
        password_hash: Some(&hash),
        role: Role::Manager,
        team_id: Some(&team.id),
    })?;
    comment(&format!(
        "dataset: {reps} reps, {} visits, {pings} pings, seeded in {:.1} s",
        reps * WORK_DAYS as usize * VISITS_PER_DAY,
        seeding.elapsed().as_secs_f64()
    ));

    let auth = Auth::new(
        storage.clone(),
        TokenSettings {
            issuer: "fieldcrm".into(),
            audience: "fieldcrm-sync".into(),
            ttl_secs: 3_600,
        },
        None,
        params,
    )?;
    let state = AppState {
        storage: storage.clone(),
        auth: Arc::new(auth),
        metrics: Metrics::new()?,
        limits: Limits {
            max_body_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            oldest_protocol_version: fieldcrm_core::protocol::OLDEST_PROTOCOL_VERSION,
        },
        rate_limits: Arc::new(fieldcrm_server::rate_limit::RateLimiter::new(
            Default::default(),
        )),
        basemap: Default::default(),
        webhooks: Default::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let token = login(&state, "manager").await?;
        let route = format!("/v1/routes/{}/{WEDNESDAY}", rep_ids[0]);
        let (_, day) = get(&state, &route, &token).await?;
        let (pings, visits) = (
            day["pings"].as_u64().unwrap_or(0),
            day["visits"].as_array().map_or(0, Vec::len),
        );
        comment(&format!(
            "route review: {pings} pings, {visits} visits, {} segments, {} flags, {:.1} km",
            day["segments"].as_array().map_or(0, Vec::len),
            day["flags"].as_array().map_or(0, Vec::len),
            day["total_distance_m"].as_f64().unwrap_or(0.0) / 1000.0
        ));
        if visits != VISITS_PER_DAY || pings != PINGS_PER_DAY as u64 {
            return Err::<(), Box<dyn Error + Send + Sync>>(
                "the rep-day is not the dataset's".into(),
            );
        }
        let mut samples = Vec::with_capacity(ROUTE_REQUESTS);
        for _ in 0..ROUTE_REQUESTS {
            samples.push(get(&state, &route, &token).await?.0);
        }
        emit(
            "route_review_2000_pings_30_visits_ms",
            median(&mut samples),
            "ms",
        );
        comment(&format!(
            "route review p95 {:.3} ms",
            quantile(&mut samples, 0.95)
        ));

        let overview = format!("/v1/team/overview?from={MONDAY}&to={SUNDAY}");
        let (_, week) = get(&state, &overview, &token).await?;
        let rows = week["reps"].as_array().map_or(0, Vec::len);
        let km: f64 = week["reps"].as_array().map_or(0.0, |r| {
            r.iter().filter_map(|r| r["distance_m"].as_f64()).sum()
        }) / 1000.0;
        comment(&format!(
            "team overview: {rows} reps, {km:.0} km in all ({MONDAY} to {FRIDAY} worked)"
        ));
        if rows != reps {
            return Err("the overview does not list every rep".into());
        }
        let mut samples = Vec::with_capacity(OVERVIEW_REQUESTS);
        for _ in 0..OVERVIEW_REQUESTS {
            samples.push(get(&state, &overview, &token).await?.0);
        }
        // The figure keeps its name in smoke runs (fewer reps); the comment above says how many.
        emit("team_overview_50_reps_week_ms", median(&mut samples), "ms");
        Ok(())
    })?;
    Ok(())
}

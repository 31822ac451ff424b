//! The sales reports, server side, on a fixed dataset: a manager's pipeline, forecast and
//! funnel, and revenue by rep for a quarter.
//!
//! Run with `cargo bench -p fieldcrm-server --bench sales`; `FIELDCRM_BENCH_SCALE` (default
//! 1.0) scales the opportunities and orders (CI runs 0.02 as a smoke run); the reps, teams and
//! catalog stay. Figures are printed as `bench: <name> = <value> <unit>`; nothing here asserts
//! on timing.
//!
//! Dataset (seeded, the same on every run): 50 reps in 5 teams of 10, each team with its
//! manager, each rep with a territory of their own and 200 customers; 200,000 opportunities
//! with stage histories (created over the year before 2026-10-15, each stage held 1 to 30 days;
//! a third still open, the rest won or lost, half of them in euros' thousands), and 500,000
//! orders of 4 lines each (2,000,000 lines over 20,000 product ids) ordered over that year,
//! most submitted, confirmed or delivered, a tenth drafts and a tenth cancelled, 9 in 10 in EUR.
//! The records are built in memory and written by the server's own sales projection
//! (`SqliteStorage::project_sales_records`, the function a push runs for each accepted
//! document), so the tables hold what the server would have written; no document is stored
//! (the product ids name no product document, so every line reads as an unknown product, which
//! the reports measured here do not read). The database is a file (WAL), like the server's.
//!
//! Measured through the HTTP router (`oneshot`: authentication, database, report, JSON), as
//! the first team's manager:
//! - `pipeline_forecast_manager_ms`: `GET /v1/pipeline`, `/v1/pipeline/forecast?from=2026-10&months=6`
//!   and `/v1/pipeline/funnel?period=2026`, summed per iteration, median of 20;
//! - `revenue_by_rep_quarter_ms`: `GET /v1/revenue?period=2026-Q3&by=rep`, median of 20.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use fieldcrm_bench_support::{comment, emit, median, quantile, scale, scaled};
use fieldcrm_core::{
    AnyRecord, DAY_MS, Millis, Money, Opportunity, Order, OrderLine, OrderStatus, RecordMeta,
    Stage, StageChange,
};
use fieldcrm_server::auth::{Auth, PasswordParams, TokenSettings, hash_password};
use fieldcrm_server::metrics::Metrics;
use fieldcrm_server::model::Role;
use fieldcrm_server::scope::Scope;
use fieldcrm_server::storage::NewUser;
use fieldcrm_server::{AppState, Limits, SqliteStorage, Storage, app};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tower::ServiceExt;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const SEED: u64 = 0x5A1E_5000_2026;
const TEAMS: usize = 5;
const REPS_PER_TEAM: usize = 10;
const CUSTOMERS_PER_REP: usize = 200;
const OPPORTUNITIES: usize = 200_000;
const ORDERS: usize = 500_000;
const LINES_PER_ORDER: usize = 4;
const PRODUCTS: usize = 20_000;
/// 2026-10-15, 00:00 UTC: the dataset's "now".
const NOW_MS: Millis = 1_792_022_400_000;
/// Records projected per transaction.
const BATCH: usize = 5_000;
const PASSWORD: &str = "bench password";
const REQUESTS: usize = 20;

struct Rep {
    id: String,
    scope: Scope,
}

fn id(kind: u32, n: usize) -> String {
    format!("{kind:08x}-0000-7000-8000-{n:012x}")
}

fn meta(kind: u32, n: usize, created_at: Millis, by: &str) -> RecordMeta {
    RecordMeta {
        id: id(kind, n),
        created_at,
        created_by: by.to_owned(),
        updated_at: created_at,
        deleted: false,
    }
}

fn currency(rng: &mut SmallRng) -> &'static str {
    if rng.random_range(0..10) == 0 {
        "USD"
    } else {
        "EUR"
    }
}

/// A deal with its stage history: up the funnel 1 to 4 stages, then open, won or lost.
fn opportunity(rng: &mut SmallRng, n: usize, rep: &Rep) -> Opportunity {
    const FUNNEL: [Stage; 4] = [
        Stage::Lead,
        Stage::Qualified,
        Stage::Proposal,
        Stage::Negotiation,
    ];
    let created = NOW_MS - rng.random_range(0..365 * DAY_MS);
    let customer = rng.random_range(0..CUSTOMERS_PER_REP);
    let mut deal = Opportunity::new(
        id(2, customer),
        format!("Deal {n}"),
        Money {
            minor: rng.random_range(10..5_000) * 10_000,
            currency: currency(rng).into(),
        },
    );
    deal.meta = meta(3, n, created, &rep.id);
    deal.owner = Some(rep.id.clone());
    let mut at = created;
    let depth = rng.random_range(1..=FUNNEL.len());
    for stage in &FUNNEL[..depth] {
        deal.stage_history.push(StageChange {
            stage: stage.clone(),
            at,
            by: rep.id.clone(),
        });
        deal.stage = stage.clone();
        at = (at + rng.random_range(1..=30) * DAY_MS).min(NOW_MS);
    }
    match rng.random_range(0..3) {
        0 => {
            deal.expected_close_at = Some(NOW_MS + rng.random_range(0..180) * DAY_MS);
            deal.probability = (rng.random_range(0..2) == 0).then(|| rng.random_range(5..95));
        }
        outcome => {
            let stage = if outcome == 1 {
                Stage::Won
            } else {
                Stage::Lost
            };
            if stage == Stage::Lost {
                deal.lost_reason = Some("price".into());
            }
            deal.stage_history.push(StageChange {
                stage: stage.clone(),
                at,
                by: rep.id.clone(),
            });
            deal.stage = stage;
            deal.expected_close_at = Some(at);
        }
    }
    deal.meta.updated_at = at;
    deal
}

/// An order of four lines of the catalog's products.
fn order(rng: &mut SmallRng, n: usize, rep: &Rep) -> Order {
    let ordered_at = NOW_MS - rng.random_range(0..365 * DAY_MS);
    let customer = rng.random_range(0..CUSTOMERS_PER_REP);
    let mut order = Order::new(id(2, customer), rep.id.clone(), currency(rng));
    order.meta = meta(4, n, ordered_at, &rep.id);
    order.ordered_at = ordered_at;
    order.status = match rng.random_range(0..10) {
        0 => OrderStatus::Draft,
        1 => OrderStatus::Cancelled,
        2..=4 => OrderStatus::Submitted,
        5..=6 => OrderStatus::Confirmed,
        _ => OrderStatus::Delivered,
    };
    for line in 0..LINES_PER_ORDER {
        let product = rng.random_range(0..PRODUCTS);
        order.lines.push(OrderLine {
            id: id(5, n * LINES_PER_ORDER + line),
            product_id: id(6, product),
            sku: format!("SKU-{product:05}"),
            name: format!("Product {product}"),
            quantity: rng.random_range(1..50),
            unit_price_minor: 100 + (product as i64 % 500) * 37,
            tax_rate_bp: if product.is_multiple_of(3) {
                700
            } else {
                1_900
            },
            discount_bp: [0, 0, 500, 1_000][rng.random_range(0..4)],
        });
    }
    order
}

/// Builds `count` records with `make` and projects them a batch at a time.
fn project(
    storage: &SqliteStorage,
    rng: &mut SmallRng,
    reps: &[Rep],
    count: usize,
    make: fn(&mut SmallRng, usize, &Rep) -> AnyRecord,
) -> BenchResult<()> {
    let mut batch = Vec::with_capacity(BATCH);
    for n in 0..count {
        let rep = &reps[rng.random_range(0..reps.len())];
        batch.push((make(rng, n, rep), rep.scope.clone()));
        if batch.len() == BATCH || n + 1 == count {
            storage.project_sales_records(&batch, NOW_MS)?;
            batch.clear();
        }
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
    let (opportunities, orders) = (scaled(OPPORTUNITIES, scale), scaled(ORDERS, scale));
    let dir = tempfile::tempdir()?;
    let storage = Arc::new(SqliteStorage::open(&dir.path().join("server.sqlite"))?);
    let params = PasswordParams::fast_for_tests();
    let hash = hash_password(&params, PASSWORD)?;
    let mut reps = Vec::with_capacity(TEAMS * REPS_PER_TEAM);
    for t in 0..TEAMS {
        let team = storage.create_team(&format!("team{t}"))?;
        storage.create_user(NewUser {
            username: &format!("manager{t}"),
            password_hash: Some(&hash),
            role: Role::Manager,
            team_id: Some(&team.id),
        })?;
        for r in 0..REPS_PER_TEAM {
            let territory = storage.create_territory(&format!("t{t}-{r}"), &team.id)?;
            let user = storage.create_user(NewUser {
                username: &format!("rep{t}-{r}"),
                password_hash: Some(&hash),
                role: Role::Rep,
                team_id: Some(&team.id),
            })?;
            storage.assign_user_territory(&user.id, &territory.id)?;
            reps.push(Rep {
                id: user.id,
                scope: Scope {
                    territory_id: Some(territory.id),
                    owner_id: None,
                    team_id: Some(team.id.clone()),
                    org_wide: false,
                },
            });
        }
    }
    let mut rng = SmallRng::seed_from_u64(SEED);
    let seeding = Instant::now();
    project(&storage, &mut rng, &reps, opportunities, |rng, n, rep| {
        AnyRecord::Opportunity(opportunity(rng, n, rep))
    })?;
    project(&storage, &mut rng, &reps, orders, |rng, n, rep| {
        AnyRecord::Order(order(rng, n, rep))
    })?;
    comment(&format!(
        "dataset: {} reps in {TEAMS} teams, {opportunities} opportunities, {orders} orders, {} lines, projected in {:.1} s",
        reps.len(),
        orders * LINES_PER_ORDER,
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
        let token = login(&state, "manager0").await?;
        let reports = [
            "/v1/pipeline",
            "/v1/pipeline/forecast?from=2026-10&months=6",
            "/v1/pipeline/funnel?period=2026",
        ];
        let (_, pipeline) = get(&state, reports[0], &token).await?;
        let (_, funnel) = get(&state, reports[2], &token).await?;
        comment(&format!(
            "manager0: {} open-deal groups, {} deals in the 2026 funnel",
            pipeline["stages"].as_array().map_or(0, Vec::len),
            funnel["deals"].as_u64().unwrap_or(0)
        ));
        if pipeline["reps"].as_array().map_or(0, Vec::len) != REPS_PER_TEAM {
            return Err::<(), Box<dyn Error + Send + Sync>>(
                "the pipeline does not show the manager's team".into(),
            );
        }
        let mut samples = Vec::with_capacity(REQUESTS);
        let mut each: Vec<Vec<Duration>> = vec![Vec::with_capacity(REQUESTS); reports.len()];
        for _ in 0..REQUESTS {
            let mut sum = Duration::ZERO;
            for (path, times) in reports.iter().zip(each.iter_mut()) {
                let took = get(&state, path, &token).await?.0;
                times.push(took);
                sum += took;
            }
            samples.push(sum);
        }
        emit("pipeline_forecast_manager_ms", median(&mut samples), "ms");
        comment(&format!(
            "pipeline + forecast + funnel p95 {:.3} ms",
            quantile(&mut samples, 0.95)
        ));
        for (path, times) in reports.iter().zip(each.iter_mut()) {
            comment(&format!("{path}: median {:.3} ms", median(times)));
        }

        let revenue = "/v1/revenue?period=2026-Q3&by=rep";
        let (_, report) = get(&state, revenue, &token).await?;
        let counted: u64 = report["totals"]
            .as_array()
            .map_or(0, |t| t.iter().filter_map(|t| t["orders"].as_u64()).sum());
        comment(&format!(
            "revenue 2026-Q3 for manager0: {counted} orders, {} rep-currency groups",
            report["groups"].as_array().map_or(0, Vec::len)
        ));
        if counted == 0 {
            return Err("no revenue in the quarter".into());
        }
        let mut samples = Vec::with_capacity(REQUESTS);
        for _ in 0..REQUESTS {
            samples.push(get(&state, revenue, &token).await?.0);
        }
        emit("revenue_by_rep_quarter_ms", median(&mut samples), "ms");
        comment(&format!(
            "revenue by rep p95 {:.3} ms",
            quantile(&mut samples, 0.95)
        ));
        Ok(())
    })?;
    Ok(())
}

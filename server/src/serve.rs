//! `fieldcrm-server serve`: build the state, listen, stop cleanly on SIGINT/SIGTERM.

use std::sync::Arc;

use crate::auth::{Auth, AuthError, ExternalIdp, PasswordParams, TokenSettings};
use crate::config::ServeArgs;
use crate::demo::{self, DemoError, DemoOutcome};
use crate::http::{AppState, Limits, app};
use crate::metrics::{Metrics, MetricsError};
use crate::rate_limit::RateLimiter;
use crate::storage::Storage;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read the identity provider key {path}: {source}")]
    IdpKeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot seed the demo organisation: {0}")]
    Demo(#[from] DemoError),
    #[error("the demo seeding task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("cannot move the visits' order lines to orders: {0}")]
    DataMigration(crate::storage::StorageError),
}

/// Builds the application state from the command line.
pub fn state(args: &ServeArgs, storage: Arc<dyn Storage>) -> Result<AppState, ServeError> {
    let idp = match (&args.idp_public_key, &args.idp_issuer) {
        (Some(path), Some(issuer)) => {
            let pem = std::fs::read(path).map_err(|source| ServeError::IdpKeyFile {
                path: path.display().to_string(),
                source,
            })?;
            let audience = args.idp_audience.as_deref().unwrap_or(&args.audience);
            Some(ExternalIdp::from_pem(&pem, issuer, audience)?)
        }
        _ => None,
    };
    let settings = TokenSettings {
        issuer: args.issuer.clone(),
        audience: args.audience.clone(),
        ttl_secs: args.token_ttl_secs,
    };
    let auth = Auth::new(storage.clone(), settings, idp, PasswordParams::default())?
        .with_max_devices_per_user(usize::from(args.max_devices_per_user));
    Ok(AppState {
        storage,
        auth: Arc::new(auth),
        metrics: Metrics::new()?.with_scrape_token(args.metrics_token.as_deref()),
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_decompressed_bytes: args.max_decompressed_bytes,
            oldest_protocol_version: args.oldest_protocol_version,
        },
        rate_limits: Arc::new(RateLimiter::new(args.rate_limits())),
        basemap: Arc::new(args.basemap()),
        webhooks: Default::default(),
    })
}

/// Serves until SIGINT or SIGTERM, then finishes the requests in flight and returns.
///
/// With `--demo`, a new database is seeded with the demo organisation after the socket is bound
/// and before the "listening" line, so a client that waits for that line finds the data; how to
/// log in is printed after it.
pub async fn run(args: ServeArgs, storage: Arc<dyn Storage>) -> Result<(), ServeError> {
    let state = state(&args, storage.clone())?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: args.listen,
            source,
        })?;
    let local = listener.local_addr()?;
    state.webhooks.set_own_address(local);
    let demo = if args.demo {
        Some(seed_demo(storage.clone()).await?)
    } else {
        None
    };
    // After the demo's seeding, so the demo's visit order lines become orders too.
    migrate_visit_order_lines(storage.clone(), args.default_currency.clone()).await?;
    if matches!(demo, Some(DemoOutcome::Seeded(_))) {
        first_demo_analytics(storage.clone(), &args).await;
    }
    // The webhooks' deliveries (see webhooks/delivery.rs): a task of its own, never in a push's way.
    tokio::spawn(crate::webhooks::delivery::run(
        storage.clone(),
        state.webhooks.clone(),
        args.delivery_policy(),
        state.metrics.clone(),
    ));
    if let (Some(every), Some(admin)) = (args.escalate_every, args.escalate_as.clone()) {
        tracing::info!(every, %admin, "case escalation scheduled");
        tokio::spawn(crate::cases::escalation::run_on_schedule(
            storage.clone(),
            admin,
            every,
        ));
    }
    if let Some(schedule) = args.analytics_schedule() {
        tracing::info!(?schedule, "analytics runs scheduled");
        tokio::spawn(crate::insights::schedule::run_on_schedule(
            storage,
            schedule,
            args.analytics.clone(),
            args.grade.clone(),
        ));
    }
    // On stdout, first line, so scripts and tests can find the port when `--listen` used port 0.
    println!("fieldcrm-server listening on http://{local}");
    tracing::info!(addr = %local, "listening");
    match demo {
        Some(DemoOutcome::NotEmpty) => {
            eprintln!(
                "warning: --demo: the database already holds other data, so no demo organisation \
                 was added (use a new --db file for the demo)"
            );
        }
        Some(_) => println!("{}", demo::login_hint(&format!("http://{local}"))),
        None => {}
    }
    serve_on(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Serves `state` on an already bound listener until `shutdown` completes, then finishes the
/// requests in flight. Tests and embedders use it to run the server in-process.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Seeds the demo organisation on the blocking pool (argon2 and SQLite are blocking).
/// The one-time data migration of the visits' free-text order lines to orders (a no-op once
/// it ran), before anything is served.
async fn migrate_visit_order_lines(
    storage: Arc<dyn Storage>,
    currency: String,
) -> Result<(), ServeError> {
    let migrated =
        tokio::task::spawn_blocking(move || storage.migrate_visit_order_lines(&currency))
            .await?
            .map_err(ServeError::DataMigration)?;
    if let Some(done) = migrated {
        tracing::info!(
            orders = done.orders,
            skipped = done.skipped,
            "visit order lines moved to orders"
        );
    }
    Ok(())
}

async fn seed_demo(storage: Arc<dyn Storage>) -> Result<DemoOutcome, ServeError> {
    let outcome = tokio::task::spawn_blocking(move || {
        demo::ensure_demo(
            storage.as_ref(),
            &PasswordParams::default(),
            crate::model::now_ms(),
        )
    })
    .await??;
    match &outcome {
        DemoOutcome::Seeded(summary) => tracing::info!(
            customers = summary.customers,
            visits = summary.visits,
            opportunities = summary.opportunities,
            products = summary.products,
            orders = summary.orders,
            changes = summary.changes,
            "demo organisation seeded"
        ),
        DemoOutcome::AlreadySeeded => tracing::info!("demo organisation present"),
        DemoOutcome::NotEmpty => tracing::warn!("database not empty: demo data not seeded"),
    }
    Ok(outcome)
}

/// Runs the analytics once over a newly seeded demo, so its customer analytics, campaigns and
/// offers have results from the first start. A failure is logged: the demo serves without.
async fn first_demo_analytics(storage: Arc<dyn Storage>, args: &crate::config::ServeArgs) {
    let (params, grade) = (args.analytics.clone(), args.grade.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        crate::insights::run_configured(storage.as_ref(), &params, &grade, crate::model::now_ms())
    })
    .await;
    match outcome {
        Ok(Ok((done, _))) => tracing::info!(
            run_id = done.run_id,
            elapsed_ms = done.elapsed_ms,
            "demo analytics computed"
        ),
        Ok(Err(error)) => tracing::warn!(%error, "demo analytics run failed"),
        Err(error) => tracing::warn!(%error, "demo analytics run panicked"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Cli, Command};
    use crate::storage::SqliteStorage;
    use clap::Parser;

    fn args(extra: &[&str]) -> ServeArgs {
        let mut argv = vec!["fieldcrm-server", "serve"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Serve(args) => args,
            other => panic!("not serve: {other:?}"),
        }
    }

    fn storage() -> Arc<dyn Storage> {
        Arc::new(SqliteStorage::open_in_memory().unwrap())
    }

    #[test]
    fn builds_state_with_an_identity_provider() {
        let key = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/idp-ec-public.pem"
        );
        let state = state(
            &args(&[
                "--idp-public-key",
                key,
                "--idp-issuer",
                "https://idp.example",
                "--max-body-bytes",
                "1000",
            ]),
            storage(),
        )
        .unwrap();
        assert_eq!(state.limits.max_body_bytes, 1000);
        // The first signing key was created.
        assert_eq!(state.storage.signing_keys().unwrap().len(), 1);
    }

    #[test]
    fn a_missing_or_bad_idp_key_stops_startup() {
        let missing = state(
            &args(&["--idp-public-key", "/no/such/key.pem", "--idp-issuer", "x"]),
            storage(),
        );
        assert!(matches!(missing, Err(ServeError::IdpKeyFile { .. })));
        let not_a_key = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/README.md");
        let bad = state(
            &args(&["--idp-public-key", not_a_key, "--idp-issuer", "x"]),
            storage(),
        );
        assert!(matches!(bad, Err(ServeError::Auth(AuthError::IdpKey(_)))));
    }
}

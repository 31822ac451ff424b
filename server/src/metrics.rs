//! Prometheus metrics, served as text at `GET /metrics`.
//!
//! Requests are counted by route template (never the raw path, so label values stay bounded)
//! and status.
//!
//! `fieldcrm_connected_devices` counts the authenticated sessions (every device logs in and
//! holds its own; the key is the session id, never the raw header, so variants of one token
//! count once) that pushed, pulled or uploaded pings in the last five minutes. A device that
//! logs in again counts twice for at most that long.
//!
//! Reading `/metrics` needs an admin's token or the scrape token (`--metrics-token`).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_seconds: HistogramVec,
    /// Automerge changes committed to the change log by pushes.
    pub changes_merged: IntCounter,
    /// Push handling time, from body received to acknowledgement.
    pub push_seconds: Histogram,
    /// Devices that synced in the last [`CONNECTED_WINDOW`].
    pub connected_devices: IntGauge,
    /// Webhook delivery attempts by outcome: `delivered`, `failed` (tried again later),
    /// `parked` (the last attempt failed).
    pub webhook_deliveries: IntCounterVec,
    recent_sessions: Arc<Mutex<RecentSessions>>,
    /// A static bearer token a Prometheus scraper may present instead of an admin's token.
    scrape_token: Option<Arc<str>>,
}

/// How recently a device must have synced to count as connected.
pub const CONNECTED_WINDOW: Duration = Duration::from_secs(300);

#[derive(Default)]
struct RecentSessions {
    /// Hash of the credential → when it last synced. Only the hash is kept.
    last_seen: HashMap<u64, Instant>,
    pruned_at: Option<Instant>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "fieldcrm_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )?;
        let http_seconds = HistogramVec::new(
            HistogramOpts::new("fieldcrm_http_request_seconds", "HTTP request duration"),
            &["method", "route"],
        )?;
        let changes_merged = IntCounter::new(
            "fieldcrm_changes_merged_total",
            "Automerge changes committed by pushes",
        )?;
        let push_seconds = Histogram::with_opts(
            HistogramOpts::new("fieldcrm_push_seconds", "Push handling time").buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )?;
        let connected_devices =
            IntGauge::new("fieldcrm_connected_devices", "Devices that synced recently")?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_seconds.clone()))?;
        registry.register(Box::new(changes_merged.clone()))?;
        registry.register(Box::new(push_seconds.clone()))?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "fieldcrm_webhook_deliveries_total",
                "Webhook delivery attempts by outcome (delivered, failed, parked)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(connected_devices.clone()))?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_seconds,
            changes_merged,
            push_seconds,
            connected_devices,
            webhook_deliveries,
            recent_sessions: Arc::default(),
            scrape_token: None,
        })
    }

    /// Also lets `token` read `/metrics` (empty: nobody but admins).
    pub fn with_scrape_token(mut self, token: Option<&str>) -> Self {
        self.scrape_token = token.filter(|t| !t.is_empty()).map(Arc::from);
        self
    }

    /// Whether `token` is the scrape token (compared in time independent of where it differs).
    pub fn is_scrape_token(&self, token: &str) -> bool {
        let Some(expected) = &self.scrape_token else {
            return false;
        };
        let (a, b) = (expected.as_bytes(), token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Notes that the session `session_key` (the authenticated session, see
    /// `Caller::connection_key`) synced now, and updates `fieldcrm_connected_devices` (expired
    /// sessions are dropped at most once a second).
    pub fn saw_session(&self, credential: &[u8]) {
        self.saw_session_at(credential, Instant::now());
    }

    fn saw_session_at(&self, credential: &[u8], now: Instant) {
        let mut hasher = DefaultHasher::new();
        credential.hash(&mut hasher);
        let key = hasher.finish();
        // Nothing here can be left half-updated by a panic: keep counting after one.
        let mut sessions = self
            .recent_sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        sessions.last_seen.insert(key, now);
        let due = sessions
            .pruned_at
            .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1));
        if due {
            sessions
                .last_seen
                .retain(|_, seen| now.saturating_duration_since(*seen) < CONNECTED_WINDOW);
            sessions.pruned_at = Some(now);
        }
        self.connected_devices
            .set(i64::try_from(sessions.last_seen.len()).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Result<String, MetricsError> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_devices_counts_distinct_recent_sessions() {
        let metrics = Metrics::new().unwrap();
        let start = Instant::now();
        metrics.saw_session_at(b"token-a", start);
        metrics.saw_session_at(b"token-a", start + Duration::from_secs(2));
        metrics.saw_session_at(b"token-b", start + Duration::from_secs(3));
        assert_eq!(metrics.connected_devices.get(), 2);
        // Five minutes after a's last sync, only b (seen since) still counts.
        let later = start + CONNECTED_WINDOW + Duration::from_secs(2);
        metrics.saw_session_at(b"token-b", later);
        assert_eq!(metrics.connected_devices.get(), 1);
    }
}

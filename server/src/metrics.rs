//! Prometheus metrics, served as text at `GET /metrics`.
//!
//! Requests are counted by route template (never the raw path, so label values stay bounded)
//! and status. The sync counters are registered now so that dashboards and alerts can be
//! written before push/pull record into them.

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
    /// Devices that synced recently (maintained by the sync handlers).
    pub connected_devices: IntGauge,
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
        registry.register(Box::new(connected_devices.clone()))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_seconds,
            changes_merged,
            push_seconds,
            connected_devices,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Result<String, MetricsError> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }
}

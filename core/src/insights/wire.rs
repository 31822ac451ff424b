//! The device's analytics snapshot on the wire (`GET /v1/analytics/device`, docs/PROTOCOL.md):
//! one page of the current run's per-customer results, and on the first page the
//! organisation's cross-sell rules. Written by the server, read by [`crate::SyncSession`];
//! a protocol message like the sync ones (framed, maybe compressed, postcard), with every
//! sequence bounded while it is read.

use serde::{Deserialize, Serialize};

use crate::model::Millis;
use crate::protocol::bounded_seq;

/// Customers one page carries at most.
pub const MAX_INSIGHTS_PAGE: usize = 1_000;
/// Cross-sell rules a device is sent at most (the best of the run's).
pub const MAX_DEVICE_RULES: usize = 5_000;
/// Products in one rule's antecedent at most.
pub const MAX_RULE_PRODUCTS: usize = 16;
/// Offers in one customer's next-best list at most.
pub const MAX_NEXT_BEST: usize = 50;
/// Distinct products one customer's bought list holds at most (the catalog's size in the
/// benchmark's dataset).
pub const MAX_BOUGHT: usize = 20_000;

/// The run a snapshot belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightsRun {
    pub run_id: i64,
    /// The run used orders up to this time; local orders changed since count on the device.
    pub as_of: Millis,
    pub currency: String,
}

/// A rule `antecedent → consequent` as sent to devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRule {
    #[serde(deserialize_with = "rule_products")]
    pub antecedent: Vec<String>,
    pub consequent: String,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// One offer of the run's next-best list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireOffer {
    pub product_id: String,
    #[serde(deserialize_with = "rule_products")]
    pub because: Vec<String>,
    pub confidence: f64,
    pub lift: f64,
    pub support: f64,
}

/// One customer's results in the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireInsight {
    pub customer_id: String,
    pub segment: String,
    pub abc_class: String,
    pub revenue_minor: i64,
    pub recency_days: Option<i64>,
    pub frequency: Option<i64>,
    pub monetary_minor: Option<i64>,
    pub clv_12m_minor: Option<f64>,
    pub expected_purchases_90d: Option<f64>,
    pub p_alive: Option<f64>,
    pub churn_level: Option<String>,
    pub churn_score: Option<f64>,
    #[serde(deserialize_with = "next_best")]
    pub next_best: Vec<WireOffer>,
    /// The products the run counted as bought by this customer.
    #[serde(deserialize_with = "bought")]
    pub bought: Vec<String>,
}

/// The server's answer to a device asking for the analytics snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightsPage {
    /// The current run; `None` before any run succeeded.
    pub run: Option<InsightsRun>,
    /// The device already holds the current run: nothing else is sent.
    pub unchanged: bool,
    /// The customers in the caller's sight, by id, after the request's `after`.
    #[serde(deserialize_with = "customers")]
    pub customers: Vec<WireInsight>,
    /// The run's rules, best first: on the first page (no `after`) only.
    #[serde(deserialize_with = "rules")]
    pub rules: Vec<WireRule>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next_after: Option<String>,
}

fn rule_products<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    bounded_seq(d, "products in a rule", MAX_RULE_PRODUCTS)
}

fn next_best<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<WireOffer>, D::Error> {
    bounded_seq(d, "next-best offers of a customer", MAX_NEXT_BEST)
}

fn bought<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    bounded_seq(d, "products bought by a customer", MAX_BOUGHT)
}

fn customers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<WireInsight>, D::Error> {
    bounded_seq(d, "customers in an analytics page", MAX_INSIGHTS_PAGE)
}

fn rules<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<WireRule>, D::Error> {
    bounded_seq(d, "cross-sell rules", MAX_DEVICE_RULES)
}

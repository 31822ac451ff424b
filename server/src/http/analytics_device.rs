//! `GET /v1/analytics/device?run=&after=&limit=`: the analytics snapshot a device keeps
//! offline (docs/PROTOCOL.md, core's `insights`): the current run's results for the customers
//! in the caller's sight, a page at a time by customer id, and on the first page (no `after`)
//! the organisation's best cross-sell rules. A device that names the current run in `run`
//! and asks for a first page is answered "unchanged" with nothing else. A protocol message
//! like the sync ones, and admitted like them (rate limits per device).
//!
//! The results are a read-only, server-authored snapshot, not records: see
//! docs/ARCHITECTURE.md ("Analytics on the device").

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use fieldcrm_core::insights::{
    InsightsPage, InsightsRun, MAX_BOUGHT, MAX_DEVICE_RULES, MAX_INSIGHTS_PAGE, MAX_NEXT_BEST,
    WireInsight, WireOffer, WireRule, is_valid_id,
};
use fieldcrm_core::protocol;

use super::fieldwork::query;
use super::{AppState, admit_sync_request, blocking, saw_session, sync_response};
use crate::accounts::AuthSession;
use crate::error::ApiError;
use crate::storage::{InsightRow, StorageError};

/// Customers per page when the device does not say.
const DEFAULT_PAGE: u32 = 500;

#[derive(Debug, Deserialize)]
pub(super) struct DeviceQuery {
    /// The run the device holds (0 or absent: none).
    run: Option<i64>,
    after: Option<String>,
    limit: Option<u32>,
}

/// `GET /v1/analytics/device`.
pub(super) async fn device_snapshot(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    params: Result<Query<DeviceQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    saw_session(&state, &caller);
    admit_sync_request(&state, &caller)?;
    let params = query(params)?;
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_INSIGHTS_PAGE as u32).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_INSIGHTS_PAGE}"
        )));
    }
    let user = caller.user;
    let storage = state.storage.clone();
    let page = blocking(move || -> Result<InsightsPage, StorageError> {
        let mut page = InsightsPage {
            run: None,
            unchanged: false,
            customers: Vec::new(),
            rules: Vec::new(),
            next_after: None,
        };
        let Some(run) = storage.current_analytics_run()? else {
            return Ok(page);
        };
        page.run = Some(InsightsRun {
            run_id: run.id,
            as_of: run.as_of,
            currency: run.currency.clone(),
        });
        let first = params.after.is_none();
        if first && params.run == Some(run.id) {
            page.unchanged = true;
            return Ok(page);
        }
        let principal = storage.principal(&user)?;
        let rows = storage.customer_insights(&principal, run.id, params.after.as_deref(), limit)?;
        page.next_after = (rows.len() == limit as usize)
            .then(|| rows.last().map(|r| r.customer_id.clone()))
            .flatten();
        page.customers = rows.into_iter().map(device_insight).collect();
        if first {
            page.rules = storage
                .cross_sell_rules(run.id, MAX_DEVICE_RULES as u32)?
                .into_iter()
                .filter(|r| {
                    r.antecedent
                        .iter()
                        .chain([&r.consequent])
                        .all(|p| is_valid_id(p))
                })
                .map(|r| WireRule {
                    antecedent: r.antecedent,
                    consequent: r.consequent,
                    support: r.support,
                    confidence: r.confidence,
                    lift: r.lift,
                })
                .collect();
        }
        Ok(page)
    })
    .await?;
    let body = protocol::encode(&page).map_err(ApiError::internal)?;
    Ok(sync_response(body))
}

/// A stored row as a device keeps it. The lists were written by the run as JSON; what does
/// not read back, or names a product id a device would refuse, is left out.
fn device_insight(row: InsightRow) -> WireInsight {
    let next_best: Vec<WireOffer> = serde_json::from_str::<Vec<WireOffer>>(&row.next_best)
        .unwrap_or_default()
        .into_iter()
        .filter(|o| {
            o.because
                .iter()
                .chain([&o.product_id])
                .all(|p| is_valid_id(p))
        })
        .take(MAX_NEXT_BEST)
        .collect();
    let bought: Vec<String> = serde_json::from_str::<Vec<String>>(&row.bought)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| is_valid_id(p))
        .take(MAX_BOUGHT)
        .collect();
    WireInsight {
        customer_id: row.customer_id,
        segment: row.segment,
        abc_class: row.abc_class,
        revenue_minor: row.revenue_minor,
        recency_days: row.recency_days,
        frequency: row.frequency,
        monetary_minor: row.monetary_minor,
        clv_12m_minor: row.clv_12m_minor,
        expected_purchases_90d: row.expected_purchases_90d,
        p_alive: row.p_alive,
        churn_level: row.churn_level,
        churn_score: row.churn_score,
        next_best,
        bought,
    }
}

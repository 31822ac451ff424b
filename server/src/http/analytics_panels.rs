//! `GET /v1/analytics/panels`: what the dashboard's analytics panels draw, over the caller's
//! customers in the current run: the ABC Pareto curve, the lifetime-value distribution and the
//! top customers by lifetime value, and the churn-risk list with each customer's owner.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::analytics::RunInfo;
use super::{AppState, blocking};
use crate::analytics::abc::pareto_curve;
use crate::analytics::distribution::{histogram, top_indices};
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::storage::{InsightValues, StorageError};

/// Points of the Pareto curve (plus its origin).
const PARETO_POINTS: usize = 50;
/// Bins of the lifetime-value histogram.
const CLV_BINS: usize = 12;
/// Customers in the top list and in the churn list.
const TOP_LISTED: usize = 10;
const CHURN_LISTED: usize = 50;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClvHistogram {
    /// Bin edges in minor units; the last bin holds everything above its lower edge.
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
    /// Customers without a lifetime value (no purchases, no usable fit).
    pub unknown: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ValuedCustomer {
    pub customer_id: String,
    pub name: Option<String>,
    pub abc_class: String,
    pub clv_12m_minor: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AtRiskCustomer {
    pub customer_id: String,
    pub name: Option<String>,
    /// The owner's username; `None` for a customer without owner.
    pub owner: Option<String>,
    pub churn_level: String,
    pub churn_score: f64,
    pub clv_12m_minor: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalyticsPanels {
    pub run: Option<RunInfo>,
    /// `[customer share, revenue share]`, largest customers first, from `[0, 0]` to `[1, 1]`.
    pub pareto: Vec<[f64; 2]>,
    pub clv: ClvHistogram,
    pub top_clv: Vec<ValuedCustomer>,
    /// Customers at high or medium churn risk, riskiest first.
    pub churn: Vec<AtRiskCustomer>,
}

fn valued(c: &InsightValues) -> ValuedCustomer {
    ValuedCustomer {
        customer_id: c.customer_id.clone(),
        name: c.customer_name.clone(),
        abc_class: c.abc_class.clone(),
        clv_12m_minor: c.clv_12m_minor,
    }
}

/// `GET /v1/analytics/panels`.
#[utoipa::path(
    get,
    path = "/v1/analytics/panels",
    operation_id = "analytics_panels",
    tag = "analytics",
    description = "Any signed-in user, over the customers in their sight.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "What the dashboard's analytics panels draw", body = AnalyticsPanels),
    )
)]
pub(super) async fn panels(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<AnalyticsPanels>, ApiError> {
    let storage = state.storage.clone();
    let panels = blocking(move || -> Result<AnalyticsPanels, StorageError> {
        let Some(run) = storage.current_analytics_run()? else {
            return Ok(AnalyticsPanels {
                run: None,
                pareto: Vec::new(),
                clv: ClvHistogram {
                    edges: Vec::new(),
                    counts: Vec::new(),
                    unknown: 0,
                },
                top_clv: Vec::new(),
                churn: Vec::new(),
            });
        };
        let principal = storage.principal(&user)?;
        let customers = storage.insight_values(&principal, run.id)?;
        let mut revenues: Vec<i64> = customers.iter().map(|c| c.revenue_minor).collect();
        revenues.sort_unstable_by(|a, b| b.cmp(a));
        let pareto = pareto_curve(revenues.into_iter(), PARETO_POINTS)
            .into_iter()
            .map(|p| [p.customer_share, p.revenue_share])
            .collect();
        let clv_values: Vec<Option<f64>> = customers.iter().map(|c| c.clv_12m_minor).collect();
        let known: Vec<f64> = clv_values.iter().flatten().copied().collect();
        let h = histogram(&known, CLV_BINS);
        let top_clv = top_indices(&clv_values, TOP_LISTED)
            .into_iter()
            .map(|i| valued(&customers[i]))
            .collect();
        let risk: Vec<Option<f64>> = customers
            .iter()
            .map(|c| match c.churn_level.as_deref() {
                Some("high" | "medium") => c.churn_score,
                _ => None,
            })
            .collect();
        let at_risk: Vec<&InsightValues> = top_indices(&risk, CHURN_LISTED)
            .into_iter()
            .map(|i| &customers[i])
            .collect();
        let ids: Vec<String> = at_risk.iter().map(|c| c.customer_id.clone()).collect();
        let owner_ids: HashMap<String, String> =
            storage.customer_owners(&ids)?.into_iter().collect();
        let mut usernames: HashMap<String, Option<String>> = HashMap::new();
        let mut churn = Vec::with_capacity(at_risk.len());
        for c in at_risk {
            let owner = match owner_ids.get(&c.customer_id) {
                Some(owner_id) => match usernames.get(owner_id) {
                    Some(name) => name.clone(),
                    None => {
                        let name = storage.user_by_id(owner_id)?.map(|u| u.username);
                        usernames.insert(owner_id.clone(), name.clone());
                        name
                    }
                },
                None => None,
            };
            churn.push(AtRiskCustomer {
                customer_id: c.customer_id.clone(),
                name: c.customer_name.clone(),
                owner,
                churn_level: c.churn_level.clone().unwrap_or_default(),
                churn_score: c.churn_score.unwrap_or(0.0),
                clv_12m_minor: c.clv_12m_minor,
            });
        }
        Ok(AnalyticsPanels {
            run: Some(RunInfo::from(&run)),
            pareto,
            clv: ClvHistogram {
                edges: h.edges,
                counts: h.counts,
                unknown: (customers.len() - known.len()) as u64,
            },
            top_clv,
            churn,
        })
    })
    .await?;
    Ok(Json(panels))
}

const ANALYTICS_JS: &str = include_str!("../../dashboard/analytics.js");

pub(super) async fn dashboard_analytics_js() -> axum::response::Response {
    super::fieldwork::asset("text/javascript; charset=utf-8", ANALYTICS_JS)
}

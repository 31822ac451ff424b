//! `GET /v1/cases`: the cases of a manager's team (an admin's: every case), filtered. A rep
//! gets what an unknown route gets, so the route's existence tells nothing; a filter naming a
//! user the caller does not see answers an empty list, as for a user without cases.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::fieldwork::query;
use super::{AppState, blocking};
use crate::auth::AuthUser;
use crate::cases::overview::{CaseFilter, CasePage, list_cases};
use crate::error::ApiError;
use crate::model::{Role, now_ms};

/// The most cases one page lists.
const MAX_CASES_LISTED: u32 = 500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct CasesQuery {
    /// Only open cases.
    #[serde(default)]
    open: bool,
    /// Only open cases past their due time.
    #[serde(default)]
    overdue: bool,
    /// Only escalated cases.
    #[serde(default)]
    escalated: bool,
    /// Only the cases assigned to this user id.
    assignee: Option<String>,
    /// Go on after this case id (a page's `next_after`).
    after: Option<String>,
    /// Cases on one page, 1 to 500 (100 by default).
    limit: Option<u32>,
}

/// `GET /v1/cases?open=true&overdue=true&escalated=true&assignee=ID&after=ID&limit=N`.
#[utoipa::path(
    get,
    path = "/v1/cases",
    operation_id = "list_cases",
    tag = "cases",
    description = "Managers (their team's cases) and admins (every case); a rep gets `404 not_found` like an unknown route. An assignee the caller does not see lists nothing, like a user without cases.",
    security(("bearer" = [])),
    params(CasesQuery),
    responses(
        (status = 200, description = "A page of cases, by id", body = CasePage),
        (status = 400, description = "`bad_request`: a malformed filter, an unknown parameter or a limit out of range"),
        (status = 404, description = "`not_found`: a rep"),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    params: Result<Query<CasesQuery>, QueryRejection>,
) -> Result<Json<CasePage>, ApiError> {
    if user.role == Role::Rep {
        return Err(super::csv_files::no_such_route());
    }
    let params = query(params)?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_CASES_LISTED).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_CASES_LISTED}"
        )));
    }
    let filter = CaseFilter {
        open: params.open,
        overdue: params.overdue,
        escalated: params.escalated,
        assignee: params.assignee,
    };
    let storage = state.storage.clone();
    let page = blocking(move || {
        let principal = storage.principal(&user)?;
        list_cases(
            storage.as_ref(),
            &principal,
            &filter,
            params.after,
            limit as usize,
            now_ms(),
        )
    })
    .await?;
    Ok(Json(page))
}

//! `POST /v1/admin/import/order-history`: an admin's import of orders from before the CRM
//! (`order_history.rs`), the CSV as the body, bounded like the record import (its body limit
//! and `body_limits`: the rows counted before anything is imported). A
//! caller who is not an admin gets exactly what an unknown route gets.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};

use super::csv_files::{body_limits, no_such_route};
use super::{AppState, blocking};
use crate::accounts::AuthSession;
use crate::error::ApiError;
use crate::model::Role;
use crate::order_history::{self, HistoryReport};

/// Orders from before the CRM. The role is checked before the body is read; the answer is the
/// import's report.
#[utoipa::path(
    post,
    path = "/v1/admin/import/order-history",
    operation_id = "import_order_history",
    tag = "import-export",
    description = "Admins; anyone else gets `404 not_found` like an unknown route. At most 32 MiB and 200,000 rows.",
    security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "The CSV file of orders or of order lines, with its header row"),
    responses(
        (status = 200, description = "The import report", body = HistoryReport),
        (status = 400, description = "`bad_request`: an empty file, a wrong header, not UTF-8"),
        (status = 404, description = "`not_found`: the caller is not an admin"),
        (status = 413, description = "`payload_too_large` (over 32 MiB) or `limit_exceeded` (over 200,000 rows)"),
    )
)]
pub(super) async fn import(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    request: Request,
) -> Result<Json<HistoryReport>, ApiError> {
    if caller.user.role != Role::Admin {
        return Err(no_such_route());
    }
    let body = Bytes::from_request(request, &state).await?;
    let storage = state.storage.clone();
    let report = blocking(move || {
        let limits = body_limits(&body)?;
        order_history::import(&*storage, &body[..], limits, &mut |_, _| {})
    })
    .await?;
    tracing::info!(
        admin = %caller.user.id,
        shape = report.shape,
        rows = report.rows,
        orders_new = report.orders_new,
        lines_new = report.lines_new,
        rejected = report.rejected,
        "order history import"
    );
    Ok(Json(report))
}

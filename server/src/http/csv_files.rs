//! CSV over HTTP: an admin's import (`POST /v1/admin/import/{kind}`, the CSV as the body) and
//! the exports (`GET /v1/export/{kind}.csv`) for anyone signed in, of what they may see.
//!
//! A caller who is not an admin gets from the import route exactly what an unknown route or
//! kind gets, so the route tells them nothing.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use tokio::sync::mpsc;

use super::{AppState, blocking};
use crate::accounts::AuthSession;
use crate::csv_export::{self, ExportKind};
use crate::csv_import::{self, ImportError, ImportKind, ImportLimits, ImportReport};
use crate::error::ApiError;
use crate::model::Role;

/// Largest import body, in bytes (about 100,000 customer rows; larger files go through the
/// `import` command, which streams them from disk).
pub const MAX_IMPORT_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Rows an import body may hold, counted before anything is imported.
pub const MAX_IMPORT_ROWS: u64 = 200_000;

/// Export pieces waiting for the client; the export pauses while they are not taken.
const EXPORT_PIECES_BUFFERED: usize = 4;

/// The answer to an unknown route, kind or file, and to a non-admin's import.
pub(super) fn no_such_route() -> ApiError {
    ApiError::NotFound("no such route".into())
}

impl From<ImportError> for ApiError {
    fn from(err: ImportError) -> Self {
        match err {
            ImportError::Empty { .. }
            | ImportError::Header { .. }
            | ImportError::NotUtf8 { .. }
            | ImportError::Read { .. } => ApiError::BadRequest(err.to_string()),
            ImportError::TooManyRows { .. } => ApiError::LimitExceeded(err.to_string()),
            ImportError::NotAdmin(_) => no_such_route(),
            ImportError::Storage(err) => err.into(),
            ImportError::Store(_) | ImportError::Stalled => ApiError::internal(err),
        }
    }
}

/// The bounds of an import body: its rows counted before anything is imported (more than
/// [`MAX_IMPORT_ROWS`] refuse it), and the same bound kept while importing.
pub(super) fn body_limits(body: &[u8]) -> Result<ImportLimits, ImportError> {
    if csv_import::count_rows(body) > MAX_IMPORT_ROWS {
        return Err(ImportError::TooManyRows {
            max: MAX_IMPORT_ROWS,
        });
    }
    Ok(ImportLimits {
        max_rows: Some(MAX_IMPORT_ROWS),
    })
}

/// `POST /v1/admin/import/{kind}`: the body is the CSV file (at most
/// [`MAX_IMPORT_BODY_BYTES`] and [`MAX_IMPORT_ROWS`] rows); the answer is the import report.
/// The role is checked before the body is read.
#[utoipa::path(
    post,
    path = "/v1/admin/import/{kind}",
    operation_id = "import_records",
    tag = "import-export",
    description = "Admins; anyone else gets `404 not_found` like an unknown route. At most 32 MiB and 200,000 rows.",
    security(("bearer" = [])),
    params(("kind" = String, Path, description = "The kind of record the file holds")),
    request_body(content = String, content_type = "text/csv", description = "The CSV file, with its header row"),
    responses(
        (status = 200, description = "The import report (rejected rows listed with their reason)", body = ImportReport),
        (status = 400, description = "`bad_request`: an empty file, a wrong header, not UTF-8"),
        (status = 404, description = "`not_found`: an unknown kind, or the caller is not an admin"),
        (status = 413, description = "`payload_too_large` (over 32 MiB) or `limit_exceeded` (over 200,000 rows)"),
    )
)]
pub(super) async fn import(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Json<ImportReport>, ApiError> {
    if caller.user.role != Role::Admin {
        return Err(no_such_route());
    }
    let kind = path
        .ok()
        .and_then(|Path(name)| ImportKind::parse(&name))
        .ok_or_else(no_such_route)?;
    let body = Bytes::from_request(request, &state).await?;
    let storage = state.storage.clone();
    let admin = caller.user;
    let admin_id = admin.id.clone();
    let report = blocking(move || {
        let limits = body_limits(&body)?;
        csv_import::import(kind, &*storage, &admin, &body[..], limits, &mut |_, _| {})
    })
    .await?;
    tracing::info!(
        admin = %admin_id,
        kind = report.kind,
        rows = report.rows,
        created = report.created,
        updated = report.updated,
        rejected = report.rejected,
        "csv import"
    );
    Ok(Json(report))
}

/// `GET /v1/export/{file}` (`customers.csv`, `opportunities.csv`): the records the caller may
/// see, streamed page by page.
#[utoipa::path(
    get,
    path = "/v1/export/{file}",
    operation_id = "export_csv",
    tag = "import-export",
    description = "Any signed-in user: the records they may see, streamed. Answered as an attachment.",
    security(("bearer" = [])),
    params(("file" = String, Path, description = "The file to export")),
    responses(
        (status = 200, description = "The CSV file", content_type = "text/csv; charset=utf-8", body = String),
        (status = 404, description = "`not_found`: an unknown file"),
    )
)]
pub(super) async fn export(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let kind = path
        .ok()
        .and_then(|Path(name)| ExportKind::from_file_name(&name))
        .ok_or_else(no_such_route)?;
    let storage = state.storage.clone();
    let user = caller.user;
    let principal = {
        let storage = storage.clone();
        blocking(move || storage.principal(&user)).await?
    };
    let (pieces, receiver) = mpsc::channel(EXPORT_PIECES_BUFFERED);
    tokio::task::spawn_blocking(move || {
        let result = csv_export::write(&*storage, &principal, kind, &mut |piece| {
            pieces.blocking_send(Ok(Bytes::from(piece))).is_ok()
        });
        if let Err(err) = result {
            tracing::error!(error = %err, file = kind.file_name(), "export failed");
            // The client sees the response end abnormally, never a truncated file as whole.
            let _ = pieces.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", kind.file_name()),
            ),
        ],
        Body::new(Pieces(receiver)),
    )
        .into_response())
}

/// A response body of the pieces an export sends through a channel.
struct Pieces(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|piece| piece.map(|result| result.map(Frame::data)))
    }
}

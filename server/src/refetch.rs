//! `POST /v1/sync/refetch` (see docs/PROTOCOL.md): documents a device could not load from an
//! earlier pull, sent again as their full change history so that it heals. Only documents the
//! user may see now are answered; an unknown id and a forbidden id are both listed in
//! `missing`, alike, so the answer reveals nothing about documents out of reach.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use fieldcrm_core::protocol::{self, MAX_REFETCH_DOCS, RefetchRequest};

use crate::accounts::AuthSession;
use crate::error::ApiError;
use crate::http::{
    AppState, PULLS_IN_FLIGHT, admit_sync_request, blocking, saw_session, sync_response,
};

/// Refused before any document is read when the request names more ids than
/// [`MAX_REFETCH_DOCS`].
pub(crate) fn check_bounds(request: &RefetchRequest) -> Result<(), ApiError> {
    if request.doc_ids.len() > MAX_REFETCH_DOCS {
        return Err(ApiError::BadRequest(format!(
            "a refetch names at most {MAX_REFETCH_DOCS} documents"
        )));
    }
    Ok(())
}

/// `POST /v1/sync/refetch`. Reads like a pull, under the same concurrency limit.
pub(crate) async fn refetch(
    State(state): State<AppState>,
    AuthSession(caller): AuthSession,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    saw_session(&state, &caller);
    admit_sync_request(&state, &caller)?;
    let user = caller.user;
    let body = body?;
    state.limits.served_version(&body)?;
    let max_decompressed = state.limits.max_decompressed_bytes;
    let _permit = PULLS_IN_FLIGHT
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let storage = state.storage.clone();
    // Decoding is CPU work: on the blocking pool, under the permit, like a pull's.
    let body = blocking(move || {
        let (request, version): (RefetchRequest, u8) =
            protocol::decode_versioned(&body, max_decompressed)?;
        check_bounds(&request)?;
        let principal = storage.principal(&user)?;
        let response = storage.refetch_documents(&principal, &request, version)?;
        protocol::encode_refetch_response(&response, version).map_err(ApiError::internal)
    })
    .await?;
    Ok(sync_response(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_over_the_bound_are_refused() {
        let at_bound = RefetchRequest {
            doc_ids: vec!["x".into(); MAX_REFETCH_DOCS],
        };
        assert!(check_bounds(&at_bound).is_ok());
        let over = RefetchRequest {
            doc_ids: vec!["x".into(); MAX_REFETCH_DOCS + 1],
        };
        assert_eq!(check_bounds(&over).unwrap_err().code(), "bad_request");
    }
}

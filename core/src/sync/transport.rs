//! The seam between the sans-I/O sync client and the network: the [`Transport`] a host app
//! implements (or the built-in HTTP one) and the [`TransportError`] it reports.

use std::time::Duration;

use thiserror::Error;

/// What a transport reports when a request did not produce a response body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransportError {
    /// No connection (no network, server unreachable, timeout): worth retrying later.
    #[error("offline: {0}")]
    Offline(String),
    /// The server answered with an error status and its stable error code, and with how long
    /// to wait before trying again when it said so (`429` / `503` with `Retry-After`).
    #[error("server refused the request ({status} {code})")]
    Server {
        status: u16,
        code: String,
        retry_after: Option<Duration>,
    },
}

impl TransportError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            TransportError::Offline(_) => true,
            TransportError::Server { status, .. } => *status >= 500 || *status == 429,
        }
    }

    /// How long the server asked to wait before trying again, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TransportError::Server { retry_after, .. } => *retry_after,
            TransportError::Offline(_) => None,
        }
    }
}

/// Moves protocol bodies to the server and back. Implemented by the host app (OkHttp,
/// URLSession, ...) or by the built-in HTTP transport (cargo feature `http`).
pub trait Transport {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError>;
    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError>;
    /// Sends a batch of location pings (`POST /v1/sync/pings`).
    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError>;
    /// Asks for documents again as their full change history (`POST /v1/sync/refetch`).
    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError>;
    /// Asks for a page of the analytics snapshot: `GET /v1/analytics/device?{query}`. A server
    /// without the endpoint answers 404, which a sync round takes as "no analytics".
    fn analytics(&self, query: &str) -> Result<Vec<u8>, TransportError>;
}

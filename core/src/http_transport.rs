//! A small blocking HTTP transport for the device CLI, tests and hosts without an HTTP client
//! of their own (cargo feature `http`; `http-tls` adds HTTPS). Mobile apps normally implement
//! [`Transport`] over the platform's client instead.

use std::time::Duration;

use crate::protocol::CONTENT_TYPE;
use crate::sync::{MAX_RESPONSE_BYTES, Transport, TransportError};

/// Talks to a FieldCRM server at `base_url` (for example `http://127.0.0.1:8080`) with a
/// bearer token.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    agent: ureq::Agent,
    base_url: String,
    token: String,
}

impl HttpTransport {
    pub fn new(base_url: &str, token: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        HttpTransport {
            agent: ureq::Agent::new_with_config(config),
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    fn post(&self, path: &str, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        let response = self
            .agent
            .post(&format!("{}{path}", self.base_url))
            .header("authorization", &format!("Bearer {}", self.token))
            .header("content-type", CONTENT_TYPE)
            .send(&body[..])
            .map_err(|e| TransportError::Offline(e.to_string()))?;
        Self::body(response)
    }

    fn get(&self, path_and_query: &str) -> Result<Vec<u8>, TransportError> {
        let response = self
            .agent
            .get(&format!("{}{path_and_query}", self.base_url))
            .header("authorization", &format!("Bearer {}", self.token))
            .call()
            .map_err(|e| TransportError::Offline(e.to_string()))?;
        Self::body(response)
    }

    /// A 200 response's body, or the server's refusal.
    fn body(response: ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, TransportError> {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let mut body = response.into_body();
        let bytes = body
            .with_config()
            .limit(MAX_RESPONSE_BYTES as u64)
            .read_to_vec()
            .map_err(|e| TransportError::Offline(e.to_string()))?;
        if status == 200 {
            return Ok(bytes);
        }
        Err(TransportError::Server {
            status,
            code: error_code(&bytes),
            retry_after,
        })
    }
}

/// `Retry-After` in seconds (the form the FieldCRM server sends; an HTTP date is ignored).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The stable code of a JSON error body `{"error": {"code": ...}}`, or `http_<status>`.
fn error_code(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        code: String,
    }
    serde_json::from_slice::<Envelope>(body)
        .map(|e| e.error.code)
        .unwrap_or_else(|_| "unknown".to_owned())
}

impl Transport for HttpTransport {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.post("/v1/sync/push", body)
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.post("/v1/sync/pull", body)
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.post("/v1/sync/pings", body)
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.post("/v1/sync/refetch", body)
    }

    fn analytics(&self, query: &str) -> Result<Vec<u8>, TransportError> {
        self.get(&format!("/v1/analytics/device?{query}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}

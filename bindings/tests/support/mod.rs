//! The real `fieldcrm-server` binary for the bindings' end-to-end tests (the workspace's
//! harness, `fieldcrm_tests::server`): built on demand, started on a loopback port with a small
//! organisation, and devices signed in to it; `HostHttp` is the transport a host app would
//! write.

#![allow(dead_code)] // each test binary uses its own part

use std::path::Path;
use std::sync::{Arc, Mutex};

use fieldcrm_ffi::*;
use fieldcrm_tests::server::{Launch, build_binary, login};
pub use fieldcrm_tests::server::{OrgServer as Server, agent};
use serde_json::{Value, json};

pub fn admin(bin: &Path, db: &Path, args: &[&str]) {
    fieldcrm_tests::server::admin(bin, db, args);
}

/// Team north, territories harbour and hills; reps ana and ben in harbour.
pub fn start_server() -> Server {
    Server::start(
        build_binary(),
        &[
            ("ana", "rep", Some("harbour")),
            ("ben", "rep", Some("harbour")),
        ],
        "secret pass",
        Launch::default(),
    )
}

/// A store signed in as `username`, its actor registered as the user's device.
pub fn device(
    server: &Server,
    dir: &tempfile::TempDir,
    username: &str,
) -> (Arc<FieldStore>, String) {
    let (token, user_id) = login(&server.base, username, "secret pass");
    let store = FieldStore::open(
        dir.path()
            .join(format!("{username}.sqlite"))
            .display()
            .to_string(),
    )
    .unwrap();
    store.set_user(user_id).unwrap();
    let registered = agent()
        .post(format!("{}/v1/devices", server.base))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(json!({"actor_id": store.actor_id().unwrap()}))
        .unwrap();
    assert_eq!(registered.status(), 201);
    (store, token)
}

/// What a host app writes: `SyncTransport` over its own HTTP client (here ureq, in Kotlin
/// OkHttp), following the contract documented on the trait.
pub struct HostHttp {
    pub agent: ureq::Agent,
    pub base: String,
    pub token: String,
    pub requests: Mutex<u32>,
}

impl HostHttp {
    fn post(&self, path: &str, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        *self.requests.lock().unwrap() += 1;
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("authorization", &format!("Bearer {}", self.token))
            .header("content-type", "application/vnd.fieldcrm.sync")
            .send(&body[..])
            .map_err(|e| FieldCrmError::Offline {
                reason: e.to_string(),
            })?;
        Self::finish(response)
    }

    fn get(&self, path_and_query: &str) -> Result<Vec<u8>, FieldCrmError> {
        *self.requests.lock().unwrap() += 1;
        let response = self
            .agent
            .get(format!("{}{path_and_query}", self.base))
            .header("authorization", &format!("Bearer {}", self.token))
            .call()
            .map_err(|e| FieldCrmError::Offline {
                reason: e.to_string(),
            })?;
        Self::finish(response)
    }

    fn finish(mut response: ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, FieldCrmError> {
        let status = response.status().as_u16();
        let retry_after_secs = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let bytes = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|e| FieldCrmError::Offline {
                reason: e.to_string(),
            })?;
        if status == 200 {
            return Ok(bytes);
        }
        let code = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        Err(FieldCrmError::ServerRefused {
            status,
            code,
            retry_after_secs,
        })
    }
}

impl SyncTransport for HostHttp {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        self.post("/v1/sync/push", body)
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        self.post("/v1/sync/pull", body)
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        self.post("/v1/sync/pings", body)
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, FieldCrmError> {
        self.post("/v1/sync/refetch", body)
    }

    fn analytics(&self, query: String) -> Result<Vec<u8>, FieldCrmError> {
        self.get(&format!("/v1/analytics/device?{query}"))
    }
}

//! The two JSON calls the CLI makes itself: log in, register this store as a device. Sync goes
//! through `fieldcrm_core::HttpTransport`.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::CliError;

#[derive(Debug, Deserialize)]
pub struct LoginUser {
    pub id: String,
    pub username: String,
}

#[derive(Debug, Deserialize)]
pub struct Login {
    pub token: String,
    pub expires_at: i64,
    pub user: LoginUser,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

#[derive(Debug)]
pub struct Api {
    agent: ureq::Agent,
    base: String,
}

impl Api {
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Api {
            agent,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn login(&self, username: &str, password: &str) -> Result<Login, CliError> {
        let response = self
            .agent
            .post(format!("{}/v1/auth/login", self.base))
            .send_json(json!({"username": username, "password": password}));
        self.answer("the login", response, &[200])
    }

    /// Binds the store's actor id to the signed-in user (again harmless).
    pub fn register_device(&self, token: &str, actor_id: &str) -> Result<(), CliError> {
        let response = self
            .agent
            .post(format!("{}/v1/devices", self.base))
            .header("authorization", &format!("Bearer {token}"))
            .send_json(json!({"actor_id": actor_id}));
        self.answer::<serde_json::Value>("the device registration", response, &[200, 201])
            .map(|_| ())
    }

    fn answer<T: DeserializeOwned>(
        &self,
        what: &'static str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        ok: &[u16],
    ) -> Result<T, CliError> {
        let mut response = response.map_err(|err| CliError::Unreachable {
            server: self.base.clone(),
            detail: err.to_string(),
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(1024 * 1024)
            .read_to_vec()
            .map_err(|err| CliError::Unreachable {
                server: self.base.clone(),
                detail: err.to_string(),
            })?;
        if !ok.contains(&status) {
            let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(e) => (e.error.code, e.error.message),
                Err(_) => (
                    format!("http_{status}"),
                    String::from_utf8_lossy(&body).chars().take(200).collect(),
                ),
            };
            return Err(CliError::Refused {
                what,
                status,
                code,
                message,
            });
        }
        serde_json::from_slice(&body).map_err(|err| CliError::BadAnswer {
            what,
            detail: err.to_string(),
        })
    }
}

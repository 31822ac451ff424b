//! Webhooks and the change feed: the events a push commits (`events.rs`, a pure rule over the
//! record before and after the merge, written by the push in its transaction), how a delivery
//! is signed (`signature.rs`), which URLs and secrets are accepted and when a failure is tried
//! again (`policy.rs`), and the delivery worker (`delivery.rs`). The HTTP API is in
//! `http/webhooks.rs`, the admin commands in `admin/webhooks.rs`, the SQL in
//! `storage/sqlite_webhooks.rs`. See docs/ARCHITECTURE.md, "Webhooks and the change feed".

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use tokio::sync::watch;

pub mod delivery;
pub mod events;
pub mod policy;
pub mod signature;

/// What the HTTP handlers share with the delivery worker: the server's own address (a webhook
/// may not point at it) and the signal that new events or a replay are waiting.
#[derive(Debug, Clone)]
pub struct WebhookHub {
    own_address: Arc<OnceLock<SocketAddr>>,
    /// A counter bumped at every signal: a worker that looked and found nothing waits for it
    /// to change, so a signal sent between its look and its wait is not lost.
    signal: Arc<watch::Sender<u64>>,
}

impl Default for WebhookHub {
    fn default() -> Self {
        WebhookHub {
            own_address: Arc::default(),
            signal: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl WebhookHub {
    /// The address the server listens on, once bound (set once; later calls change nothing).
    pub fn set_own_address(&self, address: SocketAddr) {
        let _ = self.own_address.set(address);
    }

    pub fn own_address(&self) -> Option<SocketAddr> {
        self.own_address.get().copied()
    }

    /// Wakes the workers: events were committed, a webhook was added or a delivery replayed.
    pub fn wake(&self) {
        self.signal.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.signal.subscribe()
    }
}

/// Why a webhook is not registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("url: {0}")]
    Url(#[from] policy::UrlRefusal),
    #[error("secret: {0}")]
    Secret(#[from] policy::SecretRefusal),
    #[error(
        "there are already {} webhooks; remove one first",
        policy::MAX_WEBHOOKS
    )]
    TooMany,
    #[error("cannot generate a secret: {0}")]
    Random(String),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// A webhook as registered, with its secret: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub id: String,
    pub url: String,
    /// Signs every delivery (see `FieldCRM-Signature`); shown now and never again.
    pub secret: String,
    pub created_at: fieldcrm_core::Millis,
}

/// Registers a webhook at `url` (checked against `own`, the server's address), with `secret`
/// or a generated one. It receives the events committed from now on.
pub fn register(
    storage: &dyn crate::storage::Storage,
    url: &str,
    secret: Option<String>,
    own: Option<SocketAddr>,
    now: fieldcrm_core::Millis,
) -> Result<Registered, RegisterError> {
    policy::check_url(url, own)?;
    let secret = match secret {
        Some(secret) => {
            policy::check_secret(&secret)?;
            secret
        }
        None => policy::generate_secret().map_err(|e| RegisterError::Random(e.to_string()))?,
    };
    if storage.webhooks()?.len() >= policy::MAX_WEBHOOKS {
        return Err(RegisterError::TooMany);
    }
    let webhook = crate::storage::Webhook {
        id: crate::model::new_id(),
        url: url.to_owned(),
        secret,
        created_at: now,
        active: true,
    };
    storage.create_webhook(&webhook)?;
    Ok(Registered {
        id: webhook.id,
        url: webhook.url,
        secret: webhook.secret,
        created_at: webhook.created_at,
    })
}

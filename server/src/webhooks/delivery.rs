//! The delivery worker, started by `serve`: one task per active webhook, each taking its
//! webhook's deliveries from storage in event order (the next event is not sent before the
//! previous one is delivered or parked) and POSTing them, signed, with a timeout. A failure is
//! tried again after an exponential backoff; after the last attempt the delivery is parked.
//!
//! The queue is in storage (`storage/sqlite_webhooks.rs`): a restart picks up where it was. A
//! delivery whose answer was lost (a crash, a timeout after the receiver took it) is sent again
//! with the same event id: delivery is at least once, and receivers de-duplicate on the id.
//!
//! Nothing here holds a lock across a request: each storage call is its own short step on the
//! blocking pool, the HTTP call runs on a blocking thread of its own, so pushes never wait for a
//! receiver, and a hanging receiver only delays its own webhook.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::WebhookHub;
use super::policy::{self, DeliveryPolicy};
use super::signature::{
    self, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use crate::metrics::Metrics;
use crate::model::{now_ms, now_unix};
use crate::storage::{AfterFailure, Claim, DueDelivery, Storage};

/// How often the worker looks for webhooks added or removed, and an idle webhook for events
/// written without a signal (server-run writes, another process).
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// The wait after a storage error before the next look.
const AFTER_STORAGE_ERROR: Duration = Duration::from_secs(1);

/// Everything a webhook's task needs.
#[derive(Clone)]
struct Worker {
    storage: Arc<dyn Storage>,
    hub: WebhookHub,
    policy: DeliveryPolicy,
    metrics: Metrics,
    agent: ureq::Agent,
}

/// The HTTP client of the deliveries: no redirects followed (a redirect could lead anywhere,
/// this server included), no proxy from the environment, every status answered as is, and the
/// whole exchange cut off at the policy's timeout.
fn agent(policy: &DeliveryPolicy) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_global(Some(policy.timeout))
        .user_agent("fieldcrm-server webhooks")
        .build()
        .into()
}

/// Runs until the process ends: keeps one task per active webhook.
pub async fn run(
    storage: Arc<dyn Storage>,
    hub: WebhookHub,
    policy: DeliveryPolicy,
    metrics: Metrics,
) {
    let worker = Worker {
        agent: agent(&policy),
        storage,
        hub,
        policy,
        metrics,
    };
    let mut signal = worker.hub.subscribe();
    let mut tasks: HashMap<String, JoinHandle<()>> = HashMap::new();
    loop {
        tasks.retain(|_, task| !task.is_finished());
        let storage = worker.storage.clone();
        match tokio::task::spawn_blocking(move || storage.webhooks()).await {
            Ok(Ok(webhooks)) => {
                for webhook in webhooks.into_iter().filter(|w| w.active) {
                    if let std::collections::hash_map::Entry::Vacant(slot) =
                        tasks.entry(webhook.id.clone())
                    {
                        slot.insert(tokio::spawn(worker.clone().serve(webhook.id)));
                    }
                }
            }
            Ok(Err(error)) => tracing::error!(%error, "webhooks: cannot list the webhooks"),
            Err(error) => tracing::error!(%error, "webhooks: listing the webhooks panicked"),
        }
        wait_for_signal(&mut signal, LOOK_EVERY).await;
    }
}

/// Returns when the hub is signalled or after `at_most`.
async fn wait_for_signal(signal: &mut watch::Receiver<u64>, at_most: Duration) {
    tokio::select! {
        _ = signal.changed() => {}
        () = tokio::time::sleep(at_most) => {}
    }
}

impl Worker {
    /// One webhook's deliveries, one at a time, until it is removed.
    async fn serve(self, webhook_id: String) {
        let mut signal = self.hub.subscribe();
        loop {
            let storage = self.storage.clone();
            let id = webhook_id.clone();
            let now = now_ms();
            let claim = match tokio::task::spawn_blocking(move || storage.claim_delivery(&id, now))
                .await
            {
                Ok(Ok(claim)) => claim,
                Ok(Err(error)) => {
                    tracing::error!(%error, webhook = %webhook_id, "webhooks: cannot read the queue");
                    tokio::time::sleep(AFTER_STORAGE_ERROR).await;
                    continue;
                }
                Err(error) => {
                    tracing::error!(%error, webhook = %webhook_id, "webhooks: reading the queue panicked");
                    tokio::time::sleep(AFTER_STORAGE_ERROR).await;
                    continue;
                }
            };
            match claim {
                Claim::Gone => return,
                Claim::Idle => wait_for_signal(&mut signal, LOOK_EVERY).await,
                Claim::NotBefore(at) => {
                    let wait = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
                    // A replay may queue an older event before then.
                    wait_for_signal(&mut signal, wait.min(LOOK_EVERY)).await;
                }
                Claim::Due(due) => self.attempt(*due).await,
            }
        }
    }

    /// Sends one delivery and records what became of it.
    async fn attempt(&self, due: DueDelivery) {
        let attempt = due.attempts.saturating_add(1);
        let outcome = match policy::check_url(&due.webhook.url, self.hub.own_address()) {
            Err(refusal) => Err(refusal.to_string()),
            Ok(url) => {
                let agent = self.agent.clone();
                let request = SignedRequest::new(&due);
                let own = self.hub.own_address();
                let send = move || {
                    resolves_elsewhere(&url, own)?;
                    request.send(&agent)
                };
                match tokio::task::spawn_blocking(send).await {
                    Ok(outcome) => outcome,
                    Err(error) => Err(format!("the delivery panicked: {error}")),
                }
            }
        };
        let (webhook_id, seq) = (due.webhook.id.clone(), due.event.seq);
        let now = now_ms();
        let storage = self.storage.clone();
        let recorded = match outcome {
            Ok(()) => {
                self.metrics
                    .webhook_deliveries
                    .with_label_values(&["delivered"])
                    .inc();
                tokio::task::spawn_blocking(move || {
                    storage.delivery_succeeded(&webhook_id, seq, now)
                })
                .await
            }
            Err(error) => {
                let then = match self.policy.backoff_after(attempt) {
                    Some(wait) => {
                        self.metrics
                            .webhook_deliveries
                            .with_label_values(&["failed"])
                            .inc();
                        AfterFailure::RetryAt(
                            now.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)),
                        )
                    }
                    None => {
                        self.metrics
                            .webhook_deliveries
                            .with_label_values(&["parked"])
                            .inc();
                        tracing::warn!(webhook = %due.webhook.id, event = seq, attempts = attempt, %error,
                            "webhooks: delivery parked");
                        AfterFailure::Park
                    }
                };
                tracing::debug!(webhook = %due.webhook.id, event = seq, attempt, %error, "webhooks: delivery failed");
                tokio::task::spawn_blocking(move || {
                    storage.delivery_failed(&webhook_id, seq, &error, then, now)
                })
                .await
            }
        };
        match recorded {
            Ok(Ok(())) => {}
            // Not recorded: the delivery stays pending and is sent again (at least once).
            Ok(Err(error)) => {
                tracing::error!(%error, "webhooks: cannot record a delivery");
                tokio::time::sleep(AFTER_STORAGE_ERROR).await;
            }
            Err(error) => {
                tracing::error!(%error, "webhooks: recording a delivery panicked");
                tokio::time::sleep(AFTER_STORAGE_ERROR).await;
            }
        }
    }
}

/// Refuses a host name that resolves to this server (its name passed the URL check, its
/// addresses are checked here). The client resolves the name again to connect: this narrows
/// the window, it does not close it.
fn resolves_elsewhere(
    url: &policy::WebhookUrl,
    own: Option<std::net::SocketAddr>,
) -> Result<(), String> {
    use std::net::ToSocketAddrs;
    let Some(own) = own else {
        return Ok(());
    };
    let host = url.host.trim_start_matches('[').trim_end_matches(']');
    let addresses = (host, url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for address in addresses {
        if policy::is_this_server(address, own) {
            return Err(policy::UrlRefusal::ThisServer.to_string());
        }
    }
    Ok(())
}

/// One delivery's request, signed, ready to send.
struct SignedRequest {
    url: String,
    event_id: String,
    event_type: String,
    timestamp: i64,
    signature: String,
    body: Vec<u8>,
}

impl SignedRequest {
    fn new(due: &DueDelivery) -> SignedRequest {
        // An event is plain JSON data: serializing it cannot fail.
        let body = serde_json::to_vec(&due.event).unwrap_or_default();
        let timestamp = now_unix();
        SignedRequest {
            url: due.webhook.url.clone(),
            event_id: due.event.id.clone(),
            event_type: due.event.event_type.clone(),
            timestamp,
            signature: signature::sign(&due.webhook.secret, timestamp, &body),
            body,
        }
    }

    /// POSTs the event; `Ok` on a 2xx answer, else why not.
    fn send(self, agent: &ureq::Agent) -> Result<(), String> {
        let response = agent
            .post(&self.url)
            .header("content-type", "application/json")
            .header(EVENT_ID_HEADER, &self.event_id)
            .header(EVENT_TYPE_HEADER, &self.event_type)
            .header(TIMESTAMP_HEADER, &self.timestamp.to_string())
            .header(SIGNATURE_HEADER, &self.signature)
            .send(&self.body[..])
            .map_err(|error| match error {
                ureq::Error::Timeout(_) => {
                    "the receiver did not answer in time (timed out)".to_owned()
                }
                other => format!("cannot reach the receiver: {other}"),
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered HTTP {}", status.as_u16()))
        }
    }
}

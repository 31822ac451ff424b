//! The change feed and webhooks in storage (migration 0020): the events the pushes write, the
//! registered webhooks and their delivery queue: the [`WebhookStorage`] supertrait of
//! [`super::Storage`]. The events themselves are written by the push, in its transaction
//! (`sqlite_webhooks::record_events`).
//!
//! The events' sequence numbers have the change log's ordering pitfall (see [`super::Storage`]):
//! SQLite's one writer makes every committed number visible in order, so neither the feed nor a
//! webhook's queue can step over one still being written; a backend with concurrent writers
//! must allocate them at commit or serve up to a safe high-water mark.

use fieldcrm_core::Millis;
use serde::Serialize;

use super::Result;

/// Events one feed page returns at most.
pub const MAX_EVENTS_PAGE: u32 = 1_000;
/// Deliveries one listing returns at most.
pub const MAX_DELIVERIES_LISTED: u32 = 500;
/// Delivered rows kept per webhook (older ones are pruned as newer ones are delivered); parked
/// and pending ones are always kept.
pub const KEPT_DELIVERED: i64 = 1_000;

/// One event, as the feed answers it and a webhook receives it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// The feed's cursor: only grows; `GET /v1/events?after=` takes the last one seen.
    pub seq: i64,
    /// Stable per event: the idempotency key (a redelivery carries the same).
    pub id: String,
    /// `customer.created`, `customer.changed`, `visit.checked_in`, `visit.checked_out`,
    /// `order.submitted`, `case.escalated` or `case.resolved`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The record the event is about.
    pub record_id: String,
    /// Unix ms at which the change was committed on the server.
    pub occurred_at: Millis,
    /// The ids and the few fields of the record an integrator acts on (per type; see
    /// docs/ARCHITECTURE.md, "Webhooks and the change feed").
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A registered webhook, with its secret (never answered but at creation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub created_at: Millis,
    pub active: bool,
}

/// A webhook as listed: no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WebhookInfo {
    pub id: String,
    pub url: String,
    pub created_at: Millis,
    pub active: bool,
    /// Events up to this sequence number are queued, delivered or parked.
    pub after_seq: i64,
    /// Deliveries waiting (being tried or backing off).
    pub pending: u32,
    pub parked: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Parked,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Parked => "parked",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Parked,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One event's delivery to one webhook, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeliveryRow {
    pub event_seq: i64,
    pub event_id: String,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Unix ms of the next attempt (pending ones).
    pub next_attempt_at: Millis,
    /// Why the last attempt failed, when it did.
    pub last_error: Option<String>,
    pub updated_at: Millis,
}

/// The delivery a webhook's worker is to try now.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub webhook: Webhook,
    pub event: Event,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What a webhook's worker has to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The webhook was removed.
    Gone,
    /// Nothing queued: wait for new events.
    Idle,
    /// The oldest pending delivery is backing off until then (unix ms).
    NotBefore(Millis),
    Due(Box<DueDelivery>),
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Tried again at this time (unix ms).
    RetryAt(Millis),
    Park,
}

pub trait WebhookStorage {
    /// Registers `webhook`: it receives the events committed after this call.
    fn create_webhook(&self, webhook: &Webhook) -> Result<()>;
    /// Every webhook, oldest first (at most `policy::MAX_WEBHOOKS` can exist).
    fn webhooks(&self) -> Result<Vec<WebhookInfo>>;
    /// Removes a webhook and its queue; `false` when there was none.
    fn remove_webhook(&self, id: &str) -> Result<bool>;
    /// Events after `after`, in order, at most `limit` (held at [`MAX_EVENTS_PAGE`]).
    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>>;
    /// The webhook's next delivery, in event order: a pending one first (the oldest), else
    /// the first event after the webhook's queue, queued now.
    fn claim_delivery(&self, webhook_id: &str, now: Millis) -> Result<Claim>;
    /// The attempt succeeded.
    fn delivery_succeeded(&self, webhook_id: &str, event_seq: i64, now: Millis) -> Result<()>;
    /// The attempt failed with `error`: tried again later, or parked.
    fn delivery_failed(
        &self,
        webhook_id: &str,
        event_seq: i64,
        error: &str,
        then: AfterFailure,
        now: Millis,
    ) -> Result<()>;
    /// The webhook's deliveries in `state` (every state: `None`), newest first, at most
    /// `limit` (held at [`MAX_DELIVERIES_LISTED`]); `None` for an unknown webhook.
    fn deliveries(
        &self,
        webhook_id: &str,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Option<Vec<DeliveryRow>>>;
    /// Makes the webhook's parked deliveries (only `event_seq`'s, when given) pending again,
    /// due now, with their attempts counted afresh; how many. `None` for an unknown webhook.
    fn replay_parked(
        &self,
        webhook_id: &str,
        event_seq: Option<i64>,
        now: Millis,
    ) -> Result<Option<u64>>;
}

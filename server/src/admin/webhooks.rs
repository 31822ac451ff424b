//! The webhook admin commands: `webhook add|list|remove|parked|replay`. The server's own
//! address is not known here: a URL pointing at it is caught before each delivery (and parked).

use super::AdminError;
use crate::config::WebhookCommand;
use crate::model::now_ms;
use crate::storage::{DeliveryState, MAX_DELIVERIES_LISTED, Storage};
use crate::webhooks::register;

pub fn webhook(storage: &dyn Storage, command: WebhookCommand) -> Result<String, AdminError> {
    match command {
        WebhookCommand::Add { url, secret } => {
            let registered = register(storage, &url, secret, None, now_ms())?;
            Ok(format!(
                "webhook {} registered for {}\nsecret (shown once): {}",
                registered.id, registered.url, registered.secret
            ))
        }
        WebhookCommand::List => {
            let lines: Vec<String> = storage
                .webhooks()?
                .into_iter()
                .map(|w| {
                    format!(
                        "{} {} pending {} parked {}{}",
                        w.id,
                        w.url,
                        w.pending,
                        w.parked,
                        if w.active { "" } else { " (inactive)" }
                    )
                })
                .collect();
            Ok(if lines.is_empty() {
                "no webhooks".to_owned()
            } else {
                lines.join("\n")
            })
        }
        WebhookCommand::Remove { id } => {
            if storage.remove_webhook(&id)? {
                Ok(format!("webhook {id} removed"))
            } else {
                Err(AdminError::NoSuchWebhook(id))
            }
        }
        WebhookCommand::Parked { id } => {
            let parked = storage
                .deliveries(&id, Some(DeliveryState::Parked), MAX_DELIVERIES_LISTED)?
                .ok_or_else(|| AdminError::NoSuchWebhook(id.clone()))?;
            let lines: Vec<String> = parked
                .iter()
                .map(|d| {
                    format!(
                        "event {} {} {} attempts: {}",
                        d.event_seq,
                        d.event_type,
                        d.attempts,
                        d.last_error.as_deref().unwrap_or("")
                    )
                })
                .collect();
            Ok(if lines.is_empty() {
                format!("webhook {id}: nothing parked")
            } else {
                lines.join("\n")
            })
        }
        WebhookCommand::Replay { id, seq } => {
            let replayed = storage
                .replay_parked(&id, seq, now_ms())?
                .ok_or_else(|| AdminError::NoSuchWebhook(id.clone()))?;
            Ok(format!(
                "webhook {id}: {replayed} parked deliveries queued again (a running server sends them within a second)"
            ))
        }
    }
}

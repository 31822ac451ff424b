//! The change feed and webhooks on SQLite (migration 0020). The events are written by the push
//! in its own transaction ([`record_events`]), so an acknowledged change always has its events
//! and a rolled-back push has none. Each webhook's queue is its `after_seq` (the events up to it
//! have a delivery row) and its `pending` delivery rows: one event at a time is queued from the
//! feed, so deliveries to one webhook go in event order.

use fieldcrm_core::{AnyRecord, Millis};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::webhooks::{
    AfterFailure, Claim, DeliveryRow, DeliveryState, DueDelivery, Event, KEPT_DELIVERED,
    MAX_DELIVERIES_LISTED, MAX_EVENTS_PAGE, Webhook, WebhookInfo, WebhookStorage,
};
use super::{Result, SqliteStorage, corrupt};
use crate::model::new_id;
use crate::webhooks::events;

/// Writes the events of one merged record (see `webhooks/events.rs`) in the push's
/// transaction, at commit time `now`.
pub(super) fn record_events(
    tx: &Transaction<'_>,
    previous: Option<&AnyRecord>,
    current: &AnyRecord,
    now: Millis,
) -> Result<()> {
    let drafts = events::derive(previous, current);
    if drafts.is_empty() {
        return Ok(());
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (id, type, record_id, occurred_at, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for draft in drafts {
        insert.execute(params![
            new_id(),
            draft.event_type.as_str(),
            draft.record_id,
            now,
            draft.payload.to_string()
        ])?;
    }
    Ok(())
}

const EVENT_COLUMNS: &str = "seq, id, type, record_id, occurred_at, payload";

fn event_from(row: &Row<'_>) -> rusqlite::Result<(Event, String)> {
    Ok((
        Event {
            seq: row.get(0)?,
            id: row.get(1)?,
            event_type: row.get(2)?,
            record_id: row.get(3)?,
            occurred_at: row.get(4)?,
            data: serde_json::Value::Null,
        },
        row.get(5)?,
    ))
}

fn with_payload((mut event, payload): (Event, String)) -> Result<Event> {
    event.data = serde_json::from_str(&payload)
        .map_err(|e| corrupt(format!("event {} payload: {e}", event.seq)))?;
    Ok(event)
}

fn event_at(conn: &Connection, seq: i64) -> Result<Event> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE seq = ?1"
        ))?
        .query_row([seq], event_from)?;
    with_payload(row)
}

fn webhook_by_id(conn: &Connection, id: &str) -> Result<Option<(Webhook, i64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, url, secret, created_at, active, after_seq FROM webhooks WHERE id = ?1",
        )?
        .query_row([id], |row| {
            Ok((
                Webhook {
                    id: row.get(0)?,
                    url: row.get(1)?,
                    secret: row.get(2)?,
                    created_at: row.get(3)?,
                    active: row.get(4)?,
                },
                row.get(5)?,
            ))
        })
        .optional()?)
}

/// The webhook's oldest pending delivery: its event, attempts and due time.
fn oldest_pending(conn: &Connection, webhook_id: &str) -> Result<Option<(i64, u32, Millis)>> {
    Ok(conn
        .prepare_cached(
            "SELECT event_seq, attempts, next_attempt_at FROM deliveries
             WHERE webhook_id = ?1 AND state = 'pending' ORDER BY event_seq LIMIT 1",
        )?
        .query_row([webhook_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?)
}

fn first_event_after(conn: &Connection, after: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT seq FROM events WHERE seq > ?1 ORDER BY seq LIMIT 1")?
        .query_row([after], |row| row.get(0))
        .optional()?)
}

fn due(webhook: Webhook, conn: &Connection, seq: i64, attempts: u32) -> Result<Claim> {
    Ok(Claim::Due(Box::new(DueDelivery {
        webhook,
        event: event_at(conn, seq)?,
        attempts,
    })))
}

impl WebhookStorage for SqliteStorage {
    fn create_webhook(&self, webhook: &Webhook) -> Result<()> {
        self.write().execute(
            "INSERT INTO webhooks (id, url, secret, created_at, active, after_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, (SELECT COALESCE(MAX(seq), 0) FROM events))",
            params![
                webhook.id,
                webhook.url,
                webhook.secret,
                webhook.created_at,
                webhook.active
            ],
        )?;
        Ok(())
    }

    fn webhooks(&self) -> Result<Vec<WebhookInfo>> {
        let conn = self.read();
        let mut statement = conn.prepare_cached(
            "SELECT w.id, w.url, w.created_at, w.active, w.after_seq,
               (SELECT COUNT(*) FROM deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending'),
               (SELECT COUNT(*) FROM deliveries d WHERE d.webhook_id = w.id AND d.state = 'parked')
             FROM webhooks w ORDER BY w.created_at, w.id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(WebhookInfo {
                id: row.get(0)?,
                url: row.get(1)?,
                created_at: row.get(2)?,
                active: row.get(3)?,
                after_seq: row.get(4)?,
                pending: row.get(5)?,
                parked: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn remove_webhook(&self, id: &str) -> Result<bool> {
        // The deliveries go with it (ON DELETE CASCADE).
        Ok(self
            .write()
            .execute("DELETE FROM webhooks WHERE id = ?1", [id])?
            > 0)
    }

    fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>> {
        let conn = self.read();
        let mut statement = conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![after, limit.min(MAX_EVENTS_PAGE)], event_from)?;
        rows.map(|row| with_payload(row?)).collect()
    }

    fn claim_delivery(&self, webhook_id: &str, now: Millis) -> Result<Claim> {
        // Read first: an idle or backing-off webhook costs no write lock.
        {
            let conn = self.read();
            let Some((webhook, after_seq)) = webhook_by_id(&conn, webhook_id)? else {
                return Ok(Claim::Gone);
            };
            if !webhook.active {
                return Ok(Claim::Gone);
            }
            match oldest_pending(&conn, webhook_id)? {
                Some((_, _, at)) if at > now => return Ok(Claim::NotBefore(at)),
                Some((seq, attempts, _)) => return due(webhook, &conn, seq, attempts),
                None => {
                    if first_event_after(&conn, after_seq)?.is_none() {
                        return Ok(Claim::Idle);
                    }
                }
            }
        }
        // Queue the next event (the webhook may have been removed or its queue moved
        // meanwhile: everything is read again under the write lock).
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let Some((webhook, after_seq)) = webhook_by_id(&tx, webhook_id)? else {
            return Ok(Claim::Gone);
        };
        if let Some((seq, attempts, at)) = oldest_pending(&tx, webhook_id)? {
            return if at > now {
                Ok(Claim::NotBefore(at))
            } else {
                due(webhook, &tx, seq, attempts)
            };
        }
        let Some(seq) = first_event_after(&tx, after_seq)? else {
            return Ok(Claim::Idle);
        };
        tx.prepare_cached(
            "INSERT INTO deliveries (webhook_id, event_seq, state, attempts, next_attempt_at, updated_at)
             VALUES (?1, ?2, 'pending', 0, 0, ?3)",
        )?
        .execute(params![webhook_id, seq, now])?;
        tx.prepare_cached("UPDATE webhooks SET after_seq = ?2 WHERE id = ?1")?
            .execute(params![webhook_id, seq])?;
        let claim = due(webhook, &tx, seq, 0)?;
        tx.commit()?;
        Ok(claim)
    }

    fn delivery_succeeded(&self, webhook_id: &str, event_seq: i64, now: Millis) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        tx.prepare_cached(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_error = NULL,
               updated_at = ?3
             WHERE webhook_id = ?1 AND event_seq = ?2 AND state = 'pending'",
        )?
        .execute(params![webhook_id, event_seq, now])?;
        tx.prepare_cached(
            "DELETE FROM deliveries
             WHERE webhook_id = ?1 AND state = 'delivered' AND event_seq <= ?2",
        )?
        .execute(params![webhook_id, event_seq - KEPT_DELIVERED])?;
        tx.commit()?;
        Ok(())
    }

    fn delivery_failed(
        &self,
        webhook_id: &str,
        event_seq: i64,
        error: &str,
        then: AfterFailure,
        now: Millis,
    ) -> Result<()> {
        let (state, next_attempt_at) = match then {
            AfterFailure::RetryAt(at) => (DeliveryState::Pending, at),
            AfterFailure::Park => (DeliveryState::Parked, now),
        };
        // The error as the receiver's text may be long: kept short.
        let error: String = error.chars().take(500).collect();
        self.write()
            .prepare_cached(
                "UPDATE deliveries SET state = ?3, attempts = attempts + 1, next_attempt_at = ?4,
                   last_error = ?5, updated_at = ?6
                 WHERE webhook_id = ?1 AND event_seq = ?2 AND state = 'pending'",
            )?
            .execute(params![
                webhook_id,
                event_seq,
                state.as_str(),
                next_attempt_at,
                error,
                now
            ])?;
        Ok(())
    }

    fn deliveries(
        &self,
        webhook_id: &str,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Option<Vec<DeliveryRow>>> {
        let conn = self.read();
        if webhook_by_id(&conn, webhook_id)?.is_none() {
            return Ok(None);
        }
        let mut statement = conn.prepare_cached(
            "SELECT d.event_seq, e.id, e.type, d.state, d.attempts, d.next_attempt_at,
               d.last_error, d.updated_at
             FROM deliveries d JOIN events e ON e.seq = d.event_seq
             WHERE d.webhook_id = ?1 AND (?2 IS NULL OR d.state = ?2)
             ORDER BY d.event_seq DESC LIMIT ?3",
        )?;
        let rows = statement.query_map(
            params![
                webhook_id,
                state.map(DeliveryState::as_str),
                limit.min(MAX_DELIVERIES_LISTED)
            ],
            |row| {
                Ok((
                    row.get::<_, String>(3)?,
                    DeliveryRow {
                        event_seq: row.get(0)?,
                        event_id: row.get(1)?,
                        event_type: row.get(2)?,
                        state: DeliveryState::Pending,
                        attempts: row.get(4)?,
                        next_attempt_at: row.get(5)?,
                        last_error: row.get(6)?,
                        updated_at: row.get(7)?,
                    },
                ))
            },
        )?;
        let mut listed = Vec::new();
        for row in rows {
            let (state, mut delivery) = row?;
            delivery.state = DeliveryState::parse(&state)
                .ok_or_else(|| corrupt(format!("delivery state {state:?}")))?;
            listed.push(delivery);
        }
        Ok(Some(listed))
    }

    fn replay_parked(
        &self,
        webhook_id: &str,
        event_seq: Option<i64>,
        now: Millis,
    ) -> Result<Option<u64>> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        if webhook_by_id(&tx, webhook_id)?.is_none() {
            return Ok(None);
        }
        let replayed = tx
            .prepare_cached(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?3,
                   updated_at = ?3
                 WHERE webhook_id = ?1 AND state = 'parked' AND (?2 IS NULL OR event_seq = ?2)",
            )?
            .execute(params![webhook_id, event_seq, now])?;
        tx.commit()?;
        Ok(Some(replayed as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Storage;
    use fieldcrm_core::{Customer, Record};

    fn storage() -> SqliteStorage {
        SqliteStorage::open_in_memory().unwrap()
    }

    fn emit(storage: &SqliteStorage, name: &str) {
        let mut conn = storage.write();
        let tx = conn.transaction().unwrap();
        let mut customer = Customer::new(name);
        customer.meta.id = format!("id-{name}");
        record_events(&tx, None, &customer.into_any(), 1_000).unwrap();
        tx.commit().unwrap();
    }

    fn hook(id: &str) -> Webhook {
        Webhook {
            id: id.into(),
            url: "http://127.0.0.1:9/hook".into(),
            secret: "s".repeat(32),
            created_at: 1,
            active: true,
        }
    }

    fn due_seq(claim: Claim) -> i64 {
        match claim {
            Claim::Due(due) => due.event.seq,
            other => panic!("not due: {other:?}"),
        }
    }

    #[test]
    fn a_webhook_gets_the_events_after_its_creation_in_order_one_at_a_time() {
        let storage = storage();
        emit(&storage, "before");
        storage.create_webhook(&hook("w")).unwrap();
        assert_eq!(storage.claim_delivery("w", 10).unwrap(), Claim::Idle);
        emit(&storage, "a");
        emit(&storage, "b");
        let first = due_seq(storage.claim_delivery("w", 10).unwrap());
        // Not delivered yet: the same one again, never the next.
        assert_eq!(due_seq(storage.claim_delivery("w", 10).unwrap()), first);
        storage.delivery_succeeded("w", first, 11).unwrap();
        let second = due_seq(storage.claim_delivery("w", 12).unwrap());
        assert_eq!(second, first + 1);
        storage.delivery_succeeded("w", second, 13).unwrap();
        assert_eq!(storage.claim_delivery("w", 14).unwrap(), Claim::Idle);
        let feed = storage.events_after(0, 10).unwrap();
        assert_eq!(feed.len(), 3);
        assert_eq!(feed[1].data["name"], "a");
        assert_eq!(storage.events_after(feed[1].seq, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_failure_backs_off_then_parks_and_a_replay_queues_it_again_first() {
        let storage = storage();
        storage.create_webhook(&hook("w")).unwrap();
        emit(&storage, "a");
        emit(&storage, "b");
        let seq = due_seq(storage.claim_delivery("w", 10).unwrap());
        storage
            .delivery_failed("w", seq, "503", AfterFailure::RetryAt(50), 10)
            .unwrap();
        assert_eq!(
            storage.claim_delivery("w", 20).unwrap(),
            Claim::NotBefore(50)
        );
        match storage.claim_delivery("w", 50).unwrap() {
            Claim::Due(due) => assert_eq!((due.event.seq, due.attempts), (seq, 1)),
            other => panic!("{other:?}"),
        }
        storage
            .delivery_failed("w", seq, "timed out", AfterFailure::Park, 60)
            .unwrap();
        // Parked: the next event goes.
        let next = due_seq(storage.claim_delivery("w", 61).unwrap());
        assert_eq!(next, seq + 1);
        storage.delivery_succeeded("w", next, 62).unwrap();
        let parked = storage
            .deliveries("w", Some(DeliveryState::Parked), 10)
            .unwrap()
            .unwrap();
        assert_eq!(parked.len(), 1);
        assert_eq!(
            (parked[0].attempts, parked[0].last_error.as_deref()),
            (2, Some("timed out"))
        );
        assert_eq!(storage.webhooks().unwrap()[0].parked, 1);

        assert_eq!(storage.replay_parked("w", Some(seq), 70).unwrap(), Some(1));
        assert_eq!(storage.replay_parked("w", None, 70).unwrap(), Some(0));
        assert_eq!(storage.replay_parked("nope", None, 70).unwrap(), None);
        match storage.claim_delivery("w", 70).unwrap() {
            Claim::Due(due) => assert_eq!((due.event.seq, due.attempts), (seq, 0)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_removed_webhook_is_gone_with_its_queue() {
        let storage = storage();
        storage.create_webhook(&hook("w")).unwrap();
        emit(&storage, "a");
        due_seq(storage.claim_delivery("w", 1).unwrap());
        assert!(storage.remove_webhook("w").unwrap());
        assert!(!storage.remove_webhook("w").unwrap());
        assert_eq!(storage.claim_delivery("w", 2).unwrap(), Claim::Gone);
        assert_eq!(storage.deliveries("w", None, 10).unwrap(), None);
    }

    #[test]
    fn old_delivered_rows_are_pruned_and_the_feed_page_is_bounded() {
        let storage = storage();
        storage.create_webhook(&hook("w")).unwrap();
        let count = KEPT_DELIVERED + 5;
        {
            let mut conn = storage.write();
            let tx = conn.transaction().unwrap();
            for n in 0..count {
                let mut customer = Customer::new(format!("c{n}"));
                customer.meta.id = format!("id{n}");
                record_events(&tx, None, &customer.into_any(), 1).unwrap();
            }
            tx.commit().unwrap();
        }
        for n in 0..count {
            let seq = due_seq(storage.claim_delivery("w", n).unwrap());
            storage.delivery_succeeded("w", seq, n).unwrap();
        }
        let listed = storage
            .deliveries("w", Some(DeliveryState::Delivered), u32::MAX)
            .unwrap()
            .unwrap();
        assert_eq!(listed.len() as u32, MAX_DELIVERIES_LISTED);
        let kept: i64 = storage
            .read()
            .query_row("SELECT COUNT(*) FROM deliveries", [], |row| row.get(0))
            .unwrap();
        assert_eq!(kept, KEPT_DELIVERED);
        assert_eq!(
            storage.events_after(0, u32::MAX).unwrap().len() as u32,
            MAX_EVENTS_PAGE
        );
        let _ = storage.health();
    }
}

//! Location pings between visits: recorded append-only on the device, closed into batches and
//! uploaded through the sync client. A batch keeps its id until the server acknowledges it, so
//! an upload whose answer was lost is sent again as the same batch and stored once.

use rusqlite::{OptionalExtension, params};

use crate::error::Result;
use crate::model::{Fix, Millis};
use crate::protocol::{MAX_PINGS_PER_BATCH, PingAck, PingUpload};
use crate::store::{Store, now_ms};

/// Acknowledged pings are kept this long on the device (for the rep's own route view), then
/// pruned.
pub const KEEP_UPLOADED_PINGS_MS: Millis = 14 * 24 * 60 * 60 * 1000;

/// A ping the server refused, kept on the device with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusedPingRecord {
    pub fix: Fix,
    pub reason: String,
}

/// A [`Fix`] from the first five columns of a row: fix time, latitude, longitude, accuracy and
/// mock flag, in that order. The device's `pings` table and the server's (where the fix time is
/// `fix_at`) are both read through it.
pub fn fix_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Fix> {
    Ok(Fix {
        at: row.get(0)?,
        lat: row.get(1)?,
        lon: row.get(2)?,
        accuracy_m: row.get(3)?,
        mock: row.get(4)?,
    })
}

impl Store {
    /// Records location pings (validated first: one invalid ping refuses the call and stores
    /// nothing). A ping with the fix time of one already stored is ignored. Returns how many
    /// were new.
    pub fn record_pings(&self, pings: &[Fix]) -> Result<u32> {
        let now = now_ms();
        for ping in pings {
            ping.validate("ping", now)?;
        }
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let mut added = 0;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO pings (at, lat, lon, accuracy_m, mock) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for p in pings {
                    added += insert.execute(params![p.at, p.lat, p.lon, p.accuracy_m, p.mock])?;
                }
            }
            tx.commit()?;
            Ok(added as u32)
        })
        .inspect(|_| self.notify_sync_state())
    }

    /// The pings recorded with fix times in `[from, to)`, in time order.
    pub fn pings_between(&self, from: Millis, to: Millis) -> Result<Vec<Fix>> {
        self.with_conn(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT at, lat, lon, accuracy_m, mock FROM pings WHERE at >= ?1 AND at < ?2 ORDER BY at",
                )?
                .query_map(params![from, to], fix_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The batch to upload next: the oldest batch not yet acknowledged (sent again as is), or
    /// a new batch of up to `max` pings not in a batch yet. `None` when nothing is waiting.
    pub fn next_ping_batch(&self, max: usize) -> Result<Option<PingUpload>> {
        let max = max.clamp(1, MAX_PINGS_PER_BATCH);
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let open: Option<String> = tx
                .prepare_cached(
                    "SELECT id FROM ping_batches WHERE acknowledged_at IS NULL ORDER BY closed_at, id LIMIT 1",
                )?
                .query_row([], |row| row.get(0))
                .optional()?;
            let batch_id = match open {
                Some(id) => id,
                None => {
                    let id = uuid::Uuid::now_v7().to_string();
                    let moved = tx
                        .prepare_cached(
                            "UPDATE pings SET batch_id = ?1 WHERE at IN
                               (SELECT at FROM pings WHERE batch_id IS NULL ORDER BY at LIMIT ?2)",
                        )?
                        .execute(params![id, max as i64])?;
                    if moved == 0 {
                        return Ok(None);
                    }
                    tx.prepare_cached("INSERT INTO ping_batches (id, closed_at) VALUES (?1, ?2)")?
                        .execute(params![id, now_ms()])?;
                    id
                }
            };
            let pings = tx
                .prepare_cached(
                    "SELECT at, lat, lon, accuracy_m, mock FROM pings WHERE batch_id = ?1 ORDER BY at",
                )?
                .query_map([&batch_id], fix_row)?
                .collect::<rusqlite::Result<Vec<Fix>>>()?;
            tx.commit()?;
            Ok(Some(PingUpload { batch_id, pings }))
        })
    }

    /// Applies the server's acknowledgement of a batch: it leaves the upload queue, refused
    /// pings keep their reason, and acknowledged pings older than
    /// [`KEEP_UPLOADED_PINGS_MS`] are pruned. Returns whether the batch was known.
    pub fn acknowledge_ping_batch(&self, ack: &PingAck) -> Result<bool> {
        let now = now_ms();
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let known = tx
                .prepare_cached(
                    "UPDATE ping_batches SET acknowledged_at = ?2 WHERE id = ?1 AND acknowledged_at IS NULL",
                )?
                .execute(params![ack.batch_id, now])?
                > 0;
            {
                let mut refuse = tx.prepare_cached(
                    "UPDATE pings SET refused = ?3 WHERE batch_id = ?1 AND at = ?2",
                )?;
                for refused in &ack.refused {
                    refuse.execute(params![ack.batch_id, refused.at, refused.reason])?;
                }
            }
            tx.prepare_cached(
                "DELETE FROM pings WHERE at < ?1 AND refused IS NULL AND batch_id IN
                   (SELECT id FROM ping_batches WHERE acknowledged_at IS NOT NULL)",
            )?
            .execute([now - KEEP_UPLOADED_PINGS_MS])?;
            tx.prepare_cached(
                "DELETE FROM ping_batches WHERE acknowledged_at IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM pings WHERE batch_id = ping_batches.id)",
            )?
            .execute([])?;
            tx.commit()?;
            Ok(known)
        })
        .inspect(|_| self.notify_sync_state())
    }

    /// Pings the server refused, with its reasons.
    pub fn refused_pings(&self) -> Result<Vec<RefusedPingRecord>> {
        self.with_conn(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT at, lat, lon, accuracy_m, mock, refused FROM pings WHERE refused IS NOT NULL ORDER BY at",
                )?
                .query_map([], |row| {
                    Ok(RefusedPingRecord {
                        fix: fix_row(row)?,
                        reason: row.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RefusedPing;

    fn ping(at: Millis) -> Fix {
        Fix {
            at,
            lat: 52.52,
            lon: 13.40 + (at % 1000) as f64 * 1e-5,
            accuracy_m: 8.0,
            mock: false,
        }
    }

    #[test]
    fn batches_are_resent_until_acknowledged_and_duplicates_are_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.sqlite")).unwrap();
        let t0 = now_ms() - 60_000;
        // Out of order and one repeated.
        let recorded = store
            .record_pings(&[ping(t0 + 3), ping(t0 + 1), ping(t0 + 2), ping(t0 + 1)])
            .unwrap();
        assert_eq!(recorded, 3);
        assert_eq!(store.sync_status().unwrap().pending_pings, 3);

        let first = store.next_ping_batch(2).unwrap().unwrap();
        assert_eq!(
            first.pings.iter().map(|p| p.at).collect::<Vec<_>>(),
            [t0 + 1, t0 + 2]
        );
        // Not acknowledged (the answer was lost): the same batch again.
        let again = store.next_ping_batch(2).unwrap().unwrap();
        assert_eq!(again, first);
        let ack = PingAck {
            batch_id: first.batch_id.clone(),
            stored: 1,
            duplicates: 0,
            refused: vec![RefusedPing {
                at: t0 + 2,
                reason: "fix time in the future".into(),
            }],
        };
        assert!(store.acknowledge_ping_batch(&ack).unwrap());
        assert!(
            !store.acknowledge_ping_batch(&ack).unwrap(),
            "twice is harmless"
        );
        let refused = store.refused_pings().unwrap();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].fix.at, t0 + 2);

        let second = store.next_ping_batch(2).unwrap().unwrap();
        assert_ne!(second.batch_id, first.batch_id);
        assert_eq!(second.pings.len(), 1);
        store
            .acknowledge_ping_batch(&PingAck {
                batch_id: second.batch_id,
                stored: 1,
                duplicates: 0,
                refused: vec![],
            })
            .unwrap();
        assert!(store.next_ping_batch(2).unwrap().is_none());
        assert_eq!(store.sync_status().unwrap().pending_pings, 0);
        // Recent acknowledged pings stay for the rep's own route view.
        assert_eq!(store.pings_between(t0, t0 + 10).unwrap().len(), 3);
    }

    #[test]
    fn invalid_pings_are_refused_and_nothing_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.sqlite")).unwrap();
        let now = now_ms();
        let bad = [
            Fix {
                lat: 91.0,
                ..ping(now)
            },
            Fix {
                lon: -180.5,
                ..ping(now)
            },
            Fix {
                lat: f64::NAN,
                ..ping(now)
            },
            Fix {
                lon: f64::INFINITY,
                ..ping(now)
            },
            Fix {
                accuracy_m: -1.0,
                ..ping(now)
            },
            Fix {
                accuracy_m: f64::NAN,
                ..ping(now)
            },
            Fix {
                at: now + 24 * 3_600_000,
                ..ping(now)
            },
            Fix {
                at: 12,
                ..ping(now)
            },
        ];
        for fix in bad {
            let err = store.record_pings(&[ping(now - 1), fix]).unwrap_err();
            assert!(
                matches!(err, crate::StoreError::Validation(_)),
                "{fix:?}: {err}"
            );
        }
        assert_eq!(store.sync_status().unwrap().pending_pings, 0);
    }
}

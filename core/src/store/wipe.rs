//! Wiping a device's store when the server says the device was revoked (a lost phone, a rep
//! who left): every record, projection, pending change, ping, rejected change and the user
//! binding go; what is left is a valid empty store, as if it had just been created.

use automerge::ActorId;

use std::sync::MutexGuard;

use super::{Inner, Store, SyncSlot};
use crate::error::{Result, StoreError};

impl Store {
    /// Removes everything this device holds and leaves a valid empty store: no records, no
    /// projections, nothing waiting for upload, no pings, no rejected changes, no user (the
    /// creation fields say `local` again) and a fresh actor id (the old one stays revoked at
    /// the server).
    ///
    /// Deleted pages are overwritten (`secure_delete`) and the write-ahead log is truncated,
    /// so the data does not linger in the file. Every table of the schema is emptied, so a
    /// table added by a later migration is covered too. Live queries see the empty store.
    ///
    /// While a sync session runs on the store this is [`StoreError::SyncRunning`] at once and
    /// nothing is wiped ([`crate::sync`] wipes by itself when the server says so).
    pub fn wipe(&self) -> Result<()> {
        let inner = self.lock();
        // Checked under the store's lock: a session that starts after this reads the wiped
        // store, one that started before is refused.
        if self.is_syncing() {
            return Err(StoreError::SyncRunning);
        }
        self.wipe_locked(inner)
    }

    /// [`Store::wipe`] from inside the sync session holding `_slot` (a revoked device).
    pub(crate) fn wipe_in_sync(&self, _slot: &SyncSlot<'_>) -> Result<()> {
        self.wipe_locked(self.lock())
    }

    fn wipe_locked(&self, mut inner: MutexGuard<'_, Inner>) -> Result<()> {
        let actor = ActorId::random();
        {
            inner.conn.pragma_update(None, "secure_delete", "ON")?;
            let tx = inner.conn.transaction()?;
            let tables: Vec<String> = tx
                .prepare(
                    "SELECT name FROM pragma_table_list
                     WHERE schema = 'main' AND type IN ('table', 'virtual')
                       AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                )?
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for table in &tables {
                tx.execute(
                    &format!("DELETE FROM \"{}\"", table.replace('"', "\"\"")),
                    [],
                )?;
            }
            tx.execute("INSERT INTO sync_state (id) VALUES (1)", [])?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('actor', ?1)",
                [actor.to_hex_string()],
            )?;
            tx.commit()?;
            // Nothing of the old data may stay in the log either.
            inner
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            // Ordinary deletes (acknowledged changes) need not pay for overwriting.
            inner.conn.pragma_update(None, "secure_delete", "OFF")?;
        }
        inner.docs.clear();
        inner.actor = actor;
        inner.user = "local".to_owned();
        self.refresh_live(inner, None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Customer, Kind, Visit};
    use crate::protocol::{RejectCode, Rejection};
    use crate::{Fix, Query, QueryResult, Store};

    fn count(store: &Store, table: &str) -> i64 {
        store
            .with_conn(|conn| {
                Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
            })
            .unwrap()
    }

    #[test]
    fn wipe_leaves_a_valid_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.sqlite");
        let store = Store::open(&path).unwrap();
        store.set_user("ana").unwrap();
        let old_actor = store.actor_id();
        let customer = store.create(Customer::new("Kiosk Nord")).unwrap();
        store.create(Visit::new(&customer.meta.id, "ana")).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        store
            .record_pings(&[Fix {
                at: now - 60_000,
                lat: 53.55,
                lon: 9.99,
                accuracy_m: 5.0,
                mock: false,
            }])
            .unwrap();
        let pending = store.pending_changes(10).unwrap();
        store
            .record_rejections(
                &[Rejection {
                    doc_id: pending[0].doc_id.clone(),
                    hashes: vec![pending[0].hash.clone()],
                    code: RejectCode::Forbidden,
                    reason: "test".into(),
                }],
                1,
            )
            .unwrap();
        store.record_sync_success(42, 5).unwrap();
        assert!(count(&store, "customers") > 0 && count(&store, "pings") > 0);
        assert!(count(&store, "rejected") > 0);

        store.wipe().unwrap();

        for table in [
            "docs",
            "pending",
            "rejected",
            "pings",
            "ping_batches",
            "customers",
            "visits",
        ] {
            assert_eq!(count(&store, table), 0, "{table}");
        }
        assert!(store.get_any(&customer.meta.id).unwrap().is_none());
        assert!(store.document_ids(Kind::Customer).unwrap().is_empty());
        assert!(store.pending_changes(10).unwrap().is_empty());
        assert!(store.rejected_changes().unwrap().is_empty());
        let status = store.sync_status().unwrap();
        assert_eq!(
            (status.cursor, status.pending_changes, status.last_sync_at),
            (0, 0, None)
        );
        assert_eq!(store.user(), "local");
        assert_ne!(store.actor_id(), old_actor);
        assert!(matches!(
            store.query(&Query::Customers(Default::default())).unwrap(),
            QueryResult::Customers(c) if c.is_empty()
        ));

        // Still a working store, and so after reopening.
        let fresh = store.create(Customer::new("Neu")).unwrap();
        let actor = store.actor_id();
        drop(store);
        let reopened = Store::open(&path).unwrap();
        assert_eq!(reopened.actor_id(), actor);
        assert_eq!(reopened.user(), "local");
        assert!(reopened.get_any(&fresh.meta.id).unwrap().is_some());
    }
}

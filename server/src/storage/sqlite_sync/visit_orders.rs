//! A one-time data migration run at server start: the free-text order lines a visit holds
//! (from before orders were a record kind) become an order of their own. Each visit with lines
//! gets an order under a deterministic id (`<visit id>-order`): for the visit's customer, at
//! the visit, taken by its rep when the visit was checked in (or planned, or created), in the
//! organisation's default currency, submitted (the lines were the record of an order already
//! taken), one line per free-text line (the product unknown, the text kept as the line's name,
//! quantity and unit price as written, no tax, no discount); the visit's `order_lines` are then
//! removed. Both are written as changes by the server's own actor
//! (`fieldcrm_core::authority::server_edit`) into the log, so every device receives them as
//! any other change, and the run is recorded in `data_migrations` in the same transaction, so it
//! runs once. A visit whose customer the server cannot place (no territory) keeps its lines.

use fieldcrm_core::authority::{self, Current, ServerEdit};
use fieldcrm_core::{AnyRecord, Kind, Order, OrderLine, OrderStatus, OrderStatusChange, Visit};
use rusqlite::{OptionalExtension, Transaction, params};

use super::push::{scope_of, stored_doc_and_record};
use super::{allocate_seqs, corrupt, insert_scope_history, stored_doc};
use crate::model::now_unix;
use crate::scope::Scope;
use crate::storage::{Result, SqliteStorage, stored_record};

/// The name the run is recorded under.
pub(in crate::storage) const MIGRATION: &str = "visit_order_lines_to_orders";

/// The product id of a line moved from a visit: no product (an id no catalog product has; a
/// product is never created with it, so the line shows as unknown).
pub const FREE_TEXT_PRODUCT: &str = "free-text";

/// What the run did; `None` from [`migrate_visit_order_lines`] when it had run before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VisitOrdersMigrated {
    /// Orders created (one per visit with lines).
    pub orders: u64,
    /// Visits with lines left as they were (customer without a territory, or a record that
    /// did not pass the rules).
    pub skipped: u64,
}

/// The order a visit's free-text lines become: all of it derived from the visit (created and
/// updated when the visit's lines were last written), so the same visit always gives the same
/// order.
fn order_from(visit: &Visit, currency: &str) -> Order {
    let ordered_at = visit
        .check_in
        .as_ref()
        .map(|c| c.at)
        .or(visit.planned_start)
        .unwrap_or(visit.meta.created_at);
    let mut order = Order::new(&visit.customer_id, &visit.rep, currency);
    order.meta.id = format!("{}-order", visit.meta.id);
    order.meta.created_at = visit.meta.updated_at;
    order.meta.updated_at = visit.meta.updated_at;
    order.meta.created_by = visit.rep.clone();
    order.visit_id = Some(visit.meta.id.clone());
    order.status = OrderStatus::Submitted;
    order.ordered_at = ordered_at;
    order.lines = visit
        .order_lines
        .iter()
        .enumerate()
        .map(|(index, line)| OrderLine {
            id: format!("{}-line-{index:04}", visit.meta.id),
            product_id: FREE_TEXT_PRODUCT.to_owned(),
            sku: String::new(),
            name: line.product.clone(),
            quantity: line.quantity,
            unit_price_minor: line.unit_price_minor,
            tax_rate_bp: 0,
            discount_bp: 0,
        })
        .collect();
    order.status_history = vec![OrderStatusChange {
        status: OrderStatus::Submitted,
        at: ordered_at,
        by: visit.rep.clone(),
    }];
    order
}

/// Writes a server edit of `doc_id` into the log and the document's row (saved compactly),
/// at `scope`; `first_seq` and `scope_seq` of a stored document are kept.
fn write_edit(
    tx: &Transaction<'_>,
    doc_id: &str,
    kind: Kind,
    scope: &Scope,
    edit: ServerEdit,
) -> Result<()> {
    if edit.new_changes.is_empty() {
        return Ok(());
    }
    let stored = stored_doc(tx, doc_id)?;
    let count = edit.new_changes.len() as i64;
    let last_seq = allocate_seqs(tx, count)?;
    let now = now_unix();
    for (seq, (hash, bytes)) in (last_seq - count + 1..).zip(&edit.new_changes) {
        tx.prepare_cached(
            "INSERT INTO changes (seq, doc_id, hash, bytes, user_id, committed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![seq, doc_id, hash, bytes, "server", now])?;
    }
    let first_seq = stored.as_ref().map_or(last_seq, |s| s.first_seq);
    let scope_seq = stored.as_ref().map_or(last_seq, |s| s.scope_seq);
    if stored.is_none() {
        insert_scope_history(tx, doc_id, last_seq, scope)?;
    }
    let bytes = authority::save(&edit.doc).map_err(|refusal| corrupt(refusal.reason))?;
    let (record_bytes, record_format) = stored_record::to_store(&edit.record)?;
    tx.prepare_cached(
        "INSERT INTO documents (id, kind, customer_id, bytes, record, territory_id, owner_id, team_id,
           first_seq, last_seq, scope_seq, appended, record_format, org_wide)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0, ?12, ?13)
         ON CONFLICT (id) DO UPDATE SET bytes = excluded.bytes, record = excluded.record,
           last_seq = excluded.last_seq, appended = 0, record_format = excluded.record_format",
    )?
    .execute(params![
        doc_id,
        kind.as_str(),
        crate::scope::customer_of(&edit.record),
        bytes,
        record_bytes,
        scope.territory_id,
        scope.owner_id,
        scope.team_id,
        first_seq,
        last_seq,
        scope_seq,
        record_format,
        scope.org_wide
    ])?;
    Ok(())
}

/// Moves one visit's lines to an order; `false` when the visit keeps them.
fn migrate_visit(tx: &Transaction<'_>, visit_id: &str, currency: &str) -> Result<bool> {
    let Some(stored) = stored_doc(tx, visit_id)? else {
        return Ok(false);
    };
    let (bytes, record) = stored_doc_and_record(tx, visit_id)?;
    let AnyRecord::Visit(visit) = &record else {
        return Ok(false);
    };
    let order = AnyRecord::Order(order_from(visit, currency));
    let Some(order_scope) = scope_of(tx, &order)? else {
        tracing::warn!(
            visit_id,
            "visit order lines kept: its customer has no territory"
        );
        return Ok(false);
    };
    if stored_doc(tx, &order.meta().id)?.is_some() {
        return Ok(false);
    }
    let mut cleared = visit.clone();
    cleared.order_lines.clear();
    let current =
        Current::load_with_record(&bytes, record.clone()).map_err(|r| corrupt(r.reason))?;
    let edits = authority::server_edit(None, order.clone()).and_then(|order_edit| {
        Ok((
            order_edit,
            authority::server_edit(Some(current), AnyRecord::Visit(cleared))?,
        ))
    });
    let (order_edit, visit_edit) = match edits {
        Ok(edits) => edits,
        Err(refusal) => {
            tracing::warn!(visit_id, reason = %refusal.reason, "visit order lines kept");
            return Ok(false);
        }
    };
    write_edit(tx, &order.meta().id, Kind::Order, &order_scope, order_edit)?;
    write_edit(tx, visit_id, Kind::Visit, &stored.scope, visit_edit)?;
    Ok(true)
}

/// Runs the migration unless it ran before (`None` then), in one transaction.
pub(in crate::storage) fn migrate_visit_order_lines(
    storage: &SqliteStorage,
    currency: &str,
) -> Result<Option<VisitOrdersMigrated>> {
    let mut conn = storage.write();
    let tx = conn.transaction()?;
    let ran: Option<i64> = tx
        .prepare_cached("SELECT ran_at FROM data_migrations WHERE name = ?1")?
        .query_row([MIGRATION], |row| row.get(0))
        .optional()?;
    if ran.is_some() {
        return Ok(None);
    }
    // Once, at start: every visit is looked at (its stored record says whether it has lines).
    let visits: Vec<String> = tx
        .prepare("SELECT id FROM documents WHERE kind = 'visit' ORDER BY id")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut done = VisitOrdersMigrated::default();
    for visit_id in visits {
        let (_, record) = stored_doc_and_record(&tx, &visit_id)?;
        if !matches!(&record, AnyRecord::Visit(v) if !v.order_lines.is_empty()) {
            continue;
        }
        if migrate_visit(&tx, &visit_id, currency)? {
            done.orders += 1;
        } else {
            done.skipped += 1;
        }
    }
    tx.prepare_cached("INSERT INTO data_migrations (name, ran_at) VALUES (?1, ?2)")?
        .execute(params![MIGRATION, now_unix()])?;
    tx.commit()?;
    Ok(Some(done))
}

#[cfg(test)]
mod tests {
    use fieldcrm_core::protocol::{PullRequest, PulledPayload, PushRequest};
    use fieldcrm_core::{Customer, IncomingDoc, IncomingPayload, Store, VisitOrderLine};

    use super::*;
    use crate::model::Role;
    use crate::storage::{NewUser, Storage};

    /// Everything `store` has not acknowledged, pushed as `principal`.
    fn push(storage: &SqliteStorage, principal: &crate::scope::Principal, store: &Store) {
        let (request, hashes): (PushRequest, Vec<String>) =
            store.push_request(1_000).unwrap().unwrap();
        let (response, _) = storage.push_changes(principal, request).unwrap();
        assert!(response.rejected.is_empty(), "{response:?}");
        store.acknowledge(&hashes).unwrap();
    }

    /// Pulls every document of `principal` after 0 into `store` (snapshots merge with what it
    /// holds).
    fn pull(storage: &SqliteStorage, principal: &crate::scope::Principal, store: &Store) {
        let page = storage
            .pull_changes(
                principal,
                &PullRequest {
                    cursor: 0,
                    limit: 100,
                },
                fieldcrm_core::protocol::PROTOCOL_VERSION,
            )
            .unwrap();
        let batch = page
            .docs
            .into_iter()
            .map(|doc| IncomingDoc {
                doc_id: doc.doc_id,
                payload: match doc.payload {
                    PulledPayload::Changes(changes) => IncomingPayload::Changes(changes),
                    PulledPayload::Snapshot { bytes, .. } => IncomingPayload::Snapshot(bytes),
                },
            })
            .collect();
        let report = store.import(batch).unwrap();
        assert!(report.refused.is_empty(), "{report:?}");
    }

    #[test]
    fn a_visits_order_lines_become_an_order_once() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("server.sqlite")).unwrap();
        let team = storage.create_team("team").unwrap();
        let north = storage.create_territory("north", &team.id).unwrap();
        let ana = storage
            .create_user(NewUser {
                username: "ana",
                password_hash: None,
                role: Role::Rep,
                team_id: Some(&team.id),
            })
            .unwrap();
        storage.assign_user_territory(&ana.id, &north.id).unwrap();
        let device = Store::open(dir.path().join("device.sqlite")).unwrap();
        device.set_user(&ana.id).unwrap();
        storage
            .register_device(&ana.id, &device.actor_id())
            .unwrap();
        let principal = storage.principal(&ana).unwrap();

        let mut customer = Customer::new("Bäckerei Nord");
        customer.territory = Some("north".into());
        let customer = device.create(customer).unwrap();
        let mut visit = Visit::new(&customer.meta.id, &ana.id);
        visit.planned_start = Some(1_790_000_000_000);
        visit.order_lines = vec![
            VisitOrderLine {
                product: "Rye flour 25 kg".into(),
                quantity: 4,
                unit_price_minor: 2_390,
            },
            VisitOrderLine {
                product: "Baking paper".into(),
                quantity: 2,
                unit_price_minor: 1_450,
            },
        ];
        let visit = device.create(visit).unwrap();
        let quiet = device
            .create(Visit::new(&customer.meta.id, &ana.id))
            .unwrap();
        push(&storage, &principal, &device);
        // The device edits the visit meanwhile: its edit survives the server's.
        let mut noted = visit.clone();
        noted.notes = "Oven decision next month".into();
        device.update(noted).unwrap();

        let done = storage.migrate_visit_order_lines("CHF").unwrap();
        assert_eq!(
            done,
            Some(VisitOrdersMigrated {
                orders: 1,
                skipped: 0
            })
        );
        assert_eq!(
            storage.migrate_visit_order_lines("CHF").unwrap(),
            None,
            "once"
        );

        pull(&storage, &principal, &device);
        push(&storage, &principal, &device);
        let order_id = format!("{}-order", visit.meta.id);
        let order: Order = device.get(&order_id).unwrap().expect("the order arrived");
        assert_eq!(
            (
                order.customer_id.as_str(),
                order.visit_id.as_deref(),
                order.currency.as_str()
            ),
            (
                customer.meta.id.as_str(),
                Some(visit.meta.id.as_str()),
                "CHF"
            )
        );
        assert_eq!(
            (order.owner.as_str(), order.status.clone()),
            (ana.id.as_str(), OrderStatus::Submitted)
        );
        assert_eq!(order.ordered_at, 1_790_000_000_000);
        let lines: Vec<(&str, &str, i64, i64)> = order
            .lines
            .iter()
            .map(|l| {
                (
                    l.product_id.as_str(),
                    l.name.as_str(),
                    l.quantity,
                    l.unit_price_minor,
                )
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                (FREE_TEXT_PRODUCT, "Rye flour 25 kg", 4, 2_390),
                (FREE_TEXT_PRODUCT, "Baking paper", 2, 1_450),
            ]
        );
        assert_eq!(order.totals().subtotal_minor, 4 * 2_390 + 2 * 1_450);
        let merged: Visit = device.get(&visit.meta.id).unwrap().unwrap();
        assert!(merged.order_lines.is_empty(), "the visit's lines are gone");
        assert_eq!(merged.notes, "Oven decision next month");
        match device
            .query(&fieldcrm_core::Query::OrdersOfVisit {
                visit_id: visit.meta.id.clone(),
            })
            .unwrap()
        {
            fieldcrm_core::QueryResult::Orders(rows) => {
                assert_eq!(rows.len(), 1);
                assert_eq!(rows[0].unknown_products, 2, "shown as unknown");
            }
            other => panic!("{other:?}"),
        }
        // A visit without lines is left alone; the server's copy reads as the device's.
        let untouched: Visit = device.get(&quiet.meta.id).unwrap().unwrap();
        assert_eq!(untouched, quiet);
        let conn = storage.read();
        let (bytes, record) = stored_doc_and_record(&conn, &visit.meta.id).unwrap();
        assert_eq!(
            Some(record.clone()),
            device.get_any(&visit.meta.id).unwrap()
        );
        assert_eq!(
            authority::Current::load(&bytes).unwrap().record,
            record,
            "the stored record is the document's"
        );
    }
}

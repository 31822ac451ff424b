//! The order facts through the real push path: the figures are `fieldcrm_core::totals`'
//! (order and lines), the revenue flag follows the status, and the migration's backfill
//! projects orders stored before the tables existed.

use std::path::Path;

use fieldcrm_core::{Customer, Order, OrderLine, OrderStatus, Store, totals};

use super::super::{NewUser, SqliteStorage, Storage};
use crate::model::{Role, User};

fn storage_with_rep(storage: &SqliteStorage) -> User {
    let north = storage.create_team("north").unwrap();
    let harbour = storage.create_territory("harbour", &north.id).unwrap();
    let ana = storage
        .create_user(NewUser {
            username: "ana",
            password_hash: None,
            role: Role::Rep,
            team_id: Some(&north.id),
        })
        .unwrap();
    storage.assign_user_territory(&ana.id, &harbour.id).unwrap();
    ana
}

fn push(storage: &SqliteStorage, user: &User, device: &Store) {
    let principal = storage.principal(user).unwrap();
    while let Some((request, hashes)) = device.push_request(1_000).unwrap() {
        let (response, _) = storage.push_changes(&principal, request).unwrap();
        assert!(response.rejected.is_empty(), "{:?}", response.rejected);
        device.acknowledge(&hashes).unwrap();
    }
}

fn line(id: u8, quantity: i64, unit: i64, tax_bp: u32, discount_bp: u32) -> OrderLine {
    OrderLine {
        id: format!("0190a0b0-0000-7000-8000-0000000000{id:02x}"),
        product_id: format!("product-{id}"),
        sku: format!("SKU-{id}"),
        name: "Beans".into(),
        quantity,
        unit_price_minor: unit,
        tax_rate_bp: tax_bp,
        discount_bp,
    }
}

/// Ana's draft order of two lines (3 × 3.33 at 10 % off and 19 % tax; 1 × 0.05 at 10 % tax).
fn draft(storage: &SqliteStorage, ana: &User) -> (Store, Order) {
    let device = Store::open(":memory:").unwrap();
    device.set_user(&ana.id).unwrap();
    storage
        .register_device(&ana.id, &device.actor_id())
        .unwrap();
    let mut customer = Customer::new("Kiosk");
    customer.territory = Some("harbour".into());
    let customer = device.create(customer).unwrap();
    let mut order = device.create_order(&customer.meta.id, None, "EUR").unwrap();
    order.lines = vec![line(1, 3, 333, 1_900, 1_000), line(2, 1, 5, 1_000, 0)];
    let order = device.update(order).unwrap();
    push(storage, ana, &device);
    (device, order)
}

type FactRow = (String, i64, i64, i64, i64, i64, i64, String);

fn order_row(conn: &rusqlite::Connection, id: &str) -> FactRow {
    conn.query_row(
        "SELECT status, revenue, line_count, subtotal_minor, discount_minor, net_minor, gross_minor,
           rep_id
         FROM order_facts WHERE order_id = ?1",
        [id],
        |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
            ))
        },
    )
    .unwrap()
}

fn line_rows(conn: &rusqlite::Connection, id: &str) -> Vec<(String, i64, i64, i64, i64)> {
    conn.prepare(
        "SELECT product_id, quantity, net_minor, gross_minor, revenue FROM order_line_facts
         WHERE order_id = ?1 ORDER BY position",
    )
    .unwrap()
    .query_map([id], |row| {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

#[test]
fn an_orders_facts_are_its_totals_and_count_as_revenue_once_submitted() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let ana = storage_with_rep(&storage);
    let (device, order) = draft(&storage, &ana);
    let sums = totals(&order.lines);
    let row = order_row(&storage.read(), &order.meta.id);
    assert_eq!(
        row,
        (
            "draft".to_owned(),
            0,
            2,
            sums.subtotal_minor,
            sums.discount_minor,
            sums.net_minor,
            sums.gross_minor,
            ana.id.clone()
        )
    );
    // 9.99 - 1.00 = 8.99 + 1.71 tax; 0.05 + 0.01 tax (rounded half up per line).
    assert_eq!((sums.net_minor, sums.gross_minor), (904, 1_076));
    let lines = line_rows(&storage.read(), &order.meta.id);
    assert_eq!(
        lines,
        [
            ("product-1".to_owned(), 3, 899, 1_070, 0),
            ("product-2".to_owned(), 1, 5, 6, 0)
        ]
    );
    device
        .set_order_status(&order.meta.id, OrderStatus::Submitted)
        .unwrap();
    push(&storage, &ana, &device);
    let row = order_row(&storage.read(), &order.meta.id);
    assert_eq!((row.0.as_str(), row.1), ("submitted", 1));
    assert!(
        line_rows(&storage.read(), &order.meta.id)
            .iter()
            .all(|l| l.4 == 1)
    );
    device
        .set_order_status(&order.meta.id, OrderStatus::Cancelled)
        .unwrap();
    push(&storage, &ana, &device);
    let row = order_row(&storage.read(), &order.meta.id);
    assert_eq!((row.0.as_str(), row.1), ("cancelled", 0));
}

#[test]
fn the_backfill_projects_orders_stored_before_the_tables_existed() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let ana = storage_with_rep(&storage);
    let (_, order) = draft(&storage, &ana);
    // In memory the reader is the writer's connection: one guard at a time.
    let before_order = order_row(&storage.read(), &order.meta.id);
    let before = (before_order, line_rows(&storage.read(), &order.meta.id));
    let mut conn = storage.write();
    let tx = conn.transaction().unwrap();
    tx.execute_batch("DELETE FROM order_facts; DELETE FROM order_line_facts;")
        .unwrap();
    super::backfill_orders(&tx).unwrap();
    assert_eq!(
        (
            order_row(&tx, &order.meta.id),
            line_rows(&tx, &order.meta.id)
        ),
        before
    );
}

/// A database from before the order facts (the tables gone, its version the one before
/// theirs) is migrated when opened, and the orders it holds are projected.
#[test]
fn opening_a_database_from_before_the_order_facts_fills_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.sqlite");
    let (order, before) = {
        let storage = SqliteStorage::open(&path).unwrap();
        let ana = storage_with_rep(&storage);
        let (_, order) = draft(&storage, &ana);
        let before = order_row(&storage.read(), &order.meta.id);
        let conn = storage.write();
        // The migrations after the order facts' run again; each can.
        let version = crate::storage::sqlite::version_before(super::creates_order_facts);
        crate::storage::sqlite::roll_back(&conn, version);
        (order, before)
    };
    reopen_and_check(&path, &order.meta.id, &before);
}

fn reopen_and_check(path: &Path, order_id: &str, before: &FactRow) {
    let storage = SqliteStorage::open(path).unwrap();
    assert_eq!(&order_row(&storage.read(), order_id), before);
    assert_eq!(line_rows(&storage.read(), order_id).len(), 2);
}

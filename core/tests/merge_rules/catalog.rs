//! The merge rules of products and orders: prices merged per currency; the order status's
//! "furthest state wins" (draft < submitted < confirmed < cancelled < delivered); lines added on
//! two devices and a line's fields changed on both, nothing lost; the status history appended
//! from both sides; a submitted order frozen on the device.

use std::collections::BTreeSet;

use fieldcrm_core::*;

use super::{Replica, both, exchange, replica, send, shared};

fn bread() -> Product {
    let mut p = Product::new("AB-1001", "Rye bread");
    p.prices.insert("EUR".into(), 349);
    p.tax_rate_bp = 700;
    p
}

/// A and B hold a draft order for `customer-1` in EUR, with one line of `product` (both
/// replicas know the product).
fn shared_order(a: &Replica, b: &Replica, product: &Product) -> (Order, String) {
    let order = a.store.create_order("customer-1", None, "EUR").unwrap();
    let order = a
        .store
        .add_order_line(&order.meta.id, &product.meta.id, 2)
        .unwrap();
    exchange(&a.store, &b.store);
    let line = order.lines[0].id.clone();
    (order, line)
}

fn set_status(r: &Replica, id: &str, statuses: &[OrderStatus]) {
    for status in statuses {
        r.store.set_order_status(id, status.clone()).unwrap();
    }
}

#[test]
fn product_prices_merge_per_currency() {
    let (a, b) = (replica("admin"), replica("admin"));
    let p = shared(&a, &b, bread());
    let mut on_a: Product = a.store.get(&p.meta.id).unwrap().unwrap();
    on_a.prices.insert("EUR".into(), 399);
    on_a.name = "Rye bread, sliced".into();
    a.store.update(on_a).unwrap();
    let mut on_b: Product = b.store.get(&p.meta.id).unwrap().unwrap();
    on_b.prices.insert("CHF".into(), 420);
    on_b.active = false;
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Product = both(&a, &b, &p.meta.id);
    assert_eq!(
        merged.prices.into_iter().collect::<Vec<_>>(),
        vec![("CHF".to_owned(), 420), ("EUR".to_owned(), 399)]
    );
    assert_eq!(merged.name, "Rye bread, sliced");
    assert!(!merged.active);
}

#[test]
fn order_status_furthest_state_wins_in_any_arrival_order() {
    use OrderStatus::*;
    // (what A does, what B does, what both show): further along wins; cancelled wins over
    // every state but delivered.
    let cases: [(&[OrderStatus], &[OrderStatus], OrderStatus); 4] = [
        (&[Submitted, Confirmed], &[Submitted], Confirmed),
        (&[Submitted, Confirmed], &[Cancelled], Cancelled),
        (
            &[Submitted, Confirmed, Delivered],
            &[Submitted, Cancelled],
            Delivered,
        ),
        (&[Submitted], &[Submitted, Cancelled], Cancelled),
    ];
    for (on_a, on_b, expected) in cases {
        for a_first in [true, false] {
            let (a, b) = (replica("anna"), replica("ben"));
            let p = shared(&a, &b, bread());
            let (order, _) = shared_order(&a, &b, &p);
            set_status(&a, &order.meta.id, on_a);
            set_status(&b, &order.meta.id, on_b);
            if a_first {
                send(&a.store, &b.store);
                send(&b.store, &a.store);
            } else {
                send(&b.store, &a.store);
                send(&a.store, &b.store);
            }
            let merged: Order = both(&a, &b, &order.meta.id);
            assert_eq!(merged.status, expected, "{on_a:?} against {on_b:?}");
            // The orders list shows the same status on both.
            let listed = |r: &Replica| match r
                .store
                .query(&Query::OrdersOfCustomer {
                    customer_id: "customer-1".into(),
                    limit: 10,
                })
                .unwrap()
            {
                QueryResult::Orders(rows) => rows[0].status.clone(),
                other => panic!("orders expected, got {other:?}"),
            };
            assert_eq!(
                (listed(&a), listed(&b)),
                (expected.clone(), expected.clone())
            );
        }
    }
}

#[test]
fn order_lines_added_on_two_devices_and_a_quantity_changed_merge_with_nothing_lost() {
    let (a, b) = (replica("anna"), replica("ben"));
    let p = shared(&a, &b, bread());
    let mut butter = Product::new("BU-2002", "Butter");
    butter.prices.insert("EUR".into(), 229);
    let butter = shared(&a, &b, butter);
    let (order, first_line) = shared_order(&a, &b, &p);
    let id = order.meta.id.as_str();
    // A adds a line and gives the first line a discount; B adds a line and changes the first
    // line's quantity.
    a.store.add_order_line(id, &butter.meta.id, 1).unwrap();
    a.store
        .edit_order_line(
            id,
            &first_line,
            LineEdit {
                discount_bp: Some(1_000),
                ..LineEdit::default()
            },
        )
        .unwrap();
    b.store.add_order_line(id, &p.meta.id, 5).unwrap();
    b.store
        .edit_order_line(
            id,
            &first_line,
            LineEdit {
                quantity: Some(7),
                ..LineEdit::default()
            },
        )
        .unwrap();
    exchange(&a.store, &b.store);
    let merged: Order = both(&a, &b, id);
    assert_eq!(merged.lines.len(), 3, "{merged:?}");
    let first = merged.lines.iter().find(|l| l.id == first_line).unwrap();
    assert_eq!((first.quantity, first.discount_bp), (7, 1_000));
    let products: BTreeSet<&str> = merged.lines.iter().map(|l| l.sku.as_str()).collect();
    assert_eq!(products, BTreeSet::from(["AB-1001", "BU-2002"]));
    // The totals are the lines' on both replicas.
    let totals_on = |r: &Replica| match r
        .store
        .query(&Query::OrderWithLines {
            order_id: id.to_owned(),
        })
        .unwrap()
    {
        QueryResult::Order(Some(detail)) => detail.order.totals,
        other => panic!("an order expected, got {other:?}"),
    };
    assert_eq!(totals_on(&a), merged.totals());
    assert_eq!(totals_on(&b), merged.totals());
    // 7 × 3.49 − 10 % + 5 × 3.49 + 1 × 2.29.
    assert_eq!(merged.totals().subtotal_minor, 7 * 349 + 5 * 349 + 229);
    assert_eq!(merged.totals().discount_minor, 244);
}

#[test]
fn a_line_removed_on_one_device_stays_removed_after_an_edit_of_another() {
    let (a, b) = (replica("anna"), replica("ben"));
    let p = shared(&a, &b, bread());
    let (order, first_line) = shared_order(&a, &b, &p);
    let id = order.meta.id.as_str();
    let second = b.store.add_order_line(id, &p.meta.id, 1).unwrap();
    exchange(&a.store, &b.store);
    a.store.remove_order_line(id, &first_line).unwrap();
    let second_line = second.lines.iter().find(|l| l.id != first_line).unwrap();
    b.store
        .edit_order_line(
            id,
            &second_line.id,
            LineEdit {
                quantity: Some(4),
                ..LineEdit::default()
            },
        )
        .unwrap();
    exchange(&a.store, &b.store);
    let merged: Order = both(&a, &b, id);
    assert_eq!(merged.lines.len(), 1);
    assert_eq!(
        (merged.lines[0].id.as_str(), merged.lines[0].quantity),
        (second_line.id.as_str(), 4)
    );
}

#[test]
fn order_status_history_appends_from_both_sides() {
    let (a, b) = (replica("anna"), replica("ben"));
    let p = shared(&a, &b, bread());
    let (order, _) = shared_order(&a, &b, &p);
    set_status(&a, &order.meta.id, &[OrderStatus::Submitted]);
    set_status(&b, &order.meta.id, &[OrderStatus::Cancelled]);
    exchange(&a.store, &b.store);
    let merged: Order = both(&a, &b, &order.meta.id);
    let history: Vec<(OrderStatus, &str)> = merged
        .status_history
        .iter()
        .map(|c| (c.status.clone(), c.by.as_str()))
        .collect();
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(history[0], (OrderStatus::Draft, "anna"));
    assert!(history.contains(&(OrderStatus::Submitted, "anna")));
    assert!(history.contains(&(OrderStatus::Cancelled, "ben")));
    assert_eq!(merged.status, OrderStatus::Cancelled);
}

#[test]
fn a_submitted_order_is_frozen_on_the_device_and_can_still_be_cancelled() {
    let a = replica("anna");
    let p = a.store.create(bread()).unwrap();
    let order = a.store.create_order("customer-1", None, "EUR").unwrap();
    let order = a
        .store
        .add_order_line(&order.meta.id, &p.meta.id, 1)
        .unwrap();
    let id = order.meta.id.as_str();
    let line = order.lines[0].id.as_str();
    a.store
        .set_order_status(id, OrderStatus::Submitted)
        .unwrap();
    let frozen = |result: Result<Order>| {
        assert!(
            matches!(
                result,
                Err(StoreError::Validation(ValidationError::OrderFrozen { ref status })) if status == "submitted"
            ),
            "{result:?}"
        );
    };
    frozen(a.store.add_order_line(id, &p.meta.id, 1));
    frozen(a.store.remove_order_line(id, line));
    frozen(a.store.edit_order_line(
        id,
        line,
        LineEdit {
            quantity: Some(3),
            ..LineEdit::default()
        },
    ));
    let back = a
        .store
        .set_order_status(id, OrderStatus::Draft)
        .unwrap_err();
    assert!(
        matches!(
            back,
            StoreError::Validation(ValidationError::StatusRegression { .. })
        ),
        "{back}"
    );
    let cancelled = a
        .store
        .set_order_status(id, OrderStatus::Cancelled)
        .unwrap();
    assert_eq!(cancelled.lines, order.lines, "the lines are as they were");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
}

#[test]
fn the_same_line_changed_on_two_devices_lists_the_losing_quantity() {
    let (a, b) = (replica("anna"), replica("ben"));
    let p = shared(&a, &b, bread());
    let (order, line) = shared_order(&a, &b, &p);
    let id = order.meta.id.as_str();
    for (replica, quantity) in [(&a, 3), (&b, 9)] {
        replica
            .store
            .edit_order_line(
                id,
                &line,
                LineEdit {
                    quantity: Some(quantity),
                    ..LineEdit::default()
                },
            )
            .unwrap();
    }
    exchange(&a.store, &b.store);
    let merged: Order = both(&a, &b, id);
    let conflicts = a.store.conflicts(id).unwrap();
    assert_eq!(conflicts, b.store.conflicts(id).unwrap());
    let field = format!("lines.{line}.quantity");
    let quantity = conflicts
        .iter()
        .find(|c| c.field == field)
        .unwrap_or_else(|| panic!("{field} not listed in {conflicts:?}"));
    assert_eq!(quantity.values[0], merged.lines[0].quantity.to_string());
    let values: BTreeSet<&str> = quantity.values.iter().map(String::as_str).collect();
    assert_eq!(values, BTreeSet::from(["3", "9"]));
}

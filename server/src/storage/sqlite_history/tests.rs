use super::*;
use crate::storage::HistoryLine;

fn order(occurrence: u32, skus: &[&str]) -> HistoryOrder {
    HistoryOrder {
        customer_id: "c1".into(),
        day: 19_000,
        amount_minor: 1_000,
        currency: "EUR".into(),
        occurrence,
        lines: skus
            .iter()
            .map(|sku| HistoryLine {
                sku: (*sku).into(),
                occurrence: 1,
                product_id: format!("p-{sku}"),
                quantity: 3,
                unit_price_minor: 200,
            })
            .collect(),
    }
}

#[test]
fn orders_and_lines_are_added_once_by_their_keys() {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let first = storage
        .add_history_orders(&[order(1, &["A"]), order(2, &[])], 5)
        .unwrap();
    assert_eq!(
        first,
        HistoryWritten {
            orders_new: 2,
            orders_present: 0,
            lines_new: 1,
            lines_present: 0
        }
    );
    let again = storage
        .add_history_orders(&[order(1, &["A", "B"]), order(2, &[])], 6)
        .unwrap();
    assert_eq!(
        again,
        HistoryWritten {
            orders_new: 0,
            orders_present: 2,
            lines_new: 1,
            lines_present: 1
        }
    );
    let (mut orders, mut lines) = (Vec::new(), Vec::new());
    history_input(&storage.read(), &mut orders, &mut lines).unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].ordered_at, 19_000 * DAY_MS);
    assert_eq!(lines.len(), 2);
    assert!(
        lines
            .iter()
            .all(|l| l.net_minor == 600 && l.customer_id == "c1")
    );
}

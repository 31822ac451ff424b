//! The demo's orders: one for each visit of the past week whose outcome was an order, with lines
//! from the catalog at the catalog's prices, submitted at the visit, then confirmed the next day
//! and delivered a few days later (the recent ones not yet), and now and then cancelled.

use fieldcrm_core::{Order, OrderLine, OrderStatus, OrderStatusChange, Product};

use super::*;

/// Orders as they stand now, each with the status history seeding replays (draft when the
/// visit ended, then each status at its time).
pub(super) fn orders(
    rng: &mut Rng,
    rep_ids: &[String; REPS],
    visits: &[(usize, Visit)],
    catalog: &[Product],
    now: Millis,
) -> Vec<(usize, Order)> {
    let on_sale: Vec<&Product> = catalog.iter().filter(|p| p.active).collect();
    let mut orders = Vec::new();
    for (rep, visit) in visits {
        let (Some(check_out), Some(outcome)) = (&visit.check_out, &visit.outcome) else {
            continue;
        };
        if visit.status != VisitStatus::Done || outcome != ORDER_PLACED {
            continue;
        }
        let rep_id = &rep_ids[*rep];
        let mut order = Order::new(visit.customer_id.clone(), rep_id.clone(), "EUR");
        let taken_at = check_out.at - 5 * MINUTE;
        order.meta.id = rng.id(taken_at);
        order.visit_id = Some(visit.meta.id.clone());
        order.ordered_at = taken_at;
        for _ in 0..rng.int(1, 6) {
            let product = on_sale[rng.below(on_sale.len())];
            let Some(price) = product.price_in("EUR") else {
                continue;
            };
            order.lines.push(OrderLine {
                id: rng.id(taken_at),
                product_id: product.meta.id.clone(),
                sku: product.sku.clone(),
                name: product.name.clone(),
                quantity: rng.int(1, 12),
                unit_price_minor: price,
                tax_rate_bp: product.tax_rate_bp,
                discount_bp: *rng.pick(&[0, 0, 0, 0, 500, 1_000]),
            });
        }
        let mut history = vec![OrderStatusChange {
            status: OrderStatus::Draft,
            at: taken_at,
            by: rep_id.clone(),
        }];
        let mut moves = vec![(OrderStatus::Submitted, check_out.at - MINUTE)];
        if rng.chance(0.06) {
            moves.push((
                OrderStatus::Cancelled,
                check_out.at + rng.int(2, 30) * 60 * MINUTE,
            ));
        } else {
            moves.push((
                OrderStatus::Confirmed,
                check_out.at + rng.int(18, 30) * 60 * MINUTE,
            ));
            moves.push((
                OrderStatus::Delivered,
                check_out.at + rng.int(2, 5) * DAY_MS,
            ));
        }
        for (status, at) in moves {
            if at > now {
                break;
            }
            history.push(OrderStatusChange {
                status,
                at,
                by: rep_id.clone(),
            });
        }
        order.status = history
            .last()
            .map_or(OrderStatus::Draft, |change| change.status.clone());
        order.status_history = history;
        orders.push((*rep, order));
    }
    orders
}

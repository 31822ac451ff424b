//! Orders as the analytics read them, and each customer's purchase history.
//!
//! The treatment of awkward input, decided here once for every metric:
//! - **Currency.** A run measures money in one reporting currency (the organisation's default).
//!   An order in another currency is left out of every metric (there is no exchange rate to
//!   trust) and counted in [`InputCounts::other_currency`]; a customer whose orders are all in
//!   other currencies reads as a customer without purchases.
//! - **Zero or negative amounts** (a credit note, a free replacement) are not purchases: left
//!   out and counted in [`InputCounts::non_positive`].
//! - **After the run's date** ("as of", a calibration cut-off for backtests): left out and
//!   counted in [`InputCounts::after_as_of`].
//! - **Several orders on one day** are one purchase (the day's amounts summed), the unit the
//!   frequency models count in; so "all orders on one day" is a customer with one purchase.
//! - **Customers without any purchase** keep a history with no days; each metric states what
//!   it reports for them.

use std::collections::HashMap;

use fieldcrm_core::{DAY_MS, Millis};

/// One order: its customer, when it was ordered, its currency and its net amount (lines after
/// discount, before tax) in that currency's minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub order_id: String,
    pub customer_id: String,
    pub ordered_at: Millis,
    pub currency: String,
    pub net_minor: i64,
}

/// One order line: its order and customer, the product (its id) and the net amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRow {
    pub order_id: String,
    pub customer_id: String,
    pub product_id: String,
    pub quantity: i64,
    pub net_minor: i64,
}

/// One day with purchases: the day (days since 1970-01-01, UTC) and the day's amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseDay {
    pub day: i64,
    pub amount_minor: i64,
}

/// A customer's purchases in the reporting currency, in day order (empty: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub customer_id: String,
    pub days: Vec<PurchaseDay>,
}

impl History {
    pub fn first_day(&self) -> Option<i64> {
        self.days.first().map(|d| d.day)
    }

    pub fn last_day(&self) -> Option<i64> {
        self.days.last().map(|d| d.day)
    }

    /// Purchases after the first (the "repeat transactions" the frequency models count).
    pub fn repeat_purchases(&self) -> usize {
        self.days.len().saturating_sub(1)
    }

    /// The amounts summed (saturating: a crafted amount cannot overflow a run).
    pub fn total_minor(&self) -> i64 {
        self.days
            .iter()
            .fold(0i64, |sum, d| sum.saturating_add(d.amount_minor))
    }
}

/// What the input held and what was left out, recorded with each run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputCounts {
    pub customers: u64,
    pub orders: u64,
    /// Orders that count: reporting currency, positive amount, up to the run's date.
    pub used: u64,
    pub other_currency: u64,
    pub non_positive: u64,
    pub after_as_of: u64,
    /// Orders of a customer not in the customer list (deleted, or not in the run): left out.
    pub unknown_customer: u64,
}

/// Every customer's history, in the order of `customers`, and the counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub histories: Vec<History>,
    pub counts: InputCounts,
}

/// The day (days since 1970-01-01, UTC) of a time.
pub fn day_of(at: Millis) -> i64 {
    at.div_euclid(DAY_MS)
}

/// Each of `customers`' purchase history from `orders`, in `currency`, up to and including the
/// day of `as_of` (orders at or before `as_of`).
pub fn prepare(
    customers: &[String],
    orders: &[OrderRow],
    currency: &str,
    as_of: Millis,
) -> Prepared {
    let index: HashMap<&str, usize> = customers
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut counts = InputCounts {
        customers: customers.len() as u64,
        orders: orders.len() as u64,
        ..InputCounts::default()
    };
    let mut per_customer: Vec<Vec<PurchaseDay>> = vec![Vec::new(); customers.len()];
    for order in orders {
        let Some(&at) = index.get(order.customer_id.as_str()) else {
            counts.unknown_customer += 1;
            continue;
        };
        if order.ordered_at > as_of {
            counts.after_as_of += 1;
        } else if order.currency != currency {
            counts.other_currency += 1;
        } else if order.net_minor <= 0 {
            counts.non_positive += 1;
        } else {
            counts.used += 1;
            per_customer[at].push(PurchaseDay {
                day: day_of(order.ordered_at),
                amount_minor: order.net_minor,
            });
        }
    }
    let histories = customers
        .iter()
        .zip(per_customer)
        .map(|(id, mut days)| {
            days.sort_unstable_by_key(|d| d.day);
            let mut merged: Vec<PurchaseDay> = Vec::with_capacity(days.len());
            for d in days {
                match merged.last_mut() {
                    Some(last) if last.day == d.day => {
                        last.amount_minor = last.amount_minor.saturating_add(d.amount_minor);
                    }
                    _ => merged.push(d),
                }
            }
            History {
                customer_id: id.clone(),
                days: merged,
            }
        })
        .collect();
    Prepared { histories, counts }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(customer: &str, day: i64, currency: &str, net: i64) -> OrderRow {
        OrderRow {
            order_id: format!("{customer}-{day}-{net}"),
            customer_id: customer.into(),
            ordered_at: day * DAY_MS + 3_600_000,
            currency: currency.into(),
            net_minor: net,
        }
    }

    #[test]
    fn orders_become_purchase_days_in_the_reporting_currency() {
        let customers = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let orders = vec![
            order("a", 12, "EUR", 500),
            order("a", 10, "EUR", 1_000),
            // The same day: one purchase.
            order("a", 12, "EUR", 250),
            order("a", 13, "CHF", 900),
            order("a", 14, "EUR", 0),
            order("a", 15, "EUR", -300),
            order("a", 40, "EUR", 700),
            order("b", 11, "CHF", 100),
            order("ghost", 11, "EUR", 100),
        ];
        let prepared = prepare(&customers, &orders, "EUR", 30 * DAY_MS);
        let a = &prepared.histories[0];
        assert_eq!(
            a.days,
            vec![
                PurchaseDay {
                    day: 10,
                    amount_minor: 1_000
                },
                PurchaseDay {
                    day: 12,
                    amount_minor: 750
                },
            ]
        );
        assert_eq!((a.repeat_purchases(), a.total_minor()), (1, 1_750));
        // Only other currencies: no purchases. No orders at all: none either.
        assert!(prepared.histories[1].days.is_empty());
        assert!(prepared.histories[2].days.is_empty());
        assert_eq!(prepared.histories[2].first_day(), None);
        assert_eq!(
            prepared.counts,
            InputCounts {
                customers: 3,
                orders: 9,
                used: 3,
                other_currency: 2,
                non_positive: 2,
                after_as_of: 1,
                unknown_customer: 1,
            }
        );
    }

    #[test]
    fn amounts_saturate_instead_of_overflowing() {
        let customers = vec!["a".to_owned()];
        let orders = vec![
            order("a", 1, "EUR", i64::MAX),
            order("a", 1, "EUR", i64::MAX),
        ];
        let prepared = prepare(&customers, &orders, "EUR", 10 * DAY_MS);
        assert_eq!(prepared.histories[0].total_minor(), i64::MAX);
    }
}

//! Orders taken from the catalog: one currency per order, lines that keep the price and tax in
//! effect when they were added, a status that only moves on, and totals computed from the lines
//! (never stored). Leaf types of the model; the document mapping, the projection and the rule
//! that freezes a submitted order are in `records/order.rs`.

use serde::{Deserialize, Serialize};

use super::{BASIS_POINTS, ForwardStatus, Millis, RecordMeta, StoredEnum};
use crate::error::ValidationError;

string_enum!(
    /// Order states. They only move on; see [`OrderStatus::rank`].
    OrderStatus {
        Draft = "draft",
        Submitted = "submitted",
        Confirmed = "confirmed",
        Delivered = "delivered",
        Cancelled = "cancelled",
    }
);

impl OrderStatus {
    /// Total order of the known states used by the "furthest state wins" merge rule: draft <
    /// submitted < confirmed < cancelled < delivered. Cancelled wins over every state but
    /// delivered: goods that were delivered were ordered, whatever a concurrent cancellation
    /// says. An unknown state has no rank (`None`).
    pub fn rank(&self) -> Option<u8> {
        match self {
            OrderStatus::Draft => Some(0),
            OrderStatus::Submitted => Some(1),
            OrderStatus::Confirmed => Some(2),
            OrderStatus::Cancelled => Some(3),
            OrderStatus::Delivered => Some(4),
            OrderStatus::Unknown(_) => None,
        }
    }

    /// Cancelled or delivered: nothing follows on one device.
    pub fn is_terminal(&self) -> bool {
        self.rank().is_some_and(|rank| rank >= 3)
    }

    /// Whether the order's lines can no longer change: every state but draft (an unknown state
    /// too: this code cannot tell whether a newer app froze it).
    pub fn is_frozen(&self) -> bool {
        *self != OrderStatus::Draft
    }

    /// Whether an order may go from `self` to `next` on one device ([`ForwardStatus`]).
    pub fn can_move_to(&self, next: &OrderStatus) -> bool {
        ForwardStatus::can_move_to(self, next)
    }

    /// [`OrderStatus::can_move_to`] as the error the store answers.
    pub fn check_move_to(&self, next: &OrderStatus) -> Result<(), ValidationError> {
        ForwardStatus::check_move_to(self, next)
    }
}

impl ForwardStatus for OrderStatus {
    fn rank(&self) -> Option<u8> {
        OrderStatus::rank(self)
    }

    fn is_terminal(&self) -> bool {
        OrderStatus::is_terminal(self)
    }

    fn text(&self) -> &str {
        self.as_str()
    }
}

/// One line of an order. Its `id` addresses it in the document, so concurrent edits of
/// different lines (or different fields of one line) all survive the merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    /// UUID v7 made by the device that added the line: lines sort by it (the order they were
    /// added in).
    pub id: String,
    /// The catalog product; an id the device does not know is kept and shown as unknown.
    pub product_id: String,
    /// The product's SKU and name when the line was added.
    pub sku: String,
    pub name: String,
    /// More than zero.
    pub quantity: i64,
    /// The product's price in the order's currency when the line was added, minor units.
    pub unit_price_minor: i64,
    /// The product's tax rate when the line was added, basis points.
    pub tax_rate_bp: u32,
    /// 0 to 10,000 basis points (100 %).
    pub discount_bp: u32,
}

/// A status the order reached, appended by the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStatusChange {
    pub status: OrderStatus,
    pub at: Millis,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub meta: RecordMeta,
    /// Written once; the order's scope is its customer's.
    pub customer_id: String,
    /// The visit during which it was taken; written once.
    pub visit_id: Option<String>,
    /// ISO 4217; every line is priced in it. Written once.
    pub currency: String,
    pub status: OrderStatus,
    /// User id of the rep who took it; written once.
    pub owner: String,
    /// When the order was taken (the store sets it at creation when left 0).
    pub ordered_at: Millis,
    pub notes: String,
    /// In the order they were added (by line id).
    pub lines: Vec<OrderLine>,
    /// Appended by the store whenever the status changes; never rewritten.
    pub status_history: Vec<OrderStatusChange>,
}

impl Order {
    pub fn new(
        customer_id: impl Into<String>,
        owner: impl Into<String>,
        currency: impl Into<String>,
    ) -> Self {
        Order {
            meta: RecordMeta::default(),
            customer_id: customer_id.into(),
            visit_id: None,
            currency: currency.into(),
            status: OrderStatus::Draft,
            owner: owner.into(),
            ordered_at: 0,
            notes: String::new(),
            lines: Vec::new(),
            status_history: Vec::new(),
        }
    }

    /// The order's totals, from its lines ([`totals`]).
    pub fn totals(&self) -> OrderTotals {
        totals(&self.lines)
    }
}

/// An order's totals in its currency's minor units, computed from its lines, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrderTotals {
    /// Σ quantity × unit price.
    pub subtotal_minor: i64,
    /// Σ of the lines' discounts.
    pub discount_minor: i64,
    /// subtotal − discount.
    pub net_minor: i64,
    /// Σ of the lines' tax on their net amount.
    pub tax_minor: i64,
    /// net + tax.
    pub gross_minor: i64,
}

/// `amount × bp / 10,000` rounded half up (amounts are never negative).
fn share_of(amount: i128, bp: u32) -> i128 {
    let whole = i128::from(BASIS_POINTS);
    (amount * i128::from(bp) + whole / 2) / whole
}

fn saturate(value: i128) -> i64 {
    i64::try_from(value.clamp(0, i128::from(i64::MAX))).unwrap_or(i64::MAX)
}

/// The one rule for an order's totals. Per line: amount = quantity × unit price; discount =
/// amount × discount_bp / 10,000, rounded half up to a minor unit; net = amount − discount;
/// tax = net × tax_rate_bp / 10,000, rounded half up. The order's figures are the sums of the
/// lines' (so each line's rounding is what a printed line shows), computed in 128 bits and
/// held at `i64::MAX` should a crafted order exceed it.
pub fn totals(lines: &[OrderLine]) -> OrderTotals {
    let (mut subtotal, mut discount, mut tax) = (0i128, 0i128, 0i128);
    for line in lines {
        let amount = i128::from(line.quantity.max(0)) * i128::from(line.unit_price_minor.max(0));
        let line_discount = share_of(amount, line.discount_bp.min(BASIS_POINTS));
        subtotal += amount;
        discount += line_discount;
        tax += share_of(amount - line_discount, line.tax_rate_bp);
    }
    let net = subtotal - discount;
    OrderTotals {
        subtotal_minor: saturate(subtotal),
        discount_minor: saturate(discount),
        net_minor: saturate(net),
        tax_minor: saturate(tax),
        gross_minor: saturate(net + tax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: i64, unit_price_minor: i64, tax_rate_bp: u32, discount_bp: u32) -> OrderLine {
        OrderLine {
            id: "l1".into(),
            product_id: "p1".into(),
            sku: "SKU".into(),
            name: "Bread".into(),
            quantity,
            unit_price_minor,
            tax_rate_bp,
            discount_bp,
        }
    }

    #[test]
    fn totals_round_each_line_half_up() {
        // 3 × 3.33 = 9.99; 10 % off = 0.999 -> 1.00; net 8.99; 19 % tax = 1.7081 -> 1.71.
        let t = totals(&[line(3, 333, 1900, 1000)]);
        assert_eq!(
            t,
            OrderTotals {
                subtotal_minor: 999,
                discount_minor: 100,
                net_minor: 899,
                tax_minor: 171,
                gross_minor: 1070,
            }
        );
        // Two lines: each line rounds on its own (0.5 up twice), then they add up.
        let t = totals(&[line(1, 5, 1000, 0), line(1, 5, 1000, 0)]);
        assert_eq!((t.tax_minor, t.gross_minor), (2, 12));
        assert_eq!(totals(&[]), OrderTotals::default());
    }

    #[test]
    fn totals_hold_at_the_largest_amount() {
        let t = totals(&[line(i64::MAX, i64::MAX, 0, 0)]);
        assert_eq!(t.subtotal_minor, i64::MAX);
    }

    #[test]
    fn order_status_moves_on_and_cancelled_loses_only_to_delivered() {
        use OrderStatus::*;
        assert!(Draft.can_move_to(&Submitted) && Submitted.can_move_to(&Cancelled));
        assert!(Confirmed.can_move_to(&Delivered) && Draft.can_move_to(&Cancelled));
        assert!(!Cancelled.can_move_to(&Delivered) && !Delivered.can_move_to(&Cancelled));
        assert!(!Confirmed.can_move_to(&Submitted));
        assert!(Delivered.rank() > Cancelled.rank() && Cancelled.rank() > Confirmed.rank());
        assert!(!Draft.is_frozen() && Submitted.is_frozen());
        assert!(OrderStatus::parse("on_hold").is_frozen());
        assert!(matches!(
            Confirmed.check_move_to(&Draft),
            Err(ValidationError::StatusRegression { .. })
        ));
    }
}

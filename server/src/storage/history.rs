//! Order history from before the CRM in storage (migration 0017): the [`HistoryStorage`]
//! supertrait of [`super::Storage`]. Written by the history import (`order_history.rs`), read
//! by the analytics runs beside the CRM's orders; never synced.

use std::collections::HashMap;

use fieldcrm_core::Millis;

use super::Result;

/// One imported order, keyed by its customer, day, amount, currency and `occurrence` (the
/// how-manieth order with those same values in its file, from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryOrder {
    pub customer_id: String,
    /// Days since 1970-01-01, UTC.
    pub day: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub occurrence: u32,
    pub lines: Vec<HistoryLine>,
}

/// One line of an imported order, keyed within it by its SKU and `occurrence` (the
/// how-manieth line of that SKU in the order, from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    pub sku: String,
    pub occurrence: u32,
    pub product_id: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

impl HistoryLine {
    /// Quantity times unit price (saturating: a crafted cell cannot overflow).
    pub fn net_minor(&self) -> i64 {
        self.quantity.saturating_mul(self.unit_price_minor)
    }
}

/// What one write added, and what was already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryWritten {
    pub orders_new: u64,
    pub orders_present: u64,
    pub lines_new: u64,
    pub lines_present: u64,
}

pub trait HistoryStorage {
    /// The products (not deleted) by SKU: each SKU's product ids (more than one: ambiguous).
    fn product_ids_by_sku(&self) -> Result<HashMap<String, Vec<String>>>;
    /// Adds the orders and lines not stored yet (by their keys), in one transaction.
    fn add_history_orders(&self, orders: &[HistoryOrder], now: Millis) -> Result<HistoryWritten>;
}

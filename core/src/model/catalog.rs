//! The product catalog: a product as the whole organisation sees it, with a price per currency
//! in integer minor units and a tax rate in basis points. Leaf type of the model; its document
//! mapping, projection and search row are in `records/product.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::RecordMeta;

/// Basis points in one whole (100 %): tax rates and discounts are given in them (1900 = 19 %).
pub const BASIS_POINTS: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub meta: RecordMeta,
    /// The organisation's article number; what reps type and scan.
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    /// The unit a quantity counts ("piece", "box", "kg").
    pub unit: Option<String>,
    /// Price per ISO 4217 currency code, in integer minor units (cents). Merged per currency.
    pub prices: BTreeMap<String, i64>,
    /// Tax rate in basis points (1900 = 19 %).
    pub tax_rate_bp: u32,
    /// Inactive products stay in the catalog (past orders name them) but sort last in searches.
    pub active: bool,
    /// A reference to the product's image (filled in by the attachments work).
    pub image_ref: Option<String>,
}

impl Product {
    pub fn new(sku: impl Into<String>, name: impl Into<String>) -> Self {
        Product {
            meta: RecordMeta::default(),
            sku: sku.into(),
            name: name.into(),
            category: None,
            unit: None,
            prices: BTreeMap::new(),
            tax_rate_bp: 0,
            active: true,
            image_ref: None,
        }
    }

    /// The price in `currency`, minor units; `None` when the product has none in it.
    pub fn price_in(&self, currency: &str) -> Option<i64> {
        self.prices.get(currency).copied()
    }
}

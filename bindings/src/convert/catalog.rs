//! The uniffi mirrors of the catalog and orders: products, orders with their lines and status
//! history, their totals, and the summaries the catalog and order queries answer.

use std::collections::HashMap;

use fieldcrm_core as fc;

use super::*;

/// A product of the organisation's catalog. Prices are per ISO 4217 currency, in integer
/// minor units; the tax rate and discounts are basis points (1900 = 19 %).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Product {
    pub meta: RecordMeta,
    pub sku: String,
    pub name: String,
    #[uniffi(default)]
    pub category: Option<String>,
    #[uniffi(default)]
    pub unit: Option<String>,
    #[uniffi(default)]
    pub prices: HashMap<String, i64>,
    #[uniffi(default)]
    pub tax_rate_bp: u32,
    pub active: bool,
    #[uniffi(default)]
    pub image_ref: Option<String>,
}

impl From<fc::Product> for Product {
    fn from(p: fc::Product) -> Self {
        Product {
            meta: p.meta.into(),
            sku: p.sku,
            name: p.name,
            category: p.category,
            unit: p.unit,
            prices: p.prices.into_iter().collect(),
            tax_rate_bp: p.tax_rate_bp,
            active: p.active,
            image_ref: p.image_ref,
        }
    }
}

impl From<Product> for fc::Product {
    fn from(p: Product) -> Self {
        fc::Product {
            meta: p.meta.into(),
            sku: p.sku,
            name: p.name,
            category: p.category,
            unit: p.unit,
            prices: p.prices.into_iter().collect(),
            tax_rate_bp: p.tax_rate_bp,
            active: p.active,
            image_ref: p.image_ref,
        }
    }
}

/// One line of an order: the product's SKU, name, price and tax as they were when the line
/// was added.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrderLine {
    pub id: String,
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub tax_rate_bp: u32,
    pub discount_bp: u32,
}

impl From<fc::OrderLine> for OrderLine {
    fn from(l: fc::OrderLine) -> Self {
        OrderLine {
            id: l.id,
            product_id: l.product_id,
            sku: l.sku,
            name: l.name,
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
            tax_rate_bp: l.tax_rate_bp,
            discount_bp: l.discount_bp,
        }
    }
}

impl From<OrderLine> for fc::OrderLine {
    fn from(l: OrderLine) -> Self {
        fc::OrderLine {
            id: l.id,
            product_id: l.product_id,
            sku: l.sku,
            name: l.name,
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
            tax_rate_bp: l.tax_rate_bp,
            discount_bp: l.discount_bp,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrderStatusChange {
    pub status: OrderStatus,
    pub at: i64,
    pub by: String,
}

impl From<fc::OrderStatusChange> for OrderStatusChange {
    fn from(c: fc::OrderStatusChange) -> Self {
        OrderStatusChange {
            status: c.status.into(),
            at: c.at,
            by: c.by,
        }
    }
}

impl From<OrderStatusChange> for fc::OrderStatusChange {
    fn from(c: OrderStatusChange) -> Self {
        fc::OrderStatusChange {
            status: c.status.into(),
            at: c.at,
            by: c.by,
        }
    }
}

/// An order for a customer, optionally taken at a visit, in one currency.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Order {
    pub meta: RecordMeta,
    pub customer_id: String,
    #[uniffi(default)]
    pub visit_id: Option<String>,
    pub currency: String,
    pub status: OrderStatus,
    pub owner: String,
    pub ordered_at: i64,
    #[uniffi(default)]
    pub notes: String,
    #[uniffi(default)]
    pub lines: Vec<OrderLine>,
    #[uniffi(default)]
    pub status_history: Vec<OrderStatusChange>,
}

impl From<fc::Order> for Order {
    fn from(o: fc::Order) -> Self {
        Order {
            meta: o.meta.into(),
            customer_id: o.customer_id,
            visit_id: o.visit_id,
            currency: o.currency,
            status: o.status.into(),
            owner: o.owner,
            ordered_at: o.ordered_at,
            notes: o.notes,
            lines: o.lines.into_iter().map(Into::into).collect(),
            status_history: o.status_history.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Order> for fc::Order {
    fn from(o: Order) -> Self {
        fc::Order {
            meta: o.meta.into(),
            customer_id: o.customer_id,
            visit_id: o.visit_id,
            currency: o.currency,
            status: o.status.into(),
            owner: o.owner,
            ordered_at: o.ordered_at,
            notes: o.notes,
            lines: o.lines.into_iter().map(Into::into).collect(),
            status_history: o.status_history.into_iter().map(Into::into).collect(),
        }
    }
}

/// An order's totals in minor units of its currency, computed from its lines (core's
/// `totals`: per line, discount and tax rounded half up; the order's are the lines' sums).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct OrderTotals {
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub net_minor: i64,
    pub tax_minor: i64,
    pub gross_minor: i64,
}

impl From<fc::OrderTotals> for OrderTotals {
    fn from(t: fc::OrderTotals) -> Self {
        OrderTotals {
            subtotal_minor: t.subtotal_minor,
            discount_minor: t.discount_minor,
            net_minor: t.net_minor,
            tax_minor: t.tax_minor,
            gross_minor: t.gross_minor,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ProductSummary {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub unit: Option<String>,
    /// One price per currency, by currency.
    pub prices: Vec<Money>,
    pub tax_rate_bp: u32,
    pub active: bool,
}

impl From<fc::ProductSummary> for ProductSummary {
    fn from(p: fc::ProductSummary) -> Self {
        ProductSummary {
            id: p.id,
            sku: p.sku,
            name: p.name,
            category: p.category,
            unit: p.unit,
            prices: p.prices.into_iter().map(Into::into).collect(),
            tax_rate_bp: p.tax_rate_bp,
            active: p.active,
        }
    }
}

/// A category of the catalog with its counts of products (deleted ones not counted).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CategorySummary {
    /// As the products carry it: `products_in_category` browses it.
    pub name: String,
    pub active_products: u32,
    /// Active and inactive.
    pub products: u32,
}

impl From<fc::CategorySummary> for CategorySummary {
    fn from(c: fc::CategorySummary) -> Self {
        CategorySummary {
            name: c.name,
            active_products: c.active_products,
            products: c.products,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrderSummary {
    pub id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub visit_id: Option<String>,
    pub owner: String,
    pub currency: String,
    pub status: OrderStatus,
    pub ordered_at: i64,
    pub line_count: u32,
    /// Lines whose product this device does not know (shown as unknown).
    pub unknown_products: u32,
    pub totals: OrderTotals,
}

impl From<fc::OrderSummary> for OrderSummary {
    fn from(o: fc::OrderSummary) -> Self {
        OrderSummary {
            id: o.id,
            customer_id: o.customer_id,
            customer_name: o.customer_name,
            visit_id: o.visit_id,
            owner: o.owner,
            currency: o.currency,
            status: o.status.into(),
            ordered_at: o.ordered_at,
            line_count: o.line_count,
            unknown_products: o.unknown_products,
            totals: o.totals.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrderLineSummary {
    pub line: OrderLine,
    /// Whether this device knows the line's product.
    pub product_known: bool,
    pub totals: OrderTotals,
}

impl From<fc::OrderLineSummary> for OrderLineSummary {
    fn from(l: fc::OrderLineSummary) -> Self {
        OrderLineSummary {
            line: l.line.into(),
            product_known: l.product_known,
            totals: l.totals.into(),
        }
    }
}

/// An order with its lines and totals.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OrderDetail {
    pub order: OrderSummary,
    pub lines: Vec<OrderLineSummary>,
}

impl From<fc::OrderDetail> for OrderDetail {
    fn from(d: fc::OrderDetail) -> Self {
        OrderDetail {
            order: d.order.into(),
            lines: d.lines.into_iter().map(Into::into).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_and_order_round_trip_through_the_mirror() {
        let mut product = fc::Product::new("AB-1", "Bread");
        product.prices.insert("EUR".into(), 349);
        product.prices.insert("CHF".into(), 420);
        assert_eq!(fc::Product::from(Product::from(product.clone())), product);
        let mut order = fc::Order::new("c1", "anna", "EUR");
        order.status = fc::OrderStatus::Submitted;
        order.lines.push(fc::OrderLine {
            id: "l1".into(),
            product_id: "p1".into(),
            sku: "AB-1".into(),
            name: "Bread".into(),
            quantity: 2,
            unit_price_minor: 349,
            tax_rate_bp: 700,
            discount_bp: 500,
        });
        order.status_history.push(fc::OrderStatusChange {
            status: fc::OrderStatus::parse("on_hold"),
            at: 1_790_000_000_000,
            by: "anna".into(),
        });
        assert_eq!(fc::Order::from(Order::from(order.clone())), order);
    }
}

//! Orders as the revenue reports count them: which orders are revenue (the one rule), how a
//! report is grouped, and the shapes `GET /v1/revenue` and `/v1/revenue/unknown-products`
//! answer with. Amounts are the order's own figures (`fieldcrm_core::totals`, projected into
//! `order_facts`); nothing here computes a total.

use fieldcrm_core::{Millis, OrderStatus};
use serde::Serialize;

use super::Period;

/// Whether an order in this state counts as revenue: submitted, confirmed or delivered. A
/// draft is not yet an order, a cancelled one will not be paid, and a state this server does
/// not know is not counted. Projected into `order_facts.revenue` and `order_line_facts.revenue`.
pub fn counts_as_revenue(status: &OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Submitted | OrderStatus::Confirmed | OrderStatus::Delivered
    )
}

/// What a revenue report groups by (`?by=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevenueBy {
    Rep,
    Customer,
    Product,
}

impl RevenueBy {
    pub fn parse(text: &str) -> Option<RevenueBy> {
        match text {
            "rep" => Some(RevenueBy::Rep),
            "customer" => Some(RevenueBy::Customer),
            "product" => Some(RevenueBy::Product),
            _ => None,
        }
    }
}

/// Revenue in one currency, in all (the orders counted and their figures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RevenueTotal {
    pub currency: String,
    pub orders: u64,
    pub net_minor: i64,
    pub gross_minor: i64,
}

/// Revenue of one rep, customer or product in one currency. `name` is the rep's username,
/// the customer's name or the product's name on the lines (absent when not known); `sku`,
/// `known`, `lines` and `quantity` are given for products only (`orders` for reps and
/// customers only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RevenueGroup {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<bool>,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    pub net_minor: i64,
    pub gross_minor: i64,
}

/// `GET /v1/revenue`'s answer. `groups` are the largest first (by net amount), at most
/// `limit`; `truncated` says there were more.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RevenueReport {
    pub period: Period,
    pub by: RevenueBy,
    pub currency: Option<String>,
    pub totals: Vec<RevenueTotal>,
    pub groups: Vec<RevenueGroup>,
    pub truncated: bool,
}

/// A line naming a product the server does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UnknownProductLine {
    pub order_id: String,
    pub line_id: String,
    pub product_id: String,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub net_minor: i64,
    pub currency: String,
    pub customer_id: String,
    pub rep_id: String,
    pub ordered_at: Millis,
}

/// `GET /v1/revenue/unknown-products`' answer: how many lines in the period name a product
/// the server does not know, and the latest of them (at most `limit`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UnknownProductsReport {
    pub period: Period,
    pub count: u64,
    pub lines: Vec<UnknownProductLine>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_submitted_confirmed_and_delivered_orders_are_revenue() {
        let all = [
            OrderStatus::Draft,
            OrderStatus::Submitted,
            OrderStatus::Confirmed,
            OrderStatus::Delivered,
            OrderStatus::Cancelled,
            OrderStatus::Unknown("invoiced".into()),
        ];
        let counted: Vec<&str> = all
            .iter()
            .filter(|s| counts_as_revenue(s))
            .map(|s| s.as_str())
            .collect();
        assert_eq!(counted, ["submitted", "confirmed", "delivered"]);
    }

    #[test]
    fn the_grouping_is_parsed_exactly() {
        assert_eq!(RevenueBy::parse("rep"), Some(RevenueBy::Rep));
        assert_eq!(RevenueBy::parse("product"), Some(RevenueBy::Product));
        assert_eq!(RevenueBy::parse("Rep"), None);
        assert_eq!(RevenueBy::parse(""), None);
    }
}

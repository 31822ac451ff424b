//! Orders as CSV: one row per line, each with its order's columns (so a spreadsheet can sum
//! and filter lines by order, customer or status), amounts in the order's currency's minor
//! units. The order's and the line's net and gross are `fieldcrm_core::totals`', the one rule;
//! an order without lines is one row with empty line cells.

use fieldcrm_core::{AnyRecord, Kind, Order, OrderLine, totals};

use super::{ExportRows, opt, time};
use crate::sales::orders::counts_as_revenue;
use crate::storage::ExportRow;

pub struct Orders;

fn line_cells(line: &OrderLine) -> Vec<String> {
    let sums = totals(std::slice::from_ref(line));
    vec![
        line.id.clone(),
        line.product_id.clone(),
        line.sku.clone(),
        line.name.clone(),
        line.quantity.to_string(),
        line.unit_price_minor.to_string(),
        line.discount_bp.to_string(),
        line.tax_rate_bp.to_string(),
        sums.net_minor.to_string(),
        sums.gross_minor.to_string(),
    ]
}

fn order_cells(row: &ExportRow, order: &Order) -> Vec<String> {
    let sums = order.totals();
    vec![
        order.meta.id.clone(),
        order.customer_id.clone(),
        opt(row.customer_external_id.as_deref()),
        opt(row.territory.as_deref()),
        opt(order.visit_id.as_deref()),
        order.status.as_str().to_owned(),
        counts_as_revenue(&order.status).to_string(),
        order.currency.clone(),
        time(order.ordered_at),
        opt(row.owner.as_deref()),
        sums.net_minor.to_string(),
        sums.tax_minor.to_string(),
        sums.gross_minor.to_string(),
    ]
}

impl ExportRows for Orders {
    const KIND: Kind = Kind::Order;
    /// An order holds at most 500 lines: 50 orders make at most 25,000 rows a piece.
    const PAGE_RECORDS: u32 = 50;
    const HEADER: &'static [&'static str] = &[
        "order_id",
        "customer_id",
        "customer_external_id",
        "territory",
        "visit_id",
        "status",
        "revenue",
        "currency",
        "ordered_at",
        "owner",
        "order_net_minor",
        "order_tax_minor",
        "order_gross_minor",
        "line_id",
        "product_id",
        "sku",
        "name",
        "quantity",
        "unit_price_minor",
        "discount_bp",
        "tax_rate_bp",
        "line_net_minor",
        "line_gross_minor",
    ];

    fn rows(row: &ExportRow) -> Vec<Vec<String>> {
        let AnyRecord::Order(order) = &row.record else {
            return Vec::new();
        };
        let head = order_cells(row, order);
        if order.lines.is_empty() {
            let mut cells = head;
            cells.resize(Self::HEADER.len(), String::new());
            return vec![cells];
        }
        order
            .lines
            .iter()
            .map(|line| {
                let mut cells = head.clone();
                cells.extend(line_cells(line));
                cells
            })
            .collect()
    }
}

//! The catalog and orders as queries read them: product search (FTS5 over SKU and name, prefix
//! match, active products first), the list of categories, browsing a category, a product by SKU;
//! a customer's and a visit's orders and one order with its lines, each with totals computed from the lines by the
//! one rule of [`crate::model::totals`].

use rusqlite::{Connection, Row, params};

use super::{fts_query, limit};
use crate::error::Result;
use crate::model::*;

#[derive(Debug, Clone, PartialEq)]
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

/// A category of the catalog, as the category list shows it. Deleted products are not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySummary {
    /// As the products carry it ([`crate::Query::ProductsInCategory`] browses it).
    pub name: String,
    pub active_products: u32,
    /// Active and inactive.
    pub products: u32,
}

/// An order line as lists show it, with its own totals.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLineSummary {
    pub line: OrderLine,
    /// Whether this device knows the line's product: an id it does not know is kept and shown
    /// as unknown.
    pub product_known: bool,
    pub totals: OrderTotals,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderSummary {
    pub id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub visit_id: Option<String>,
    pub owner: String,
    pub currency: String,
    pub status: OrderStatus,
    pub ordered_at: Millis,
    pub line_count: u32,
    /// Lines whose product this device does not know.
    pub unknown_products: u32,
    pub totals: OrderTotals,
}

/// An order with its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderDetail {
    pub order: OrderSummary,
    pub lines: Vec<OrderLineSummary>,
}

const PRODUCT_COLUMNS: &str =
    "p.id, p.sku, p.name, p.category, p.unit, p.prices, p.tax_rate_bp, p.active";

fn product_row(row: &Row<'_>) -> rusqlite::Result<ProductSummary> {
    let prices: String = row.get(5)?;
    Ok(ProductSummary {
        id: row.get(0)?,
        sku: row.get(1)?,
        name: row.get(2)?,
        category: row.get(3)?,
        unit: row.get(4)?,
        prices: crate::records::parse_prices(&prices)
            .into_iter()
            .map(|(currency, minor)| Money { minor, currency })
            .collect(),
        tax_rate_bp: row.get(6)?,
        active: row.get(7)?,
    })
}

/// Products whose SKU or name has every typed word as a prefix; active ones first, then by
/// relevance and name.
pub(super) fn search_products(
    conn: &Connection,
    text: &str,
    max: u32,
) -> Result<Vec<ProductSummary>> {
    let Some(fts) = fts_query(text) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM (SELECT rowid AS rid, rank FROM products_fts WHERE products_fts MATCH ?1) m
         JOIN products p ON p.rid = m.rid
         WHERE p.deleted = 0
         ORDER BY p.active DESC, m.rank, p.name COLLATE NOCASE, p.id LIMIT ?2"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params![fts, limit(max)], product_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// A category's products, active ones first, by name.
pub(super) fn products_in_category(
    conn: &Connection,
    category: &str,
    max: u32,
    offset: u32,
) -> Result<Vec<ProductSummary>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p
         WHERE p.category = ?1 AND p.deleted = 0
         ORDER BY p.active DESC, p.name COLLATE NOCASE, p.id LIMIT ?2 OFFSET ?3"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params![category, limit(max), offset], product_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// The catalog's categories by name (case-insensitive, then exact: "Bread" and "bread" are two
/// categories, as they are to `products_in_category`), with their counts of products. A
/// category only deleted products carry is not listed; products without a category (none, or
/// empty) are not in any: search finds them. Read from the covering index `products_categories`
/// (migration 0010) in its order, so a page reads only its own categories' entries.
pub(super) fn product_categories(
    conn: &Connection,
    max: u32,
    offset: u32,
) -> Result<Vec<CategorySummary>> {
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(conn
        .prepare_cached(CATEGORIES_SQL)?
        .query_map(params![limit(max), offset], |row| {
            Ok(CategorySummary {
                name: row.get(0)?,
                active_products: count(row.get(1)?),
                products: count(row.get(2)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

// The WHERE terms are the partial index's own, so SQLite may use it.
const CATEGORIES_SQL: &str = "SELECT category, sum(active), count(*) FROM products
     WHERE deleted = 0 AND category <> ''
     GROUP BY category COLLATE NOCASE, category
     ORDER BY category COLLATE NOCASE, category LIMIT ?1 OFFSET ?2";

/// The products with this SKU (one, unless two were created offline with the same SKU).
pub(super) fn products_by_sku(conn: &Connection, sku: &str) -> Result<Vec<ProductSummary>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.sku = ?1 AND p.deleted = 0
         ORDER BY p.active DESC, p.id"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([sku], product_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Which orders to list.
pub(super) enum OrdersOf<'a> {
    Customer(&'a str, u32),
    Visit(&'a str),
    One(&'a str),
}

const ORDER_COLUMNS: &str =
    "o.id, o.customer_id, c.name, o.visit_id, o.owner, o.currency, o.status, o.ordered_at";

fn order_row(row: &Row<'_>) -> rusqlite::Result<OrderSummary> {
    Ok(OrderSummary {
        id: row.get(0)?,
        customer_id: row.get(1)?,
        customer_name: row.get(2)?,
        visit_id: row.get(3)?,
        owner: row.get(4)?,
        currency: row.get(5)?,
        status: OrderStatus::parse(&row.get::<_, String>(6)?),
        ordered_at: row.get(7)?,
        line_count: 0,
        unknown_products: 0,
        totals: OrderTotals::default(),
    })
}

/// Orders with their lines and totals, newest first.
pub(super) fn orders(conn: &Connection, which: OrdersOf<'_>) -> Result<Vec<OrderDetail>> {
    let from = format!(
        "SELECT {ORDER_COLUMNS} FROM orders o LEFT JOIN customers c ON c.id = o.customer_id"
    );
    let summaries: Vec<OrderSummary> = match which {
        OrdersOf::Customer(customer_id, max) => conn
            .prepare_cached(&format!(
                "{from} WHERE o.customer_id = ?1 AND o.deleted = 0
                 ORDER BY o.ordered_at DESC, o.id LIMIT ?2"
            ))?
            .query_map(params![customer_id, limit(max)], order_row)?
            .collect::<rusqlite::Result<_>>()?,
        OrdersOf::Visit(visit_id) => conn
            .prepare_cached(&format!(
                "{from} WHERE o.visit_id = ?1 AND o.deleted = 0 ORDER BY o.ordered_at DESC, o.id"
            ))?
            .query_map([visit_id], order_row)?
            .collect::<rusqlite::Result<_>>()?,
        // One order by id, deleted or not (a detail screen shows what it was asked for).
        OrdersOf::One(id) => conn
            .prepare_cached(&format!("{from} WHERE o.id = ?1"))?
            .query_map([id], order_row)?
            .collect::<rusqlite::Result<_>>()?,
    };
    let mut lines_of = conn.prepare_cached(
        "SELECT l.line_id, l.product_id, l.sku, l.name, l.quantity, l.unit_price_minor, l.tax_rate_bp,
           l.discount_bp, EXISTS (SELECT 1 FROM products p WHERE p.id = l.product_id)
         FROM order_lines l WHERE l.order_id = ?1 ORDER BY l.line_id",
    )?;
    let mut details = Vec::with_capacity(summaries.len());
    for mut order in summaries {
        let lines: Vec<OrderLineSummary> = lines_of
            .query_map([&order.id], |row| {
                let line = OrderLine {
                    id: row.get(0)?,
                    product_id: row.get(1)?,
                    sku: row.get(2)?,
                    name: row.get(3)?,
                    quantity: row.get(4)?,
                    unit_price_minor: row.get(5)?,
                    tax_rate_bp: row.get(6)?,
                    discount_bp: row.get(7)?,
                };
                Ok(OrderLineSummary {
                    totals: totals(std::slice::from_ref(&line)),
                    line,
                    product_known: row.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let all: Vec<OrderLine> = lines.iter().map(|l| l.line.clone()).collect();
        order.totals = totals(&all);
        order.line_count = u32::try_from(lines.len()).unwrap_or(u32::MAX);
        order.unknown_products =
            u32::try_from(lines.iter().filter(|l| !l.product_known).count()).unwrap_or(u32::MAX);
        details.push(OrderDetail { order, lines });
    }
    Ok(details)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_category_list_reads_its_covering_index_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {CATEGORIES_SQL}"))
            .unwrap()
            .query_map(params![50, 0], |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains("USING COVERING INDEX products_categories"),
            "{plan}"
        );
        assert!(
            !plan.contains("TEMP B-TREE"),
            "no sort, no grouping table: {plan}"
        );
    }
}

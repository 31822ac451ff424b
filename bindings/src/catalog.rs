//! The catalog and order entry: product search, the category list and browsing a category, an
//! order for a customer (at a visit), lines added from products with the price in the order's
//! currency (and a discount, in the same write), their quantity and discount changed, lines removed, the status moved on; a customer's and a visit's orders
//! and an order with its lines, each with totals computed from the lines.

use fieldcrm_core as fc;

use super::*;

/// A change to one order line; a field left `None` stays as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, uniffi::Record)]
pub struct LineEdit {
    #[uniffi(default)]
    pub quantity: Option<i64>,
    #[uniffi(default)]
    pub discount_bp: Option<u32>,
}

impl From<LineEdit> for fc::LineEdit {
    fn from(e: LineEdit) -> Self {
        fc::LineEdit {
            quantity: e.quantity,
            discount_bp: e.discount_bp,
        }
    }
}

fn product_rows(result: fc::QueryResult) -> Result<Vec<ProductSummary>> {
    match result {
        fc::QueryResult::Products(rows) => Ok(rows.into_iter().map(Into::into).collect()),
        _ => Err(internal("product query returned other rows")),
    }
}

fn order_rows(result: fc::QueryResult) -> Result<Vec<OrderSummary>> {
    match result {
        fc::QueryResult::Orders(rows) => Ok(rows.into_iter().map(Into::into).collect()),
        _ => Err(internal("order query returned other rows")),
    }
}

#[uniffi::export]
impl FieldStore {
    /// Products whose SKU or name has every typed word as a prefix ("ab1001" finds "AB-1001"),
    /// active ones first. A limit of 0 means 50.
    pub fn search_products(&self, text: String, limit: u32) -> Result<Vec<ProductSummary>> {
        self.with("search_products", |s| {
            Ok(s.query(&fc::Query::SearchProducts { text, limit })?)
        })
        .and_then(product_rows)
    }

    /// The catalog's categories by name, each with its counts of active and all products
    /// (deleted ones not counted; a category only they carry is not listed). Products without a
    /// category are in none: search finds them. A limit of 0 means 50.
    pub fn product_categories(&self, limit: u32, offset: u32) -> Result<Vec<CategorySummary>> {
        match self.with("product_categories", |s| {
            Ok(s.query(&fc::Query::ProductCategories { limit, offset })?)
        })? {
            fc::QueryResult::Categories(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("category query returned other rows")),
        }
    }

    /// A category's products, active ones first, by name.
    pub fn products_in_category(
        &self,
        category: String,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<ProductSummary>> {
        self.with("products_in_category", |s| {
            Ok(s.query(&fc::Query::ProductsInCategory {
                category,
                limit,
                offset,
            })?)
        })
        .and_then(product_rows)
    }

    /// The product with this SKU (the first, should two share it); `None` when there is none.
    pub fn product_by_sku(&self, sku: String) -> Result<Option<ProductSummary>> {
        self.with("product_by_sku", |s| {
            Ok(s.query(&fc::Query::ProductBySku { sku })?)
        })
        .and_then(product_rows)
        .map(|rows| rows.into_iter().next())
    }

    /// A new draft order for the customer in `currency` (ISO 4217), taken by this store's
    /// user, at `visit_id` when given.
    pub fn create_order(
        &self,
        customer_id: String,
        visit_id: Option<String>,
        currency: String,
    ) -> Result<Order> {
        self.with("create_order", |s| {
            Ok(
                s.create_order(&customer_id, visit_id.as_deref(), &currency)?
                    .into(),
            )
        })
    }

    /// Adds `quantity` of the product, priced as the product is now in the order's currency
    /// (`InvalidValue` on `currency` when it has no such price), with `discount_bp` (basis
    /// points, default 0) in the same write: over 10,000 (100 %) is `InvalidValue` on
    /// `lines.discount_bp` and nothing is written.
    #[uniffi::method(default(discount_bp = 0))]
    pub fn add_order_line(
        &self,
        order_id: String,
        product_id: String,
        quantity: i64,
        discount_bp: u32,
    ) -> Result<Order> {
        self.with("add_order_line", |s| {
            Ok(
                s.add_order_line_with_discount(&order_id, &product_id, quantity, discount_bp)?
                    .into(),
            )
        })
    }

    /// Changes a line's quantity and/or discount (basis points, at most 10,000).
    pub fn edit_order_line(
        &self,
        order_id: String,
        line_id: String,
        edit: LineEdit,
    ) -> Result<Order> {
        self.with("edit_order_line", |s| {
            Ok(s.edit_order_line(&order_id, &line_id, edit.into())?.into())
        })
    }

    pub fn remove_order_line(&self, order_id: String, line_id: String) -> Result<Order> {
        self.with("remove_order_line", |s| {
            Ok(s.remove_order_line(&order_id, &line_id)?.into())
        })
    }

    /// Moves the order on; once submitted its lines are frozen (`InvalidValue` on `status`
    /// for an edit of them), and a rep may still cancel it.
    pub fn set_order_status(&self, order_id: String, status: OrderStatus) -> Result<Order> {
        self.with("set_order_status", |s| {
            Ok(s.set_order_status(&order_id, status.into())?.into())
        })
    }

    /// A customer's orders with their totals, newest first. A limit of 0 means 50.
    pub fn orders_of_customer(&self, customer_id: String, limit: u32) -> Result<Vec<OrderSummary>> {
        self.with("orders_of_customer", |s| {
            Ok(s.query(&fc::Query::OrdersOfCustomer { customer_id, limit })?)
        })
        .and_then(order_rows)
    }

    /// The orders taken at a visit, with their totals.
    pub fn orders_of_visit(&self, visit_id: String) -> Result<Vec<OrderSummary>> {
        self.with("orders_of_visit", |s| {
            Ok(s.query(&fc::Query::OrdersOfVisit { visit_id })?)
        })
        .and_then(order_rows)
    }

    /// An order with its lines (each with its totals and whether its product is known) and
    /// its totals; `None` when the order is not on this device.
    pub fn order_with_lines(&self, order_id: String) -> Result<Option<OrderDetail>> {
        match self.with("order_with_lines", |s| {
            Ok(s.query(&fc::Query::OrderWithLines { order_id })?)
        })? {
            fc::QueryResult::Order(detail) => Ok(detail.map(Into::into)),
            _ => Err(internal("order query returned other rows")),
        }
    }
}

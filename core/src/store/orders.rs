//! Order entry on the device: an order for a customer (optionally at a visit), lines added from
//! catalog products with the product's price and tax in the order's currency copied in, their
//! quantity and discount changed, lines removed, the status moved on. Every call is a typed
//! update of the order, so the rules of `records/order.rs` (a submitted order is frozen, the
//! status only moves on) and validation apply as to any edit.

use crate::error::{Result, StoreError, ValidationError};
use crate::model::{Order, OrderLine, OrderStatus, Product};

use super::Store;

/// A change to one line of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineEdit {
    pub quantity: Option<i64>,
    pub discount_bp: Option<u32>,
}

impl Store {
    /// A new draft order for `customer_id` in `currency`, taken by this store's user, at
    /// `visit_id` when given.
    pub fn create_order(
        &self,
        customer_id: &str,
        visit_id: Option<&str>,
        currency: &str,
    ) -> Result<Order> {
        let mut order = Order::new(customer_id, self.user(), currency);
        order.visit_id = visit_id.map(str::to_owned);
        self.create(order)
    }

    fn order(&self, order_id: &str) -> Result<Order> {
        self.get::<Order>(order_id)?
            .ok_or_else(|| StoreError::NotFound {
                id: order_id.to_owned(),
            })
    }

    /// Adds a line of `quantity` × the product, with its SKU, name, tax rate and price in the
    /// order's currency as they are now, and no discount. A product without a price in that
    /// currency is [`ValidationError::NoPriceInCurrency`]; an unknown product is `NotFound`.
    pub fn add_order_line(&self, order_id: &str, product_id: &str, quantity: i64) -> Result<Order> {
        self.add_order_line_with_discount(order_id, product_id, quantity, 0)
    }

    /// [`Store::add_order_line`] with the line's discount (basis points) in the same write: a
    /// discount over 10,000 (100 %) is `OutOfRange` on `lines.discount_bp`, as for an edit,
    /// and nothing is written (the update validates the whole order before it commits).
    pub fn add_order_line_with_discount(
        &self,
        order_id: &str,
        product_id: &str,
        quantity: i64,
        discount_bp: u32,
    ) -> Result<Order> {
        let mut order = self.order(order_id)?;
        let product = self
            .get::<Product>(product_id)?
            .ok_or_else(|| StoreError::NotFound {
                id: product_id.to_owned(),
            })?;
        let unit_price_minor = product.price_in(&order.currency).ok_or_else(|| {
            ValidationError::NoPriceInCurrency {
                product_id: product_id.to_owned(),
                currency: order.currency.clone(),
            }
        })?;
        order.lines.push(OrderLine {
            id: uuid::Uuid::now_v7().to_string(),
            product_id: product.meta.id,
            sku: product.sku,
            name: product.name,
            quantity,
            unit_price_minor,
            tax_rate_bp: product.tax_rate_bp,
            discount_bp,
        });
        self.update(order)
    }

    /// Changes a line's quantity and/or discount.
    pub fn edit_order_line(&self, order_id: &str, line_id: &str, edit: LineEdit) -> Result<Order> {
        let mut order = self.order(order_id)?;
        let line = order
            .lines
            .iter_mut()
            .find(|l| l.id == line_id)
            .ok_or_else(|| StoreError::NotFound {
                id: line_id.to_owned(),
            })?;
        if let Some(quantity) = edit.quantity {
            line.quantity = quantity;
        }
        if let Some(discount_bp) = edit.discount_bp {
            line.discount_bp = discount_bp;
        }
        self.update(order)
    }

    pub fn remove_order_line(&self, order_id: &str, line_id: &str) -> Result<Order> {
        let mut order = self.order(order_id)?;
        let before = order.lines.len();
        order.lines.retain(|l| l.id != line_id);
        if order.lines.len() == before {
            return Err(StoreError::NotFound {
                id: line_id.to_owned(),
            });
        }
        self.update(order)
    }

    /// Moves the order on (draft → submitted → confirmed → delivered, or cancelled); the store
    /// appends the change to its status history.
    pub fn set_order_status(&self, order_id: &str, status: OrderStatus) -> Result<Order> {
        let mut order = self.order(order_id)?;
        order.status = status;
        self.update(order)
    }
}

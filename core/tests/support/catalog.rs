//! Products and orders for the property tests: the typed edits a replica makes (a price, the
//! active flag, an order line added, changed or removed, the order's status moved on) and the
//! check that every order's projection (its lines and totals) agrees with its document.

use fieldcrm_core::{
    LineEdit, Order, OrderDetail, OrderStatus, Product, Query, QueryResult, Store, StoreError,
    ValidationError,
};
use proptest::prelude::*;

pub const SKUS: &[(&str, &str)] = &[
    ("AB-1001", "Roggenbrot"),
    ("BU-2002", "Butter"),
    ("MI-3003", "Milch"),
];
pub const PRODUCT_TERMS: &[&str] = &["ab1001", "rogg", "but", "mi-3", "zzz"];

#[derive(Debug, Clone)]
pub enum ProductEdit {
    Price { usd: bool, minor: i64 },
    Active(bool),
}

pub fn product_edit() -> impl Strategy<Value = ProductEdit> {
    prop_oneof![
        (any::<bool>(), 0..10_000i64).prop_map(|(usd, minor)| ProductEdit::Price { usd, minor }),
        any::<bool>().prop_map(ProductEdit::Active),
    ]
}

pub fn edit_product(p: &mut Product, edit: &ProductEdit) {
    match edit {
        ProductEdit::Price { usd, minor } => {
            let currency = if *usd { "USD" } else { "EUR" };
            p.prices.insert(currency.to_owned(), *minor);
        }
        ProductEdit::Active(active) => p.active = *active,
    }
}

/// A product of the vocabulary, priced in EUR.
pub fn catalog_product(index: usize, minor: i64) -> Product {
    let (sku, name) = SKUS[index % SKUS.len()];
    let mut p = Product::new(sku, name);
    let category = if index.is_multiple_of(2) {
        "bakery"
    } else {
        "dairy"
    };
    p.category = Some(category.to_owned());
    p.prices.insert("EUR".to_owned(), minor);
    p.tax_rate_bp = [0, 700, 1_900][index % 3];
    p
}

#[derive(Debug, Clone)]
pub enum OrderEdit {
    AddLine { product: usize, quantity: i64 },
    SetQuantity { line: usize, quantity: i64 },
    SetDiscount { line: usize, discount_bp: u32 },
    RemoveLine { line: usize },
    Status(usize),
}

pub fn order_edit() -> impl Strategy<Value = OrderEdit> {
    prop_oneof![
        3 => (0..8usize, 1..20i64)
            .prop_map(|(product, quantity)| OrderEdit::AddLine { product, quantity }),
        2 => (0..8usize, 1..20i64)
            .prop_map(|(line, quantity)| OrderEdit::SetQuantity { line, quantity }),
        1 => (0..8usize, 0..=10_000u32)
            .prop_map(|(line, discount_bp)| OrderEdit::SetDiscount { line, discount_bp }),
        1 => (0..8usize).prop_map(|line| OrderEdit::RemoveLine { line }),
        1 => (0..OrderStatus::ALL.len()).prop_map(OrderEdit::Status),
    ]
}

/// Makes `edit` on the order through the store's order-entry calls; `false` when this replica
/// cannot (the order or product has not arrived, no such line, a status that does not move on,
/// a frozen order). Every refusal must be one of those typed refusals.
pub fn edit_order(store: &Store, order_id: &str, products: &[String], edit: &OrderEdit) -> bool {
    let Some(order) = store.get::<Order>(order_id).unwrap() else {
        return false;
    };
    let line = |index: usize| {
        (!order.lines.is_empty()).then(|| order.lines[index % order.lines.len()].id.clone())
    };
    let result = match edit {
        OrderEdit::AddLine { product, quantity } => {
            if products.is_empty() {
                return false;
            }
            let product = &products[product % products.len()];
            store.add_order_line(order_id, product, *quantity)
        }
        OrderEdit::SetQuantity {
            line: index,
            quantity,
        } => {
            let Some(line) = line(*index) else {
                return false;
            };
            let edit = LineEdit {
                quantity: Some(*quantity),
                ..LineEdit::default()
            };
            store.edit_order_line(order_id, &line, edit)
        }
        OrderEdit::SetDiscount {
            line: index,
            discount_bp,
        } => {
            let Some(line) = line(*index) else {
                return false;
            };
            let edit = LineEdit {
                discount_bp: Some(*discount_bp),
                ..LineEdit::default()
            };
            store.edit_order_line(order_id, &line, edit)
        }
        OrderEdit::RemoveLine { line: index } => {
            let Some(line) = line(*index) else {
                return false;
            };
            store.remove_order_line(order_id, &line)
        }
        OrderEdit::Status(status) => {
            store.set_order_status(order_id, OrderStatus::ALL[*status].clone())
        }
    };
    match result {
        Ok(_) => true,
        Err(
            StoreError::NotFound { .. }
            | StoreError::Validation(
                ValidationError::OrderFrozen { .. }
                | ValidationError::StatusRegression { .. }
                | ValidationError::NoPriceInCurrency { .. },
            ),
        ) => false,
        Err(other) => panic!("{edit:?} on {order_id}: {other}"),
    }
}

/// The order as the store lists it: its lines and totals agree with its document.
pub fn check_order_projection(store: &Store, order: &Order) {
    let detail: OrderDetail = match store
        .query(&Query::OrderWithLines {
            order_id: order.meta.id.clone(),
        })
        .unwrap()
    {
        QueryResult::Order(Some(detail)) => detail,
        other => panic!("order {} answered {other:?}", order.meta.id),
    };
    let lines: Vec<_> = detail.lines.iter().map(|l| l.line.clone()).collect();
    assert_eq!(lines, order.lines, "lines of {}", order.meta.id);
    assert_eq!(
        detail.order.totals,
        order.totals(),
        "totals of {}",
        order.meta.id
    );
    assert_eq!(detail.order.status, order.status);
    let known = detail.lines.iter().filter(|l| l.product_known).count();
    let products = order
        .lines
        .iter()
        .filter(|l| store.get::<Product>(&l.product_id).unwrap().is_some())
        .count();
    assert_eq!(known, products, "known products of {}", order.meta.id);
}

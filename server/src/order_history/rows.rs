//! The rows of an order-history file, pure: which shape a header names, what a row says, and
//! how rows become orders, each with its key (see the module's documentation).

use std::collections::HashMap;

use csv::ByteRecord;

use crate::csv_import::{Column, Row};
use crate::storage::{HistoryLine, HistoryOrder};

/// The two shapes of a history file, told apart by the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One row per order: customer, date, amount, currency.
    Orders,
    /// One row per order line: the order's columns and the line's SKU, quantity, unit price.
    Lines,
}

const ORDER_COLUMNS: &[Column] = &[
    Column::required("customer_external_id"),
    Column::required("date"),
    Column::required("amount"),
    Column::required("currency"),
];

const LINE_COLUMNS: &[Column] = &[
    Column::required("customer_external_id"),
    Column::required("date"),
    Column::required("amount"),
    Column::required("currency"),
    Column::required("sku"),
    Column::required("quantity"),
    Column::required("unit_price"),
];

/// The columns only a line file has.
const LINE_ONLY: &[&str] = &["sku", "quantity", "unit_price"];

impl Shape {
    /// The shape `header` names: a line file as soon as it names one of the line's columns
    /// (then the header check asks for all of them).
    pub fn of(header: &ByteRecord) -> Shape {
        let names_a_line = header.iter().any(|raw| {
            std::str::from_utf8(raw)
                .is_ok_and(|name| LINE_ONLY.contains(&name.trim().to_ascii_lowercase().as_str()))
        });
        if names_a_line {
            Shape::Lines
        } else {
            Shape::Orders
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Shape::Orders => ORDER_COLUMNS,
            Shape::Lines => LINE_COLUMNS,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Shape::Orders => "orders",
            Shape::Lines => "lines",
        }
    }
}

/// What identifies an order, besides its occurrence in the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderKey {
    pub customer_id: String,
    pub day: i64,
    pub amount_minor: i64,
    pub currency: String,
}

/// A line's values, its product resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineValues {
    pub sku: String,
    pub product_id: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
}

/// A row that reads: its order's key and, in a line file, its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRow {
    pub key: OrderKey,
    pub line: Option<LineValues>,
}

/// What a row needs resolved: a customer by external id, a product by SKU (`Err`: the reason
/// the row is refused). A customer lookup may fail in storage (`E`).
pub trait Resolve<E> {
    fn customer(&mut self, external_id: &str) -> Result<Option<String>, E>;
    fn product(&self, sku: &str) -> Result<String, String>;
}

/// Why a row is not imported: its reason, or a failure that stops the import.
#[derive(Debug)]
pub enum RowFault<E> {
    Rejected(String),
    Failed(E),
}

impl<E> From<String> for RowFault<E> {
    fn from(reason: String) -> Self {
        RowFault::Rejected(reason)
    }
}

/// Reads `row` of a file of `shape`.
pub fn parse_row<E>(
    row: &Row<'_>,
    shape: Shape,
    resolve: &mut impl Resolve<E>,
) -> Result<ParsedRow, RowFault<E>> {
    let date = row.required("date")?;
    let day = crate::dates::parse_date(date)
        .ok_or_else(|| format!("date {date:?} is not a date: expected YYYY-MM-DD"))?;
    let currency =
        crate::config::currency(row.required("currency")?).map_err(|e| format!("currency: {e}"))?;
    let amount_minor = signed_amount(row.required("amount")?, &currency)?;
    let line = match shape {
        Shape::Orders => None,
        Shape::Lines => {
            let sku = row.required("sku")?;
            let quantity = quantity(row.required("quantity")?)?;
            let unit_price = row.required("unit_price")?;
            let unit_price_minor = fieldcrm_core::amounts::parse_amount(unit_price, &currency)
                .map_err(|e| format!("unit_price {unit_price:?}: {e}"))?
                .minor;
            let product_id = resolve.product(sku)?;
            Some(LineValues {
                sku: sku.to_owned(),
                product_id,
                quantity,
                unit_price_minor,
            })
        }
    };
    let external_id = row.required("customer_external_id")?;
    let customer_id = resolve
        .customer(external_id)
        .map_err(RowFault::Failed)?
        .ok_or_else(|| format!("no customer was imported with the external id {external_id:?}"))?;
    Ok(ParsedRow {
        key: OrderKey {
            customer_id,
            day,
            amount_minor,
            currency,
        },
        line,
    })
}

/// An order's amount: core's amount rules (the currency's digits, no floats), and a leading
/// `-` for a credit note.
fn signed_amount(text: &str, currency: &str) -> Result<i64, String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let minor = fieldcrm_core::amounts::parse_amount(digits, currency)
        .map_err(|e| format!("amount {text:?}: {e}"))?
        .minor;
    Ok(if negative { -minor } else { minor })
}

/// A quantity: a whole number from 1.
fn quantity(text: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .filter(|q| *q >= 1)
        .ok_or_else(|| format!("quantity {text:?} is not a whole number from 1"))
}

/// Rows to orders. In an order file each row is an order. In a line file, consecutive rows
/// with the same customer, date, amount and currency are the lines of one order (the amount is
/// the order's, repeated on each of its lines); a row with other values starts the next order.
/// A refused row is skipped: it neither joins nor ends an order.
///
/// The occurrence of an order is the how-manieth order with its key in the file; the
/// occurrence of a line the how-manieth line of its SKU in its order.
#[derive(Debug)]
pub struct Orders {
    shape: Shape,
    occurrences: HashMap<OrderKey, u32>,
    open: Option<(OrderKey, HistoryOrder, HashMap<String, u32>)>,
}

impl Orders {
    pub fn new(shape: Shape) -> Orders {
        Orders {
            shape,
            occurrences: HashMap::new(),
            open: None,
        }
    }

    /// Adds a row; the order it closed, if any.
    pub fn push(&mut self, row: ParsedRow) -> Option<HistoryOrder> {
        let joins = self.shape == Shape::Lines
            && self
                .open
                .as_ref()
                .is_some_and(|(key, _, _)| *key == row.key);
        let closed = if joins {
            None
        } else {
            self.open_order(row.key)
        };
        if let (Some(line), Some((_, order, skus))) = (row.line, self.open.as_mut()) {
            let occurrence = skus.entry(line.sku.clone()).or_insert(0);
            *occurrence += 1;
            order.lines.push(HistoryLine {
                sku: line.sku,
                occurrence: *occurrence,
                product_id: line.product_id,
                quantity: line.quantity,
                unit_price_minor: line.unit_price_minor,
            });
        }
        closed
    }

    /// The last order.
    pub fn finish(&mut self) -> Option<HistoryOrder> {
        self.open.take().map(|(_, order, _)| order)
    }

    fn open_order(&mut self, key: OrderKey) -> Option<HistoryOrder> {
        let occurrence = self.occurrences.entry(key.clone()).or_insert(0);
        *occurrence += 1;
        let order = HistoryOrder {
            customer_id: key.customer_id.clone(),
            day: key.day,
            amount_minor: key.amount_minor,
            currency: key.currency.clone(),
            occurrence: *occurrence,
            lines: Vec::new(),
        };
        self.open
            .replace((key, order, HashMap::new()))
            .map(|(_, order, _)| order)
    }
}

#[cfg(test)]
mod tests;

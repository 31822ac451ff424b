use csv::StringRecord;

use super::*;
use crate::csv_import::Header;

/// Customers `c1`, `c2`; products `P1`, `P2` (and `DUP`, two products).
struct Known;

impl Resolve<()> for Known {
    fn customer(&mut self, external_id: &str) -> Result<Option<String>, ()> {
        Ok(["c1", "c2"]
            .contains(&external_id)
            .then(|| format!("id-{external_id}")))
    }

    fn product(&self, sku: &str) -> Result<String, String> {
        match sku {
            "P1" | "P2" => Ok(format!("prod-{sku}")),
            _ => Err(format!("no product has the SKU {sku:?}")),
        }
    }
}

fn record(cells: &[&str]) -> ByteRecord {
    ByteRecord::from(cells.to_vec())
}

fn parse(shape: Shape, header: &[&str], cells: &[&str]) -> Result<ParsedRow, String> {
    let header = Header::check(&record(header), shape.columns(), 1).unwrap();
    let cells = StringRecord::from(cells.to_vec());
    match parse_row(&Row::new(&header, &cells, 2), shape, &mut Known) {
        Ok(row) => Ok(row),
        Err(RowFault::Rejected(reason)) => Err(reason),
        Err(RowFault::Failed(())) => panic!("failed"),
    }
}

const ORDER_HEADER: &[&str] = &["customer_external_id", "date", "amount", "currency"];
const LINE_HEADER: &[&str] = &[
    "customer_external_id",
    "date",
    "amount",
    "currency",
    "sku",
    "quantity",
    "unit_price",
];

fn key(customer: &str, day: i64, amount_minor: i64) -> OrderKey {
    OrderKey {
        customer_id: format!("id-{customer}"),
        day,
        amount_minor,
        currency: "EUR".into(),
    }
}

#[test]
fn the_header_tells_the_shape() {
    assert_eq!(Shape::of(&record(ORDER_HEADER)), Shape::Orders);
    assert_eq!(Shape::of(&record(LINE_HEADER)), Shape::Lines);
    // One line column is enough to ask for all of them.
    let partial = record(&[
        "customer_external_id",
        "date",
        "amount",
        "currency",
        " SKU ",
    ]);
    assert_eq!(Shape::of(&partial), Shape::Lines);
    let missing = Header::check(&partial, Shape::Lines.columns(), 1).unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("missing column quantity, unit_price"),
        "{missing}"
    );
}

#[test]
fn an_order_row_reads_in_the_currencys_minor_units() {
    let day = crate::dates::parse_date("2024-03-01").unwrap();
    assert_eq!(
        parse(
            Shape::Orders,
            ORDER_HEADER,
            &["c1", "2024-03-01", "12.5", "EUR"]
        ),
        Ok(ParsedRow {
            key: key("c1", day, 1_250),
            line: None
        })
    );
    // A credit note.
    assert_eq!(
        parse(
            Shape::Orders,
            ORDER_HEADER,
            &["c2", "2024-03-01", "-3", "EUR"]
        )
        .unwrap()
        .key
        .amount_minor,
        -300
    );
    let jpy = parse(
        Shape::Orders,
        ORDER_HEADER,
        &["c1", "2024-03-01", "1200", "JPY"],
    )
    .unwrap();
    assert_eq!(
        (jpy.key.amount_minor, jpy.key.currency.as_str()),
        (1_200, "JPY")
    );
}

#[test]
fn bad_rows_are_refused_with_a_reason() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["c9", "2024-03-01", "1", "EUR"],
            "no customer was imported with the external id \"c9\"",
        ),
        (&["c1", "01/03/2024", "1", "EUR"], "is not a date"),
        (&["c1", "2024-02-30", "1", "EUR"], "is not a date"),
        (&["c1", "2024-03-01", "twelve", "EUR"], "amount \"twelve\""),
        (&["c1", "2024-03-01", "NaN", "EUR"], "amount \"NaN\""),
        (&["c1", "2024-03-01", "inf", "EUR"], "amount \"inf\""),
        (&["c1", "2024-03-01", "1e3", "EUR"], "amount \"1e3\""),
        (
            &["c1", "2024-03-01", "1.999", "EUR"],
            "digits after the decimal point",
        ),
        (
            &["c1", "2024-03-01", "99999999999999999999", "EUR"],
            "too large",
        ),
        (
            &["c1", "2024-03-01", "1", "eur"],
            "currency: expected a three-letter ISO 4217 code",
        ),
        (&["c1", "2024-03-01", "1", "EURO"], "currency"),
        (&["c1", "2024-03-01", "", "EUR"], "amount is empty"),
        (
            &["", "2024-03-01", "1", "EUR"],
            "customer_external_id is empty",
        ),
    ];
    for (cells, reason) in cases {
        let refused = parse(Shape::Orders, ORDER_HEADER, cells).unwrap_err();
        assert!(refused.contains(reason), "{cells:?}: {refused}");
    }
    let line_cases: &[(&[&str], &str)] = &[
        (
            &["c1", "2024-03-01", "9", "EUR", "NOPE", "1", "9"],
            "no product has the SKU \"NOPE\"",
        ),
        (
            &["c1", "2024-03-01", "9", "EUR", "P1", "0", "9"],
            "quantity \"0\" is not a whole number from 1",
        ),
        (
            &["c1", "2024-03-01", "9", "EUR", "P1", "1.5", "9"],
            "quantity",
        ),
        (
            &["c1", "2024-03-01", "9", "EUR", "P1", "1", "-9"],
            "unit_price \"-9\"",
        ),
        (
            &["c1", "2024-03-01", "9", "EUR", "P1", "1", "NaN"],
            "unit_price",
        ),
    ];
    for (cells, reason) in line_cases {
        let refused = parse(Shape::Lines, LINE_HEADER, cells).unwrap_err();
        assert!(refused.contains(reason), "{cells:?}: {refused}");
    }
}

fn line(sku: &str) -> Option<LineValues> {
    Some(LineValues {
        sku: sku.into(),
        product_id: format!("prod-{sku}"),
        quantity: 1,
        unit_price_minor: 100,
    })
}

/// An order as the tests compare it: customer, amount, occurrence, lines (SKU, occurrence).
type Summary = (String, i64, u32, Vec<(String, u32)>);

fn summary(order: &HistoryOrder) -> Summary {
    (
        order.customer_id.clone(),
        order.amount_minor,
        order.occurrence,
        order
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.occurrence))
            .collect(),
    )
}

fn group(shape: Shape, rows: Vec<ParsedRow>) -> Vec<Summary> {
    let mut orders = Orders::new(shape);
    let mut out: Vec<HistoryOrder> = rows.into_iter().filter_map(|r| orders.push(r)).collect();
    out.extend(orders.finish());
    out.iter().map(summary).collect()
}

#[test]
fn each_row_of_an_order_file_is_an_order_numbered_by_its_occurrence() {
    let row = |c: &str, amount| ParsedRow {
        key: key(c, 10, amount),
        line: None,
    };
    let id = |c: &str| format!("id-{c}");
    assert_eq!(
        group(
            Shape::Orders,
            vec![
                row("c1", 100),
                row("c1", 100),
                row("c2", 100),
                row("c1", 200),
                row("c1", 100)
            ]
        ),
        vec![
            (id("c1"), 100, 1, vec![]),
            (id("c1"), 100, 2, vec![]),
            (id("c2"), 100, 1, vec![]),
            (id("c1"), 200, 1, vec![]),
            (id("c1"), 100, 3, vec![]),
        ]
    );
}

#[test]
fn consecutive_line_rows_with_the_same_order_values_are_one_order() {
    let row = |c: &str, amount, sku: &str| ParsedRow {
        key: key(c, 10, amount),
        line: line(sku),
    };
    let id = |c: &str| format!("id-{c}");
    let lines = |skus: &[(&str, u32)]| -> Vec<(String, u32)> {
        skus.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect()
    };
    assert_eq!(
        group(
            Shape::Lines,
            vec![
                row("c1", 300, "P1"),
                row("c1", 300, "P2"),
                row("c1", 300, "P1"),
                row("c2", 300, "P1"),
                // The same values again after another order: the second such order.
                row("c1", 300, "P2"),
                row("c1", 500, "P2"),
            ]
        ),
        vec![
            (id("c1"), 300, 1, lines(&[("P1", 1), ("P2", 1), ("P1", 2)])),
            (id("c2"), 300, 1, lines(&[("P1", 1)])),
            (id("c1"), 300, 2, lines(&[("P2", 1)])),
            (id("c1"), 500, 1, lines(&[("P2", 1)])),
        ]
    );
}

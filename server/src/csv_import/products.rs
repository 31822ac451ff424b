//! Products from CSV, for the catalog an organisation keeps in a spreadsheet. Prices are one
//! cell of `CUR amount` pairs (`EUR 12.90; CHF 13.50`), read with core's amount rules (the
//! currency's digits, no sign, no floats); the tax rate is a percentage (`19`, `7`, `2.5`).

use std::collections::BTreeMap;

use fieldcrm_core::{BASIS_POINTS, Product};

use super::{Column, References, Row, RowError, RowImport};

pub struct Products;

impl RowImport for Products {
    type Record = Product;
    const COLUMNS: &'static [Column] = &[
        Column::required("external_id"),
        Column::required("sku"),
        Column::required("name"),
        Column::optional("category"),
        Column::optional("unit"),
        Column::optional("prices"),
        Column::optional("tax_rate_percent"),
        Column::optional("active"),
        Column::optional("image_ref"),
    ];

    fn build(
        row: &Row<'_>,
        existing: Option<Product>,
        id: &str,
        _references: &mut References<'_>,
    ) -> Result<Product, RowError> {
        let mut product = existing.unwrap_or_else(|| {
            let mut product = Product::new("", "");
            product.meta.id = id.to_owned();
            product
        });
        product.sku = row.required("sku")?.to_owned();
        product.name = row.required("name")?.to_owned();
        if let Some(category) = row.get("category") {
            product.category = category.map(str::to_owned);
        }
        if let Some(unit) = row.get("unit") {
            product.unit = unit.map(str::to_owned);
        }
        if let Some(cell) = row.get("prices") {
            product.prices = prices(cell.unwrap_or_default())?;
        }
        if let Some(cell) = row.get("tax_rate_percent") {
            product.tax_rate_bp = match cell {
                Some(text) => tax_rate_bp(text)?,
                None => 0,
            };
        }
        if let Some(cell) = row.get("active") {
            product.active = match cell {
                Some(text) => yes_or_no(text)?,
                None => true,
            };
        }
        if let Some(image) = row.get("image_ref") {
            product.image_ref = image.map(str::to_owned);
        }
        Ok(product)
    }
}

/// `EUR 12.90; CHF 13.50`: a price per currency, each at most once.
fn prices(cell: &str) -> Result<BTreeMap<String, i64>, String> {
    let mut prices = BTreeMap::new();
    for pair in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (currency, amount) = pair
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("price {pair:?} is not a currency and an amount (EUR 12.90)"))?;
        let money = fieldcrm_core::amounts::parse_amount(amount, currency)
            .map_err(|e| format!("price {pair:?}: {e}"))?;
        if prices.insert(money.currency, money.minor).is_some() {
            return Err(format!("prices name {currency} twice"));
        }
    }
    Ok(prices)
}

/// A percentage with at most two decimals (`19`, `7`, `2.5`) in basis points, 0 to 100 %.
fn tax_rate_bp(text: &str) -> Result<u32, String> {
    let refused =
        || format!("tax_rate_percent {text:?} is not a percentage from 0 to 100 (19, 7, 2.5)");
    let (whole, fraction) = text
        .trim()
        .split_once(['.', ','])
        .unwrap_or((text.trim(), ""));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!fraction.is_empty() && !digits(fraction)) || fraction.len() > 2 {
        return Err(refused());
    }
    let whole: u32 = whole.parse().map_err(|_| refused())?;
    let hundredths: u32 = format!("{fraction:0<2}").parse().map_err(|_| refused())?;
    let bp = whole
        .checked_mul(100)
        .and_then(|bp| bp.checked_add(hundredths))
        .filter(|bp| *bp <= BASIS_POINTS)
        .ok_or_else(refused)?;
    Ok(bp)
}

fn yes_or_no(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "y" => Ok(true),
        "no" | "false" | "0" | "n" => Ok(false),
        _ => Err(format!("active {text:?} is not yes or no")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_per_currency_with_its_digits() {
        assert_eq!(
            prices("EUR 12.90; CHF 13,5 ;JPY 1200").unwrap(),
            BTreeMap::from([
                ("CHF".to_owned(), 1_350),
                ("EUR".to_owned(), 1_290),
                ("JPY".to_owned(), 1_200),
            ])
        );
        assert_eq!(prices("").unwrap(), BTreeMap::new());
        for bad in [
            "12.90",
            "EUR -1",
            "EUR 1.999",
            "eur 1",
            "EUR 1; EUR 2",
            "EUR twelve",
        ] {
            assert!(prices(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tax_rates_are_percentages_up_to_a_hundred() {
        assert_eq!(tax_rate_bp("19").unwrap(), 1_900);
        assert_eq!(tax_rate_bp("7,5").unwrap(), 750);
        assert_eq!(tax_rate_bp("2.55").unwrap(), 255);
        assert_eq!(tax_rate_bp("100").unwrap(), BASIS_POINTS);
        for bad in ["-1", "100.01", "19%", "1.234", "", "x", "4294967296"] {
            assert!(tax_rate_bp(bad).is_err(), "{bad}");
        }
        assert!(yes_or_no(" Yes ").unwrap());
        assert!(!yes_or_no("no").unwrap());
        assert!(yes_or_no("maybe").is_err());
    }
}

//! Products of the catalog: their document mapping (scalars last writer wins, the prices a map
//! merged per currency, created with the document), their projection (`products` and the
//! `products_fts` search row over SKU and name) and their validation.

use automerge::{ObjType, ROOT};
use rusqlite::params;

use super::fields::*;
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

/// Longest SKU accepted.
pub(crate) const MAX_SKU: usize = 64;
/// Most currencies a product is priced in.
pub(crate) const MAX_PRICES: usize = 50;
/// Highest price accepted, in minor units (ten billion in a currency's major unit): keeps a
/// line's amount far from overflowing.
pub(crate) const MAX_PRICE_MINOR: i64 = 1_000_000_000_000;

pub(super) fn read(
    f: &Fields,
    meta: RecordMeta,
    u: &mut Unread,
) -> Result<Product, ValidationError> {
    Ok(Product {
        meta,
        sku: req_str(f, "sku")?,
        name: req_str(f, "name")?,
        category: u.opt_str(f, "category")?,
        unit: u.opt_str(f, "unit")?,
        prices: u.optional("prices", int_map(f, "prices"))?,
        tax_rate_bp: u.opt_small(f, "tax_rate_bp")?.unwrap_or(0),
        // A product without the flag is active.
        active: u.optional("active", opt_bool(f, "active"))?.unwrap_or(true),
        image_ref: u.opt_str(f, "image_ref")?,
    })
}

/// Writes the fields of `n` that differ from `old` (`None` at creation).
pub(super) fn write(tx: &mut impl DocWrite, old: Option<&Product>, n: &Product) -> Am {
    if old.is_none() {
        // Created with the document, so two devices never race to create it.
        container(tx, &ROOT, "prices", ObjType::Map)?;
    }
    put(tx, &ROOT, "sku", old.map(|o| &o.sku), &n.sku)?;
    put(tx, &ROOT, "name", old.map(|o| &o.name), &n.name)?;
    put(tx, &ROOT, "category", old.map(|o| &o.category), &n.category)?;
    put(tx, &ROOT, "unit", old.map(|o| &o.unit), &n.unit)?;
    put_string_map(tx, "prices", old.map(|o| &o.prices), &n.prices)?;
    put(
        tx,
        &ROOT,
        "tax_rate_bp",
        old.map(|o| &o.tax_rate_bp),
        &n.tax_rate_bp,
    )?;
    put(tx, &ROOT, "active", old.map(|o| &o.active), &n.active)?;
    put(
        tx,
        &ROOT,
        "image_ref",
        old.map(|o| &o.image_ref),
        &n.image_ref,
    )
}

/// Prices as the projection keeps them: `EUR:1299,USD:1500`, by currency.
fn prices_column(prices: &std::collections::BTreeMap<String, i64>) -> String {
    prices
        .iter()
        .map(|(currency, minor)| format!("{currency}:{minor}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The prices column read back (pieces that do not read are skipped: a projection row is
/// derived data).
pub(crate) fn parse_prices(column: &str) -> Vec<(String, i64)> {
    column
        .split(',')
        .filter_map(|piece| {
            let (currency, minor) = piece.split_once(':')?;
            Some((currency.to_owned(), minor.parse().ok()?))
        })
        .collect()
}

/// The SKU also without its separators, so "AB1234" finds "AB-1234" (as phone numbers are
/// searchable by their digits alone).
fn sku_terms(sku: &str) -> String {
    let compact: String = sku.chars().filter(|c| c.is_alphanumeric()).collect();
    if compact == sku {
        sku.to_owned()
    } else {
        format!("{sku} {compact}")
    }
}

pub(crate) fn project(tx: &rusqlite::Transaction<'_>, p: &Product) -> crate::error::Result<()> {
    let rid: i64 = tx
        .prepare_cached(
            "INSERT INTO products (id, sku, name, category, unit, prices, tax_rate_bp, active, image_ref,
               deleted, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(id) DO UPDATE SET sku = excluded.sku, name = excluded.name,
               category = excluded.category, unit = excluded.unit, prices = excluded.prices,
               tax_rate_bp = excluded.tax_rate_bp, active = excluded.active,
               image_ref = excluded.image_ref, deleted = excluded.deleted, updated_at = excluded.updated_at
             RETURNING rid",
        )?
        .query_row(
            params![
                p.meta.id,
                p.sku,
                p.name,
                p.category,
                p.unit,
                prices_column(&p.prices),
                p.tax_rate_bp,
                p.active,
                p.image_ref,
                p.meta.deleted,
                p.meta.updated_at
            ],
            |row| row.get(0),
        )?;
    // Deleting a contentless row that is absent is a no-op.
    tx.prepare_cached("DELETE FROM products_fts WHERE rowid = ?1")?
        .execute([rid])?;
    if !p.meta.deleted {
        tx.prepare_cached("INSERT INTO products_fts (rowid, sku, name) VALUES (?1, ?2, ?3)")?
            .execute(params![rid, sku_terms(&p.sku), p.name])?;
    }
    Ok(())
}

pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> crate::error::Result<()> {
    let rid: Option<i64> = rusqlite::OptionalExtension::optional(
        tx.prepare_cached("DELETE FROM products WHERE id = ?1 RETURNING rid")?
            .query_row([id], |row| row.get(0)),
    )?;
    if let Some(rid) = rid {
        tx.prepare_cached("DELETE FROM products_fts WHERE rowid = ?1")?
            .execute([rid])?;
    }
    Ok(())
}

impl Product {
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        required_text("sku", &self.sku, MAX_SKU)?;
        required_text("name", &self.name, MAX_NAME)?;
        optional_text("category", &self.category, MAX_NAME)?;
        optional_text("unit", &self.unit, 32)?;
        optional_text("image_ref", &self.image_ref, MAX_SHORT)?;
        if self.prices.len() > MAX_PRICES {
            return Err(ValidationError::out_of_range(
                "prices",
                format!("at most {MAX_PRICES} currencies"),
            ));
        }
        for (currency, minor) in &self.prices {
            currency_code("prices", currency)?;
            if !(0..=MAX_PRICE_MINOR).contains(minor) {
                return Err(ValidationError::out_of_range(
                    "prices",
                    format!("a price is 0 to {MAX_PRICE_MINOR} minor units"),
                ));
            }
        }
        if self.tax_rate_bp > BASIS_POINTS {
            return Err(ValidationError::out_of_range(
                "tax_rate_bp",
                "a tax rate is 0 to 10000 basis points",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{field_of, meta};
    use super::*;

    #[test]
    fn product_rules() {
        let mut ok = Product {
            meta: meta(),
            ..Product::new("AB-1234", "Rye bread")
        };
        ok.prices.insert("EUR".into(), 349);
        ok.tax_rate_bp = 700;
        assert_eq!(ok.validate(), Ok(()));
        let broken = |edit: fn(&mut Product)| {
            let mut p = ok.clone();
            edit(&mut p);
            field_of(p.validate().expect_err("refused"))
        };
        assert_eq!(broken(|p| p.sku = " ".into()), "sku");
        assert_eq!(broken(|p| p.sku = "x".repeat(65)), "sku");
        assert_eq!(broken(|p| p.name.clear()), "name");
        assert_eq!(
            broken(|p| {
                p.prices.insert("eur".into(), 1);
            }),
            "prices"
        );
        assert_eq!(
            broken(|p| {
                p.prices.insert("USD".into(), -1);
            }),
            "prices"
        );
        assert_eq!(broken(|p| p.tax_rate_bp = 10_001), "tax_rate_bp");
        assert_eq!(
            broken(|p| {
                for i in 0..=MAX_PRICES {
                    p.prices.insert(format!("A{:02}", i), 1);
                }
            }),
            "prices"
        );
    }

    #[test]
    fn prices_and_sku_terms_round_trip() {
        let mut prices = std::collections::BTreeMap::new();
        prices.insert("EUR".to_owned(), 1299);
        prices.insert("USD".to_owned(), 1500);
        assert_eq!(
            parse_prices(&prices_column(&prices)),
            vec![("EUR".into(), 1299), ("USD".into(), 1500)]
        );
        assert_eq!(parse_prices(""), Vec::<(String, i64)>::new());
        assert_eq!(sku_terms("AB-1234"), "AB-1234 AB1234");
        assert_eq!(sku_terms("AB1234"), "AB1234");
    }
}

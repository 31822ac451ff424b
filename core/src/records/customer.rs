//! Customers: how a customer maps onto its document (and so how each field merges), the rows
//! its projection writes (`customers`, `customer_segments`, the `customers_fts` search row and
//! the `customers_geo` R*Tree), and its validation.

use automerge::{ObjType, ROOT, ScalarValue};
use rusqlite::{OptionalExtension, params};

use super::fields::*;
use super::unread::Unread;
use crate::error::ValidationError;
use crate::model::*;

// ---------------------------------------------------------------------------------------------
// Document

pub(super) fn read(
    f: &Fields,
    meta: RecordMeta,
    u: &mut Unread,
) -> Result<Customer, ValidationError> {
    let address = u.optional("address", map(f, "address"))?;
    let location = u.optional("location", read_location(f))?;
    Ok(Customer {
        meta,
        name: req_str(f, "name")?,
        customer_kind: req_enum(f, "customer_kind", CustomerKind::parse)?,
        grade: u.optional("grade", opt_enum(f, "grade", Grade::parse))?,
        segments: u.set(f, "segments")?,
        phones: u.set(f, "phones")?,
        emails: u.set(f, "emails")?,
        address: read_address(address, u)?,
        location,
        visit_radius_m: u
            .opt_small(f, "visit_radius_m")?
            .unwrap_or(DEFAULT_VISIT_RADIUS_M),
        visit_cadence_days: u.opt_small(f, "visit_cadence_days")?,
        owner: u.opt_str(f, "owner")?,
        territory: u.opt_str(f, "territory")?,
        notes: u.text(f, "notes")?,
        custom_fields: u.string_map(f, "custom_fields")?,
    })
}

fn read_address(address: Option<&Fields>, u: &mut Unread) -> Result<Address, ValidationError> {
    let Some(a) = address else {
        return Ok(Address::default());
    };
    let mut part = |key: &str| u.optional(&format!("address.{key}"), opt_str(a, key));
    Ok(Address {
        line: part("line")?,
        city: part("city")?,
        region: part("region")?,
        postal_code: part("postal_code")?,
        country: part("country")?,
    })
}

fn read_location(f: &Fields) -> Result<Option<GeoLocation>, ValidationError> {
    Ok(match map(f, "location")? {
        None => None,
        Some(l) => Some(GeoLocation {
            lat: req_f64(l, "lat")?,
            lon: req_f64(l, "lon")?,
            source: req_enum(l, "source", LocationSource::parse)?,
            at: req_int(l, "at")?,
        }),
    })
}

fn location_fields(l: &GeoLocation) -> Vec<(&'static str, ScalarValue)> {
    vec![
        ("lat", ScalarValue::F64(l.lat)),
        ("lon", ScalarValue::F64(l.lon)),
        ("source", ScalarValue::from(l.source.as_str())),
        ("at", ScalarValue::Int(l.at)),
    ]
}

/// Writes the fields of `n` that differ from `old` (`None` at creation).
pub(super) fn write(tx: &mut impl DocWrite, old: Option<&Customer>, n: &Customer) -> Am {
    put(tx, &ROOT, "name", old.map(|o| &o.name), &n.name)?;
    put(
        tx,
        &ROOT,
        "customer_kind",
        old.map(|o| &o.customer_kind),
        &n.customer_kind,
    )?;
    put(tx, &ROOT, "grade", old.map(|o| &o.grade), &n.grade)?;
    put_set(tx, "segments", old.map(|o| &o.segments), &n.segments)?;
    put_set(tx, "phones", old.map(|o| &o.phones), &n.phones)?;
    put_set(tx, "emails", old.map(|o| &o.emails), &n.emails)?;
    let old_address = old.map(|o| &o.address);
    if old_address != Some(&n.address) {
        let id = container(tx, &ROOT, "address", ObjType::Map)?;
        let a = &n.address;
        put(tx, &id, "line", old_address.map(|a| &a.line), &a.line)?;
        put(tx, &id, "city", old_address.map(|a| &a.city), &a.city)?;
        put(tx, &id, "region", old_address.map(|a| &a.region), &a.region)?;
        put(
            tx,
            &id,
            "postal_code",
            old_address.map(|a| &a.postal_code),
            &a.postal_code,
        )?;
        put(
            tx,
            &id,
            "country",
            old_address.map(|a| &a.country),
            &a.country,
        )?;
    }
    put_atomic(
        tx,
        "location",
        old.map(|o| &o.location),
        &n.location,
        location_fields,
    )?;
    put(
        tx,
        &ROOT,
        "visit_radius_m",
        old.map(|o| &o.visit_radius_m),
        &n.visit_radius_m,
    )?;
    put(
        tx,
        &ROOT,
        "visit_cadence_days",
        old.map(|o| &o.visit_cadence_days),
        &n.visit_cadence_days,
    )?;
    put(tx, &ROOT, "owner", old.map(|o| &o.owner), &n.owner)?;
    put(
        tx,
        &ROOT,
        "territory",
        old.map(|o| &o.territory),
        &n.territory,
    )?;
    put_text(tx, "notes", old.map(|o| &o.notes), &n.notes)?;
    put_string_map(
        tx,
        "custom_fields",
        old.map(|o| &o.custom_fields),
        &n.custom_fields,
    )
}

// ---------------------------------------------------------------------------------------------
// Projection

/// Writes the customer's rows; `fresh`: the customer is new to this store, so there is no
/// earlier projection to remove.
pub(crate) fn project(
    tx: &rusqlite::Transaction<'_>,
    c: &Customer,
    fresh: bool,
) -> crate::error::Result<()> {
    let rid: i64 = tx
        .prepare_cached(
            "INSERT INTO customers (id, name, customer_kind, grade, owner, territory, city, phones, lat, lon,
               visit_radius_m, cadence_days, deleted, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, customer_kind = excluded.customer_kind,
               grade = excluded.grade, owner = excluded.owner, territory = excluded.territory,
               city = excluded.city, phones = excluded.phones, lat = excluded.lat, lon = excluded.lon,
               visit_radius_m = excluded.visit_radius_m, cadence_days = excluded.cadence_days,
               deleted = excluded.deleted, updated_at = excluded.updated_at
             RETURNING rid",
        )?
        .query_row(
            params![
                c.meta.id,
                c.name,
                c.customer_kind.as_str(),
                c.grade.as_ref().map(Grade::as_str),
                c.owner,
                c.territory,
                c.address.city,
                join(&c.phones),
                c.location.as_ref().map(|l| l.lat),
                c.location.as_ref().map(|l| l.lon),
                c.visit_radius_m,
                c.visit_cadence_days,
                c.meta.deleted,
                c.meta.updated_at
            ],
            |row| row.get(0),
        )?;
    if !fresh {
        tx.prepare_cached("DELETE FROM customer_segments WHERE customer_rid = ?1")?
            .execute([rid])?;
        tx.prepare_cached("DELETE FROM customers_geo WHERE rid = ?1")?
            .execute([rid])?;
        tx.prepare_cached("DELETE FROM customers_fts WHERE rowid = ?1")?
            .execute([rid])?;
    }
    if !c.meta.deleted {
        let mut insert = tx.prepare_cached(
            "INSERT INTO customer_segments (segment, customer_rid) VALUES (?1, ?2)",
        )?;
        for segment in &c.segments {
            insert.execute(params![segment, rid])?;
        }
        if let Some(l) = &c.location {
            tx.prepare_cached("INSERT INTO customers_geo (rid, min_lat, max_lat, min_lon, max_lon) VALUES (?1, ?2, ?2, ?3, ?3)")?
                .execute(params![rid, l.lat, l.lon])?;
        }
    }
    write_search_row(
        tx,
        rid,
        c.meta.deleted,
        &c.name,
        c.address.city.as_deref(),
        &join(&c.phones),
        &c.meta.id,
    )
}

/// Removes the customer's rows (the document left this device).
pub(crate) fn remove_projection(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
) -> crate::error::Result<()> {
    let rid: Option<i64> = tx
        .prepare_cached("DELETE FROM customers WHERE id = ?1 RETURNING rid")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    if let Some(rid) = rid {
        tx.prepare_cached("DELETE FROM customer_segments WHERE customer_rid = ?1")?
            .execute([rid])?;
        tx.prepare_cached("DELETE FROM customers_geo WHERE rid = ?1")?
            .execute([rid])?;
        tx.prepare_cached("DELETE FROM customers_fts WHERE rowid = ?1")?
            .execute([rid])?;
    }
    Ok(())
}

/// Phone numbers as written plus their digits alone, so "030 1234" and "0301234" both match.
fn phone_terms(phones: &str) -> String {
    let mut terms = phones.to_owned();
    for phone in phones.lines() {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            terms.push(' ');
            terms.push_str(&digits);
        }
    }
    terms
}

/// Rewrites a customer's full-text row (after a change to one of its contacts, whose names and
/// phones the row includes).
pub(super) fn refresh_search(
    tx: &rusqlite::Transaction<'_>,
    customer_id: &str,
) -> crate::error::Result<()> {
    let row = tx
        .prepare_cached("SELECT rid, deleted, name, city, phones FROM customers WHERE id = ?1")?
        .query_row([customer_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        });
    match row {
        // The contact arrived before its customer: the customer's projection will pick it up.
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(()),
        Err(e) => Err(e.into()),
        Ok((rid, deleted, name, city, phones)) => {
            tx.prepare_cached("DELETE FROM customers_fts WHERE rowid = ?1")?
                .execute([rid])?;
            write_search_row(
                tx,
                rid,
                deleted,
                &name,
                city.as_deref(),
                &phones,
                customer_id,
            )
        }
    }
}

fn write_search_row(
    tx: &rusqlite::Transaction<'_>,
    rid: i64,
    deleted: bool,
    name: &str,
    city: Option<&str>,
    phones: &str,
    customer_id: &str,
) -> crate::error::Result<()> {
    if deleted {
        return Ok(());
    }
    let (contact_names, contact_phones): (String, String) = tx
        .prepare_cached(
            "SELECT coalesce(group_concat(name, ' '), ''), coalesce(group_concat(phones, char(10)), '')
             FROM contacts WHERE customer_id = ?1 AND deleted = 0",
        )?
        .query_row([customer_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let all_phones = phone_terms(format!("{phones}\n{contact_phones}").trim());
    tx.prepare_cached("INSERT INTO customers_fts (rowid, name, contacts, city, phones) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![rid, name, contact_names, city.unwrap_or(""), all_phones])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Validation

impl Customer {
    /// Checks every field rule except those that need the stored version (see the store).
    pub fn validate(&self) -> Check {
        self.meta.validate()?;
        required_text("name", &self.name, MAX_NAME)?;
        set_items("segments", &self.segments)?;
        set_items("phones", &self.phones)?;
        set_items("emails", &self.emails)?;
        for (field, value) in [
            ("address.line", &self.address.line),
            ("address.city", &self.address.city),
            ("address.region", &self.address.region),
            ("address.postal_code", &self.address.postal_code),
            ("address.country", &self.address.country),
            ("owner", &self.owner),
            ("territory", &self.territory),
        ] {
            optional_text(field, value, MAX_SHORT)?;
        }
        if let Some(location) = &self.location {
            check_coordinates("location", location.lat, location.lon)?;
            timestamp("location.at", location.at)?;
        }
        if self.visit_radius_m == 0 || self.visit_radius_m > 100_000 {
            return Err(ValidationError::out_of_range(
                "visit_radius_m",
                "radius must be between 1 and 100000 metres",
            ));
        }
        if let Some(days) = self.visit_cadence_days
            && (days == 0 || days > 3660)
        {
            return Err(ValidationError::out_of_range(
                "visit_cadence_days",
                "cadence must be between 1 and 3660 days",
            ));
        }
        max_len("notes", &self.notes, MAX_NOTES)?;
        for (key, value) in &self.custom_fields {
            required_text("custom_fields key", key, 100)?;
            max_len("custom_fields value", value, MAX_SHORT)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{field_of, meta};
    use super::*;

    #[test]
    fn customer_rules() {
        let ok = Customer {
            meta: meta(),
            ..Customer::new("Café Mitte")
        };
        assert_eq!(ok.validate(), Ok(()));
        type Breakage = Box<dyn Fn(&mut Customer)>;
        let cases: Vec<(&str, Breakage)> = vec![
            ("name", Box::new(|c| c.name = "  ".into())),
            ("name", Box::new(|c| c.name = "x".repeat(201))),
            (
                "location.lat",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: f64::NAN,
                        lon: 0.0,
                        source: LocationSource::Gps,
                        at: 1_790_000_000_000,
                    })
                }),
            ),
            (
                "location.lat",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: 90.5,
                        lon: 0.0,
                        source: LocationSource::Gps,
                        at: 1_790_000_000_000,
                    })
                }),
            ),
            (
                "location.lon",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: 0.0,
                        lon: -180.1,
                        source: LocationSource::Gps,
                        at: 1_790_000_000_000,
                    })
                }),
            ),
            (
                "location.lon",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: 0.0,
                        lon: f64::INFINITY,
                        source: LocationSource::Gps,
                        at: 1_790_000_000_000,
                    })
                }),
            ),
            (
                "location.at",
                Box::new(|c| {
                    c.location = Some(GeoLocation {
                        lat: 0.0,
                        lon: 0.0,
                        source: LocationSource::Gps,
                        at: 1_790_000_000,
                    })
                }),
            ),
            ("visit_radius_m", Box::new(|c| c.visit_radius_m = 0)),
            (
                "visit_cadence_days",
                Box::new(|c| c.visit_cadence_days = Some(0)),
            ),
            (
                "segments",
                Box::new(|c| {
                    c.segments.insert(String::new());
                }),
            ),
            ("created_at", Box::new(|c| c.meta.created_at = 0)),
            ("id", Box::new(|c| c.meta.id.clear())),
        ];
        for (field, break_it) in cases {
            let mut c = ok.clone();
            break_it(&mut c);
            let err = c.validate().expect_err(field);
            assert_eq!(field_of(err), field);
        }
    }
}

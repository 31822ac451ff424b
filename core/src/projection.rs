//! Writes the queryable projection of a record. Always called inside the transaction that
//! stores the record's document, so projections never disagree with documents.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::Result;
use crate::model::Kind;
use crate::model::*;
use crate::record::AnyRecord;

/// Set items one per line (items such as phone numbers contain spaces).
fn join(values: &std::collections::BTreeSet<String>) -> String {
    values
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
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

/// `fresh`: the record is new to this store, so there is no earlier projection to remove.
pub(crate) fn project(tx: &Transaction<'_>, record: &AnyRecord, fresh: bool) -> Result<()> {
    match record {
        AnyRecord::Customer(c) => project_customer(tx, c, fresh),
        AnyRecord::Contact(c) => {
            tx.prepare_cached(
                "INSERT INTO contacts (id, customer_id, name, title, phones, emails, deleted, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(id) DO UPDATE SET customer_id = excluded.customer_id, name = excluded.name,
                   title = excluded.title, phones = excluded.phones, emails = excluded.emails,
                   deleted = excluded.deleted, updated_at = excluded.updated_at",
            )?
            .execute(params![
                c.meta.id,
                c.customer_id,
                c.name,
                c.title,
                join(&c.phones),
                join(&c.emails),
                c.meta.deleted,
                c.meta.updated_at
            ])?;
            refresh_customer_search(tx, &c.customer_id)
        }
        AnyRecord::Opportunity(o) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO opportunities (id, customer_id, title, stage, amount_minor, currency,
                   probability, expected_close_at, owner, deleted, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                o.meta.id,
                o.customer_id,
                o.title,
                o.stage.as_str(),
                o.amount.minor,
                o.amount.currency,
                o.probability,
                o.expected_close_at,
                o.owner,
                o.meta.deleted,
                o.meta.updated_at
            ])?;
            Ok(())
        }
        AnyRecord::Visit(v) => {
            let day_at = v.check_in.as_ref().map(|c| c.at).or(v.planned_start);
            tx.prepare_cached(
                "INSERT OR REPLACE INTO visits (id, customer_id, rep, planned_start, planned_end, day_at, status,
                   check_in_at, check_out_at, verification, deleted, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                v.meta.id,
                v.customer_id,
                v.rep,
                v.planned_start,
                v.planned_end,
                day_at,
                v.status.as_str(),
                v.check_in.as_ref().map(|c| c.at),
                v.check_out.as_ref().map(|c| c.at),
                v.verification.as_ref().map(Verification::as_str),
                v.meta.deleted,
                v.meta.updated_at
            ])?;
            Ok(())
        }
        AnyRecord::Task(t) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO tasks (id, title, due_at, status, assignee, linked_id, deleted, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                t.meta.id,
                t.title,
                t.due_at,
                t.status.as_str(),
                t.assignee,
                t.linked_id,
                t.meta.deleted,
                t.meta.updated_at
            ])?;
            Ok(())
        }
        AnyRecord::Case(c) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO cases (id, customer_id, subject, severity, status, satisfaction, deleted, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                c.meta.id,
                c.customer_id,
                c.subject,
                c.severity.as_str(),
                c.status.as_str(),
                c.satisfaction,
                c.meta.deleted,
                c.meta.updated_at
            ])?;
            Ok(())
        }
    }
}

fn project_customer(tx: &Transaction<'_>, c: &Customer, fresh: bool) -> Result<()> {
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

/// Rewrites a customer's full-text row (after a change to one of its contacts).
fn refresh_customer_search(tx: &Transaction<'_>, customer_id: &str) -> Result<()> {
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
    tx: &Transaction<'_>,
    rid: i64,
    deleted: bool,
    name: &str,
    city: Option<&str>,
    phones: &str,
    customer_id: &str,
) -> Result<()> {
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

/// Removes a record's projection (the document left this device).
pub(crate) fn remove(tx: &Transaction<'_>, kind: Kind, id: &str) -> Result<()> {
    match kind {
        Kind::Customer => {
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
        }
        Kind::Contact => {
            let customer: Option<String> = tx
                .prepare_cached("DELETE FROM contacts WHERE id = ?1 RETURNING customer_id")?
                .query_row([id], |row| row.get(0))
                .optional()?;
            if let Some(customer) = customer {
                refresh_customer_search(tx, &customer)?;
            }
        }
        Kind::Opportunity => {
            tx.prepare_cached("DELETE FROM opportunities WHERE id = ?1")?
                .execute([id])?;
        }
        Kind::Visit => {
            tx.prepare_cached("DELETE FROM visits WHERE id = ?1")?
                .execute([id])?;
        }
        Kind::Task => {
            tx.prepare_cached("DELETE FROM tasks WHERE id = ?1")?
                .execute([id])?;
        }
        Kind::Case => {
            tx.prepare_cached("DELETE FROM cases WHERE id = ?1")?
                .execute([id])?;
        }
    }
    Ok(())
}

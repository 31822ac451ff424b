//! Documents this device read without some of their fields: an optional field held a value of
//! the wrong type (a string where a number is expected, written by a buggy or newer peer), so
//! the record shows without it (see `records/unread.rs`) and the value stays in the document.
//! None is silent: each import or verification that reads a document so lists it in its report,
//! the document is kept in `partly_read_docs` and counted in the sync status until a later
//! version of it reads whole, and it is logged once, when it is first read so or the fields not
//! read change.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;
use crate::model::Millis;

/// A document read without some of its fields (in [`crate::ImportReport::partly_read`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PartlyRead {
    pub doc_id: String,
    /// Paths of the fields not read (`visit_cadence_days`, `check_in.accuracy_m`).
    pub unread_fields: Vec<String>,
}

/// Records which fields of `doc_id` did not read this time (none: the document read whole).
pub(crate) fn note(
    conn: &Connection,
    doc_id: &str,
    unread_fields: &[String],
    at: Millis,
) -> Result<()> {
    if unread_fields.is_empty() {
        forget(conn, doc_id)?;
        return Ok(());
    }
    let fields = unread_fields.join("\n");
    let known: Option<String> = conn
        .prepare_cached("SELECT fields FROM partly_read_docs WHERE doc_id = ?1")?
        .query_row([doc_id], |row| row.get(0))
        .optional()?;
    if known.as_deref() == Some(fields.as_str()) {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO partly_read_docs (doc_id, fields, first_read_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(doc_id) DO UPDATE SET fields = excluded.fields",
    )?
    .execute(params![doc_id, fields, at])?;
    tracing::warn!(
        doc_id,
        fields = %unread_fields.join(", "),
        "document read without fields whose values are of the wrong type"
    );
    Ok(())
}

/// The document left this device.
pub(crate) fn forget(conn: &Connection, doc_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM partly_read_docs WHERE doc_id = ?1")?
        .execute([doc_id])?;
    Ok(())
}

pub(crate) fn count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM partly_read_docs")?
        .query_row([], |row| row.get(0))?;
    Ok(n.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("../migrations/0008_partly_read_documents.sql"))
            .unwrap();
        conn
    }

    fn stored(conn: &Connection) -> Vec<(String, String, Millis)> {
        conn.prepare("SELECT doc_id, fields, first_read_at FROM partly_read_docs ORDER BY doc_id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_document_counts_while_it_reads_partly_and_leaves_once_it_reads_whole() {
        let conn = conn();
        let days = vec!["visit_cadence_days".to_owned()];
        note(&conn, "a", &days, 10).unwrap();
        note(&conn, "b", &["check_in.accuracy_m".to_owned()], 11).unwrap();
        // Read so again: kept as first read.
        note(&conn, "a", &days, 20).unwrap();
        assert_eq!(count(&conn).unwrap(), 2);
        assert_eq!(
            stored(&conn)[0],
            ("a".into(), "visit_cadence_days".into(), 10)
        );
        // Other fields now: the list follows.
        note(&conn, "a", &["owner".into(), "notes".into()], 30).unwrap();
        assert_eq!(stored(&conn)[0], ("a".into(), "owner\nnotes".into(), 10));
        // Whole again, or gone from the device.
        note(&conn, "a", &[], 40).unwrap();
        forget(&conn, "b").unwrap();
        assert_eq!(count(&conn).unwrap(), 0);
    }
}

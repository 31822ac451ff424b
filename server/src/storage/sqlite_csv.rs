//! What CSV import and export need from the database (migration 0012): the external ids of
//! imported records, the stored bytes of a document an import updates, and pages of the
//! records in someone's sight for an export. The records themselves are written only by the
//! push (`sqlite_sync/push.rs`): an import pushes its changes like a device.

use std::collections::HashMap;

use fieldcrm_core::protocol::RECORD_FORMAT;
use fieldcrm_core::{AnyRecord, Kind};
use rusqlite::{OptionalExtension, params};

use super::sqlite_sight::{ScopeColumns, SightSql};
use super::{Result, SqliteStorage, stored_record};
use crate::model::{new_id, now_unix};
use crate::scope::Principal;

/// The document an external id of a kind is imported as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportTarget {
    pub doc_id: String,
    /// Whether the document is stored (`false`: create it under `doc_id`).
    pub stored: bool,
}

/// One record of an export page, with what the CSV shows beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub record: AnyRecord,
    /// The external id it was imported with, if any.
    pub external_id: Option<String>,
    /// The external id of the customer it hangs off, if that was imported.
    pub customer_external_id: Option<String>,
    /// The name of the territory it is stored in.
    pub territory: Option<String>,
    /// The username of the user the record names as owner.
    pub owner: Option<String>,
}

/// CSV import and export on a storage backend.
pub trait CsvStorage {
    /// The document each of `external_ids` (of `kind`) is imported as, in their order: the one
    /// recorded by an earlier import, or a new id recorded now.
    fn claim_import_ids(&self, kind: Kind, external_ids: &[&str]) -> Result<Vec<ImportTarget>>;
    /// Forgets the external ids recorded for `doc_ids` of `kind` (creations that were refused).
    fn release_import_ids(&self, kind: Kind, doc_ids: &[String]) -> Result<()>;
    /// The stored document of `kind` imported with `external_id`, if there is one.
    fn imported_document(&self, kind: Kind, external_id: &str) -> Result<Option<String>>;
    /// A stored document's bytes, when it is of `kind`.
    fn document_bytes(&self, kind: Kind, doc_id: &str) -> Result<Option<Vec<u8>>>;
    /// Up to `limit` records of `kind` in `principal`'s sight with ids after `after`, in id
    /// order (deleted ones included: the caller skips them and pages on).
    fn export_page(
        &self,
        principal: &Principal,
        kind: Kind,
        after: &str,
        limit: u32,
    ) -> Result<Vec<ExportRow>>;
}

impl CsvStorage for SqliteStorage {
    fn claim_import_ids(&self, kind: Kind, external_ids: &[&str]) -> Result<Vec<ImportTarget>> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let now = now_unix();
        let mut targets = Vec::with_capacity(external_ids.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO import_ids (kind, external_id, doc_id, imported_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, external_id) DO NOTHING",
            )?;
            let mut read = tx.prepare_cached(
                "SELECT m.doc_id, d.id IS NOT NULL FROM import_ids m LEFT JOIN documents d ON d.id = m.doc_id
                 WHERE m.kind = ?1 AND m.external_id = ?2",
            )?;
            for external_id in external_ids {
                insert.execute(params![kind.as_str(), external_id, new_id(), now])?;
                let (doc_id, stored) = read
                    .query_row(params![kind.as_str(), external_id], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?;
                targets.push(ImportTarget { doc_id, stored });
            }
        }
        tx.commit()?;
        Ok(targets)
    }

    fn release_import_ids(&self, kind: Kind, doc_ids: &[String]) -> Result<()> {
        if doc_ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.write();
        let tx = conn.transaction()?;
        {
            let mut delete = tx.prepare_cached(
                "DELETE FROM import_ids WHERE kind = ?1 AND doc_id = ?2
                   AND NOT EXISTS (SELECT 1 FROM documents WHERE id = ?2)",
            )?;
            for doc_id in doc_ids {
                delete.execute(params![kind.as_str(), doc_id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn imported_document(&self, kind: Kind, external_id: &str) -> Result<Option<String>> {
        Ok(self
            .read()
            .prepare_cached(
                "SELECT d.id FROM import_ids m JOIN documents d ON d.id = m.doc_id AND d.kind = m.kind
                 WHERE m.kind = ?1 AND m.external_id = ?2",
            )?
            .query_row(params![kind.as_str(), external_id], |row| row.get(0))
            .optional()?)
    }

    fn document_bytes(&self, kind: Kind, doc_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .read()
            .prepare_cached("SELECT bytes FROM documents WHERE id = ?1 AND kind = ?2")?
            .query_row(params![doc_id, kind.as_str()], |row| row.get(0))
            .optional()?)
    }

    fn export_page(
        &self,
        principal: &Principal,
        kind: Kind,
        after: &str,
        limit: u32,
    ) -> Result<Vec<ExportRow>> {
        let sight = SightSql::new(principal.sight(), ScopeColumns::DOCUMENTS_AS_D);
        let sql = format!(
            "SELECT d.id, d.record_format, d.record,
                    CASE WHEN d.record_format = :format THEN NULL ELSE d.bytes END,
                    m.external_id, c.external_id, t.name
             FROM documents d
             LEFT JOIN import_ids m ON m.doc_id = d.id
             LEFT JOIN import_ids c ON c.doc_id = d.customer_id AND c.kind = 'customer'
             LEFT JOIN territories t ON t.id = d.territory_id
             WHERE d.kind = :kind AND d.id > :after AND {}
             ORDER BY d.id LIMIT :limit",
            sight.condition()
        );
        let conn = self.read();
        let format = i64::from(RECORD_FORMAT);
        let kind_text = kind.as_str();
        let params = sight.params(&[
            (":format", &format),
            (":kind", &kind_text),
            (":after", &after),
            (":limit", &limit),
        ]);
        let mut statement = conn.prepare_cached(&sql)?;
        let raw = statement
            .query_map(params.as_slice(), |row| {
                Ok((
                    row.get::<_, i64>(1)?,
                    row.get::<_, Vec<u8>>(2)?,
                    row.get::<_, Option<Vec<u8>>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut usernames: HashMap<String, Option<String>> = HashMap::new();
        let mut username = conn.prepare_cached("SELECT username FROM users WHERE id = ?1")?;
        let mut rows = Vec::with_capacity(raw.len());
        for (format, stored, bytes, external_id, customer_external_id, territory) in raw {
            let record = stored_record::read(format, stored, bytes.as_deref().unwrap_or(&[]))?;
            let owner = match owner_id(&record) {
                Some(id) => match usernames.get(id) {
                    Some(name) => name.clone(),
                    None => {
                        let name: Option<String> =
                            username.query_row([id], |row| row.get(0)).optional()?;
                        usernames.insert(id.to_owned(), name.clone());
                        name
                    }
                },
                None => None,
            };
            rows.push(ExportRow {
                record,
                external_id,
                customer_external_id,
                territory,
                owner,
            });
        }
        Ok(rows)
    }
}

/// The user a record names as its owner (not its scope: a customer's owning rep).
fn owner_id(record: &AnyRecord) -> Option<&str> {
    match record {
        AnyRecord::Customer(c) => c.owner.as_deref(),
        AnyRecord::Opportunity(o) => o.owner.as_deref(),
        AnyRecord::Order(o) => Some(o.owner.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_id_keeps_its_document_until_released_while_absent() {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let first = storage
            .claim_import_ids(Kind::Customer, &["C-1", "C-2"])
            .unwrap();
        assert!(first.iter().all(|t| !t.stored));
        assert_ne!(first[0].doc_id, first[1].doc_id);
        let again = storage
            .claim_import_ids(Kind::Customer, &["C-2", "C-1"])
            .unwrap();
        assert_eq!(again[0], first[1]);
        assert_eq!(again[1], first[0]);
        // Another kind has ids of its own.
        let contact = storage.claim_import_ids(Kind::Contact, &["C-1"]).unwrap();
        assert_ne!(contact[0].doc_id, first[0].doc_id);
        assert_eq!(
            storage.imported_document(Kind::Customer, "C-1").unwrap(),
            None,
            "not stored yet"
        );
        storage
            .release_import_ids(Kind::Customer, std::slice::from_ref(&first[0].doc_id))
            .unwrap();
        let released = storage.claim_import_ids(Kind::Customer, &["C-1"]).unwrap();
        assert_ne!(released[0].doc_id, first[0].doc_id);
    }
}

-- FieldCRM server schema: the external ids of imported records (CSV import, `csv_import.rs`).
--
-- A row names the document an external id (a spreadsheet's own key) was imported as, per record
-- kind, so importing the same file again updates those documents instead of creating new ones.
-- The row is written before the document is pushed: a document that never arrived (its push
-- was refused, or the import stopped) is created under the same id by the next import.
CREATE TABLE import_ids (
    kind TEXT NOT NULL,
    external_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    PRIMARY KEY (kind, external_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX import_ids_doc ON import_ids (doc_id);

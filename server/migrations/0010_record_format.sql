-- FieldCRM server schema: the format of each stored record (`documents.record`).
--
-- The record is derived from the document (the truth) when it is written, and sent beside
-- snapshots. Its bytes are postcard, which is positional: when the record's layout changes,
-- rows written before cannot be read as the new layout. Each row says which layout it holds
-- (`fieldcrm_core::protocol::RECORD_FORMAT` when written); a row in an older one is read again
-- from its document, never misread. Rows before this migration hold format 1.
ALTER TABLE documents ADD COLUMN record_format INTEGER NOT NULL DEFAULT 1;

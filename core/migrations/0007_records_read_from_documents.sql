-- FieldCRM device store, schema 7: how many records of pulled snapshots this device could not
-- read as sent (a record format it does not know, written by a newer server) and read from
-- the document itself instead. Shown in the sync status; nothing was lost.
ALTER TABLE sync_state ADD COLUMN records_read_from_documents INTEGER NOT NULL DEFAULT 0;

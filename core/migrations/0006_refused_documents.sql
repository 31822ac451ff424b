-- FieldCRM device store, schema 6: documents this device could not load from what the server
-- sent (a bootstrap snapshot failing its chunk check, changes that do not apply, a snapshot
-- whose verification failed). Counted in the sync status and fetched again, as their full
-- change history, at the next sync; a row leaves once the document loads.
CREATE TABLE refused_docs (
    doc_id          TEXT PRIMARY KEY,
    code            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    first_refused_at INTEGER NOT NULL,
    last_refused_at INTEGER NOT NULL,
    -- How many times the document was refused (the first import, then each refetch).
    attempts        INTEGER NOT NULL
);

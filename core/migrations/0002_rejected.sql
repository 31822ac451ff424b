-- FieldCRM device store, schema 2: changes the server refused stay visible with the reason.
CREATE TABLE rejected (
    hash       TEXT PRIMARY KEY,
    doc_id     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    code       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX rejected_doc ON rejected(doc_id);

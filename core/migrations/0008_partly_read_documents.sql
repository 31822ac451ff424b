-- FieldCRM device store, schema 8: documents read without some of their fields (a value of the
-- wrong type, such as a string where a number is expected, written by a buggy or newer peer).
-- The record shows without them and the values stay in the document. Counted in the sync
-- status; a row leaves once a later version of the document reads whole, or the document
-- leaves the device.
CREATE TABLE partly_read_docs (
    doc_id        TEXT PRIMARY KEY,
    -- Paths of the fields not read, one per line (`visit_cadence_days`, `check_in.accuracy_m`).
    fields        TEXT NOT NULL,
    first_read_at INTEGER NOT NULL
);

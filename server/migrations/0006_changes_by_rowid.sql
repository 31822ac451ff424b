-- FieldCRM server schema, version 6: the change log written as one b-tree plus one index.
--
-- `seq BIGINT PRIMARY KEY` is not SQLite's rowid alias, so every accepted change was written
-- into four b-trees (the rows, the seq key, the unique hash, and the per-document index), and
-- the hash index took a random page per change. Under load those pages, copied again by every
-- WAL checkpoint, were most of what the server wrote. Now `seq` is the rowid; the hash stays
-- as data (a document's change graph already refuses a change it holds, so the log never
-- receives one twice; the robustness tests check it).
CREATE TABLE changes_v6 (
    seq           INTEGER PRIMARY KEY,
    doc_id        TEXT NOT NULL,
    hash          TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    user_id       TEXT NOT NULL,
    committed_at  BIGINT NOT NULL
);
INSERT INTO changes_v6 (seq, doc_id, hash, bytes, user_id, committed_at)
    SELECT seq, doc_id, hash, bytes, user_id, committed_at FROM changes ORDER BY seq;
DROP TABLE changes;
ALTER TABLE changes_v6 RENAME TO changes;
CREATE INDEX changes_doc ON changes (doc_id, seq);

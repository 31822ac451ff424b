-- FieldCRM device store, schema 3: location pings between visits, uploaded in batches.
--
-- Append-only. The fix time is the key: the same fix recorded twice is kept once, and pings
-- recorded out of order sort by it. A ping joins a batch when the batch is closed for upload;
-- the batch id makes the upload idempotent (a batch whose acknowledgement was lost is sent
-- again with the same id and the same pings).
CREATE TABLE pings (
    at          INTEGER PRIMARY KEY,
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    accuracy_m  REAL NOT NULL,
    mock        INTEGER NOT NULL,
    batch_id    TEXT,
    -- Why the server refused this ping; it stays on the device with the reason.
    refused     TEXT
);
CREATE INDEX pings_unbatched ON pings(at) WHERE batch_id IS NULL;
CREATE INDEX pings_batch ON pings(batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE ping_batches (
    id               TEXT PRIMARY KEY,
    closed_at        INTEGER NOT NULL,
    acknowledged_at  INTEGER
);
CREATE INDEX ping_batches_open ON ping_batches(closed_at) WHERE acknowledged_at IS NULL;

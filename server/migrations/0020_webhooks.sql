-- FieldCRM server schema: the change feed and webhooks (see webhooks.rs and
-- storage/sqlite_webhooks.rs).
--
-- `events`: what happened to the records, written in the same transaction as the change it
-- describes. `seq` is the feed's cursor (only grows); `id` the idempotency key receivers
-- de-duplicate on; `occurred_at` unix ms of the commit; `payload` a small JSON object.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    payload     TEXT NOT NULL
);

-- Registered receivers. `after_seq`: every event up to it has a delivery row (delivered,
-- parked or pending), so the next event to queue is the first after it. The secret signs the
-- deliveries; it is answered once, at creation.
CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    after_seq  INTEGER NOT NULL
);

-- One event for one webhook: `pending` (queued, due at `next_attempt_at`), `delivered`, or
-- `parked` (gave up after the last attempt; an admin may replay it, making it pending again).
CREATE TABLE deliveries (
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_seq       INTEGER NOT NULL REFERENCES events (seq),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'parked')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, event_seq)
) WITHOUT ROWID;

CREATE INDEX deliveries_by_state ON deliveries (webhook_id, state, event_seq);

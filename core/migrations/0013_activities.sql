-- FieldCRM device store, schema 13: activities (calls, emails, meetings logged against a
-- customer) and the customer timeline (query/timeline.rs), which merges a customer's visits,
-- activities, orders and cases newest first.

CREATE TABLE activities (
    id               TEXT PRIMARY KEY,
    customer_id      TEXT NOT NULL,
    contact_id       TEXT,
    channel          TEXT NOT NULL,
    direction        TEXT,
    occurred_at      INTEGER NOT NULL,
    duration_s       INTEGER,
    subject          TEXT NOT NULL,
    outcome          TEXT,
    next_step        TEXT,
    next_step_due_at INTEGER,
    deleted          INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX activities_customer ON activities(customer_id, occurred_at);


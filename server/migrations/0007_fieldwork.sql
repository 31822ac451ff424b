-- FieldCRM server schema, version 7: what route review, the team overview and coverage read.
--
-- Written in the same transaction as the documents they come from (see fieldwork.rs); rows
-- for documents stored before this version are filled in by the migration's backfill.

-- Customers with where they are and how often they want a visit.
CREATE TABLE customer_places (
    customer_id   TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    lat           REAL,
    lon           REAL,
    radius_m      INTEGER NOT NULL,
    cadence_days  INTEGER,
    territory_id  TEXT,
    team_id       TEXT,
    deleted       INTEGER NOT NULL,
    -- When the server first stored the customer (unix ms): a customer never visited is due
    -- from then.
    known_since   BIGINT NOT NULL
);
CREATE INDEX customer_places_cadence ON customer_places (team_id, territory_id)
    WHERE cadence_days IS NOT NULL AND deleted = 0;

-- Visits with their check-in and check-out fixes and the server's verification (the one
-- managers see), computed when the visit is written against the customer's place then.
CREATE TABLE visit_facts (
    visit_id       TEXT PRIMARY KEY,
    rep_id         TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    status         TEXT NOT NULL,
    planned_start  BIGINT,
    in_at          BIGINT,
    in_lat         REAL,
    in_lon         REAL,
    in_accuracy_m  REAL,
    in_fix_at      BIGINT,
    in_mock        INTEGER,
    out_at         BIGINT,
    out_lat        REAL,
    out_lon        REAL,
    out_accuracy_m REAL,
    out_fix_at     BIGINT,
    out_mock       INTEGER,
    verification   TEXT,
    deleted        INTEGER NOT NULL
);
CREATE INDEX visit_facts_rep_in ON visit_facts (rep_id, in_at);
CREATE INDEX visit_facts_rep_planned ON visit_facts (rep_id, planned_start);
CREATE INDEX visit_facts_customer_done ON visit_facts (customer_id, in_at)
    WHERE status = 'done' AND deleted = 0;

-- Location pings, one per rep and fix time (a ping sent twice is stored once). `prev_fix_at`
-- and `step_m` describe the step from the rep's previous ping: its travel distance, or 0 at a
-- gap or an implausible jump. They are recomputed around pings that arrive out of order, so
-- a distance over any time range is one indexed sum.
CREATE TABLE pings (
    rep_id       TEXT NOT NULL,
    fix_at       BIGINT NOT NULL,
    lat          REAL NOT NULL,
    lon          REAL NOT NULL,
    accuracy_m   REAL NOT NULL,
    mock         INTEGER NOT NULL,
    prev_fix_at  BIGINT,
    step_m       REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (rep_id, fix_at)
) WITHOUT ROWID;

-- Uploaded batches: a batch sent again gets the same acknowledgement and stores nothing.
CREATE TABLE ping_batches (
    batch_id     TEXT PRIMARY KEY,
    rep_id       TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    -- The acknowledgement sent (protocol encoding), sent again for a repeated batch.
    ack          BLOB NOT NULL
);

-- FieldCRM device store, schema 1.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One Automerge document per record. `kind` is NULL while a document only holds changes whose
-- dependencies have not arrived yet (Automerge keeps them queued inside the saved bytes).
-- `verified` is 0 for documents stored from a bootstrap snapshot whose projection came with it
-- (see Store::verify_documents), -1 when that check failed, 1 otherwise.
CREATE TABLE docs (
    id         TEXT PRIMARY KEY,
    kind       TEXT,
    bytes      BLOB NOT NULL,
    heads      BLOB NOT NULL,
    verified   INTEGER NOT NULL DEFAULT 1,
    updated_at INTEGER NOT NULL
);
CREATE INDEX docs_unverified ON docs(verified) WHERE verified = 0;

-- Upload queue: local changes the server has not acknowledged yet, in the order they were made.
CREATE TABLE pending (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    bytes      BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX pending_doc ON pending(doc_id);

CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    cursor          INTEGER NOT NULL DEFAULT 0,
    last_sync_at    INTEGER,
    last_attempt_at INTEGER,
    last_error      TEXT
);
INSERT INTO sync_state (id) VALUES (1);

-- Projections: the queryable fields of each kind, written in the same transaction as the
-- document. Deleted records keep their row (deleted = 1) and leave the search indexes.
CREATE TABLE customers (
    rid            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    customer_kind  TEXT NOT NULL,
    grade          TEXT,
    owner          TEXT,
    territory      TEXT,
    city           TEXT,
    phones         TEXT NOT NULL,
    lat            REAL,
    lon            REAL,
    visit_radius_m INTEGER NOT NULL,
    cadence_days   INTEGER,
    deleted        INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX customers_name ON customers(name COLLATE NOCASE);
CREATE INDEX customers_owner ON customers(owner);
CREATE INDEX customers_territory ON customers(territory);
CREATE INDEX customers_grade ON customers(grade);

CREATE TABLE customer_segments (
    segment      TEXT NOT NULL,
    customer_rid INTEGER NOT NULL,
    PRIMARY KEY (segment, customer_rid)
) WITHOUT ROWID;
CREATE INDEX customer_segments_rid ON customer_segments(customer_rid);

CREATE VIRTUAL TABLE customers_fts USING fts5(
    name, contacts, city, phones,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

CREATE VIRTUAL TABLE customers_geo USING rtree(rid, min_lat, max_lat, min_lon, max_lon);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    title       TEXT,
    phones      TEXT NOT NULL,
    emails      TEXT NOT NULL,
    deleted     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX contacts_customer ON contacts(customer_id);

CREATE TABLE visits (
    id            TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL,
    rep           TEXT NOT NULL,
    planned_start INTEGER,
    planned_end   INTEGER,
    day_at        INTEGER,
    status        TEXT NOT NULL,
    check_in_at   INTEGER,
    check_out_at  INTEGER,
    verification  TEXT,
    deleted       INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX visits_rep_day ON visits(rep, day_at);
CREATE INDEX visits_customer_done ON visits(customer_id, check_in_at) WHERE status = 'done' AND deleted = 0;

CREATE TABLE opportunities (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL,
    title             TEXT NOT NULL,
    stage             TEXT NOT NULL,
    amount_minor      INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    probability       INTEGER,
    expected_close_at INTEGER,
    owner             TEXT,
    deleted           INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX opportunities_stage ON opportunities(stage);
CREATE INDEX opportunities_customer ON opportunities(customer_id);

CREATE TABLE tasks (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    due_at     INTEGER,
    status     TEXT NOT NULL,
    assignee   TEXT,
    linked_id  TEXT,
    deleted    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX tasks_open ON tasks(status, due_at);

CREATE TABLE cases (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    subject      TEXT NOT NULL,
    severity     TEXT NOT NULL,
    status       TEXT NOT NULL,
    satisfaction INTEGER,
    deleted      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX cases_status ON cases(status);
CREATE INDEX cases_customer ON cases(customer_id);

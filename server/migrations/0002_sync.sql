-- FieldCRM server schema, version 2: the authoritative documents and the change log.

-- The log head: sequence numbers are allocated by incrementing this one row inside the
-- committing transaction. On PostgreSQL the row lock serialises commits of the log, so numbers
-- become visible in order (the ordering pitfall, see storage.rs).
CREATE TABLE log_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL
);
INSERT INTO log_head (id, seq) VALUES (1, 0);

-- One row per record: the merged Automerge document, the record read from it (postcard),
-- and its scope: who may see it, decided when it is written.
CREATE TABLE documents (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    -- The customer a contact, opportunity or case belongs to (the customer's own id for a
    -- customer): moving a customer moves these with it.
    customer_id   TEXT,
    bytes         BLOB NOT NULL,
    record        BLOB NOT NULL,
    territory_id  TEXT,
    owner_id      TEXT,
    team_id       TEXT,
    first_seq     BIGINT NOT NULL,
    last_seq      BIGINT NOT NULL,
    scope_seq     BIGINT NOT NULL
);
CREATE INDEX documents_last_seq ON documents (last_seq);
CREATE INDEX documents_scope_seq ON documents (scope_seq);
CREATE INDEX documents_territory ON documents (territory_id);
CREATE INDEX documents_owner ON documents (owner_id);
CREATE INDEX documents_team ON documents (team_id);
CREATE INDEX documents_customer ON documents (customer_id);

-- Every accepted change, in commit order.
CREATE TABLE changes (
    seq           BIGINT PRIMARY KEY,
    doc_id        TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE,
    bytes         BLOB NOT NULL,
    user_id       TEXT NOT NULL,
    committed_at  BIGINT NOT NULL
);
CREATE INDEX changes_doc ON changes (doc_id, seq);

-- Earlier scopes of documents, so a pull can tell which documents left a user's scope.
CREATE TABLE scope_history (
    doc_id        TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    territory_id  TEXT,
    owner_id      TEXT,
    team_id       TEXT,
    PRIMARY KEY (doc_id, seq)
);

-- FieldCRM server schema, version 1: identities, organisation and device bindings.
-- Portable SQL on purpose (a PostgreSQL backend follows): ids are TEXT UUIDs made by the
-- server, times are BIGINT unix seconds, upserts use ON CONFLICT. Only `secret BLOB`
-- becomes BYTEA there.

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    -- NULL: the user signs in only through the external identity provider.
    password_hash  TEXT,
    role           TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    team_id        TEXT REFERENCES teams (id),
    created_at     BIGINT NOT NULL
);

CREATE TABLE territories (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    team_id     TEXT NOT NULL REFERENCES teams (id),
    created_at  BIGINT NOT NULL
);

CREATE TABLE user_territories (
    user_id       TEXT NOT NULL REFERENCES users (id),
    territory_id  TEXT NOT NULL REFERENCES territories (id),
    PRIMARY KEY (user_id, territory_id)
);
CREATE INDEX user_territories_territory ON user_territories (territory_id);

-- Which territory a customer document belongs to (the documents themselves come with push).
CREATE TABLE customer_territories (
    customer_id   TEXT PRIMARY KEY,
    territory_id  TEXT NOT NULL REFERENCES territories (id),
    assigned_at   BIGINT NOT NULL
);
CREATE INDEX customer_territories_territory ON customer_territories (territory_id);

-- An Automerge actor id (lowercase hex) belongs to exactly one user, for good.
CREATE TABLE devices (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id),
    actor_id       TEXT NOT NULL UNIQUE,
    registered_at  BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

-- HS256 signing keys. Exactly one is active (signs new tokens); retired keys still verify
-- the tokens they signed until those expire.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    secret      BLOB NOT NULL,
    created_at  BIGINT NOT NULL,
    active      INTEGER NOT NULL CHECK (active IN (0, 1)),
    retired_at  BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (active) WHERE active = 1;

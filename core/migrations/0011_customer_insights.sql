-- FieldCRM device store, schema 11: the analytics snapshot (insights.rs). Read-only results
-- the server computes per run, not records: no documents, no history, replaced wholesale.
-- Each table holds a 'current' slot (what queries read) and a 'staged' one (a run being
-- downloaded page by page); the last page swaps staged for current in one transaction, so a
-- half-downloaded run never replaces a whole one.

CREATE TABLE insights_runs (
    slot           TEXT PRIMARY KEY CHECK (slot IN ('current', 'staged')),
    run_id         INTEGER NOT NULL,
    as_of          INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    -- staged: the last customer received (the next page starts after it)
    received_after TEXT
);

CREATE TABLE customer_insights (
    slot                   TEXT NOT NULL,
    customer_id            TEXT NOT NULL,
    segment                TEXT NOT NULL,
    abc_class              TEXT NOT NULL,
    revenue_minor          INTEGER NOT NULL,
    recency_days           INTEGER,
    frequency              INTEGER,
    monetary_minor         INTEGER,
    clv_12m_minor          REAL,
    expected_purchases_90d REAL,
    p_alive                REAL,
    churn_level            TEXT,
    churn_score            REAL,
    -- the run's next-best offers (postcard, insights/tables.rs)
    next_best              BLOB NOT NULL,
    -- the products the run counted as bought, one id per line
    bought                 TEXT NOT NULL,
    PRIMARY KEY (slot, customer_id)
) WITHOUT ROWID;

CREATE TABLE insight_rules (
    slot          TEXT NOT NULL,
    position      INTEGER NOT NULL,
    -- the antecedent's first product: the rules a customer's purchases can trigger are read
    -- by it (cross_sell.rs indexes rules the same way)
    first_product TEXT NOT NULL,
    -- one product id per line
    antecedent    TEXT NOT NULL,
    consequent    TEXT NOT NULL,
    support       REAL NOT NULL,
    confidence    REAL NOT NULL,
    lift          REAL NOT NULL,
    -- clustered by first product: a customer's candidate rules are a few range reads
    PRIMARY KEY (slot, first_product, position)
) WITHOUT ROWID;

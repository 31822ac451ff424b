-- FieldCRM server schema: customer analytics runs and their results (see
-- storage/sqlite_analytics.rs and analytics/run.rs).
--
-- Results are versioned by run: a run writes its rows under its own id and becomes the current
-- one only when it is marked succeeded, in the same transaction, so a failed or interrupted run
-- leaves the previous results in place. Older succeeded runs beyond the last few are deleted.

-- One row per run. `as_of` is the moment the run measured to (unix ms; a past moment for a
-- backtest), `currency` the reporting currency, `status` running, succeeded or failed. `report`
-- is the run's JSON report: input counts, parameters, fitted models, criteria and timings.
CREATE TABLE analytics_runs (
    id          INTEGER PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    as_of       BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT,
    report      TEXT
);
CREATE INDEX analytics_runs_status ON analytics_runs (status, id);

-- Each customer's results in a run. RFM values and scores are NULL for a customer without
-- purchases (segment `no_purchases`); so are the lifetime values (BG/NBD's expected purchases
-- in 90 days and P(alive), the 12-month CLV in minor units) and the churn risk (level and
-- score) without purchases or without a usable fit. Only finite numbers are stored. `next_best`
-- is a JSON array of offers and `bought` of product ids.
CREATE TABLE customer_insights (
    run_id         INTEGER NOT NULL,
    customer_id    TEXT NOT NULL,
    recency_days   BIGINT,
    frequency      BIGINT,
    monetary_minor BIGINT,
    r              INTEGER,
    f              INTEGER,
    m              INTEGER,
    segment        TEXT NOT NULL,
    abc_class      TEXT NOT NULL,
    revenue_minor  BIGINT NOT NULL,
    cluster        INTEGER,
    expected_purchases_90d REAL,
    p_alive        REAL,
    clv_12m_minor  REAL,
    churn_level    TEXT,
    churn_score    REAL,
    next_best      TEXT NOT NULL,
    bought         TEXT NOT NULL,
    PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;

-- The run's cross-sell rules, best first. `antecedent` is a JSON array of product ids.
CREATE TABLE cross_sell_rules (
    run_id     INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    antecedent TEXT NOT NULL,
    consequent TEXT NOT NULL,
    support    REAL NOT NULL,
    confidence REAL NOT NULL,
    lift       REAL NOT NULL,
    PRIMARY KEY (run_id, position)
) WITHOUT ROWID;

-- The run's k-means segments, with their medians and their description.
CREATE TABLE analytics_clusters (
    run_id                INTEGER NOT NULL,
    cluster               INTEGER NOT NULL,
    customers             BIGINT NOT NULL,
    median_recency_days   BIGINT NOT NULL,
    median_frequency      BIGINT NOT NULL,
    median_monetary_minor BIGINT NOT NULL,
    description           TEXT NOT NULL,
    PRIMARY KEY (run_id, cluster)
) WITHOUT ROWID;

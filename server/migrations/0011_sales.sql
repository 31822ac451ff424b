-- FieldCRM server schema, version 11: what the pipeline, forecast, funnel, win rate, big deals
-- and targets read (see storage/sqlite_sales.rs).
--
-- Written in the same transaction as the documents they come from, like the field-work tables;
-- rows for documents stored before this version are filled in by the migration's backfill.

-- Opportunities. `territory_id` and `team_id` are the document's scope (its customer's), so a
-- viewer's sight applies to them as to the documents. `rep_id` is the deal's rep: its owner when
-- that names a user, else its creator. `weight_percent` is the probability the forecast weights
-- by (the deal's own, else its stage's default; won 100, lost 0), `weighted_minor` the amount
-- weighted by it. Sums are read with `total()` (a float: exact to 2^53 minor units), so a
-- crafted amount near the integer limit cannot make a report fail. `open` is 1 for a deal that is
-- neither won nor lost. `entered_at` is its first stage change (its creation), `furthest_rank`
-- the furthest funnel stage it reached (0 lead .. 4 won), `closed_at` when it was won or lost.
-- Times are the devices' clocks, as written in the stage history.
CREATE TABLE opportunity_facts (
    opportunity_id    TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL,
    rep_id            TEXT NOT NULL,
    title             TEXT NOT NULL,
    stage             TEXT NOT NULL,
    open              INTEGER NOT NULL,
    amount_minor      BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    probability       INTEGER,
    weight_percent    INTEGER NOT NULL,
    weighted_minor    BIGINT NOT NULL,
    expected_close_at BIGINT,
    entered_at        BIGINT NOT NULL,
    furthest_rank     INTEGER NOT NULL,
    closed_at         BIGINT,
    territory_id      TEXT,
    team_id           TEXT,
    deleted           INTEGER NOT NULL
);
-- Each report reads one index per sight (a manager's team, a rep's territories, an admin's
-- whole organisation) that holds every column it needs, `deleted` included, so it never visits
-- the table's rows: open deals per stage, currency and rep (the pipeline, grouped in index
-- order); open deals by expected close (the forecast); open deals by amount (big deals); deals
-- closed in a period (win rate, won per month); deals that entered the funnel in a period.
CREATE INDEX opportunity_facts_team_pipeline ON opportunity_facts
    (team_id, open, deleted, stage, currency, rep_id, amount_minor, weighted_minor);
CREATE INDEX opportunity_facts_territory_pipeline ON opportunity_facts
    (territory_id, open, deleted, stage, currency, rep_id, amount_minor, weighted_minor);
CREATE INDEX opportunity_facts_pipeline ON opportunity_facts
    (open, deleted, stage, currency, rep_id, amount_minor, weighted_minor);
CREATE INDEX opportunity_facts_team_forecast ON opportunity_facts
    (team_id, open, deleted, expected_close_at, currency, amount_minor, weighted_minor);
CREATE INDEX opportunity_facts_territory_forecast ON opportunity_facts
    (territory_id, open, deleted, expected_close_at, currency, amount_minor, weighted_minor);
CREATE INDEX opportunity_facts_forecast ON opportunity_facts
    (open, deleted, expected_close_at, currency, amount_minor, weighted_minor);
CREATE INDEX opportunity_facts_team_amount ON opportunity_facts (team_id, open, deleted, amount_minor);
CREATE INDEX opportunity_facts_territory_amount ON opportunity_facts
    (territory_id, open, deleted, amount_minor);
CREATE INDEX opportunity_facts_amount ON opportunity_facts (open, deleted, amount_minor);
CREATE INDEX opportunity_facts_team_closed ON opportunity_facts
    (team_id, deleted, closed_at, stage, rep_id, currency, amount_minor, weighted_minor);
CREATE INDEX opportunity_facts_territory_closed ON opportunity_facts
    (territory_id, deleted, closed_at, stage, rep_id, currency, amount_minor, weighted_minor);
CREATE INDEX opportunity_facts_closed ON opportunity_facts
    (deleted, closed_at, stage, rep_id, currency, amount_minor, weighted_minor);
CREATE INDEX opportunity_facts_team_entered ON opportunity_facts
    (team_id, deleted, entered_at, furthest_rank, opportunity_id);
CREATE INDEX opportunity_facts_territory_entered ON opportunity_facts
    (territory_id, deleted, entered_at, furthest_rank, opportunity_id);
CREATE INDEX opportunity_facts_entered ON opportunity_facts
    (deleted, entered_at, furthest_rank, opportunity_id);
-- A rep's deals won in a period (target attainment).
CREATE INDEX opportunity_facts_rep_closed ON opportunity_facts (rep_id, deleted, closed_at, stage);
-- A customer moved to another territory: its deals follow.
CREATE INDEX opportunity_facts_customer ON opportunity_facts (customer_id);

-- Each opportunity's stage history in time order, with how long the deal stayed in the stage
-- (until the next change; NULL for the stage it is in).
CREATE TABLE opportunity_stage_changes (
    opportunity_id TEXT NOT NULL,
    position       INTEGER NOT NULL,
    stage          TEXT NOT NULL,
    at             BIGINT NOT NULL,
    by_user        TEXT NOT NULL,
    duration_ms    BIGINT,
    PRIMARY KEY (opportunity_id, position)
) WITHOUT ROWID;

-- Who created each customer and when the server first stored it (server time, unix ms): a
-- rep's new customers in a period.
CREATE TABLE customer_origins (
    customer_id     TEXT PRIMARY KEY,
    created_by      TEXT NOT NULL,
    first_stored_at BIGINT NOT NULL,
    deleted         INTEGER NOT NULL
);
CREATE INDEX customer_origins_creator ON customer_origins (created_by, deleted, first_stored_at);

-- Per-rep targets per period (`2026-11`, `2026-Q4`) and metric; revenue per currency (the
-- other metrics have currency ''). Set by an admin or the rep's manager.
CREATE TABLE targets (
    rep_id   TEXT NOT NULL,
    period   TEXT NOT NULL,
    metric   TEXT NOT NULL,
    currency TEXT NOT NULL,
    target   BIGINT NOT NULL,
    set_by   TEXT NOT NULL,
    set_at   BIGINT NOT NULL,
    PRIMARY KEY (rep_id, period, metric, currency)
) WITHOUT ROWID;
CREATE INDEX targets_period ON targets (period, metric, currency);

-- FieldCRM server schema: each stage change carries its deal's scope, its `deleted` flag and
-- when the deal entered the funnel, so the funnel's time-in-stage medians read one index range
-- per sight instead of looking up every deal's history (see storage/sqlite_sales/reads.rs).
--
-- The table is made again with the new columns; the migration's backfill (the sales backfill,
-- `sqlite_sales/projection.rs`) writes every deal's history anew, from the stored documents.

DROP TABLE opportunity_stage_changes;

-- Each opportunity's stage history in time order, with how long the deal stayed in the stage
-- (until the next change; NULL for the stage it is in). `territory_id`, `team_id`, `deleted`
-- and `entered_at` are the deal's (its `opportunity_facts` row's), written with it and moved
-- with its customer.
CREATE TABLE opportunity_stage_changes (
    opportunity_id TEXT NOT NULL,
    position       INTEGER NOT NULL,
    stage          TEXT NOT NULL,
    at             BIGINT NOT NULL,
    by_user        TEXT NOT NULL,
    duration_ms    BIGINT,
    territory_id   TEXT,
    team_id        TEXT,
    deleted        INTEGER NOT NULL,
    entered_at     BIGINT NOT NULL,
    PRIMARY KEY (opportunity_id, position)
) WITHOUT ROWID;
-- The finished stays of the deals that entered the funnel in a period, per sight (a manager's
-- team, a rep's territories, an admin's whole organisation), holding every column the funnel
-- reads.
CREATE INDEX opportunity_stays_team ON opportunity_stage_changes
    (team_id, deleted, entered_at, stage, duration_ms) WHERE duration_ms IS NOT NULL;
CREATE INDEX opportunity_stays_territory ON opportunity_stage_changes
    (territory_id, deleted, entered_at, stage, duration_ms) WHERE duration_ms IS NOT NULL;
CREATE INDEX opportunity_stays ON opportunity_stage_changes
    (deleted, entered_at, stage, duration_ms) WHERE duration_ms IS NOT NULL;

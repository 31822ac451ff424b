-- FieldCRM server schema: marketing campaigns on customer segments (see campaigns.rs and
-- storage/sqlite_campaigns.rs).
--
-- A campaign is set up as a draft (its segment filter, period, cost and action) by a manager
-- or an admin, and seen by the admins and the managers of the team it was made for. Starting
-- it freezes its targets: the customers the filter matched then, each drawn into the control
-- group or not, with the task or planned visit written for its owner (or why none was). Its
-- results are read from the order and visit facts at any time after.

-- `filter` is the segment filter as JSON; `starts_at` and `ends_at` bound the period (unix
-- ms, end exclusive); `status` draft or started; `seed` draws the control group;
-- `analytics_run_id` is the run whose results the targets were chosen by.
CREATE TABLE campaigns (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    team_id          TEXT,
    created_at       BIGINT NOT NULL,
    filter           TEXT NOT NULL,
    starts_at        BIGINT NOT NULL,
    ends_at          BIGINT NOT NULL,
    cost_minor       BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    action           TEXT NOT NULL,
    script           TEXT NOT NULL,
    control_pct      INTEGER NOT NULL,
    seed             BIGINT NOT NULL,
    status           TEXT NOT NULL,
    started_at       BIGINT,
    analytics_run_id INTEGER
);
CREATE INDEX campaigns_team ON campaigns (team_id, created_at);

-- The frozen targets. `action_doc_id` is the task or visit written for a treated target;
-- `action_error` says why none was (no owner, or the write was refused).
CREATE TABLE campaign_targets (
    campaign_id   TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    owner_id      TEXT,
    control       INTEGER NOT NULL,
    action_doc_id TEXT,
    action_error  TEXT,
    PRIMARY KEY (campaign_id, customer_id)
) WITHOUT ROWID;

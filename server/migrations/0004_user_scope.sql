-- FieldCRM server schema, version 4: what each user could see, over time.
--
-- A user's visibility changes when they gain or lose a territory or move to another team. Each
-- change is a row here with a sequence number from `log_head`, so a pull can tell that the
-- device's cursor predates it: that device drops what it may no longer see and syncs again
-- from the start. The first change of a user also records the scope they had before it, at
-- sequence 0.
CREATE TABLE user_scope_history (
    user_id      TEXT NOT NULL REFERENCES users (id),
    seq          BIGINT NOT NULL,
    role         TEXT NOT NULL,
    team_id      TEXT,
    -- Territory ids, a JSON array.
    territories  TEXT NOT NULL,
    PRIMARY KEY (user_id, seq)
);

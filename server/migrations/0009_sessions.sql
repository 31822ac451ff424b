-- FieldCRM server schema: sessions, revoked devices, disabled users (lost phones and departed
-- reps).
--
-- Every token this server issues names a session row. The extractor reads the session and its
-- user on every request, so revoking a device (which revokes every session that registered it)
-- or disabling a user refuses their tokens at once, while the user's other devices keep theirs.

ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- A revoked device's actor id stays bound to its user for good (history keeps naming it), but
-- it can no longer push and cannot be registered again.
ALTER TABLE devices ADD COLUMN revoked_at BIGINT;

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id, expires_at);

-- Which devices a session registered (`POST /v1/devices`): revoking a device revokes these.
CREATE TABLE session_devices (
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    device_id   TEXT NOT NULL REFERENCES devices (id),
    PRIMARY KEY (session_id, device_id)
);
CREATE INDEX session_devices_device ON session_devices (device_id);

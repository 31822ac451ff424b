-- FieldCRM device store, schema 5: the last sync error's stable code beside its text, so an app
-- can tell "offline" from "the server refused the token" after a restart without parsing text.
ALTER TABLE sync_state ADD COLUMN last_error_code TEXT;

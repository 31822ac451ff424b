-- FieldCRM server schema, version 5: indexes that let a pull read only what it returns.
--
-- A pull asks for "documents in my scope with last_seq > cursor, in last_seq order, the first
-- N". With single-column scope indexes SQLite had to read every document in the scope and sort
-- it, for every page: a 60,000-document bootstrap read 3.6 million rows. With the sequence
-- number second in each index, a page is a range scan that stops after N entries.
DROP INDEX documents_territory;
DROP INDEX documents_owner;
DROP INDEX documents_team;
CREATE INDEX documents_team_seq ON documents (team_id, last_seq);
CREATE INDEX documents_owner_seq ON documents (owner_id, last_seq);
CREATE INDEX documents_territory_seq ON documents (territory_id, last_seq);

-- Removals look for documents whose scope changed after the cursor and that existed at it.
-- New documents also carry a fresh scope_seq; with first_seq in the index they are skipped
-- without reading their rows.
DROP INDEX documents_scope_seq;
CREATE INDEX documents_scope_seq ON documents (scope_seq, first_seq);

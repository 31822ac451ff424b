-- FieldCRM server schema, version 3: stored documents grow by appending change chunks.
--
-- A push used to re-save (and re-compress) the whole document. Now the accepted changes are
-- appended to the stored bytes (Automerge loads a document chunk followed by change chunks),
-- and the document is saved compactly again once `appended` changes have accumulated.
ALTER TABLE documents ADD COLUMN appended INTEGER NOT NULL DEFAULT 0;

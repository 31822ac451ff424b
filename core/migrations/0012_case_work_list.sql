-- FieldCRM device store, schema 12: the phone's case list. Who handles each case, when it is
-- due, whether the server escalated it and when it was opened, so the list of a rep's cases
-- sorts by due time and shows what is overdue without reading documents. Rows of cases stored
-- before lack them: their documents are marked unverified, and `verify_documents` (which the
-- apps run after every sync) projects them again from the documents.
ALTER TABLE cases ADD COLUMN assignee TEXT;
ALTER TABLE cases ADD COLUMN due_at INTEGER;
ALTER TABLE cases ADD COLUMN escalated_at INTEGER;
ALTER TABLE cases ADD COLUMN opened_at INTEGER;
CREATE INDEX cases_assignee ON cases(assignee, due_at) WHERE deleted = 0;
UPDATE docs SET verified = 0 WHERE kind = 'case' AND verified = 1;

-- FieldCRM server schema: organisation-wide documents (the product catalog).
--
-- Every user sees a product, whatever their role, team or territories (`scope.rs`,
-- `Sight::includes`); only admins write one. A pull page reads the org-wide documents after the
-- cursor through this index, one alternative of the sight like the territory, owner and team
-- indexes (`storage/sqlite_sight.rs`).
ALTER TABLE documents ADD COLUMN org_wide INTEGER NOT NULL DEFAULT 0;
CREATE INDEX documents_org_wide_seq ON documents (org_wide, last_seq);

-- One-time data migrations the server ran at start, each by name, so each runs once (the
-- visit's free-text order lines moved to orders: `storage/sqlite_sync/visit_orders.rs`).
CREATE TABLE data_migrations (
    name    TEXT PRIMARY KEY,
    ran_at  INTEGER NOT NULL
);

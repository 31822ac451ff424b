-- FieldCRM server schema: what the revenue reports and revenue targets read (see
-- storage/sqlite_sales/orders.rs).
--
-- Written in the push transaction from every accepted order, like `opportunity_facts`; orders
-- stored before this version are filled in by the migration's backfill.

-- One row per order. `territory_id` and `team_id` are the order's scope (its customer's, and
-- they follow a customer moved to another territory), so a viewer's sight applies to them as
-- to the documents. `rep_id` is the order's `owner` when that names a user, else its creator.
-- `revenue` is 1 for an order that counts as revenue (`sales::orders::counts_as_revenue`:
-- submitted, confirmed or delivered). The amounts are `fieldcrm_core::totals` of its lines,
-- in the order's currency's minor units. `ordered_at` is the device's clock.
CREATE TABLE order_facts (
    order_id       TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    rep_id         TEXT NOT NULL,
    visit_id       TEXT,
    status         TEXT NOT NULL,
    revenue        INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    ordered_at     BIGINT NOT NULL,
    line_count     INTEGER NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    discount_minor BIGINT NOT NULL,
    net_minor      BIGINT NOT NULL,
    tax_minor      BIGINT NOT NULL,
    gross_minor    BIGINT NOT NULL,
    territory_id   TEXT,
    team_id        TEXT,
    deleted        INTEGER NOT NULL
);
-- Revenue in a period by rep or by customer: one covering index per sight alternative (a
-- manager's team, a rep's territories, an admin's whole organisation), `deleted` included.
CREATE INDEX order_facts_team_revenue ON order_facts
    (team_id, revenue, deleted, ordered_at, currency, rep_id, customer_id, net_minor, gross_minor);
CREATE INDEX order_facts_territory_revenue ON order_facts
    (territory_id, revenue, deleted, ordered_at, currency, rep_id, customer_id, net_minor, gross_minor);
CREATE INDEX order_facts_revenue ON order_facts
    (revenue, deleted, ordered_at, currency, rep_id, customer_id, net_minor, gross_minor);
-- A rep's revenue in a period (target attainment).
CREATE INDEX order_facts_rep_revenue ON order_facts
    (rep_id, revenue, deleted, ordered_at, currency, net_minor);
-- A customer moved to another territory: its orders follow.
CREATE INDEX order_facts_customer ON order_facts (customer_id);

-- One row per order line, in the order's line order. `net_minor` and `gross_minor` are the
-- line's figures by `fieldcrm_core::totals`; `known_product` is 1 when `product_id` names a
-- product document the server holds (kept up to date when that product arrives later). The
-- order's currency, time, revenue flag, scope and deletion are copied onto each line, rewritten
-- with the order, so a report by product reads one index.
CREATE TABLE order_line_facts (
    order_id      TEXT NOT NULL,
    position      INTEGER NOT NULL,
    line_id       TEXT NOT NULL,
    product_id    TEXT NOT NULL,
    sku           TEXT NOT NULL,
    name          TEXT NOT NULL,
    quantity      BIGINT NOT NULL,
    net_minor     BIGINT NOT NULL,
    gross_minor   BIGINT NOT NULL,
    known_product INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    ordered_at    BIGINT NOT NULL,
    revenue       INTEGER NOT NULL,
    territory_id  TEXT,
    team_id       TEXT,
    deleted       INTEGER NOT NULL,
    PRIMARY KEY (order_id, position)
) WITHOUT ROWID;
-- Revenue in a period by product, per sight alternative.
CREATE INDEX order_line_facts_team_revenue ON order_line_facts
    (team_id, revenue, deleted, ordered_at, currency, product_id, quantity, net_minor, gross_minor);
CREATE INDEX order_line_facts_territory_revenue ON order_line_facts
    (territory_id, revenue, deleted, ordered_at, currency, product_id, quantity, net_minor, gross_minor);
CREATE INDEX order_line_facts_revenue ON order_line_facts
    (revenue, deleted, ordered_at, currency, product_id, quantity, net_minor, gross_minor);
-- Lines naming a product the server does not know, in a period, per sight alternative.
CREATE INDEX order_line_facts_team_unknown ON order_line_facts
    (team_id, known_product, deleted, ordered_at);
CREATE INDEX order_line_facts_territory_unknown ON order_line_facts
    (territory_id, known_product, deleted, ordered_at);
CREATE INDEX order_line_facts_unknown ON order_line_facts (known_product, deleted, ordered_at);
-- A product that arrives after the orders naming it; a product's SKU and name for a report.
CREATE INDEX order_line_facts_product ON order_line_facts (product_id);

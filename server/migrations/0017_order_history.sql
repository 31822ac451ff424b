-- FieldCRM server schema: orders that predate the CRM, imported from CSV (`order_history.rs`,
-- `storage/sqlite_history.rs`) and read by the analytics runs beside the CRM's own orders.
--
-- These are the server's own reference data, not records: never synced, never on a device.
-- Each order is keyed by what it says (customer, day, amount, currency) and the occurrence of
-- that same tuple in its file (the 2nd identical order is occurrence 2), so importing the same
-- file again adds nothing; a line by its order, its SKU and the occurrence of that SKU in the
-- order.

-- `customer_id` is the customer document's id (resolved from the external id the customer was
-- imported with), `ordered_day` the day (days since 1970-01-01, UTC), `amount_minor` the order's
-- net amount in the currency's minor units (a credit note is negative: the analytics leave it
-- out, as they do the CRM's).
CREATE TABLE history_orders (
    id           INTEGER PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    ordered_day  BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    occurrence   INTEGER NOT NULL,
    imported_at  BIGINT NOT NULL,
    UNIQUE (customer_id, ordered_day, amount_minor, currency, occurrence)
);

-- `product_id` is the product document's id (resolved from its SKU at import), `net_minor`
-- quantity times unit price.
CREATE TABLE history_order_lines (
    order_id         INTEGER NOT NULL REFERENCES history_orders (id),
    sku              TEXT NOT NULL,
    occurrence       INTEGER NOT NULL,
    product_id       TEXT NOT NULL,
    quantity         BIGINT NOT NULL,
    unit_price_minor BIGINT NOT NULL,
    net_minor        BIGINT NOT NULL,
    PRIMARY KEY (order_id, sku, occurrence)
) WITHOUT ROWID;
-- Who bought a product (a campaign's "bought or not" condition).
CREATE INDEX history_order_lines_product ON history_order_lines (product_id);

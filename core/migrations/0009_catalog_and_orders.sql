-- FieldCRM device store, schema 9: the product catalog and orders (projections).

CREATE TABLE products (
    rid         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    sku         TEXT NOT NULL,
    name        TEXT NOT NULL,
    category    TEXT,
    unit        TEXT,
    -- "EUR:1299,USD:1500", by currency (records/product.rs)
    prices      TEXT NOT NULL,
    tax_rate_bp INTEGER NOT NULL,
    active      INTEGER NOT NULL,
    image_ref   TEXT,
    deleted     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX products_sku ON products(sku);
CREATE INDEX products_category ON products(category, active, name COLLATE NOCASE);

-- SKU (also without separators) and name, tokenised like customers_fts.
CREATE VIRTUAL TABLE products_fts USING fts5(
    sku, name,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    visit_id    TEXT,
    owner       TEXT NOT NULL,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL,
    ordered_at  INTEGER NOT NULL,
    deleted     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX orders_customer ON orders(customer_id, ordered_at);
CREATE INDEX orders_visit ON orders(visit_id) WHERE visit_id IS NOT NULL;

CREATE TABLE order_lines (
    order_id         TEXT NOT NULL,
    line_id          TEXT NOT NULL,
    product_id       TEXT NOT NULL,
    sku              TEXT NOT NULL,
    name             TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    tax_rate_bp      INTEGER NOT NULL,
    discount_bp      INTEGER NOT NULL,
    PRIMARY KEY (order_id, line_id)
) WITHOUT ROWID;

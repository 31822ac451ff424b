-- FieldCRM device store, schema 10: the catalog's category list (query/catalog.rs,
-- `product_categories`). Covers the query and is in its order, so a page of categories reads
-- only its own products' entries: no table lookups, no sort. Deleted products and those
-- without a category (NULL or empty) are not in it.
CREATE INDEX products_categories ON products(category COLLATE NOCASE, category, active)
    WHERE deleted = 0 AND category <> '';

//! The catalog and order entry on one device: product search (prefix, SKU with or without its
//! separators, active first), browsing a category, a product by SKU; order lines priced from the
//! catalog in the order's currency, bad input refused with typed errors, totals from the lines,
//! a line whose product the device does not know kept and shown as unknown, live queries.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::sync::{Arc, Mutex};

use fieldcrm_core::*;

fn store(dir: &tempfile::TempDir, user: &str) -> Store {
    let store = Store::open(dir.path().join(format!("{user}.sqlite"))).unwrap();
    store.set_user(user).unwrap();
    store
}

fn product(sku: &str, name: &str, category: &str, eur: i64) -> Product {
    let mut p = Product::new(sku, name);
    p.category = Some(category.into());
    p.prices.insert("EUR".into(), eur);
    p.tax_rate_bp = 1_900;
    p
}

fn products(result: QueryResult) -> Vec<(String, bool)> {
    match result {
        QueryResult::Products(rows) => rows.into_iter().map(|p| (p.sku, p.active)).collect(),
        other => panic!("products expected, got {other:?}"),
    }
}

#[test]
fn search_browse_and_sku() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "admin");
    s.create(product("AB-1001", "Roggenbrot", "bread", 349))
        .unwrap();
    let mut old = product("AB-1002", "Roggenbrötchen", "bread", 79);
    old.active = false;
    s.create(old).unwrap();
    s.create(product("BU-2002", "Butter", "dairy", 229))
        .unwrap();
    let deleted = s
        .create(product("AB-1003", "Roggen alt", "bread", 1))
        .unwrap();
    s.delete(&deleted.meta.id).unwrap();
    let search = |text: &str| {
        products(
            s.query(&Query::SearchProducts {
                text: text.into(),
                limit: 10,
            })
            .unwrap(),
        )
    };
    // Prefix, diacritics folded like customer search, the active product first.
    assert_eq!(
        search("rogg"),
        vec![("AB-1001".into(), true), ("AB-1002".into(), false)]
    );
    assert_eq!(search("roggenbrotchen"), vec![("AB-1002".into(), false)]);
    // The SKU with and without its separator, and a prefix of it.
    assert_eq!(search("AB-1001"), vec![("AB-1001".into(), true)]);
    assert_eq!(search("ab1001"), vec![("AB-1001".into(), true)]);
    assert_eq!(search("bu"), vec![("BU-2002".into(), true)]);
    assert!(search("  -- ").is_empty());
    assert_eq!(
        products(
            s.query(&Query::ProductsInCategory {
                category: "bread".into(),
                limit: 10,
                offset: 0,
            })
            .unwrap()
        ),
        vec![("AB-1001".into(), true), ("AB-1002".into(), false)]
    );
    match s
        .query(&Query::ProductBySku {
            sku: "BU-2002".into(),
        })
        .unwrap()
    {
        QueryResult::Products(rows) => {
            assert_eq!(rows.len(), 1);
            assert_eq!(
                rows[0].prices,
                vec![Money {
                    minor: 229,
                    currency: "EUR".into()
                }]
            );
            assert_eq!(rows[0].tax_rate_bp, 1_900);
        }
        other => panic!("{other:?}"),
    }
}

fn detail(s: &Store, order_id: &str) -> OrderDetail {
    match s
        .query(&Query::OrderWithLines {
            order_id: order_id.into(),
        })
        .unwrap()
    {
        QueryResult::Order(Some(detail)) => detail,
        other => panic!("an order expected, got {other:?}"),
    }
}

#[test]
fn order_entry_prices_lines_from_the_catalog_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "anna");
    let customer = s.create(Customer::new("Bäckerei Schmidt")).unwrap();
    let bread = s
        .create(product("AB-1001", "Roggenbrot", "bread", 349))
        .unwrap();
    let mut dollars_only = Product::new("US-1", "Bagel");
    dollars_only.prices.insert("USD".into(), 150);
    let dollars_only = s.create(dollars_only).unwrap();
    let order = s.create_order(&customer.meta.id, None, "EUR").unwrap();
    assert_eq!(
        (order.owner.as_str(), order.status.clone()),
        ("anna", OrderStatus::Draft)
    );
    let id = order.meta.id.as_str();
    let order = s.add_order_line(id, &bread.meta.id, 3).unwrap();
    let line = order.lines[0].clone();
    assert_eq!(
        (line.sku.as_str(), line.unit_price_minor, line.tax_rate_bp),
        ("AB-1001", 349, 1_900)
    );
    // A later price change does not rewrite the line.
    let mut dearer = bread.clone();
    dearer.prices.insert("EUR".into(), 399);
    s.update(dearer).unwrap();
    assert_eq!(detail(&s, id).lines[0].line.unit_price_minor, 349);
    // No price in the order's currency, a quantity that is not positive, a discount over 100 %.
    assert!(matches!(
        s.add_order_line(id, &dollars_only.meta.id, 1),
        Err(StoreError::Validation(ValidationError::NoPriceInCurrency { ref currency, .. })) if currency == "EUR"
    ));
    assert!(matches!(
        s.add_order_line(id, "no-such-product", 1),
        Err(StoreError::NotFound { .. })
    ));
    for quantity in [0, -2] {
        assert!(matches!(
            s.add_order_line(id, &bread.meta.id, quantity),
            Err(StoreError::Validation(ValidationError::OutOfRange { ref field, .. })) if field == "lines.quantity"
        ));
    }
    let over = s.edit_order_line(
        id,
        &line.id,
        LineEdit {
            discount_bp: Some(10_001),
            ..LineEdit::default()
        },
    );
    assert!(matches!(
        over,
        Err(StoreError::Validation(ValidationError::OutOfRange { ref field, .. })) if field == "lines.discount_bp"
    ));
    assert!(matches!(
        s.create_order(&customer.meta.id, None, "euro"),
        Err(StoreError::Validation(ValidationError::Malformed { ref field, .. })) if field == "currency"
    ));
    // Nothing of the refused edits was written.
    let shown = detail(&s, id);
    assert_eq!(shown.lines.len(), 1);
    assert_eq!(
        shown.order.customer_name.as_deref(),
        Some("Bäckerei Schmidt")
    );
    // 3 × 3.49 = 10.47, 19 % tax = 1.9893 -> 1.99.
    assert_eq!(
        shown.order.totals,
        OrderTotals {
            subtotal_minor: 1047,
            discount_minor: 0,
            net_minor: 1047,
            tax_minor: 199,
            gross_minor: 1246,
        }
    );
    assert_eq!(shown.lines[0].totals, shown.order.totals);
    assert_eq!(shown.order.unknown_products, 0);
}

#[test]
fn orders_of_a_customer_and_of_a_visit_and_an_unknown_product() {
    let dir = tempfile::tempdir().unwrap();
    let rep = store(&dir, "anna");
    let customer = rep.create(Customer::new("Kiosk")).unwrap();
    let visit = rep.create(Visit::new(&customer.meta.id, "anna")).unwrap();
    // The product exists on another device only: the order arrives with a line naming it.
    let other = store(&dir, "admin");
    let bread = other
        .create(product("AB-1001", "Roggenbrot", "bread", 349))
        .unwrap();
    let order = other
        .create_order(&customer.meta.id, Some(&visit.meta.id), "EUR")
        .unwrap();
    let order = other
        .add_order_line(&order.meta.id, &bread.meta.id, 2)
        .unwrap();
    rep.import(vec![IncomingDoc {
        doc_id: order.meta.id.clone(),
        payload: IncomingPayload::Changes(other.document_changes(&order.meta.id).unwrap()),
    }])
    .unwrap();
    let listed = |query: Query| match rep.query(&query).unwrap() {
        QueryResult::Orders(rows) => rows,
        other => panic!("orders expected, got {other:?}"),
    };
    let of_visit = listed(Query::OrdersOfVisit {
        visit_id: visit.meta.id.clone(),
    });
    assert_eq!(of_visit.len(), 1);
    assert_eq!(of_visit[0].unknown_products, 1, "the summary says so");
    assert_eq!(of_visit[0].totals.subtotal_minor, 698);
    let of_customer = listed(Query::OrdersOfCustomer {
        customer_id: customer.meta.id.clone(),
        limit: 10,
    });
    assert_eq!(of_customer, of_visit);
    let shown = detail(&rep, &order.meta.id);
    assert!(!shown.lines[0].product_known);
    assert_eq!(shown.lines[0].line.name, "Roggenbrot", "the snapshot shows");
    // Once the product arrives, it is known.
    rep.import(vec![IncomingDoc {
        doc_id: bread.meta.id.clone(),
        payload: IncomingPayload::Changes(other.document_changes(&bread.meta.id).unwrap()),
    }])
    .unwrap();
    assert!(detail(&rep, &order.meta.id).lines[0].product_known);
}

#[derive(Default)]
struct Seen(Mutex<Vec<QueryResult>>);

impl QueryListener for Seen {
    fn on_result(&self, result: QueryResult) {
        self.0.lock().unwrap().push(result);
    }
}

#[test]
fn live_order_and_catalog_queries_follow_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "anna");
    let bread = s
        .create(product("AB-1001", "Roggenbrot", "bread", 349))
        .unwrap();
    let order = s.create_order("customer-1", None, "EUR").unwrap();
    let seen = Arc::new(Seen::default());
    let _order_sub = s
        .subscribe(
            Query::OrderWithLines {
                order_id: order.meta.id.clone(),
            },
            seen.clone(),
        )
        .unwrap();
    s.add_order_line(&order.meta.id, &bread.meta.id, 1).unwrap();
    let last = seen.0.lock().unwrap().last().cloned().unwrap();
    match last {
        QueryResult::Order(Some(d)) => assert_eq!(d.order.totals.subtotal_minor, 349),
        other => panic!("{other:?}"),
    }
    let catalog = Arc::new(Seen::default());
    let _catalog_sub = s
        .subscribe(
            Query::SearchProducts {
                text: "butter".into(),
                limit: 10,
            },
            catalog.clone(),
        )
        .unwrap();
    s.create(product("BU-2002", "Butter", "dairy", 229))
        .unwrap();
    let last = catalog.0.lock().unwrap().last().cloned().unwrap();
    assert_eq!(products(last), vec![("BU-2002".into(), true)]);
}

fn categories(s: &Store, limit: u32, offset: u32) -> Vec<(String, u32, u32)> {
    match s
        .query(&Query::ProductCategories { limit, offset })
        .unwrap()
    {
        QueryResult::Categories(rows) => rows
            .into_iter()
            .map(|c| (c.name, c.active_products, c.products))
            .collect(),
        other => panic!("categories expected, got {other:?}"),
    }
}

#[test]
fn the_category_list_counts_products_by_name_without_deleted_or_uncategorised_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "admin");
    assert!(categories(&s, 0, 0).is_empty());
    s.create(product("AB-1", "Roggenbrot", "bread", 349))
        .unwrap();
    let mut old = product("AB-2", "Roggenbrötchen", "bread", 79);
    old.active = false;
    s.create(old).unwrap();
    let gone = s.create(product("AB-3", "Alt", "bread", 1)).unwrap();
    s.delete(&gone.meta.id).unwrap();
    s.create(product("BU-1", "Butter", "dairy", 229)).unwrap();
    // Case-insensitive order, yet "Bakery" and "bakery" are two categories (as to browsing).
    s.create(product("CA-1", "Cake", "Bakery", 500)).unwrap();
    s.create(product("CA-2", "Tart", "bakery", 400)).unwrap();
    let mut retired = product("XX-1", "Old", "archive", 1);
    retired.active = false;
    s.create(retired).unwrap();
    // Only deleted products carry it: not listed.
    let only_deleted = s.create(product("ZZ-1", "Gone", "zebra", 1)).unwrap();
    s.delete(&only_deleted.meta.id).unwrap();
    // Without a category, or with an empty one: in none.
    let mut loose = product("LO-1", "Loose", "", 1);
    s.create(loose.clone()).unwrap();
    loose = product("LO-2", "Looser", "", 1);
    loose.category = None;
    s.create(loose).unwrap();

    let all = vec![
        ("archive".to_owned(), 0, 1),
        ("Bakery".to_owned(), 1, 1),
        ("bakery".to_owned(), 1, 1),
        ("bread".to_owned(), 1, 2),
        ("dairy".to_owned(), 1, 1),
    ];
    assert_eq!(categories(&s, 0, 0), all);
    // Bounded by the limit, paged by the offset.
    assert_eq!(categories(&s, 2, 0), all[..2]);
    assert_eq!(categories(&s, 2, 2), all[2..4]);
    assert_eq!(categories(&s, 2, 4), all[4..]);
    // Every listed category browses to as many products as it counts.
    for (name, _, count) in &all {
        let browsed = products(
            s.query(&Query::ProductsInCategory {
                category: name.clone(),
                limit: 100,
                offset: 0,
            })
            .unwrap(),
        );
        assert_eq!(browsed.len() as u32, *count, "{name}");
    }
}

#[test]
fn the_category_list_is_live() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "admin");
    let seen = Arc::new(Seen::default());
    let _sub = s
        .subscribe(
            Query::ProductCategories {
                limit: 10,
                offset: 0,
            },
            seen.clone(),
        )
        .unwrap();
    let bread = s
        .create(product("AB-1", "Roggenbrot", "bread", 349))
        .unwrap();
    let last = || match seen.0.lock().unwrap().last().cloned().unwrap() {
        QueryResult::Categories(rows) => rows,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        last(),
        vec![CategorySummary {
            name: "bread".into(),
            active_products: 1,
            products: 1
        }]
    );
    let mut retired = bread.clone();
    retired.active = false;
    s.update(retired).unwrap();
    assert_eq!(last()[0].active_products, 0);
    s.delete(&bread.meta.id).unwrap();
    assert!(last().is_empty());
}

#[test]
fn a_line_is_added_with_its_discount_in_one_write() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, "anna");
    let bread = s
        .create(product("AB-1001", "Roggenbrot", "bread", 349))
        .unwrap();
    let order = s.create_order("customer-1", None, "EUR").unwrap();
    let id = order.meta.id.as_str();
    let pending = s.sync_status().unwrap().pending_changes;
    let added = s
        .add_order_line_with_discount(id, &bread.meta.id, 3, 1_000)
        .unwrap();
    assert_eq!(added.lines.len(), 1);
    assert_eq!(added.lines[0].discount_bp, 1_000);
    assert_eq!(
        s.sync_status().unwrap().pending_changes,
        pending + 1,
        "one write"
    );
    // 3 × 3.49 = 10.47, 10 % off = 1.047 -> 1.05, net 9.42, 19 % tax = 1.7898 -> 1.79.
    let shown = detail(&s, id);
    assert_eq!(shown.lines[0].line.discount_bp, 1_000);
    assert_eq!(
        shown.order.totals,
        OrderTotals {
            subtotal_minor: 1047,
            discount_minor: 105,
            net_minor: 942,
            tax_minor: 179,
            gross_minor: 1121,
        }
    );
    // 100 % is a discount; over it is refused and nothing is written.
    let free = s
        .add_order_line_with_discount(id, &bread.meta.id, 1, 10_000)
        .unwrap();
    assert_eq!(free.lines[1].discount_bp, 10_000);
    let before = (
        s.get::<Order>(id).unwrap().unwrap(),
        s.sync_status().unwrap().pending_changes,
        s.document_changes(id).unwrap().len(),
    );
    let over = s.add_order_line_with_discount(id, &bread.meta.id, 1, 10_001);
    assert!(
        matches!(
            over,
            Err(StoreError::Validation(ValidationError::OutOfRange { ref field, .. })) if field == "lines.discount_bp"
        ),
        "{over:?}"
    );
    assert_eq!(
        (
            s.get::<Order>(id).unwrap().unwrap(),
            s.sync_status().unwrap().pending_changes,
            s.document_changes(id).unwrap().len(),
        ),
        before
    );
    assert_eq!(detail(&s, id).lines.len(), 2);
    // Without a discount, as before.
    let plain = s.add_order_line(id, &bread.meta.id, 1).unwrap();
    assert_eq!(plain.lines[2].discount_bp, 0);
}

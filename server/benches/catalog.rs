//! The catalog and order entry as a rep's phone meets them, against the real server binary on
//! loopback, on a fixed, seeded catalog of 20,000 products (`FIELDCRM_BENCH_SCALE` shrinks it;
//! CI runs 0.02 as a smoke run):
//!
//! 1. `catalog_bootstrap_20k_s`: a fresh device of a rep pulls the whole catalog, page by page,
//!    into its store file (the admin's device wrote and pushed it first, not timed).
//! 2. `product_search_median_ms`: on that device, searches as a rep types them (a prefix of a
//!    product's name or SKU, 1,000 seeded queries, 50 results each).
//! 3. `order_with_10_lines_write_ms`: on that device, an order of 10 lines from the catalog
//!    written and committed as one record (an order form saved); the line-by-line entry (the
//!    order created, then each line added from its product, 11 commits) is printed beside it as
//!    `order_entry_10_lines_ms`.
//!
//! Figures are printed as `bench: <name> = <value> <unit>`; nothing here asserts on timing.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use fieldcrm_bench_support::{comment, emit, median, scale, scaled};
use fieldcrm_core::{
    Customer, HttpTransport, Kind, Order, OrderLine, Product, Query, QueryResult, RetryPolicy,
    Store,
};
use fieldcrm_tests::server::{Launch, OrgServer, login};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn Error>>;

const PRODUCTS: usize = 20_000;
const SEARCHES: usize = 1_000;
const ORDERS: usize = 200;
const PASSWORD: &str = "bench password";
const SEED: u64 = 0x4341_5441_4c4f_4701;
/// The sync's clock (the store stamps its own writes with the real one).
const NOW: i64 = 1_790_000_000_000;

const CATEGORIES: &[&str] = &[
    "Coffee",
    "Tea",
    "Bakery",
    "Dairy",
    "Beverages",
    "Snacks",
    "Cleaning",
    "Packaging",
    "Equipment",
    "Service",
];
const WORDS: &[&str] = &[
    "Espresso",
    "Crema",
    "Roggen",
    "Butter",
    "Hafer",
    "Mineral",
    "Apfel",
    "Schoko",
    "Nuss",
    "Bio",
    "Premium",
    "Classic",
    "Barista",
    "Kaffee",
    "Tee",
    "Milch",
    "Becher",
    "Deckel",
    "Reiniger",
    "Filter",
    "Zucker",
    "Sirup",
    "Vanille",
    "Karamell",
    "Zitrone",
    "Minze",
    "Brezel",
    "Croissant",
    "Muffin",
    "Waffel",
];

fn product(rng: &mut SmallRng, serial: usize) -> Product {
    let category = CATEGORIES[serial % CATEGORIES.len()];
    let name = format!(
        "{} {} {}",
        WORDS[rng.random_range(0..WORDS.len())],
        WORDS[rng.random_range(0..WORDS.len())],
        rng.random_range(1..1_000)
    );
    let mut product = Product::new(
        format!("{}-{serial:05}", &category[..3].to_uppercase()),
        name,
    );
    product.category = Some(category.to_owned());
    product.unit = Some("piece".to_owned());
    product.tax_rate_bp = if serial.is_multiple_of(3) { 1_900 } else { 700 };
    product
        .prices
        .insert("EUR".to_owned(), rng.random_range(99..50_000));
    if serial.is_multiple_of(4) {
        product
            .prices
            .insert("CHF".to_owned(), rng.random_range(99..50_000));
    }
    product.active = !serial.is_multiple_of(25);
    product
}

/// A device store of `username` in `path`, its actor registered at the server.
fn device(base: &str, username: &str, path: &Path) -> BenchResult<(Store, HttpTransport)> {
    let (token, user_id) = login(base, username, PASSWORD);
    let store = Store::open(path)?;
    store.set_user(&user_id)?;
    let response = fieldcrm_tests::server::agent()
        .post(format!("{base}/v1/devices"))
        .header("authorization", &format!("Bearer {token}"))
        .send_json(json!({"actor_id": store.actor_id()}))?;
    if !matches!(response.status().as_u16(), 200 | 201) {
        return Err(format!("device registration: HTTP {}", response.status()).into());
    }
    Ok((store, HttpTransport::new(base, &token)))
}

fn sync(store: &Store, transport: &HttpTransport) -> BenchResult<fieldcrm_core::SyncReport> {
    Ok(fieldcrm_core::sync(
        store,
        transport,
        &RetryPolicy::default(),
        &mut |_| {},
        &|| NOW,
    )?)
}

fn main() -> BenchResult<()> {
    let scale = scale();
    let products = scaled(PRODUCTS, scale);
    let dir = tempfile::tempdir()?;
    let server = OrgServer::start(
        env!("CARGO_BIN_EXE_fieldcrm-server"),
        &[("ada", "admin", None), ("ana", "rep", Some("harbour"))],
        PASSWORD,
        Launch::default(),
    );
    let base = server.base.clone();

    // The admin writes the catalog and pushes it (not timed).
    let mut rng = SmallRng::seed_from_u64(SEED);
    let (admin, admin_transport) = device(&base, "ada", &dir.path().join("admin.sqlite"))?;
    let started = Instant::now();
    let mut catalog = Vec::with_capacity(products);
    for serial in 0..products {
        catalog.push(admin.create(product(&mut rng, serial))?);
    }
    let pushed = sync(&admin, &admin_transport)?;
    if !admin.rejected_changes()?.is_empty() {
        return Err("the server refused part of the admin's catalog".into());
    }
    comment(&format!(
        "catalog: {products} products written and pushed by the admin in {:.1} s ({} changes)",
        started.elapsed().as_secs_f64(),
        pushed.pushed
    ));

    // 1. A fresh rep device receives the whole catalog.
    let (rep, rep_transport) = device(&base, "ana", &dir.path().join("rep.sqlite"))?;
    let started = Instant::now();
    let report = sync(&rep, &rep_transport)?;
    let elapsed = started.elapsed();
    let arrived = rep.document_ids(Kind::Product)?.len();
    if arrived != products {
        return Err(format!("bootstrap: {arrived} of {products} products arrived").into());
    }
    emit("catalog_bootstrap_20k_s", elapsed.as_secs_f64(), "s");
    comment(&format!(
        "bootstrap: {} documents in {} pages, {:.2} s",
        report.pulled_docs,
        report.pages,
        elapsed.as_secs_f64()
    ));

    // 2. Searches as a rep types them.
    let mut samples = Vec::with_capacity(SEARCHES);
    let mut found = 0usize;
    for _ in 0..SEARCHES {
        let target = &catalog[rng.random_range(0..catalog.len())];
        let text = if rng.random_bool(0.3) {
            target.sku[..rng.random_range(3..=target.sku.len())].to_owned()
        } else {
            let word = target.name.split(' ').next().unwrap_or("Bio");
            word[..rng.random_range(3..=word.len())].to_owned()
        };
        let query = Query::SearchProducts { text, limit: 50 };
        let t = Instant::now();
        let result = rep.query(&query)?;
        samples.push(t.elapsed());
        if let QueryResult::Products(rows) = result {
            found += rows.len();
        }
    }
    if found == 0 {
        return Err("product search found nothing".into());
    }
    emit("product_search_median_ms", median(&mut samples), "ms");
    comment(&format!(
        "search: {SEARCHES} prefixes, {:.1} results each on average",
        found as f64 / SEARCHES as f64
    ));

    // 3. Orders of 10 lines on the rep's device.
    let shop = rep.create(Customer::new("Bench Café"))?;
    let mut whole = Vec::with_capacity(ORDERS);
    let mut line_by_line = Vec::with_capacity(ORDERS);
    for _ in 0..ORDERS {
        let picked: Vec<&Product> = (0..10)
            .map(|_| &catalog[rng.random_range(0..catalog.len())])
            .collect();
        let mut order = Order::new(shop.meta.id.clone(), rep.user(), "EUR");
        for product in &picked {
            order.lines.push(OrderLine {
                id: uuid::Uuid::now_v7().to_string(),
                product_id: product.meta.id.clone(),
                sku: product.sku.clone(),
                name: product.name.clone(),
                quantity: rng.random_range(1..20),
                unit_price_minor: product.price_in("EUR").unwrap_or(0),
                tax_rate_bp: product.tax_rate_bp,
                discount_bp: 0,
            });
        }
        let t = Instant::now();
        rep.create(order)?;
        whole.push(t.elapsed());

        let t = Instant::now();
        let entered = rep.create_order(&shop.meta.id, None, "EUR")?;
        for product in &picked {
            rep.add_order_line(&entered.meta.id, &product.meta.id, 2)?;
        }
        line_by_line.push(t.elapsed());
    }
    emit("order_with_10_lines_write_ms", median(&mut whole), "ms");
    emit("order_entry_10_lines_ms", median(&mut line_by_line), "ms");
    Ok(())
}

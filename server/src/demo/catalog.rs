//! The demo's product catalog: what a Hamburg wholesaler sells to cafés, bakeries, kiosks and
//! shops, about 200 products in ten categories, priced in euros (and some in Swiss francs), with
//! the German VAT rates (7 % on food, 19 % on the rest).

use std::collections::BTreeMap;

use fieldcrm_core::Product;

use super::*;

/// (category, SKU prefix, unit, VAT in basis points, price range in cents, items).
type Category = (
    &'static str,
    &'static str,
    &'static str,
    u32,
    (i64, i64),
    &'static [&'static str],
);

const CATEGORIES: &[Category] = &[
    (
        "Coffee",
        "COF",
        "bag 1 kg",
        700,
        (1_290, 3_490),
        &[
            "Espresso Blend",
            "Crema Beans",
            "Decaf Beans",
            "Filter Roast",
            "Single Origin Ethiopia",
            "Single Origin Brazil",
            "Organic Blend",
            "Ground Espresso",
        ],
    ),
    (
        "Tea",
        "TEA",
        "box",
        700,
        (390, 1_490),
        &[
            "Earl Grey",
            "Green Sencha",
            "Chamomile",
            "Peppermint",
            "Rooibos",
            "Breakfast Blend",
            "Chai Spice",
            "Fruit Infusion",
        ],
    ),
    (
        "Bakery",
        "BAK",
        "crate",
        700,
        (890, 2_990),
        &[
            "Butter Croissants",
            "Pretzel Dough",
            "Rye Loaf Mix",
            "Franzbrötchen",
            "Muffin Mix",
            "Baguette Frozen",
            "Seeded Rolls",
            "Danish Pastries",
        ],
    ),
    (
        "Dairy",
        "DAI",
        "case",
        700,
        (690, 2_490),
        &[
            "Barista Milk",
            "Oat Drink",
            "Whipping Cream",
            "Butter Blocks",
            "Yoghurt Natural",
            "Soy Drink",
            "Almond Drink",
            "Quark",
        ],
    ),
    (
        "Beverages",
        "BEV",
        "case 24",
        1_900,
        (990, 3_290),
        &[
            "Mineral Water",
            "Apple Spritzer",
            "Cola",
            "Lemonade",
            "Iced Tea",
            "Orange Juice",
            "Ginger Beer",
            "Mate Soda",
        ],
    ),
    (
        "Snacks",
        "SNK",
        "carton",
        700,
        (590, 2_190),
        &[
            "Oat Cookies",
            "Chocolate Bars",
            "Salted Nuts",
            "Crisps",
            "Granola Bars",
            "Biscotti",
            "Waffles",
            "Dried Fruit",
        ],
    ),
    (
        "Cleaning",
        "CLN",
        "canister",
        1_900,
        (490, 3_990),
        &[
            "Descaler",
            "Surface Spray",
            "Dishwasher Tabs",
            "Floor Cleaner",
            "Hand Soap",
            "Glass Cleaner",
            "Machine Cleaner",
            "Disinfectant",
        ],
    ),
    (
        "Packaging",
        "PKG",
        "pack 100",
        1_900,
        (390, 2_490),
        &[
            "Cups 0.2 l",
            "Cups 0.4 l",
            "Lids",
            "Paper Bags",
            "Napkins",
            "Straws Paper",
            "Cake Boxes",
            "Carry Trays",
        ],
    ),
    (
        "Equipment",
        "EQP",
        "piece",
        1_900,
        (2_490, 129_000),
        &[
            "Milk Jug",
            "Tamper",
            "Grinder Burrs",
            "Display Stand",
            "Cake Dome",
            "Menu Board",
            "Knock Box",
            "Thermometer",
        ],
    ),
    (
        "Service",
        "SRV",
        "month",
        1_900,
        (2_900, 14_900),
        &[
            "Machine Maintenance",
            "Barista Training",
            "Water Filter Plan",
            "Display Refresh",
            "Delivery Priority",
            "Repair Cover",
            "Menu Design",
            "Stock Check",
        ],
    ),
];

/// Variants of each item: sizes and editions, so the catalog has about 200 products.
const VARIANTS: &[&str] = &["", "Large", "Premium", "Value"];

/// The catalog, product ids made from `now` and the generator.
pub(super) fn catalog(rng: &mut Rng, now: Millis) -> Vec<Product> {
    let mut products = Vec::new();
    for (category, prefix, unit, tax_rate_bp, (low, high), items) in CATEGORIES {
        let mut number = 0;
        for item in *items {
            for variant in VARIANTS.iter().take(rng.int(2, 3) as usize) {
                number += 1;
                let name = if variant.is_empty() {
                    (*item).to_owned()
                } else {
                    format!("{item} {variant}")
                };
                let mut product = Product::new(format!("{prefix}-{number:03}"), name);
                product.meta.id = rng.id(now);
                product.category = Some((*category).to_owned());
                product.unit = Some((*unit).to_owned());
                product.tax_rate_bp = *tax_rate_bp;
                // Prices end in 9 or 0 cents, as price lists do.
                let euros = rng.int(*low, *high) / 10 * 10 + if rng.chance(0.5) { 9 } else { 0 };
                let mut prices = BTreeMap::from([("EUR".to_owned(), euros)]);
                if rng.chance(0.25) {
                    prices.insert("CHF".to_owned(), euros * 105 / 100);
                }
                product.prices = prices;
                // A few discontinued products stay in the catalog.
                product.active = !rng.chance(0.04);
                products.push(product);
            }
        }
    }
    products
}

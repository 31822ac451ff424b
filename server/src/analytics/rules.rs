//! Cross-sell rules from the orders' lines: each order is a basket of the products on its lines;
//! frequent itemsets come from FP-growth (`fpgrowth.rs`), and each itemset of two or more
//! products gives one rule per product as its consequent (the rest as antecedent), with
//!
//! - support = baskets with the whole itemset / baskets,
//! - confidence = support(itemset) / support(antecedent),
//! - lift = confidence / support(consequent).
//!
//! Kept: confidence at least `min_confidence` and lift above `min_lift` (at least 1: a rule
//! with lift 1 or less says buying the antecedent makes the consequent no likelier). At most
//! `max_rules` travel (to the phones too), the best first by core's `cross_sell` ranking.
//!
//! Baskets: orders up to the run's date with a positive amount, in any currency (a co-purchase
//! is one whatever the money); lines with a quantity of 0 or less are not purchases. A
//! customer's products bought are those of all its baskets: the next-best products are core's
//! `CrossSellRules::next_best` over them, the same rule the device ranks by.

use std::collections::{HashMap, HashSet};

use fieldcrm_core::Millis;
use fieldcrm_core::cross_sell::{CrossSellRule, CrossSellRules, Offer};
use thiserror::Error;

use super::fpgrowth::{FpGrowthBounds, FpGrowthError, frequent_itemsets};
use super::input::{LineRow, OrderRow};

/// The thresholds and bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleSettings {
    /// Share of baskets an itemset must be in (0.001: 0.1 %).
    pub min_support: f64,
    pub min_confidence: f64,
    pub min_lift: f64,
    pub max_len: usize,
    pub max_itemsets: usize,
    pub max_rules: usize,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            min_support: 0.001,
            min_confidence: 0.1,
            min_lift: 1.0,
            max_len: 3,
            max_itemsets: 1_000_000,
            max_rules: 5_000,
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum RulesError {
    #[error("minimum support must be above 0 and at most 1")]
    Support,
    #[error("minimum confidence must be 0 to 1")]
    Confidence,
    #[error("minimum lift must be at least 1")]
    Lift,
    #[error("itemsets must be 2 to 5 products long")]
    Length,
    #[error(transparent)]
    Mining(#[from] FpGrowthError),
}

impl RuleSettings {
    pub fn validated(self) -> Result<Self, RulesError> {
        if !(self.min_support > 0.0 && self.min_support <= 1.0) {
            return Err(RulesError::Support);
        }
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(RulesError::Confidence);
        }
        if !(self.min_lift >= 1.0 && self.min_lift.is_finite()) {
            return Err(RulesError::Lift);
        }
        if !(2..=5).contains(&self.max_len) {
            return Err(RulesError::Length);
        }
        Ok(self)
    }
}

/// The baskets, their products (an item is an index into `products`) and each customer's
/// products bought.
#[derive(Debug, Clone, Default)]
pub struct Baskets {
    pub products: Vec<String>,
    pub baskets: Vec<Vec<u32>>,
    pub bought: HashMap<String, HashSet<u32>>,
}

/// The baskets of `orders` up to `as_of`, from `lines`.
pub fn baskets(orders: &[OrderRow], lines: &[LineRow], as_of: Millis) -> Baskets {
    let counted: HashMap<&str, usize> = orders
        .iter()
        .filter(|o| o.ordered_at <= as_of && o.net_minor > 0)
        .enumerate()
        .map(|(i, o)| (o.order_id.as_str(), i))
        .collect();
    let mut index: HashMap<&str, u32> = HashMap::new();
    let mut products: Vec<String> = Vec::new();
    let mut baskets: Vec<Vec<u32>> = vec![Vec::new(); counted.len()];
    let mut bought: HashMap<String, HashSet<u32>> = HashMap::new();
    for line in lines.iter().filter(|l| l.quantity > 0) {
        let Some(&basket) = counted.get(line.order_id.as_str()) else {
            continue;
        };
        let item = *index.entry(line.product_id.as_str()).or_insert_with(|| {
            products.push(line.product_id.clone());
            (products.len() - 1) as u32
        });
        baskets[basket].push(item);
        bought
            .entry(line.customer_id.clone())
            .or_default()
            .insert(item);
    }
    for basket in &mut baskets {
        basket.sort_unstable();
        basket.dedup();
    }
    baskets.retain(|b| !b.is_empty());
    Baskets {
        products,
        baskets,
        bought,
    }
}

/// What mining found: the rules kept, and the counts a run records.
#[derive(Debug, Clone, PartialEq)]
pub struct Mined {
    pub rules: Vec<CrossSellRule>,
    pub baskets: u64,
    pub frequent_itemsets: u64,
    /// Rules that passed the thresholds, before `max_rules`.
    pub rules_found: u64,
}

/// The cross-sell rules of `baskets`.
pub fn mine_rules(baskets: &Baskets, settings: RuleSettings) -> Result<Mined, RulesError> {
    let settings = settings.validated()?;
    let n = baskets.baskets.len() as u64;
    let min_count = ((settings.min_support * n as f64).ceil() as u64).max(1);
    let itemsets = frequent_itemsets(
        &baskets.baskets,
        FpGrowthBounds {
            min_count,
            max_len: settings.max_len,
            max_itemsets: settings.max_itemsets,
        },
    )?;
    let support: HashMap<&[u32], u64> = itemsets
        .iter()
        .map(|(set, count)| (set.as_slice(), *count))
        .collect();
    let share = |count: u64| count as f64 / n as f64;
    let mut rules = Vec::new();
    let mut antecedent: Vec<u32> = Vec::new();
    for (set, count) in itemsets.iter().filter(|(set, _)| set.len() >= 2) {
        for &consequent in set {
            antecedent.clear();
            antecedent.extend(set.iter().copied().filter(|&i| i != consequent));
            // Every subset of a frequent itemset is frequent, and shorter: it was found.
            let (Some(&with_antecedent), Some(&with_consequent)) = (
                support.get(antecedent.as_slice()),
                support.get([consequent].as_slice()),
            ) else {
                continue;
            };
            let confidence = *count as f64 / with_antecedent as f64;
            let lift = confidence / share(with_consequent);
            if confidence < settings.min_confidence || lift <= settings.min_lift {
                continue;
            }
            if !(confidence.is_finite() && lift.is_finite()) {
                continue;
            }
            rules.push(CrossSellRule {
                antecedent: antecedent
                    .iter()
                    .map(|&i| baskets.products[i as usize].clone())
                    .collect(),
                consequent: baskets.products[consequent as usize].clone(),
                support: share(*count),
                confidence,
                lift,
            });
        }
    }
    let rules_found = rules.len() as u64;
    rules.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then_with(|| b.lift.total_cmp(&a.lift))
            .then_with(|| b.support.total_cmp(&a.support))
            .then_with(|| a.consequent.cmp(&b.consequent))
            .then_with(|| a.antecedent.cmp(&b.antecedent))
    });
    rules.truncate(settings.max_rules);
    Ok(Mined {
        rules,
        baskets: n,
        frequent_itemsets: itemsets.len() as u64,
        rules_found,
    })
}

/// Each customer's next-best products (at most `limit`), for the customers with purchases.
pub fn next_best_per_customer(
    baskets: &Baskets,
    rules: &CrossSellRules,
    limit: usize,
) -> HashMap<String, Vec<Offer>> {
    baskets
        .bought
        .iter()
        .map(|(customer, items)| {
            let bought: HashSet<&str> = items
                .iter()
                .map(|&i| baskets.products[i as usize].as_str())
                .collect();
            (customer.clone(), rules.next_best(&bought, limit))
        })
        .filter(|(_, offers)| !offers.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, customer: &str, at: Millis, net: i64) -> OrderRow {
        OrderRow {
            order_id: id.into(),
            customer_id: customer.into(),
            ordered_at: at,
            currency: "EUR".into(),
            net_minor: net,
        }
    }

    fn line(order: &str, customer: &str, product: &str, quantity: i64) -> LineRow {
        LineRow {
            order_id: order.into(),
            customer_id: customer.into(),
            product_id: product.into(),
            quantity,
            net_minor: 100,
        }
    }

    /// Ten baskets: beer and diapers together in four, beer alone in one, diapers alone in one,
    /// bread in every other one.
    fn shop() -> (Vec<OrderRow>, Vec<LineRow>) {
        let mut orders = Vec::new();
        let mut lines = Vec::new();
        for i in 0..10 {
            let id = format!("o{i}");
            let customer = format!("c{}", i % 5);
            orders.push(order(&id, &customer, 1_000, 500));
            let mut add = |p: &str| lines.push(line(&id, &customer, p, 1));
            if i < 4 {
                add("beer");
                add("diapers");
            }
            if i == 4 {
                add("beer");
            }
            if i == 5 {
                add("diapers");
            }
            if i % 2 == 0 {
                add("bread");
            }
            if i >= 6 {
                add("milk");
            }
        }
        (orders, lines)
    }

    #[test]
    fn beer_and_diapers_by_hand() {
        let (orders, lines) = shop();
        let b = baskets(&orders, &lines, 2_000);
        assert_eq!(b.baskets.len(), 10);
        let settings = RuleSettings {
            min_support: 0.3,
            // Bread and beer share three baskets (support 0.3, confidence 0.6, lift 1.2):
            // under the confidence asked for.
            min_confidence: 0.7,
            ..RuleSettings::default()
        };
        let mined = mine_rules(&b, settings).unwrap();
        // beer 5, diapers 5, both 4: confidence 0.8 each way, lift 0.8 / 0.5 = 1.6.
        let found: Vec<(Vec<String>, String, f64, f64, f64)> = mined
            .rules
            .iter()
            .map(|r| {
                (
                    r.antecedent.clone(),
                    r.consequent.clone(),
                    r.support,
                    r.confidence,
                    r.lift,
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (vec!["diapers".to_owned()], "beer".to_owned(), 0.4, 0.8, 1.6),
                (vec!["beer".to_owned()], "diapers".to_owned(), 0.4, 0.8, 1.6),
            ]
        );
        assert_eq!(mined.rules_found, 2);
        let rules = CrossSellRules::new(mined.rules);
        let offers = next_best_per_customer(&b, &rules, 3);
        // c4 bought beer (order 4) and bread/milk but never diapers: offered diapers.
        assert_eq!(offers["c4"][0].product_id, "diapers");
        // c0 bought both: nothing to offer.
        assert!(!offers.contains_key("c0"));
    }

    #[test]
    fn late_orders_credit_notes_and_returned_lines_are_no_baskets() {
        let orders = vec![
            order("late", "c", 5_000, 100),
            order("credit", "c", 1_000, -100),
            order("ok", "c", 1_000, 100),
        ];
        let lines = vec![
            line("late", "c", "x", 1),
            line("credit", "c", "y", 1),
            line("ok", "c", "z", -1),
            line("ok", "c", "w", 2),
            line("unknown-order", "c", "v", 1),
        ];
        let b = baskets(&orders, &lines, 2_000);
        assert_eq!(b.baskets, vec![vec![0]]);
        assert_eq!(b.products, vec!["w".to_owned()]);
    }

    #[test]
    fn settings_are_checked_and_nothing_mined_from_nothing() {
        let bad = |s: RuleSettings| s.validated().err();
        let d = RuleSettings::default();
        assert_eq!(
            bad(RuleSettings {
                min_support: 0.0,
                ..d
            }),
            Some(RulesError::Support)
        );
        assert_eq!(
            bad(RuleSettings {
                min_support: f64::NAN,
                ..d
            }),
            Some(RulesError::Support)
        );
        assert_eq!(
            bad(RuleSettings {
                min_confidence: 1.5,
                ..d
            }),
            Some(RulesError::Confidence)
        );
        assert_eq!(
            bad(RuleSettings { min_lift: 0.5, ..d }),
            Some(RulesError::Lift)
        );
        assert_eq!(
            bad(RuleSettings { max_len: 1, ..d }),
            Some(RulesError::Length)
        );
        let mined = mine_rules(&Baskets::default(), d).unwrap();
        assert!(mined.rules.is_empty());
        assert_eq!(mined.baskets, 0);
    }
}

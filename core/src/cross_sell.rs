//! Cross-sell offers: which products to offer a customer, from rules mined on the server
//! ("customers who buy X also buy Y") and what the customer has bought. One rule for the
//! server's nightly next-best products and the device's live ranking, so an order taken a
//! minute ago changes the suggestion the same way the next run would.
//!
//! A rule applies to a customer who has bought every product of its antecedent and not its
//! consequent, and only if its lift is above 1 (buying the antecedent makes the consequent more
//! likely than it is in general). Of the rules that apply, each consequent keeps its best rule;
//! offers rank by that rule's **confidence** (the share of baskets with the antecedent that also
//! hold the consequent: the estimated chance this customer takes the offer), then lift, then
//! support, then product id, so the ranking is reproducible.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// A rule `antecedent → consequent` with its measures over the baskets it was mined from:
/// support (share of baskets holding all its products), confidence and lift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossSellRule {
    pub antecedent: Vec<String>,
    pub consequent: String,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// A product to offer, with the rule that suggests it.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub product_id: String,
    /// The products the customer bought that suggest it (the rule's antecedent).
    pub because: Vec<String>,
    pub confidence: f64,
    pub lift: f64,
    pub support: f64,
}

/// Rules indexed by each product of their antecedents, so ranking a customer's offers reads
/// only the rules their purchases can trigger.
#[derive(Debug, Clone, Default)]
pub struct CrossSellRules {
    rules: Vec<CrossSellRule>,
    by_product: HashMap<String, Vec<usize>>,
}

impl CrossSellRules {
    /// Indexes `rules`; a rule with no antecedent, a non-finite measure or a lift of 1 or less
    /// is dropped (it would offer the consequent to everyone, or says nothing).
    pub fn new(rules: Vec<CrossSellRule>) -> CrossSellRules {
        let rules: Vec<CrossSellRule> = rules
            .into_iter()
            .filter(|r| {
                !r.antecedent.is_empty()
                    && r.support.is_finite()
                    && r.confidence.is_finite()
                    && r.lift.is_finite()
                    && r.lift > 1.0
            })
            .collect();
        let mut by_product: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            // Indexed under its first product only: a rule applies only if all are bought.
            by_product
                .entry(rule.antecedent[0].clone())
                .or_default()
                .push(i);
        }
        CrossSellRules { rules, by_product }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// At most `limit` offers for a customer who has bought `bought`, best first.
    pub fn next_best(&self, bought: &HashSet<&str>, limit: usize) -> Vec<Offer> {
        let mut best: HashMap<&str, &CrossSellRule> = HashMap::new();
        for product in bought {
            let Some(candidates) = self.by_product.get(*product) else {
                continue;
            };
            for rule in candidates.iter().map(|&i| &self.rules[i]) {
                let applies = !bought.contains(rule.consequent.as_str())
                    && rule.antecedent.iter().all(|p| bought.contains(p.as_str()));
                if !applies {
                    continue;
                }
                let slot = best.entry(rule.consequent.as_str()).or_insert(rule);
                if rank(rule, slot) == Ordering::Less {
                    *slot = rule;
                }
            }
        }
        let mut chosen: Vec<&CrossSellRule> = best.into_values().collect();
        chosen.sort_by(|a, b| rank(a, b));
        chosen
            .into_iter()
            .take(limit)
            .map(|rule| Offer {
                product_id: rule.consequent.clone(),
                because: rule.antecedent.clone(),
                confidence: rule.confidence,
                lift: rule.lift,
                support: rule.support,
            })
            .collect()
    }
}

/// Better rules first: higher confidence, then lift, then support; then consequent and
/// antecedent by name.
fn rank(a: &CrossSellRule, b: &CrossSellRule) -> Ordering {
    b.confidence
        .total_cmp(&a.confidence)
        .then_with(|| b.lift.total_cmp(&a.lift))
        .then_with(|| b.support.total_cmp(&a.support))
        .then_with(|| a.consequent.cmp(&b.consequent))
        .then_with(|| a.antecedent.cmp(&b.antecedent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(antecedent: &[&str], consequent: &str, confidence: f64, lift: f64) -> CrossSellRule {
        CrossSellRule {
            antecedent: antecedent.iter().map(|s| (*s).to_owned()).collect(),
            consequent: consequent.into(),
            support: 0.01,
            confidence,
            lift,
        }
    }

    fn ids(offers: &[Offer]) -> Vec<&str> {
        offers.iter().map(|o| o.product_id.as_str()).collect()
    }

    #[test]
    fn offers_what_the_purchases_suggest_and_not_what_was_bought() {
        let rules = CrossSellRules::new(vec![
            rule(&["beer"], "diapers", 0.6, 2.0),
            rule(&["beer"], "chips", 0.4, 1.5),
            rule(&["beer", "chips"], "salsa", 0.7, 3.0),
            // Already bought: never offered.
            rule(&["beer"], "bread", 0.9, 1.2),
            // Needs wine, not bought.
            rule(&["wine"], "cheese", 0.95, 4.0),
            // Lift at or below 1: says nothing.
            rule(&["beer"], "water", 0.99, 1.0),
        ]);
        assert_eq!(rules.len(), 5);
        let bought: HashSet<&str> = ["beer", "bread"].into_iter().collect();
        let offers = rules.next_best(&bought, 10);
        assert_eq!(ids(&offers), vec!["diapers", "chips"]);
        assert_eq!(offers[0].because, vec!["beer".to_owned()]);
        // Chips bought a minute ago: salsa now applies and ranks first; chips is no offer.
        let bought: HashSet<&str> = ["beer", "bread", "chips"].into_iter().collect();
        assert_eq!(ids(&rules.next_best(&bought, 10)), vec!["salsa", "diapers"]);
        assert_eq!(ids(&rules.next_best(&bought, 1)), vec!["salsa"]);
    }

    #[test]
    fn each_product_keeps_its_best_rule_and_ties_rank_by_name() {
        let rules = CrossSellRules::new(vec![
            rule(&["a"], "x", 0.3, 2.0),
            rule(&["b"], "x", 0.5, 1.1),
            rule(&["a"], "y", 0.5, 1.1),
            rule(&["a"], "z", 0.5, 1.1),
        ]);
        let bought: HashSet<&str> = ["a", "b"].into_iter().collect();
        let offers = rules.next_best(&bought, 10);
        assert_eq!(ids(&offers), vec!["x", "y", "z"]);
        assert_eq!(offers[0].because, vec!["b".to_owned()]);
        assert_eq!(offers[0].confidence, 0.5);
    }

    #[test]
    fn nothing_bought_or_no_rules_offers_nothing() {
        let rules = CrossSellRules::new(vec![
            rule(&[], "x", 0.9, 2.0),
            rule(&["a"], "y", f64::NAN, 2.0),
        ]);
        assert!(rules.is_empty());
        assert!(rules.next_best(&HashSet::new(), 5).is_empty());
        assert!(
            CrossSellRules::default()
                .next_best(&["a"].into_iter().collect(), 5)
                .is_empty()
        );
    }
}

//! Frequent itemsets by FP-growth (Han, Pei & Yin 2000): the baskets are compressed into a
//! prefix tree of their frequent items, most frequent first, and itemsets are grown from each
//! item's conditional tree, so the baskets are read twice however many itemsets there are.
//!
//! Written here rather than taken from a crate: the one published Rust implementation found
//! (`fp-growth` 0.1, last released 2021) has no bound on itemset size or count, which a run
//! over a whole organisation's orders needs before it reserves anything.
//!
//! Bounds: itemsets of at most `max_len` items (cross-sell rules rarely need more than three),
//! and at most `max_itemsets` of them: past that the run fails with
//! [`FpGrowthError::TooManyItemsets`] (raise the minimum support) rather than grow without end.

use std::collections::HashMap;

use thiserror::Error;

/// An itemset (item indices, ascending) and how many baskets hold it.
pub type Itemset = (Vec<u32>, u64);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FpGrowthError {
    #[error("more than {0} frequent itemsets: raise the minimum support")]
    TooManyItemsets(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FpGrowthBounds {
    /// Baskets an itemset must be in (at least 1).
    pub min_count: u64,
    pub max_len: usize,
    pub max_itemsets: usize,
}

const ROOT: u32 = 0;

/// A prefix tree of baskets: node 0 is the root; `links[item]` lists the item's nodes.
struct Tree {
    item: Vec<u32>,
    count: Vec<u64>,
    parent: Vec<u32>,
    children: HashMap<(u32, u32), u32>,
    links: HashMap<u32, Vec<u32>>,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            item: vec![u32::MAX],
            count: vec![0],
            parent: vec![ROOT],
            children: HashMap::new(),
            links: HashMap::new(),
        }
    }

    /// Adds a path of items (in the tree's order) `count` times.
    fn insert(&mut self, path: &[u32], count: u64) {
        let mut node = ROOT;
        for &item in path {
            node = match self.children.get(&(node, item)) {
                Some(&child) => child,
                None => {
                    let child = self.item.len() as u32;
                    self.item.push(item);
                    self.count.push(0);
                    self.parent.push(node);
                    self.children.insert((node, item), child);
                    self.links.entry(item).or_default().push(child);
                    child
                }
            };
            self.count[node as usize] += count;
        }
    }

    /// The items from `node`'s parent up to the root's child, in the tree's order.
    fn prefix(&self, node: u32, into: &mut Vec<u32>) {
        into.clear();
        let mut at = self.parent[node as usize];
        while at != ROOT {
            into.push(self.item[at as usize]);
            at = self.parent[at as usize];
        }
        into.reverse();
    }
}

/// Every itemset held by at least `bounds.min_count` of `baskets` (each basket a set of item
/// indices, duplicates ignored), with at most `bounds.max_len` items.
pub fn frequent_itemsets(
    baskets: &[Vec<u32>],
    bounds: FpGrowthBounds,
) -> Result<Vec<Itemset>, FpGrowthError> {
    let min_count = bounds.min_count.max(1);
    let mut support: HashMap<u32, u64> = HashMap::new();
    for basket in baskets {
        let mut items = basket.clone();
        items.sort_unstable();
        items.dedup();
        for item in items {
            *support.entry(item).or_default() += 1;
        }
    }
    // The tree's order: more frequent first, then by index (a total order, so equal supports
    // cannot build two different trees).
    let mut frequent: Vec<(u32, u64)> = support
        .into_iter()
        .filter(|&(_, n)| n >= min_count)
        .collect();
    frequent.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rank: HashMap<u32, u32> = frequent
        .iter()
        .enumerate()
        .map(|(r, &(item, _))| (item, r as u32))
        .collect();
    let mut tree = Tree::new();
    let mut path = Vec::new();
    for basket in baskets {
        path.clear();
        path.extend(basket.iter().filter_map(|item| rank.get(item).copied()));
        path.sort_unstable();
        path.dedup();
        tree.insert(&path, 1);
    }
    let mut found: Vec<Itemset> = Vec::new();
    let mut suffix = Vec::new();
    mine(&tree, min_count, bounds, &mut suffix, &mut found)?;
    // Back from ranks to item indices, ascending.
    let items: Vec<u32> = frequent.iter().map(|&(item, _)| item).collect();
    for (set, _) in &mut found {
        for r in set.iter_mut() {
            *r = items[*r as usize];
        }
        set.sort_unstable();
    }
    found.sort_unstable();
    Ok(found)
}

/// Grows `suffix` by each item of `tree` (whose items are ranks), recursing into conditional
/// trees.
fn mine(
    tree: &Tree,
    min_count: u64,
    bounds: FpGrowthBounds,
    suffix: &mut Vec<u32>,
    found: &mut Vec<Itemset>,
) -> Result<(), FpGrowthError> {
    let mut items: Vec<u32> = tree.links.keys().copied().collect();
    items.sort_unstable();
    let mut prefix = Vec::new();
    for item in items {
        let nodes = &tree.links[&item];
        let count: u64 = nodes.iter().map(|&n| tree.count[n as usize]).sum();
        if count < min_count {
            continue;
        }
        suffix.push(item);
        if found.len() >= bounds.max_itemsets {
            return Err(FpGrowthError::TooManyItemsets(bounds.max_itemsets));
        }
        found.push((suffix.clone(), count));
        if suffix.len() < bounds.max_len {
            // The conditional pattern base: each node's prefix, `count` times.
            let mut base_support: HashMap<u32, u64> = HashMap::new();
            let mut base: Vec<(Vec<u32>, u64)> = Vec::with_capacity(nodes.len());
            for &node in nodes {
                tree.prefix(node, &mut prefix);
                if prefix.is_empty() {
                    continue;
                }
                let n = tree.count[node as usize];
                for &p in &prefix {
                    *base_support.entry(p).or_default() += n;
                }
                base.push((prefix.clone(), n));
            }
            let mut conditional = Tree::new();
            let mut kept = Vec::new();
            for (path, n) in &base {
                kept.clear();
                kept.extend(
                    path.iter()
                        .copied()
                        .filter(|p| base_support.get(p).is_some_and(|&s| s >= min_count)),
                );
                if !kept.is_empty() {
                    conditional.insert(&kept, *n);
                }
            }
            if !conditional.links.is_empty() {
                mine(&conditional, min_count, bounds, suffix, found)?;
            }
        }
        suffix.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn bounds(min_count: u64, max_len: usize) -> FpGrowthBounds {
        FpGrowthBounds {
            min_count,
            max_len,
            max_itemsets: 1_000_000,
        }
    }

    /// Every itemset of up to `max_len` items, counted basket by basket.
    fn brute_force(baskets: &[Vec<u32>], min_count: u64, max_len: usize) -> Vec<Itemset> {
        let mut counts: BTreeMap<Vec<u32>, u64> = BTreeMap::new();
        for basket in baskets {
            let mut items = basket.clone();
            items.sort_unstable();
            items.dedup();
            let n = items.len();
            for mask in 1u32..(1 << n) {
                if (mask.count_ones() as usize) > max_len {
                    continue;
                }
                let set: Vec<u32> = (0..n)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| items[i])
                    .collect();
                *counts.entry(set).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|&(_, c)| c >= min_count.max(1))
            .collect()
    }

    #[test]
    fn the_textbook_example() {
        // Han, Pei & Yin's example, items f=0 c=1 a=2 b=3 m=4 p=5 and the rest, min support 3.
        let baskets = vec![
            vec![0, 2, 1, 6, 7, 8, 4, 5],
            vec![2, 3, 1, 0, 9, 4, 10],
            vec![3, 0, 11, 12, 10],
            vec![3, 1, 13, 14, 5],
            vec![2, 0, 1, 15, 9, 5, 4, 16],
        ];
        let found = frequent_itemsets(&baskets, bounds(3, 10)).unwrap();
        assert_eq!(found, brute_force(&baskets, 3, 10));
        // f c a m, the paper's longest: in three baskets.
        assert!(found.contains(&(vec![0, 1, 2, 4], 3)));
        assert!(found.contains(&(vec![1, 5], 3)));
    }

    #[test]
    fn itemsets_stop_at_the_length_and_count_bounds() {
        let baskets = vec![vec![1, 2, 3, 4]; 5];
        let pairs = frequent_itemsets(&baskets, bounds(1, 2)).unwrap();
        assert_eq!(pairs.len(), 4 + 6);
        let limited = FpGrowthBounds {
            max_itemsets: 5,
            ..bounds(1, 4)
        };
        assert_eq!(
            frequent_itemsets(&baskets, limited),
            Err(FpGrowthError::TooManyItemsets(5))
        );
        assert!(frequent_itemsets(&[], bounds(1, 3)).unwrap().is_empty());
        // Duplicates in a basket count once.
        assert_eq!(
            frequent_itemsets(&[vec![7, 7, 7]], bounds(1, 3)).unwrap(),
            vec![(vec![7], 1)]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// FP-growth finds exactly the itemsets a brute-force count does, on small random
        /// baskets over few items (so itemsets are shared and the tree branches).
        #[test]
        fn fp_growth_equals_brute_force(
            baskets in prop::collection::vec(prop::collection::vec(0u32..8, 0..7), 0..40),
            min_count in 1u64..5,
            max_len in 1usize..5,
        ) {
            let found = frequent_itemsets(&baskets, bounds(min_count, max_len)).unwrap();
            prop_assert_eq!(found, brute_force(&baskets, min_count, max_len));
        }
    }
}

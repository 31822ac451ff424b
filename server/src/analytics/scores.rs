//! Quintile scores (1 to 5) of a value among a population, the rule RFM scores by. A value's
//! score comes from its mid-rank: 1 + ⌊5 × (worse + equal / 2) / n⌋, where `worse` values score
//! strictly worse than it and `equal` values tie with it (itself included). Ties share a score,
//! whatever order customers are read in, and a population without spread (every order on one
//! day) scores 3, the middle, for everyone: the score then says nothing either way.

/// The score of each of `values`, 1 to 5, where a larger value is better when `higher_is_better`
/// (frequency, money) and a smaller one otherwise (days since the last purchase).
pub fn quintile_scores(values: &[i64], higher_is_better: bool) -> Vec<u8> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    values
        .iter()
        .map(|v| {
            let below = sorted.partition_point(|x| x < v);
            let up_to = sorted.partition_point(|x| x <= v);
            let equal = up_to - below;
            let worse = if higher_is_better { below } else { n - up_to };
            // 2 × worse + equal <= 2n, so the quotient is at most 5.
            let score = 1 + (5 * (2 * worse + equal)) / (2 * n);
            score.min(5) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_values_score_two_per_quintile() {
        let values: Vec<i64> = (1..=10).collect();
        assert_eq!(
            quintile_scores(&values, true),
            vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(
            quintile_scores(&values, false),
            vec![5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
        );
    }

    #[test]
    fn ties_share_their_mid_rank_score_whatever_their_order() {
        // Six of ten bought once (mid-rank 3 of 10: score 2); twice: mid-rank 7.5 (4); the rest 5.
        let values = vec![1, 3, 1, 1, 2, 1, 1, 5, 1, 2];
        assert_eq!(
            quintile_scores(&values, true),
            vec![2, 5, 2, 2, 4, 2, 2, 5, 2, 4]
        );
    }

    #[test]
    fn a_population_without_spread_scores_the_middle() {
        assert_eq!(quintile_scores(&[7, 7, 7], true), vec![3, 3, 3]);
        assert_eq!(quintile_scores(&[7, 7, 7], false), vec![3, 3, 3]);
        assert_eq!(quintile_scores(&[42], true), vec![3]);
        assert!(quintile_scores(&[], true).is_empty());
    }
}

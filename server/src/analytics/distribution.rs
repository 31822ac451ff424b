//! Distributions the dashboard draws from a run's results: a histogram of lifetime values
//! whose bins stop at the 99th percentile (so one very large customer does not squash every
//! other bar into the first; the last bin holds everything above), and the customers ranked by
//! a value, largest first.

/// Bins of equal width from 0 to the 99th percentile; the last bin is open above.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// `counts.len() + 1` edges; the last is the 99th percentile (everything above counts in
    /// the last bin).
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

/// The histogram of the finite, non-negative `values` (others are left out) in `bins` bins.
pub fn histogram(values: &[f64], bins: usize) -> Histogram {
    let mut sorted: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    sorted.sort_by(f64::total_cmp);
    let bins = bins.max(1);
    let top = match sorted.len() {
        0 => 0.0,
        n => sorted[((n - 1) as f64 * 0.99).round() as usize],
    };
    // A population of one value (or of zeros) still gets a bin of some width.
    let width = if top > 0.0 { top / bins as f64 } else { 1.0 };
    let mut counts = vec![0u64; bins];
    for v in sorted {
        let bin = ((v / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    Histogram {
        edges: (0..=bins).map(|i| i as f64 * width).collect(),
        counts,
    }
}

/// The indices of the `n` largest finite `values` (ties by index), largest first.
pub fn top_indices(values: &[Option<f64>], n: usize) -> Vec<usize> {
    let mut ranked: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i, v)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.into_iter().take(n).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_stop_at_the_99th_percentile_and_the_last_holds_the_rest() {
        // 0..=99 and one outlier of 1,000,000: the 99th percentile is 99.
        let mut values: Vec<f64> = (0..100).map(f64::from).collect();
        values.push(1_000_000.0);
        let h = histogram(&values, 10);
        assert_eq!(h.edges.len(), 11);
        assert!((h.edges[10] - 99.0).abs() < 1e-9, "{:?}", h.edges);
        assert_eq!(h.counts.iter().sum::<u64>(), 101);
        assert_eq!(h.counts[0], 10, "0 to 9.9: 0..=9; 10 falls in the next");
        assert!(h.counts[9] >= 2, "the outlier and 99 are in the last bin");
    }

    #[test]
    fn nothing_finite_is_an_empty_histogram_and_nan_never_counts() {
        let h = histogram(&[f64::NAN, f64::INFINITY, -1.0], 4);
        assert_eq!(h.counts, vec![0; 4]);
        let h = histogram(&[0.0, 0.0], 2);
        assert_eq!(h.counts, vec![2, 0]);
        assert_eq!(h.edges, vec![0.0, 1.0, 2.0]);
    }

    #[test]
    fn top_indices_rank_largest_first_and_skip_unknowns() {
        let values = [
            Some(3.0),
            None,
            Some(9.0),
            Some(f64::NAN),
            Some(3.0),
            Some(5.0),
        ];
        assert_eq!(top_indices(&values, 3), vec![2, 5, 0]);
        assert_eq!(top_indices(&values, 10), vec![2, 5, 0, 4]);
    }
}

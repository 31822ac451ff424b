//! Segments by clustering: k-means (`linfa-clustering`) over each buying customer's RFM, each
//! value log-scaled (ln(1 + x): money and frequency are heavily skewed) and standardised (zero
//! mean, unit variance; a value without spread becomes 0).
//!
//! **The number of clusters** is the k from 2 to `max_k` with the highest mean silhouette
//! (Rousseeuw 1987: how much closer each customer is to its own cluster than to the next;
//! `linfa`'s `silhouette_score`),
//! ties to the smaller k. Each k is fitted on an evenly spaced sample of at most
//! `fit_sample` customers and scored on at most `silhouette_sample` of them (the silhouette is
//! quadratic); the chosen k is then fitted on everyone. Fewer than `min_customers` buyers, or
//! buyers who are all alike, make one cluster.
//!
//! **Each cluster in words**: from its centroid, per value, "recent" / "lapsed" (recency a
//! half standard deviation below / above the mean), "frequent" / "occasional", "high-spending"
//! / "low-spending", or nothing when near the mean, with the cluster's medians in plain units.
//!
//! Customers without purchases are in no cluster.

use fieldcrm_core::amounts::format_amount;
use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::{Array1, Array2, Axis};
use thiserror::Error;

use super::rfm::CustomerRfm;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterSettings {
    pub max_k: usize,
    pub min_customers: usize,
    pub fit_sample: usize,
    pub silhouette_sample: usize,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            max_k: 8,
            min_customers: 10,
            fit_sample: 10_000,
            silhouette_sample: 1_000,
        }
    }
}

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error("k-means failed: {0}")]
    KMeans(String),
    #[error("a clustering value is not a finite number")]
    NotFinite,
}

/// One cluster: its size, the medians of its customers' values, and its description.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub customers: u64,
    pub median_recency_days: i64,
    pub median_frequency: u64,
    pub median_monetary_minor: i64,
    pub description: String,
}

/// The clustering: each customer's cluster (in the order of the RFM results; `None` without
/// purchases), the clusters, and the silhouette of each k tried (the criterion, recorded).
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    pub assignment: Vec<Option<u16>>,
    pub clusters: Vec<Cluster>,
    pub silhouettes: Vec<(usize, f64)>,
}

/// The log-scaled, standardised RFM of the buyers, and their positions in `rfm`.
fn features(rfm: &[CustomerRfm]) -> (Array2<f64>, Vec<usize>) {
    let buyers: Vec<(usize, [f64; 3])> = rfm
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let v = c.values?;
            Some((
                i,
                [
                    (v.recency_days.max(0) as f64).ln_1p(),
                    (v.frequency as f64).ln_1p(),
                    (v.monetary_minor.max(0) as f64).ln_1p(),
                ],
            ))
        })
        .collect();
    let mut x = Array2::<f64>::zeros((buyers.len(), 3));
    for (row, (_, values)) in buyers.iter().enumerate() {
        for (col, value) in values.iter().enumerate() {
            x[[row, col]] = *value;
        }
    }
    if !buyers.is_empty() {
        for mut column in x.axis_iter_mut(Axis(1)) {
            let mean = column.mean().unwrap_or(0.0);
            let sd = column.std(0.0);
            column.mapv_inplace(|v| if sd > 1e-12 { (v - mean) / sd } else { 0.0 });
        }
    }
    (x, buyers.into_iter().map(|(i, _)| i).collect())
}

/// Every `step`-th row, at most `max` of them.
fn sample(x: &Array2<f64>, max: usize) -> Array2<f64> {
    let n = x.nrows();
    if n <= max {
        return x.clone();
    }
    let rows: Vec<usize> = (0..max).map(|i| i * n / max).collect();
    x.select(Axis(0), &rows)
}

/// Fits k-means with `k` clusters on `train` and labels `rows` with the nearest centroid.
fn fit_and_label(
    train: &Array2<f64>,
    k: usize,
    rows: &Array2<f64>,
) -> Result<Array1<usize>, ClusterError> {
    let model = KMeans::params(k)
        .n_runs(3)
        .max_n_iterations(100)
        .tolerance(1e-4)
        .fit(&DatasetBase::from(train.clone()))
        .map_err(|e| ClusterError::KMeans(e.to_string()))?;
    Ok(model.predict(rows))
}

fn median<T: Copy + Ord>(values: &mut [T]) -> Option<T> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[values.len() / 2])
}

/// Clusters the buyers of `rfm`; amounts in `currency` describe the clusters.
pub fn cluster(
    rfm: &[CustomerRfm],
    currency: &str,
    settings: ClusterSettings,
) -> Result<Clustering, ClusterError> {
    let (x, positions) = features(rfm);
    if x.iter().any(|v| !v.is_finite()) {
        return Err(ClusterError::NotFinite);
    }
    let n = x.nrows();
    let alike = x.iter().all(|v| *v == 0.0);
    let mut silhouettes = Vec::new();
    let labels: Vec<usize> = if n < settings.min_customers.max(2) || alike {
        vec![0; n]
    } else {
        let fitting = sample(&x, settings.fit_sample);
        let scoring = sample(&fitting, settings.silhouette_sample);
        let max_k = settings.max_k.clamp(2, 20).min(scoring.nrows() - 1).max(2);
        let mut best: Option<(usize, f64)> = None;
        for k in 2..=max_k {
            let labels = fit_and_label(&fitting, k, &scoring)?;
            let score = DatasetBase::new(scoring.clone(), labels)
                .silhouette_score()
                .map_err(|e| ClusterError::KMeans(e.to_string()))?;
            if !score.is_finite() {
                return Err(ClusterError::NotFinite);
            }
            silhouettes.push((k, score));
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((k, score));
            }
        }
        let k = best.map_or(2, |(k, _)| k);
        fit_and_label(&x, k, &x)?.to_vec()
    };
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut assignment = vec![None; rfm.len()];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (row, &label) in labels.iter().enumerate() {
        assignment[positions[row]] = Some(label as u16);
        members[label].push(row);
    }
    let clusters = members
        .iter()
        .map(|rows| describe(rfm, &x, &positions, rows, currency))
        .collect();
    Ok(Clustering {
        assignment,
        clusters,
        silhouettes,
    })
}

fn describe(
    rfm: &[CustomerRfm],
    x: &Array2<f64>,
    positions: &[usize],
    rows: &[usize],
    currency: &str,
) -> Cluster {
    let values: Vec<_> = rows
        .iter()
        .filter_map(|&r| rfm[positions[r]].values)
        .collect();
    let centroid: Vec<f64> = (0..3)
        .map(|col| rows.iter().map(|&r| x[[r, col]]).sum::<f64>() / rows.len().max(1) as f64)
        .collect();
    let word = |z: f64, low: &'static str, high: &'static str| -> Option<&'static str> {
        if z < -0.5 {
            Some(low)
        } else if z > 0.5 {
            Some(high)
        } else {
            None
        }
    };
    let words: Vec<&str> = [
        word(centroid[0], "recent", "lapsed"),
        word(centroid[1], "occasional", "frequent"),
        word(centroid[2], "low-spending", "high-spending"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let median_recency_days =
        median(&mut values.iter().map(|v| v.recency_days).collect::<Vec<_>>()).unwrap_or(0);
    let median_frequency =
        median(&mut values.iter().map(|v| v.frequency).collect::<Vec<_>>()).unwrap_or(0);
    let median_monetary_minor =
        median(&mut values.iter().map(|v| v.monetary_minor).collect::<Vec<_>>()).unwrap_or(0);
    let kind = if words.is_empty() {
        "average buyers".to_owned()
    } else {
        format!("{} buyers", words.join(", "))
    };
    let description = format!(
        "{kind}: {} customers; typically {} days since the last order, {} orders, {} {} spent",
        values.len(),
        median_recency_days,
        median_frequency,
        format_amount(median_monetary_minor, currency),
        currency
    );
    Cluster {
        customers: values.len() as u64,
        median_recency_days,
        median_frequency,
        median_monetary_minor,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::rfm::{Rfm, RfmSegment};

    fn buyer(recency_days: i64, frequency: u64, monetary_minor: i64) -> CustomerRfm {
        CustomerRfm {
            values: Some(Rfm {
                recency_days,
                frequency,
                monetary_minor,
                r: 3,
                f: 3,
                m: 3,
            }),
            segment: RfmSegment::NeedsAttention,
        }
    }

    /// Three planted groups (recent big spenders, lapsed one-off buyers, steady middle) are
    /// found as three clusters, each described as planted.
    #[test]
    fn three_planted_groups_are_found_and_described() {
        let mut rfm = Vec::new();
        for i in 0..60i64 {
            // Spread evenly within each group (60 distinct customers), groups far apart.
            let (a, b, c) = ((i * 7) % 11, (i * 13) % 17, (i * 31) % 60);
            rfm.push(buyer(2 + a, 30 + b as u64, 4_000_000 + c * 40_000));
            rfm.push(buyer(500 + a * 20, 1 + (b % 2) as u64, 1_500 + c * 20));
            rfm.push(buyer(50 + a * 3, 5 + (b % 4) as u64, 80_000 + c * 1_000));
        }
        rfm.push(CustomerRfm {
            values: None,
            segment: RfmSegment::NoPurchases,
        });
        let result = cluster(&rfm, "EUR", ClusterSettings::default()).unwrap();
        assert_eq!(result.clusters.len(), 3, "{:?}", result.silhouettes);
        assert_eq!(result.assignment.last(), Some(&None));
        // Planted together, clustered together.
        for group in 0..3 {
            let first = result.assignment[group];
            for i in 0..60 {
                assert_eq!(result.assignment[i * 3 + group], first);
            }
        }
        let of = |i: usize| &result.clusters[usize::from(result.assignment[i].unwrap())];
        assert!(
            of(0)
                .description
                .starts_with("recent, frequent, high-spending buyers"),
            "{}",
            of(0).description
        );
        assert!(
            of(1)
                .description
                .starts_with("lapsed, occasional, low-spending buyers"),
            "{}",
            of(1).description
        );
        assert_eq!(of(1).median_frequency, 1);
        assert!(of(0).description.contains("EUR spent"));
        let best = result
            .silhouettes
            .iter()
            .map(|s| s.1)
            .fold(f64::MIN, f64::max);
        assert_eq!(
            result.silhouettes.iter().find(|s| s.1 == best).map(|s| s.0),
            Some(3)
        );
    }

    #[test]
    fn few_or_identical_buyers_make_one_cluster_and_none_make_none() {
        let same: Vec<CustomerRfm> = (0..50).map(|_| buyer(10, 2, 1_000)).collect();
        let result = cluster(&same, "EUR", ClusterSettings::default()).unwrap();
        assert_eq!(result.clusters.len(), 1);
        assert!(result.silhouettes.is_empty());
        assert!(
            result.clusters[0]
                .description
                .starts_with("average buyers: 50 customers")
        );
        let few: Vec<CustomerRfm> = (0..3).map(|i| buyer(i, 1, 100)).collect();
        assert_eq!(
            cluster(&few, "EUR", ClusterSettings::default())
                .unwrap()
                .clusters
                .len(),
            1
        );
        let none = cluster(&[], "EUR", ClusterSettings::default()).unwrap();
        assert!(none.clusters.is_empty() && none.assignment.is_empty());
    }
}

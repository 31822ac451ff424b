//! RFM: each customer's recency (days since the last purchase, as of the run's day), frequency
//! (days with purchases) and monetary value (the purchases' total, reporting currency), scored
//! 1 to 5 among the customers with purchases (`scores.rs`), and the named segment of its R and
//! F scores.
//!
//! Segments, by R score (rows) and F score, the grid the dashboard draws:
//!
//! | R \ F | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 5 | new | potential loyalist | potential loyalist | champion | champion |
//! | 4 | promising | potential loyalist | potential loyalist | loyal | loyal |
//! | 3 | about to sleep | about to sleep | needs attention | loyal | loyal |
//! | 2 | hibernating | hibernating | at risk | at risk | can't lose |
//! | 1 | lost | hibernating | at risk | at risk | can't lose |
//!
//! A customer without purchases (none, or none that count: see `input.rs`) has no scores and
//! the segment `no_purchases`; it takes no part in the others' scores.

use super::input::History;
use super::scores::quintile_scores;

/// A named RFM segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RfmSegment {
    Champion,
    Loyal,
    PotentialLoyalist,
    New,
    Promising,
    NeedsAttention,
    AboutToSleep,
    AtRisk,
    CantLose,
    Hibernating,
    Lost,
    NoPurchases,
}

impl RfmSegment {
    pub const ALL: [RfmSegment; 12] = [
        RfmSegment::Champion,
        RfmSegment::Loyal,
        RfmSegment::PotentialLoyalist,
        RfmSegment::New,
        RfmSegment::Promising,
        RfmSegment::NeedsAttention,
        RfmSegment::AboutToSleep,
        RfmSegment::AtRisk,
        RfmSegment::CantLose,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
        RfmSegment::NoPurchases,
    ];

    /// The stable name stored, sent to devices and filtered on.
    pub fn as_str(self) -> &'static str {
        match self {
            RfmSegment::Champion => "champion",
            RfmSegment::Loyal => "loyal",
            RfmSegment::PotentialLoyalist => "potential_loyalist",
            RfmSegment::New => "new",
            RfmSegment::Promising => "promising",
            RfmSegment::NeedsAttention => "needs_attention",
            RfmSegment::AboutToSleep => "about_to_sleep",
            RfmSegment::AtRisk => "at_risk",
            RfmSegment::CantLose => "cant_lose",
            RfmSegment::Hibernating => "hibernating",
            RfmSegment::Lost => "lost",
            RfmSegment::NoPurchases => "no_purchases",
        }
    }

    pub fn parse(name: &str) -> Option<RfmSegment> {
        RfmSegment::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The segment of an R and an F score (each 1 to 5; anything else reads as the nearest).
    pub fn of_scores(r: u8, f: u8) -> RfmSegment {
        let (r, f) = (r.clamp(1, 5), f.clamp(1, 5));
        match r {
            5 | 4 if f >= 4 => {
                if r == 5 {
                    RfmSegment::Champion
                } else {
                    RfmSegment::Loyal
                }
            }
            5 | 4 if f == 1 => {
                if r == 5 {
                    RfmSegment::New
                } else {
                    RfmSegment::Promising
                }
            }
            5 | 4 => RfmSegment::PotentialLoyalist,
            3 if f >= 4 => RfmSegment::Loyal,
            3 if f == 3 => RfmSegment::NeedsAttention,
            3 => RfmSegment::AboutToSleep,
            _ if f == 5 => RfmSegment::CantLose,
            _ if f >= 3 => RfmSegment::AtRisk,
            _ if r == 1 && f == 1 => RfmSegment::Lost,
            _ => RfmSegment::Hibernating,
        }
    }
}

/// A customer's RFM values and scores (`None` for a customer without purchases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfm {
    pub recency_days: i64,
    pub frequency: u64,
    pub monetary_minor: i64,
    pub r: u8,
    pub f: u8,
    pub m: u8,
}

/// One customer's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerRfm {
    pub values: Option<Rfm>,
    pub segment: RfmSegment,
}

/// Every customer's RFM, in the order of `histories`, as of `as_of_day` (days since
/// 1970-01-01; the histories hold no later purchase: `input::prepare` cut them there).
pub fn rfm(histories: &[History], as_of_day: i64) -> Vec<CustomerRfm> {
    let buyers: Vec<(usize, i64, i64, i64)> = histories
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let last = h.last_day()?;
            Some((
                i,
                (as_of_day - last).max(0),
                h.days.len() as i64,
                h.total_minor(),
            ))
        })
        .collect();
    let column = |pick: fn(&(usize, i64, i64, i64)) -> i64| -> Vec<i64> {
        buyers.iter().map(pick).collect()
    };
    let r = quintile_scores(&column(|b| b.1), false);
    let f = quintile_scores(&column(|b| b.2), true);
    let m = quintile_scores(&column(|b| b.3), true);
    let mut out = vec![
        CustomerRfm {
            values: None,
            segment: RfmSegment::NoPurchases,
        };
        histories.len()
    ];
    for (k, &(i, recency_days, frequency, monetary_minor)) in buyers.iter().enumerate() {
        out[i] = CustomerRfm {
            values: Some(Rfm {
                recency_days,
                frequency: frequency as u64,
                monetary_minor,
                r: r[k],
                f: f[k],
                m: m[k],
            }),
            segment: RfmSegment::of_scores(r[k], f[k]),
        };
    }
    out
}

/// Customer counts per R score (index 0 for R 1) and F score: the dashboard's heat map.
pub fn grid(results: &[CustomerRfm]) -> [[u64; 5]; 5] {
    let mut cells = [[0u64; 5]; 5];
    for values in results.iter().filter_map(|c| c.values) {
        cells[usize::from(values.r.clamp(1, 5) - 1)][usize::from(values.f.clamp(1, 5) - 1)] += 1;
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::input::PurchaseDay;

    fn history(id: &str, days: &[(i64, i64)]) -> History {
        History {
            customer_id: id.into(),
            days: days
                .iter()
                .map(|&(day, amount_minor)| PurchaseDay { day, amount_minor })
                .collect(),
        }
    }

    #[test]
    fn the_segment_table_covers_every_cell_as_documented() {
        let expected = [
            // R 1, F 1..5
            ["lost", "hibernating", "at_risk", "at_risk", "cant_lose"],
            [
                "hibernating",
                "hibernating",
                "at_risk",
                "at_risk",
                "cant_lose",
            ],
            [
                "about_to_sleep",
                "about_to_sleep",
                "needs_attention",
                "loyal",
                "loyal",
            ],
            [
                "promising",
                "potential_loyalist",
                "potential_loyalist",
                "loyal",
                "loyal",
            ],
            [
                "new",
                "potential_loyalist",
                "potential_loyalist",
                "champion",
                "champion",
            ],
        ];
        for r in 1..=5u8 {
            for f in 1..=5u8 {
                assert_eq!(
                    RfmSegment::of_scores(r, f).as_str(),
                    expected[usize::from(r - 1)][usize::from(f - 1)],
                    "R {r} F {f}"
                );
            }
        }
        for segment in RfmSegment::ALL {
            assert_eq!(RfmSegment::parse(segment.as_str()), Some(segment));
        }
    }

    #[test]
    fn five_customers_scored_by_hand() {
        // As of day 100. Recency 0, 10, 20, 50, 90; frequency 5, 4, 3, 2, 1; money likewise.
        let histories = vec![
            history(
                "a",
                &[(60, 100), (70, 100), (80, 100), (90, 100), (100, 100)],
            ),
            history("b", &[(60, 100), (70, 100), (80, 100), (90, 50)]),
            history("c", &[(60, 100), (70, 100), (80, 100)]),
            history("d", &[(40, 100), (50, 100)]),
            history("e", &[(10, 20)]),
            history("none", &[]),
        ];
        let results = rfm(&histories, 100);
        let scores: Vec<(u8, u8, u8)> = results
            .iter()
            .filter_map(|c| c.values.map(|v| (v.r, v.f, v.m)))
            .collect();
        assert_eq!(
            scores,
            vec![(5, 5, 5), (4, 4, 4), (3, 3, 3), (2, 2, 2), (1, 1, 1)]
        );
        let a = results[0].values.unwrap();
        assert_eq!((a.recency_days, a.frequency, a.monetary_minor), (0, 5, 500));
        let segments: Vec<&str> = results.iter().map(|c| c.segment.as_str()).collect();
        assert_eq!(
            segments,
            vec![
                "champion",
                "loyal",
                "needs_attention",
                "hibernating",
                "lost",
                "no_purchases"
            ]
        );
        let cells = grid(&results);
        assert_eq!(cells[4][4], 1);
        assert_eq!(cells[0][0], 1);
        assert_eq!(cells.iter().flatten().sum::<u64>(), 5);
    }

    #[test]
    fn everyone_buying_once_on_the_same_day_scores_the_middle() {
        let histories: Vec<History> = (0..4)
            .map(|i| history(&format!("c{i}"), &[(50, 1_000)]))
            .collect();
        for c in rfm(&histories, 80) {
            let v = c.values.unwrap();
            assert_eq!((v.r, v.f, v.m, v.recency_days), (3, 3, 3, 30));
            assert_eq!(c.segment, RfmSegment::NeedsAttention);
        }
        assert!(rfm(&[], 80).is_empty());
    }
}

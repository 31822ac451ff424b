//! ABC: customers ranked by revenue over a window (the `window_days` up to and including the
//! run's day), largest first; class A holds the customers that bring the first `a_share_bp` of
//! the revenue (in basis points: by default 8,000, 80 %), B the next `b_share_bp` (1,500), C the
//! rest; shares are compared exactly, in integers. A customer is in the class
//! where its revenue starts: the one that crosses 80 % is still A. Customers without revenue in
//! the window are C; so is everyone when the window holds no revenue. Equal revenues are ranked
//! by customer id, so a run is reproducible.

use thiserror::Error;

use super::input::History;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AbcClass {
    A,
    B,
    C,
}

impl AbcClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AbcClass::A => "A",
            AbcClass::B => "B",
            AbcClass::C => "C",
        }
    }

    pub fn parse(name: &str) -> Option<AbcClass> {
        match name {
            "A" | "a" => Some(AbcClass::A),
            "B" | "b" => Some(AbcClass::B),
            "C" | "c" => Some(AbcClass::C),
            _ => None,
        }
    }
}

/// The window and the class boundaries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbcSettings {
    pub window_days: u32,
    pub a_share_bp: u32,
    pub b_share_bp: u32,
}

impl Default for AbcSettings {
    fn default() -> Self {
        AbcSettings {
            window_days: 365,
            a_share_bp: 8_000,
            b_share_bp: 1_500,
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum AbcSettingsError {
    #[error("the ABC window must be 1 to 3660 days")]
    Window,
    #[error("the A and B shares must each be above 0 and together at most 10000 basis points")]
    Shares,
}

impl AbcSettings {
    pub fn validated(self) -> Result<Self, AbcSettingsError> {
        if !(1..=3_660).contains(&self.window_days) {
            return Err(AbcSettingsError::Window);
        }
        if self.a_share_bp == 0
            || self.b_share_bp == 0
            || u64::from(self.a_share_bp) + u64::from(self.b_share_bp) > 10_000
        {
            return Err(AbcSettingsError::Shares);
        }
        Ok(self)
    }
}

/// One customer's class and its revenue in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerAbc {
    pub class: AbcClass,
    pub revenue_minor: i64,
}

/// Per class: customers and revenue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassTotals {
    pub customers: u64,
    pub revenue_minor: i64,
}

/// A point of the Pareto curve: the share of customers (largest first) and the share of the
/// revenue they bring, both 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoPoint {
    pub customer_share: f64,
    pub revenue_share: f64,
}

/// Every customer's class (in the order of `histories`), the totals per class (A, B, C) and
/// the Pareto curve at most `curve_points` + 1 points long (from (0, 0) to (1, 1)).
#[derive(Debug, Clone, PartialEq)]
pub struct AbcResult {
    pub customers: Vec<CustomerAbc>,
    pub totals: [ClassTotals; 3],
    pub curve: Vec<ParetoPoint>,
}

/// The classes as of `as_of_day`.
pub fn abc(
    histories: &[History],
    as_of_day: i64,
    settings: AbcSettings,
    curve_points: usize,
) -> AbcResult {
    let first_day = as_of_day - i64::from(settings.window_days) + 1;
    let revenue: Vec<i64> = histories
        .iter()
        .map(|h| {
            h.days
                .iter()
                .filter(|d| d.day >= first_day && d.day <= as_of_day)
                .fold(0i64, |sum, d| sum.saturating_add(d.amount_minor))
        })
        .collect();
    let mut ranked: Vec<usize> = (0..histories.len()).collect();
    ranked.sort_unstable_by(|&x, &y| {
        revenue[y]
            .cmp(&revenue[x])
            .then_with(|| histories[x].customer_id.cmp(&histories[y].customer_id))
    });
    // Shares in i128 minor units against the total: exact, whatever the amounts.
    let total: i128 = revenue.iter().map(|&r| i128::from(r)).sum();
    let mut customers = vec![
        CustomerAbc {
            class: AbcClass::C,
            revenue_minor: 0,
        };
        histories.len()
    ];
    let mut totals = [ClassTotals::default(); 3];
    let mut before: i128 = 0;
    for &i in &ranked {
        // `before / total < share_bp / 10000`, exactly.
        let below = |share_bp: u32| before * 10_000 < total * i128::from(share_bp);
        let class = if revenue[i] <= 0 {
            AbcClass::C
        } else if below(settings.a_share_bp) {
            AbcClass::A
        } else if below(settings.a_share_bp.saturating_add(settings.b_share_bp)) {
            AbcClass::B
        } else {
            AbcClass::C
        };
        customers[i] = CustomerAbc {
            class,
            revenue_minor: revenue[i],
        };
        let slot = &mut totals[class as usize];
        slot.customers += 1;
        slot.revenue_minor = slot.revenue_minor.saturating_add(revenue[i]);
        before += i128::from(revenue[i]);
    }
    AbcResult {
        customers,
        totals,
        curve: pareto_curve(ranked.iter().map(|&i| revenue[i]), curve_points),
    }
}

/// The Pareto curve of revenues ranked largest first: at most `points` + 1 points from (0, 0)
/// to (1, 1), evenly spaced over the customers (all revenue shares 0 when there is none).
pub fn pareto_curve(
    ranked: impl ExactSizeIterator<Item = i64> + Clone,
    points: usize,
) -> Vec<ParetoPoint> {
    let n = ranked.len();
    let total: i128 = ranked.clone().map(i128::from).sum();
    let step = n.div_ceil(points.max(1)).max(1);
    let mut curve = vec![ParetoPoint {
        customer_share: 0.0,
        revenue_share: 0.0,
    }];
    let mut before: i128 = 0;
    for (rank, revenue) in ranked.enumerate() {
        before += i128::from(revenue);
        if (rank + 1) % step == 0 || rank + 1 == n {
            curve.push(ParetoPoint {
                customer_share: (rank + 1) as f64 / n as f64,
                revenue_share: if total > 0 {
                    before as f64 / total as f64
                } else {
                    0.0
                },
            });
        }
    }
    curve
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

    fn classes(result: &AbcResult) -> Vec<&'static str> {
        result.customers.iter().map(|c| c.class.as_str()).collect()
    }

    #[test]
    fn ten_customers_classed_by_hand() {
        // Revenues 500, 200, 100, 60, 50, 40, 30, 10, 10, 0 (total 1000). Shares before each:
        // 0, .5, .7, .8, .86, .91, .95, .98, .99: A A A B B B C C C, and C without revenue.
        let revenues = [500, 200, 100, 60, 50, 40, 30, 10, 10, 0];
        let histories: Vec<History> = revenues
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                if r == 0 {
                    history(&format!("c{i}"), &[])
                } else {
                    history(&format!("c{i}"), &[(100, r)])
                }
            })
            .collect();
        let result = abc(&histories, 100, AbcSettings::default(), 100);
        assert_eq!(
            classes(&result),
            vec!["A", "A", "A", "B", "B", "B", "C", "C", "C", "C"]
        );
        assert_eq!(
            result.totals,
            [
                ClassTotals {
                    customers: 3,
                    revenue_minor: 800
                },
                ClassTotals {
                    customers: 3,
                    revenue_minor: 150
                },
                ClassTotals {
                    customers: 4,
                    revenue_minor: 50
                },
            ]
        );
        assert_eq!(result.curve.len(), 11);
        let last = result.curve.last().unwrap();
        assert_eq!((last.customer_share, last.revenue_share), (1.0, 1.0));
        assert!((result.curve[1].revenue_share - 0.5).abs() < 1e-12);
    }

    #[test]
    fn only_the_window_counts_and_ties_rank_by_id() {
        let histories = vec![
            // Outside a 30-day window ending on day 100: no revenue.
            history("old", &[(60, 1_000)]),
            history("b", &[(71, 300)]),
            history("a", &[(100, 300)]),
        ];
        let settings = AbcSettings {
            window_days: 30,
            ..AbcSettings::default()
        };
        let result = abc(&histories, 100, settings, 10);
        // a and b tie; a ranks first (share before 0: A), b starts at 50 %: A too.
        assert_eq!(classes(&result), vec!["C", "A", "A"]);
        assert_eq!(result.customers[0].revenue_minor, 0);
    }

    #[test]
    fn no_revenue_at_all_is_all_c_and_the_curve_stays_finite() {
        let histories = vec![history("a", &[]), history("b", &[])];
        let result = abc(&histories, 100, AbcSettings::default(), 10);
        assert_eq!(classes(&result), vec!["C", "C"]);
        assert!(
            result
                .curve
                .iter()
                .all(|p| p.customer_share.is_finite() && p.revenue_share.is_finite())
        );
        assert_eq!(abc(&[], 100, AbcSettings::default(), 10).curve.len(), 1);
    }

    #[test]
    fn settings_are_checked() {
        assert!(AbcSettings::default().validated().is_ok());
        let bad = |a_share_bp, b_share_bp, window_days| {
            AbcSettings {
                window_days,
                a_share_bp,
                b_share_bp,
            }
            .validated()
        };
        assert_eq!(bad(8_000, 1_500, 0), Err(AbcSettingsError::Window));
        assert_eq!(bad(9_000, 2_000, 365), Err(AbcSettingsError::Shares));
        assert_eq!(bad(u32::MAX, 2, 365), Err(AbcSettingsError::Shares));
        assert_eq!(bad(0, 1_000, 365), Err(AbcSettingsError::Shares));
        assert!(bad(9_000, 1_000, 365).is_ok());
    }
}

//! Churn risk: who is drifting away, from two signals.
//!
//! - **P(alive)** from BG/NBD: the model's probability that the customer is still buying.
//! - **Overdue**: the gap since the last purchase day measured against the customer's own
//!   typical interval, the median gap between their consecutive purchase days. Up to one
//!   typical interval the customer is on time (overdue 0); overdue grows linearly to 1 at
//!   [`ChurnRule::overdue_full_at`] intervals (default 3) and stays there.
//!
//! **The rule**: score = max(1 - P(alive), overdue), in [0, 1], so either signal alone can
//! raise the risk; level High from [`ChurnRule::high_from`] (0.7), Medium from
//! [`ChurnRule::medium_from`] (0.4), Low below. Without a P(alive) (the fit failed and no
//! earlier parameters exist) the score is the overdue part alone.
//!
//! **Customers with one purchase** have no interval of their own: theirs is the population's
//! typical interval (the median of the customers' own typical intervals), and P(alive) is 1 for
//! them by BG/NBD's construction, so their score is the overdue part; if no customer has two
//! purchase days there is no interval and no risk is reported (`None`). **Customers without
//! purchases** have no risk (`None`): they have not become customers to lose yet.

use thiserror::Error;

use super::input::History;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChurnLevel {
    Low,
    Medium,
    High,
}

impl ChurnLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ChurnLevel::Low => "low",
            ChurnLevel::Medium => "medium",
            ChurnLevel::High => "high",
        }
    }
}

/// Whose typical interval the gap was measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalBasis {
    /// The customer's own (two purchase days or more).
    Own,
    /// The population's (a customer with one purchase).
    Population,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChurnRisk {
    pub level: ChurnLevel,
    /// In [0, 1].
    pub score: f64,
    /// Days since the last purchase day.
    pub gap_days: i64,
    pub typical_interval_days: f64,
    pub basis: IntervalBasis,
}

/// The thresholds of the rule (module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChurnRule {
    /// Typical intervals of gap at which overdue reaches 1 (above 1).
    pub overdue_full_at: f64,
    pub medium_from: f64,
    pub high_from: f64,
}

impl Default for ChurnRule {
    fn default() -> Self {
        Self {
            overdue_full_at: 3.0,
            medium_from: 0.4,
            high_from: 0.7,
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum ChurnError {
    #[error("customer {customer} has a purchase after the as-of day")]
    PurchaseAfterAsOf { customer: String },
    #[error("P(alive) must be a probability")]
    BadProbability,
    #[error("the churn rule needs overdue_full_at > 1 and 0 <= medium_from <= high_from <= 1")]
    BadRule,
    #[error("the population interval must be finite and positive")]
    BadInterval,
}

/// The median gap in days between the customer's consecutive purchase days (`None` with fewer
/// than two purchase days).
pub fn typical_interval_days(history: &History) -> Option<f64> {
    let mut gaps: Vec<i64> = history
        .days
        .windows(2)
        .map(|w| w[1].day - w[0].day)
        .collect();
    median(&mut gaps)
}

/// The median of the customers' own typical intervals (`None` if nobody has one).
pub fn population_interval_days(histories: &[History]) -> Option<f64> {
    let mut intervals: Vec<f64> = histories.iter().filter_map(typical_interval_days).collect();
    intervals.sort_unstable_by(f64::total_cmp);
    let n = intervals.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(intervals[n / 2]),
        _ => Some((intervals[n / 2 - 1] + intervals[n / 2]) / 2.0),
    }
}

fn median(values: &mut [i64]) -> Option<f64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2] as f64),
        _ => Some((values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0),
    }
}

/// The customer's churn risk as of `as_of_day` (module docs), or `None` for a customer without
/// purchases or without any interval to measure against.
pub fn churn_risk(
    history: &History,
    as_of_day: i64,
    p_alive: Option<f64>,
    population_interval_days: Option<f64>,
    rule: &ChurnRule,
) -> Result<Option<ChurnRisk>, ChurnError> {
    let valid_rule = rule.overdue_full_at.is_finite()
        && rule.overdue_full_at > 1.0
        && (0.0..=1.0).contains(&rule.medium_from)
        && (rule.medium_from..=1.0).contains(&rule.high_from);
    if !valid_rule {
        return Err(ChurnError::BadRule);
    }
    if p_alive.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        return Err(ChurnError::BadProbability);
    }
    if population_interval_days.is_some_and(|i| !(i.is_finite() && i > 0.0)) {
        return Err(ChurnError::BadInterval);
    }
    let Some(last) = history.last_day() else {
        return Ok(None);
    };
    if last > as_of_day {
        return Err(ChurnError::PurchaseAfterAsOf {
            customer: history.customer_id.clone(),
        });
    }
    let (interval, basis) = match typical_interval_days(history) {
        Some(own) => (own, IntervalBasis::Own),
        None => match population_interval_days {
            Some(population) => (population, IntervalBasis::Population),
            None => return Ok(None),
        },
    };
    let gap_days = as_of_day - last;
    let intervals_late = gap_days as f64 / interval - 1.0;
    let overdue = (intervals_late / (rule.overdue_full_at - 1.0)).clamp(0.0, 1.0);
    let dropout = p_alive.map_or(0.0, |p| 1.0 - p);
    let score = overdue.max(dropout);
    let level = if score >= rule.high_from {
        ChurnLevel::High
    } else if score >= rule.medium_from {
        ChurnLevel::Medium
    } else {
        ChurnLevel::Low
    };
    Ok(Some(ChurnRisk {
        level,
        score,
        gap_days,
        typical_interval_days: interval,
        basis,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::input::PurchaseDay;

    fn history(days: &[i64]) -> History {
        History {
            customer_id: "c".into(),
            days: days
                .iter()
                .map(|&day| PurchaseDay {
                    day,
                    amount_minor: 100,
                })
                .collect(),
        }
    }

    fn risk(days: &[i64], as_of: i64, p_alive: Option<f64>, population: Option<f64>) -> ChurnRisk {
        churn_risk(
            &history(days),
            as_of,
            p_alive,
            population,
            &ChurnRule::default(),
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn typical_interval_is_the_median_gap() {
        // Gaps 10, 30, 20: median 20. Gaps 10, 30: 20 as well.
        assert_eq!(
            typical_interval_days(&history(&[0, 10, 40, 60])),
            Some(20.0)
        );
        assert_eq!(typical_interval_days(&history(&[0, 10, 40])), Some(20.0));
        assert_eq!(typical_interval_days(&history(&[5])), None);
        let all = [
            history(&[0, 10]),
            history(&[0, 30]),
            history(&[3]),
            history(&[0, 40]),
        ];
        assert_eq!(population_interval_days(&all), Some(30.0));
        assert_eq!(population_interval_days(&[history(&[3])]), None);
    }

    #[test]
    fn on_time_customers_are_low_and_overdue_ones_rise_to_high() {
        // Interval 20 days, last purchase day 60.
        let days = [0, 20, 40, 60];
        // 20 days since: on time.
        let on_time = risk(&days, 80, Some(0.9), None);
        assert_eq!((on_time.level, on_time.gap_days), (ChurnLevel::Low, 20));
        assert!((on_time.score - 0.1).abs() < 1e-12);
        // 40 days since: one interval late, half way to 3 intervals: overdue 0.5.
        let late = risk(&days, 100, Some(0.9), None);
        assert_eq!(late.level, ChurnLevel::Medium);
        assert!((late.score - 0.5).abs() < 1e-12);
        // 60 days and more: overdue 1.
        let gone = risk(&days, 200, Some(0.9), None);
        assert_eq!((gone.level, gone.score), (ChurnLevel::High, 1.0));
        assert_eq!(gone.basis, IntervalBasis::Own);
    }

    #[test]
    fn a_low_p_alive_alone_raises_the_risk() {
        let days = [0, 20, 40, 60];
        let doubtful = risk(&days, 60, Some(0.25), None);
        assert_eq!(doubtful.level, ChurnLevel::High);
        assert!((doubtful.score - 0.75).abs() < 1e-12);
        // Without P(alive) (no fit), the overdue part alone.
        assert_eq!(risk(&days, 60, None, None).score, 0.0);
    }

    #[test]
    fn one_purchase_uses_the_population_interval_and_none_has_no_risk() {
        // Population interval 30 days; 75 days since the only purchase: 1.5 intervals late.
        let once = risk(&[10], 85, Some(1.0), Some(30.0));
        assert_eq!(once.basis, IntervalBasis::Population);
        assert!((once.score - 0.75).abs() < 1e-12);
        assert_eq!(once.level, ChurnLevel::High);
        let rule = ChurnRule::default();
        assert_eq!(
            churn_risk(&history(&[10]), 85, Some(1.0), None, &rule),
            Ok(None)
        );
        assert_eq!(
            churn_risk(&history(&[]), 85, None, Some(30.0), &rule),
            Ok(None)
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let rule = ChurnRule::default();
        let h = history(&[0, 10]);
        assert_eq!(
            churn_risk(&h, 20, Some(f64::NAN), None, &rule),
            Err(ChurnError::BadProbability)
        );
        assert_eq!(
            churn_risk(&h, 20, None, Some(0.0), &rule),
            Err(ChurnError::BadInterval)
        );
        assert!(matches!(
            churn_risk(&h, 5, None, None, &rule),
            Err(ChurnError::PurchaseAfterAsOf { .. })
        ));
        let bad_rule = ChurnRule {
            overdue_full_at: 1.0,
            ..rule
        };
        assert_eq!(
            churn_risk(&h, 20, None, None, &bad_rule),
            Err(ChurnError::BadRule)
        );
    }
}

//! Per-rep targets and attainment: which metrics there are, what a target may hold, and the
//! attainment and ranking as pure functions over a rep's actuals.

use std::collections::BTreeMap;

use serde::Serialize;

/// What a target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Check-ins in the period.
    Visits,
    /// Check-ins the server verified at the customer.
    VerifiedVisits,
    /// Order revenue per currency (minor units).
    Revenue,
    /// Customers the rep created that the server first stored in the period.
    NewCustomers,
    /// Deals the rep won (closed as won) in the period.
    DealsWon,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Visits,
        Metric::VerifiedVisits,
        Metric::Revenue,
        Metric::NewCustomers,
        Metric::DealsWon,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Metric::Visits => "visits",
            Metric::VerifiedVisits => "verified_visits",
            Metric::Revenue => "revenue",
            Metric::NewCustomers => "new_customers",
            Metric::DealsWon => "deals_won",
        }
    }

    pub fn parse(text: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// Only revenue is counted per currency.
    pub fn has_currency(&self) -> bool {
        *self == Metric::Revenue
    }
}

/// The largest target value accepted (counts, or minor units of revenue).
pub const MAX_TARGET: i64 = 1_000_000_000_000_000;

/// A target as stored: `currency` is `Some` exactly for revenue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub metric: Metric,
    pub currency: Option<String>,
    pub value: i64,
}

/// Why a target is refused (the message names the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("metric must be one of visits, verified_visits, revenue, new_customers, deals_won")]
    Metric,
    #[error(
        "currency must be three upper-case letters (ISO 4217) for revenue, and absent otherwise"
    )]
    Currency,
    #[error("value must be a whole number from 0 to {MAX_TARGET}")]
    Value,
}

impl Target {
    pub fn new(metric: &str, currency: Option<&str>, value: i64) -> Result<Target, TargetError> {
        let metric = Metric::parse(metric).ok_or(TargetError::Metric)?;
        let currency = match (metric.has_currency(), currency) {
            (true, Some(c)) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => {
                Some(c.to_owned())
            }
            (false, None) => None,
            _ => return Err(TargetError::Currency),
        };
        if !(0..=MAX_TARGET).contains(&value) {
            return Err(TargetError::Value);
        }
        Ok(Target {
            metric,
            currency,
            value,
        })
    }
}

/// What a rep did in a period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepActuals {
    pub visits: i64,
    pub verified_visits: i64,
    pub new_customers: i64,
    pub deals_won: i64,
    /// Revenue per currency (net minor units of the rep's orders that count as revenue; a
    /// currency without orders is 0); `None` where it is not known, so a revenue target shows
    /// without an actual.
    pub revenue: Option<BTreeMap<String, i64>>,
}

impl RepActuals {
    /// The actual for a metric (`None`: not known, see [`RepActuals::revenue`]).
    pub fn actual(&self, metric: Metric, currency: Option<&str>) -> Option<i64> {
        match metric {
            Metric::Visits => Some(self.visits),
            Metric::VerifiedVisits => Some(self.verified_visits),
            Metric::NewCustomers => Some(self.new_customers),
            Metric::DealsWon => Some(self.deals_won),
            Metric::Revenue => self
                .revenue
                .as_ref()
                .map(|r| currency.and_then(|c| r.get(c)).copied().unwrap_or(0)),
        }
    }
}

/// One target against its actual.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Attainment {
    pub metric: Metric,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub target: i64,
    /// Absent when the server does not know it (see [`RepActuals::revenue`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<i64>,
    /// actual / target × 100; absent without an actual or for a target of 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
}

pub fn percent(actual: i64, target: i64) -> Option<f64> {
    (target > 0).then(|| (actual as f64 / target as f64 * 1000.0).round() / 10.0)
}

/// Every target against its actual, in metric order (revenue by currency).
pub fn attainment(targets: &[Target], actuals: &RepActuals) -> Vec<Attainment> {
    let mut out: Vec<Attainment> = targets
        .iter()
        .map(|t| {
            let actual = actuals.actual(t.metric, t.currency.as_deref());
            Attainment {
                metric: t.metric,
                currency: t.currency.clone(),
                target: t.value,
                actual,
                percent: actual.and_then(|a| percent(a, t.value)),
            }
        })
        .collect();
    out.sort_by(|a, b| (a.metric, &a.currency).cmp(&(b.metric, &b.currency)));
    out
}

/// A rep's place in a ranking.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Ranked {
    /// 1 for the best; reps with equal attainment share a rank. Absent for reps without a
    /// target or without a known actual, listed after the others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    pub rep_id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
}

/// Reps side by side on one metric: by attainment (percent), then actual, then name.
pub fn ranking(reps: Vec<(String, String, Option<i64>, Option<i64>)>) -> Vec<Ranked> {
    let mut rows: Vec<Ranked> = reps
        .into_iter()
        .map(|(rep_id, username, target, actual)| Ranked {
            rank: None,
            rep_id,
            username,
            target,
            actual,
            percent: match (actual, target) {
                (Some(a), Some(t)) => percent(a, t),
                _ => None,
            },
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &Ranked| (r.percent.is_none(), r.percent.map(|p| -p));
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(b.actual.cmp(&a.actual))
            .then(a.username.cmp(&b.username))
    });
    let mut previous: Option<(f64, u32)> = None;
    for (index, row) in rows.iter_mut().enumerate() {
        if let Some(p) = row.percent {
            let rank = match previous {
                Some((q, rank)) if q == p => rank,
                _ => index as u32 + 1,
            };
            row.rank = Some(rank);
            previous = Some((p, rank));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_validated() {
        assert!(Target::new("visits", None, 40).is_ok());
        assert_eq!(
            Target::new("revenue", Some("EUR"), 1)
                .unwrap()
                .currency
                .as_deref(),
            Some("EUR")
        );
        assert_eq!(Target::new("calls", None, 1), Err(TargetError::Metric));
        assert_eq!(Target::new("revenue", None, 1), Err(TargetError::Currency));
        assert_eq!(
            Target::new("revenue", Some("eur"), 1),
            Err(TargetError::Currency)
        );
        assert_eq!(
            Target::new("visits", Some("EUR"), 1),
            Err(TargetError::Currency)
        );
        assert_eq!(Target::new("visits", None, -1), Err(TargetError::Value));
        assert_eq!(
            Target::new("visits", None, MAX_TARGET + 1),
            Err(TargetError::Value)
        );
    }

    #[test]
    fn attainment_is_actual_over_target_and_revenue_waits_for_its_actuals() {
        let targets = [
            Target::new("revenue", Some("EUR"), 100_000).unwrap(),
            Target::new("visits", None, 40).unwrap(),
            Target::new("deals_won", None, 0).unwrap(),
        ];
        let actuals = RepActuals {
            visits: 30,
            deals_won: 2,
            ..Default::default()
        };
        let rows = attainment(&targets, &actuals);
        assert_eq!(rows[0].metric, Metric::Visits);
        assert_eq!((rows[0].actual, rows[0].percent), (Some(30), Some(75.0)));
        assert_eq!(rows[1].metric, Metric::Revenue);
        assert_eq!((rows[1].actual, rows[1].percent), (None, None));
        assert_eq!((rows[2].actual, rows[2].percent), (Some(2), None));
        let json = serde_json::to_value(&rows[1]).unwrap();
        assert!(json.get("actual").is_none(), "{json}");
        // With the order facts' revenue, it has its actual.
        let with_orders = RepActuals {
            revenue: Some(BTreeMap::from([("EUR".to_owned(), 50_000)])),
            ..actuals
        };
        let rows = attainment(&targets, &with_orders);
        assert_eq!(rows[1].percent, Some(50.0));
    }

    #[test]
    fn the_ranking_puts_the_best_attainment_first_and_shares_ties() {
        let ranked = ranking(vec![
            ("1".into(), "ana".into(), Some(10), Some(5)),
            ("2".into(), "bo".into(), Some(10), Some(10)),
            ("3".into(), "cy".into(), None, Some(99)),
            ("4".into(), "di".into(), Some(20), Some(10)),
            ("5".into(), "ed".into(), Some(4), Some(8)),
        ]);
        let order: Vec<(&str, Option<u32>)> = ranked
            .iter()
            .map(|r| (r.username.as_str(), r.rank))
            .collect();
        assert_eq!(
            order,
            [
                ("ed", Some(1)),
                ("bo", Some(2)),
                ("di", Some(3)),
                ("ana", Some(3)),
                ("cy", None)
            ]
        );
    }
}

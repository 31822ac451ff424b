//! A campaign's segment filter: which customers it aims at. Every condition given must hold
//! (an empty list or an absent value does not filter); a list matches any of its values.
//! Pure: the storage reads each candidate's facts ([`Candidate`]) and this decides.

use serde::{Deserialize, Serialize};

use crate::analytics::abc::AbcClass;
use crate::analytics::rfm::RfmSegment;
use fieldcrm_core::{DAY_MS, Millis};

/// Values one list of a filter may hold.
pub const MAX_FILTER_VALUES: usize = 50;
/// The longest look-back a visit condition may name, in days (10 years).
pub const MAX_FILTER_DAYS: u32 = 3_650;
const MAX_ID_LEN: usize = 100;
const CHURN_LEVELS: [&str; 3] = ["low", "medium", "high"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentFilter {
    /// RFM segments by name (`champion`, `at_risk`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    /// ABC classes (`A`, `B`, `C`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abc_classes: Vec<String>,
    /// Churn-risk levels (`low`, `medium`, `high`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub churn_levels: Vec<String>,
    /// Territory ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub territories: Vec<String>,
    /// Grades as set on the customer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<String>,
    /// Only customers without a completed visit in the last N days (never visited included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_visited_days: Option<u32>,
    /// Only customers with a completed visit in the last N days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visited_within_days: Option<u32>,
    /// Only customers who bought this product (a product id), ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bought_product: Option<String>,
    /// Only customers who never bought this product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_bought_product: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("{field}: at most {MAX_FILTER_VALUES} values")]
    TooMany { field: &'static str },
    #[error("{field}: unknown value {value:?}")]
    Unknown { field: &'static str, value: String },
    #[error("{field}: at most {MAX_FILTER_DAYS} days")]
    TooManyDays { field: &'static str },
    #[error("{field}: an id is 1 to {MAX_ID_LEN} characters")]
    BadId { field: &'static str },
}

/// What the filter reads of one customer in the campaign creator's sight.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    pub customer_id: String,
    pub territory_id: Option<String>,
    pub grade: Option<String>,
    /// The current analytics run's results; `None` before any run or for a customer the run
    /// did not see.
    pub segment: Option<String>,
    pub abc_class: Option<String>,
    pub churn_level: Option<String>,
    /// The check-in of the latest completed visit.
    pub last_visit_at: Option<Millis>,
    /// Whether the customer bought the filter's `bought_product` / `not_bought_product`.
    pub bought_product: bool,
    pub bought_excluded_product: bool,
}

fn check_list(
    field: &'static str,
    values: &[String],
    known: impl Fn(&str) -> bool,
) -> Result<(), FilterError> {
    if values.len() > MAX_FILTER_VALUES {
        return Err(FilterError::TooMany { field });
    }
    match values.iter().find(|v| !known(v)) {
        Some(value) => Err(FilterError::Unknown {
            field,
            value: value.clone(),
        }),
        None => Ok(()),
    }
}

fn is_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_ID_LEN
}

fn check_days(field: &'static str, days: Option<u32>) -> Result<(), FilterError> {
    match days {
        Some(d) if d > MAX_FILTER_DAYS => Err(FilterError::TooManyDays { field }),
        _ => Ok(()),
    }
}

fn check_id(field: &'static str, id: Option<&str>) -> Result<(), FilterError> {
    match id {
        Some(id) if !is_id(id) => Err(FilterError::BadId { field }),
        _ => Ok(()),
    }
}

impl SegmentFilter {
    /// Checks every value is one the filter knows, and the sizes.
    pub fn validate(&self) -> Result<(), FilterError> {
        check_list("segments", &self.segments, |s| {
            RfmSegment::parse(s).is_some()
        })?;
        check_list("abc_classes", &self.abc_classes, |c| {
            AbcClass::parse(c).is_some()
        })?;
        check_list("churn_levels", &self.churn_levels, |l| {
            CHURN_LEVELS.contains(&l)
        })?;
        check_list("territories", &self.territories, is_id)?;
        check_list("grades", &self.grades, |g| g.len() <= MAX_ID_LEN)?;
        check_days("not_visited_days", self.not_visited_days)?;
        check_days("visited_within_days", self.visited_within_days)?;
        check_id("bought_product", self.bought_product.as_deref())?;
        check_id("not_bought_product", self.not_bought_product.as_deref())
    }

    /// Whether the filter reads the analytics results (and so needs a run).
    pub fn needs_analytics(&self) -> bool {
        !(self.segments.is_empty() && self.abc_classes.is_empty() && self.churn_levels.is_empty())
    }

    /// Whether `candidate` is a target at `now`.
    pub fn matches(&self, candidate: &Candidate, now: Millis) -> bool {
        fn any_of(values: &[String], value: Option<&str>) -> bool {
            values.is_empty() || value.is_some_and(|v| values.iter().any(|x| x == v))
        }
        let visited_within = |days: u32| {
            candidate
                .last_visit_at
                .is_some_and(|at| at > now.saturating_sub(i64::from(days) * DAY_MS))
        };
        any_of(&self.segments, candidate.segment.as_deref())
            && any_of(&self.abc_classes, candidate.abc_class.as_deref())
            && any_of(&self.churn_levels, candidate.churn_level.as_deref())
            && any_of(&self.territories, candidate.territory_id.as_deref())
            && any_of(&self.grades, candidate.grade.as_deref())
            && self.not_visited_days.is_none_or(|d| !visited_within(d))
            && self.visited_within_days.is_none_or(visited_within)
            && (self.bought_product.is_none() || candidate.bought_product)
            && (self.not_bought_product.is_none() || !candidate.bought_excluded_product)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    fn candidate() -> Candidate {
        Candidate {
            customer_id: "c1".into(),
            territory_id: Some("north".into()),
            grade: Some("A".into()),
            segment: Some("at_risk".into()),
            abc_class: Some("A".into()),
            churn_level: Some("high".into()),
            last_visit_at: Some(NOW - 40 * DAY_MS),
            bought_product: true,
            bought_excluded_product: false,
        }
    }

    #[test]
    fn an_empty_filter_takes_everyone() {
        assert!(SegmentFilter::default().matches(&candidate(), NOW));
        assert!(SegmentFilter::default().matches(&Candidate::default(), NOW));
    }

    #[test]
    fn a_list_matches_any_of_its_values_and_every_condition_must_hold() {
        let filter = SegmentFilter {
            segments: vec!["champion".into(), "at_risk".into()],
            abc_classes: vec!["A".into()],
            ..SegmentFilter::default()
        };
        assert!(filter.matches(&candidate(), NOW));
        let b = Candidate {
            abc_class: Some("B".into()),
            ..candidate()
        };
        assert!(!filter.matches(&b, NOW));
        // Without a result, a segment condition does not hold.
        let unknown = Candidate {
            segment: None,
            ..candidate()
        };
        assert!(!filter.matches(&unknown, NOW));
    }

    #[test]
    fn visit_conditions_count_days_back_from_now() {
        let stale = SegmentFilter {
            not_visited_days: Some(30),
            ..SegmentFilter::default()
        };
        assert!(stale.matches(&candidate(), NOW), "visited 40 days ago");
        let never = Candidate {
            last_visit_at: None,
            ..candidate()
        };
        assert!(stale.matches(&never, NOW), "never visited");
        let recent = SegmentFilter {
            visited_within_days: Some(30),
            ..SegmentFilter::default()
        };
        assert!(!recent.matches(&candidate(), NOW));
        assert!(!recent.matches(&never, NOW));
        let fresh = Candidate {
            last_visit_at: Some(NOW - 2 * DAY_MS),
            ..candidate()
        };
        assert!(recent.matches(&fresh, NOW));
        assert!(!stale.matches(&fresh, NOW));
    }

    #[test]
    fn product_conditions_read_the_candidate_flags() {
        let bought = SegmentFilter {
            bought_product: Some("p1".into()),
            ..SegmentFilter::default()
        };
        let not_bought = SegmentFilter {
            not_bought_product: Some("p2".into()),
            ..SegmentFilter::default()
        };
        assert!(bought.matches(&candidate(), NOW));
        assert!(not_bought.matches(&candidate(), NOW));
        let other = Candidate {
            bought_product: false,
            bought_excluded_product: true,
            ..candidate()
        };
        assert!(!bought.matches(&other, NOW));
        assert!(!not_bought.matches(&other, NOW));
    }

    #[test]
    fn validation_names_the_field_and_value() {
        let bad = SegmentFilter {
            segments: vec!["vip".into()],
            ..SegmentFilter::default()
        };
        assert_eq!(
            bad.validate(),
            Err(FilterError::Unknown {
                field: "segments",
                value: "vip".into()
            })
        );
        let days = SegmentFilter {
            not_visited_days: Some(MAX_FILTER_DAYS + 1),
            ..SegmentFilter::default()
        };
        assert!(matches!(
            days.validate(),
            Err(FilterError::TooManyDays { .. })
        ));
        let many = SegmentFilter {
            territories: vec!["t".into(); MAX_FILTER_VALUES + 1],
            ..SegmentFilter::default()
        };
        assert!(matches!(many.validate(), Err(FilterError::TooMany { .. })));
        let ok = SegmentFilter {
            segments: vec!["lost".into()],
            abc_classes: vec!["C".into()],
            churn_levels: vec!["medium".into()],
            bought_product: Some("p".into()),
            ..SegmentFilter::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        assert!(ok.needs_analytics());
        assert!(!SegmentFilter::default().needs_analytics());
    }
}

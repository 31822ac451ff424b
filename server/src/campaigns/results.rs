//! A campaign's results, from what each frozen target did in the campaign's period:
//! - **reached**: a treated target whose action (its task or planned visit) was completed;
//! - **converted**: a target with at least one order that counts as revenue, taken in the
//!   period (treated and control alike);
//! - **revenue**: the net value of those orders in the campaign's currency.
//!
//! With a control group, the campaign is credited only with the revenue above what the
//! treated targets would have brought at the control group's revenue per customer
//! (`incremental = treated revenue − control revenue per customer × treated targets`); without
//! one, with all of the treated targets' revenue (`attributed`, an upper bound). The return on
//! spend is `(credited revenue − cost) / cost`, and unknown for a campaign that cost nothing.

use serde::Serialize;

/// What one target did in the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetOutcome {
    pub control: bool,
    pub reached: bool,
    /// Revenue orders in the period.
    pub orders: u64,
    pub revenue_minor: i64,
}

/// How the credited revenue was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    ControlGroup,
    Attributed,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CampaignResults {
    pub treated: u64,
    pub control: u64,
    pub reached: u64,
    pub converted: u64,
    pub control_converted: u64,
    pub revenue_minor: i64,
    pub control_revenue_minor: i64,
    /// Shares of their group, 0 to 1; `None` for an empty group.
    pub conversion_rate: Option<f64>,
    pub control_conversion_rate: Option<f64>,
    pub credited_revenue_minor: f64,
    pub cost_minor: i64,
    pub return_on_spend: Option<f64>,
    pub basis: Basis,
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Sums the targets' outcomes into the campaign's results.
pub fn campaign_results(outcomes: &[TargetOutcome], cost_minor: i64) -> CampaignResults {
    let (mut treated, mut control, mut reached, mut converted, mut control_converted) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut revenue, mut control_revenue) = (0i64, 0i64);
    for o in outcomes {
        if o.control {
            control += 1;
            control_converted += u64::from(o.orders > 0);
            control_revenue = control_revenue.saturating_add(o.revenue_minor);
        } else {
            treated += 1;
            reached += u64::from(o.reached);
            converted += u64::from(o.orders > 0);
            revenue = revenue.saturating_add(o.revenue_minor);
        }
    }
    let (basis, credited) = if control > 0 {
        let baseline = control_revenue as f64 / control as f64 * treated as f64;
        (Basis::ControlGroup, revenue as f64 - baseline)
    } else {
        (Basis::Attributed, revenue as f64)
    };
    CampaignResults {
        treated,
        control,
        reached,
        converted,
        control_converted,
        revenue_minor: revenue,
        control_revenue_minor: control_revenue,
        conversion_rate: share(converted, treated),
        control_conversion_rate: share(control_converted, control),
        credited_revenue_minor: credited,
        cost_minor,
        return_on_spend: (cost_minor > 0)
            .then(|| (credited - cost_minor as f64) / cost_minor as f64),
        basis,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(control: bool, reached: bool, orders: u64, revenue: i64) -> TargetOutcome {
        TargetOutcome {
            control,
            reached,
            orders,
            revenue_minor: revenue,
        }
    }

    #[test]
    fn a_control_group_credits_only_the_lift() {
        // 4 treated: 3 reached, 2 converted for 10,000 + 6,000.
        // 2 in control: 1 converted for 4,000 → 2,000 a customer, 8,000 for 4 customers.
        let outcomes = [
            outcome(false, true, 1, 10_000),
            outcome(false, true, 2, 6_000),
            outcome(false, true, 0, 0),
            outcome(false, false, 0, 0),
            outcome(true, false, 1, 4_000),
            outcome(true, false, 0, 0),
        ];
        let r = campaign_results(&outcomes, 4_000);
        assert_eq!((r.treated, r.control, r.reached), (4, 2, 3));
        assert_eq!((r.converted, r.control_converted), (2, 1));
        assert_eq!((r.revenue_minor, r.control_revenue_minor), (16_000, 4_000));
        assert_eq!(r.conversion_rate, Some(0.5));
        assert_eq!(r.control_conversion_rate, Some(0.5));
        assert_eq!(r.credited_revenue_minor, 8_000.0);
        assert_eq!(r.return_on_spend, Some(1.0), "(8,000 - 4,000) / 4,000");
        assert_eq!(r.basis, Basis::ControlGroup);
    }

    #[test]
    fn without_a_control_group_all_revenue_is_attributed() {
        let outcomes = [outcome(false, true, 1, 3_000), outcome(false, false, 0, 0)];
        let r = campaign_results(&outcomes, 1_000);
        assert_eq!(r.basis, Basis::Attributed);
        assert_eq!(r.credited_revenue_minor, 3_000.0);
        assert_eq!(r.return_on_spend, Some(2.0));
        assert_eq!(r.control_conversion_rate, None);
    }

    #[test]
    fn a_free_or_empty_campaign_has_no_return() {
        let r = campaign_results(&[], 0);
        assert_eq!(r.return_on_spend, None);
        assert_eq!(r.conversion_rate, None);
        assert_eq!(r.credited_revenue_minor, 0.0);
        let r = campaign_results(&[outcome(false, false, 0, 0)], 500);
        assert_eq!(r.return_on_spend, Some(-1.0), "spent and nothing came back");
    }
}

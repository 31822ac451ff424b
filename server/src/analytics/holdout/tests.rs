use super::*;
use crate::analytics::bgnbd::tests::{RECOVERY_TRUTH, history, simulate};

#[test]
fn holdout_purchases_are_the_days_after_the_calibration_within_the_period() {
    let h = history(&[10, 12, 13, 17, 18]);
    // Calibration ends on day 12; five days: 13 to 17.
    assert_eq!(holdout_purchases(&h, 12, 5), 2);
    assert_eq!(holdout_purchases(&h, 12, 1), 1);
    assert_eq!(holdout_purchases(&h, 18, 30), 0);
    assert_eq!(holdout_purchases(&h, 0, 100), 5);
}

#[test]
fn the_comparison_sums_and_groups_by_calibration_frequency() {
    let rows = [
        (0, 0.5, 1),
        (0, 0.5, 0),
        (2, 1.0, 2),
        (9, 3.0, 1),
        (7, 1.0, 3),
    ];
    let c = compare(&rows);
    assert_eq!(c.customers, 5);
    assert!((c.predicted_total - 6.0).abs() < 1e-12);
    assert_eq!(c.actual_total, 7);
    // |0.5-1| + |0.5-0| + |1-2| + |3-1| + |1-3| = 6, over 5 customers.
    assert!((c.mean_absolute_error - 1.2).abs() < 1e-12);
    assert_eq!(c.by_frequency.len(), 8);
    let group = |x: usize| {
        let g = c.by_frequency[x];
        (
            g.repeat_purchases,
            g.customers,
            g.mean_predicted,
            g.mean_actual,
        )
    };
    assert_eq!(group(0), (0, 2, 0.5, 0.5));
    assert_eq!(group(1), (1, 0, 0.0, 0.0));
    assert_eq!(group(2), (2, 1, 1.0, 2.0));
    // 7 and 9 are both "7+".
    assert_eq!(group(7), (7, 2, 2.0, 2.0));
    let empty = compare(&[]);
    assert_eq!((empty.customers, empty.mean_absolute_error), (0, 0.0));
}

fn order(customer: &str, day: i64, currency: &str) -> OrderRow {
    OrderRow {
        order_id: format!("{customer}-{day}"),
        customer_id: customer.into(),
        ordered_at: day * DAY_MS + 3_600_000,
        currency: currency.into(),
        net_minor: 1_000,
    }
}

/// Customers simulated from known BG/NBD parameters and observed to day `END`, calibrated 26
/// weeks before it: a model that is right predicts the holdout's purchases.
#[test]
fn predictions_from_a_right_model_match_the_holdout_period() {
    const END: i64 = 20_000;
    let simulated = simulate(&RECOVERY_TRUTH, (6.25, 3.74, 15.44), 5_000, 7);
    let mut customers = Vec::new();
    let mut orders = Vec::new();
    for (i, c) in simulated.iter().enumerate() {
        let id = format!("c{i}");
        let first = END - (c.summary.t * DAYS_PER_WEEK).round() as i64;
        orders.push(order(&id, first, "EUR"));
        for weeks in &c.repeat_times {
            orders.push(order(
                &id,
                first + (weeks * DAYS_PER_WEEK).round() as i64,
                "EUR",
            ));
        }
        customers.push(id);
    }
    let calibration_end = END - 182;
    // Not in the cohort: a first purchase in the holdout period, or only in another currency.
    customers.push("late".into());
    orders.push(order("late", calibration_end + 3, "EUR"));
    customers.push("swiss".into());
    orders.push(order("swiss", calibration_end - 30, "CHF"));

    let report = holdout(
        &customers,
        &orders,
        "EUR",
        (calibration_end + 1) * DAY_MS - 1,
        182,
        MleOptions::default(),
    )
    .unwrap();
    assert_eq!(report.calibration_end_day, calibration_end);
    let c = &report.comparison;
    assert_eq!(c.customers + report.prediction_failures, 5_000);
    let actual = c.actual_total as f64;
    assert!(actual > 1_000.0, "{c:?}");
    assert!(
        (c.predicted_total - actual).abs() / actual < 0.1,
        "predicted {} actual {actual}",
        c.predicted_total
    );
    assert!(c.mean_absolute_error > 0.0 && c.mean_absolute_error.is_finite());
    assert_eq!(
        c.by_frequency.iter().map(|g| g.customers).sum::<u64>(),
        c.customers
    );
    // More calibration purchases, more holdout purchases: predicted and actual alike.
    let (low, high) = (c.by_frequency[0], c.by_frequency[TOP_GROUP as usize]);
    assert!(high.mean_actual > low.mean_actual && high.mean_predicted > low.mean_predicted);

    assert!(matches!(
        holdout(&customers, &orders, "EUR", 0, 0, MleOptions::default()),
        Err(HoldoutError::BadDays)
    ));
    // Nobody bought before the calibration's end: nothing to fit.
    assert!(matches!(
        holdout(&customers, &orders, "EUR", 0, 30, MleOptions::default()),
        Err(HoldoutError::Fit(BgNbdError::NoCustomers))
    ));
}

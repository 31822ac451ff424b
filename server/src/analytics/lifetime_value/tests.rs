use super::*;
use crate::analytics::bgnbd::tests::{RECOVERY_TRUTH, simulate};
use crate::analytics::churn::ChurnLevel;
use crate::analytics::input::{OrderRow, PurchaseDay, prepare};
use fieldcrm_core::DAY_MS;

const AS_OF: i64 = 20_000;

/// Simulated customers as purchase histories in days up to `AS_OF` (purchases on one day
/// merged, as `input::prepare` does), plus `silent` customers without purchases.
fn simulated_histories(customers: usize, silent: usize) -> Vec<History> {
    let mut histories: Vec<History> = simulate(&RECOVERY_TRUTH, (6.25, 3.74, 15.44), customers, 7)
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let first = AS_OF - (c.summary.t * 7.0).floor() as i64;
            let minor = |amount: f64| ((amount * 100.0).round() as i64).max(1);
            let mut days = vec![PurchaseDay {
                day: first,
                amount_minor: 3_500,
            }];
            for (t, amount) in c.repeat_times.iter().zip(&c.repeat_amounts) {
                let day = first + (t * 7.0).floor() as i64;
                match days.last_mut() {
                    Some(last) if last.day == day => last.amount_minor += minor(*amount),
                    _ => days.push(PurchaseDay {
                        day,
                        amount_minor: minor(*amount),
                    }),
                }
            }
            History {
                customer_id: format!("c{i}"),
                days,
            }
        })
        .collect();
    histories.extend((0..silent).map(|i| History {
        customer_id: format!("silent{i}"),
        days: Vec::new(),
    }));
    histories
}

#[test]
fn every_customer_gets_finite_results_and_the_fits_are_reported() {
    let histories = simulated_histories(5_000, 50);
    let started = std::time::Instant::now();
    let values = lifetime_values(&histories, AS_OF, &LifetimeOptions::default()).unwrap();
    println!(
        "lifetime values for {} customers: {:?} (debug build)",
        histories.len(),
        started.elapsed()
    );
    let bg = values.bgnbd.as_ref().unwrap();
    let gg = values.gamma_gamma.as_ref().unwrap();
    assert!(bg.converged && gg.converged);
    assert_eq!(bg.customers, 5_000);
    assert!(bg.log_likelihood.is_finite() && gg.log_likelihood.is_finite());
    assert_eq!(values.bgnbd_used, Some(bg.params));
    assert_eq!(values.gamma_gamma_used, Some(gg.params));
    assert_eq!(values.prediction_failures, 0);
    assert_eq!(values.customers.len(), histories.len());
    for (row, history) in values.customers.iter().zip(&histories) {
        assert_eq!(row.customer_id, history.customer_id);
        if history.days.is_empty() {
            assert_eq!(
                (
                    row.expected_purchases_90d,
                    row.p_alive,
                    row.clv_12m_minor,
                    row.churn
                ),
                (None, None, None, None)
            );
            continue;
        }
        let e = row.expected_purchases_90d.unwrap();
        let p = row.p_alive.unwrap();
        let spend = row.expected_spend_minor.unwrap();
        let clv = row.clv_12m_minor.unwrap();
        assert!(e.is_finite() && e >= 0.0);
        assert!((0.0..=1.0).contains(&p));
        assert!(spend.is_finite() && spend > 0.0);
        assert!(clv.is_finite() && clv >= 0.0);
        let churn = row.churn.unwrap();
        assert!((0.0..=1.0).contains(&churn.score));
    }
    // Some of each churn level in a realistic base.
    for level in [ChurnLevel::Low, ChurnLevel::Medium, ChurnLevel::High] {
        assert!(
            values
                .customers
                .iter()
                .any(|c| c.churn.map(|r| r.level) == Some(level))
        );
    }
}

#[test]
fn a_fit_that_does_not_converge_falls_back_to_the_previous_parameters() {
    let histories = simulated_histories(500, 0);
    let mut options = LifetimeOptions::default();
    options.fit.max_iterations = 3;
    let values = lifetime_values(&histories, AS_OF, &options).unwrap();
    assert!(!values.bgnbd.as_ref().unwrap().converged);
    assert!(!values.gamma_gamma.as_ref().unwrap().converged);
    // No earlier parameters: no predictions from an unfinished search.
    assert_eq!((values.bgnbd_used, values.gamma_gamma_used), (None, None));
    assert!(
        values
            .customers
            .iter()
            .all(|c| c.expected_purchases_90d.is_none()
                && c.p_alive.is_none()
                && c.clv_12m_minor.is_none())
    );
    // Churn still reports the overdue part.
    assert!(values.customers.iter().any(|c| c.churn.is_some()));

    options.previous = PreviousParams {
        bgnbd: Some(RECOVERY_TRUTH),
        gamma_gamma: Some(GammaGammaParams {
            p: 6.25,
            q: 3.74,
            gamma: 1_544.0,
        }),
    };
    let values = lifetime_values(&histories, AS_OF, &options).unwrap();
    assert_eq!(values.bgnbd_used, Some(RECOVERY_TRUTH));
    assert!(values.customers.iter().all(|c| c.clv_12m_minor.is_some()));
}

/// Amounts drawn alike for everyone (uniform, not Gamma-Gamma's story): a parameter runs to
/// its bound, the fit says so, and the predictions are the limit's, within the amounts' range.
#[test]
fn spends_without_heterogeneity_end_at_the_bound_and_still_predict() {
    let mut histories = simulated_histories(3_000, 0);
    let mut state = 12_345u64;
    for h in &mut histories {
        for d in &mut h.days {
            // A small LCG: amounts uniform in [2,000, 4,000) whoever buys.
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            d.amount_minor = 2_000 + (state >> 33) as i64 % 2_000;
        }
    }
    let values = lifetime_values(&histories, AS_OF, &LifetimeOptions::default()).unwrap();
    let gg = values.gamma_gamma.as_ref().unwrap();
    assert!(gg.converged && gg.at_bound, "{gg:?}");
    assert!(!values.bgnbd.as_ref().unwrap().at_bound);
    assert_eq!(values.prediction_failures, 0);
    for c in values
        .customers
        .iter()
        .filter_map(|c| c.expected_spend_minor)
    {
        assert!((2_000.0..4_000.0).contains(&c), "{c} {gg:?}");
    }
}

/// The awkward customers of issue 15 through `input::prepare`: none of them fails the run or
/// yields NaN.
#[test]
fn awkward_customers_have_their_defined_results() {
    let order = |customer: &str, day: i64, currency: &str, net: i64| OrderRow {
        order_id: format!("{customer}-{day}-{net}"),
        customer_id: customer.into(),
        ordered_at: day * DAY_MS + 1_000,
        currency: currency.into(),
        net_minor: net,
    };
    let mut histories = simulated_histories(300, 0);
    let names = ["never", "once", "one-day", "refunds", "mixed"];
    let customers: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let orders = vec![
        order("once", AS_OF - 40, "EUR", 2_000),
        order("one-day", AS_OF - 10, "EUR", 1_000),
        order("one-day", AS_OF - 10, "EUR", 500),
        order("refunds", AS_OF - 30, "EUR", 0),
        order("refunds", AS_OF - 20, "EUR", -700),
        order("mixed", AS_OF - 60, "EUR", 1_000),
        order("mixed", AS_OF - 30, "CHF", 1_000),
        order("mixed", AS_OF - 15, "EUR", 3_000),
    ];
    histories.extend(prepare(&customers, &orders, "EUR", AS_OF * DAY_MS + DAY_MS - 1).histories);
    let values = lifetime_values(&histories, AS_OF, &LifetimeOptions::default()).unwrap();
    assert_eq!(values.prediction_failures, 0);
    let row = |name: &str| {
        values
            .customers
            .iter()
            .find(|c| c.customer_id == name)
            .unwrap()
            .clone()
    };
    for silent in ["never", "refunds"] {
        let r = row(silent);
        assert_eq!((r.p_alive, r.clv_12m_minor, r.churn), (None, None, None));
    }
    for single in ["once", "one-day"] {
        let r = row(single);
        // One purchase: P(alive) 1, the population's mean spend, churn against the
        // population's interval.
        assert_eq!(r.p_alive, Some(1.0));
        assert!(r.clv_12m_minor.unwrap() > 0.0);
        assert_eq!(
            r.churn.unwrap().basis,
            crate::analytics::churn::IntervalBasis::Population
        );
    }
    let mixed = row("mixed");
    assert_eq!(mixed.churn.unwrap().typical_interval_days, 45.0);
    assert!(mixed.p_alive.unwrap() < 1.0);
}

#[test]
fn a_purchase_after_the_as_of_day_is_an_error() {
    let histories = vec![History {
        customer_id: "late".into(),
        days: vec![PurchaseDay {
            day: AS_OF + 1,
            amount_minor: 100,
        }],
    }];
    assert!(matches!(
        lifetime_values(&histories, AS_OF, &LifetimeOptions::default()),
        Err(LifetimeError::PurchaseAfterAsOf { .. })
    ));
}

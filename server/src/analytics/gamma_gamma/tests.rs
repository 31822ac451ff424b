use super::*;
use crate::analytics::bgnbd::NEXT_90_DAYS_WEEKS;
use crate::analytics::bgnbd::tests::{CDNOW, RECOVERY_TRUTH, simulate};
use crate::analytics::input::PurchaseDay;

/// CDNOW's Gamma-Gamma parameters as Fader & Hardie's note prints them.
const CDNOW_SPEND: GammaGammaParams = GammaGammaParams {
    p: 6.25,
    q: 3.74,
    gamma: 15.44,
};

fn spend(x: u32, mean_minor: f64) -> SpendSummary {
    SpendSummary { x, mean_minor }
}

#[test]
fn repeat_spend_leaves_the_first_purchase_out() {
    let days = [(1, 5_000), (8, 1_000), (20, 2_000)]
        .map(|(day, amount_minor)| PurchaseDay { day, amount_minor });
    let history = History {
        customer_id: "c".into(),
        days: days.to_vec(),
    };
    assert_eq!(repeat_spend(&history), Some(spend(2, 1_500.0)));
    let once = History {
        customer_id: "c".into(),
        days: days[..1].to_vec(),
    };
    assert_eq!(repeat_spend(&once), None);
    let never = History {
        customer_id: "c".into(),
        days: vec![],
    };
    assert_eq!(repeat_spend(&never), None);
}

/// Fader & Hardie's spreadsheet for the Gamma-Gamma note (brucehardie.com/notes/025/, also
/// lifetimes' test): the first CDNOW customers' (x, m_x) and their expected average spend
/// at the printed parameters, to the cent's tenth they print (the printed parameters are
/// rounded, so 0.1). Customers with x = 0 get the population mean.
#[test]
fn expected_spend_matches_hardie() {
    let cases = [
        (Some(spend(2, 22.35)), 24.65),
        (Some(spend(1, 11.77)), 18.91),
        (None, 35.17),
        (Some(spend(7, 73.74)), 71.46),
        (Some(spend(2, 25.55)), 27.28),
    ];
    for (summary, expected) in cases {
        let got = expected_spend(&CDNOW_SPEND, summary.as_ref()).unwrap();
        assert!(
            (got - expected).abs() < 0.1,
            "{summary:?}: {got} vs {expected}"
        );
    }
    // By hand: 6.25 · (15.44 + 2·22.35) / (6.25·2 + 3.74 - 1) = 375.875 / 15.24.
    let got = expected_spend(&CDNOW_SPEND, Some(&spend(2, 22.35))).unwrap();
    assert!((got - 375.875 / 15.24).abs() < 1e-12);
}

#[test]
fn log_likelihood_matches_the_density_by_hand() {
    // One customer, x = 1, m = 10, p = 2, q = 3, γ = 4:
    // ln[Γ(5)/(Γ(2)Γ(3)) · 4³ · 10¹ · 1² / (4 + 10)⁵] = ln(12 · 64 · 10 / 14⁵).
    let params = GammaGammaParams {
        p: 2.0,
        q: 3.0,
        gamma: 4.0,
    };
    let expected = (12.0f64 * 64.0 * 10.0 / 14.0f64.powi(5)).ln();
    let got = log_likelihood(&[spend(1, 10.0)], &params).unwrap();
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
}

#[test]
fn clv_discounts_each_months_purchases() {
    let summary = Summary {
        x: 2,
        t_x: 30.43,
        t: 38.86,
    };
    let undiscounted = clv_12_months(
        &CDNOW,
        &summary,
        25.0,
        ClvOptions {
            monthly_discount: 0.0,
        },
    )
    .unwrap();
    let year = expected_purchases(&CDNOW, &summary, 52.0).unwrap();
    assert!((undiscounted - 25.0 * year).abs() < 1e-9);
    // Month by month, each month's expected purchases discounted at its end.
    let mut by_hand = 0.0;
    for month in 1..=12 {
        let at = |m: i32| expected_purchases(&CDNOW, &summary, f64::from(m) * 52.0 / 12.0);
        by_hand += (at(month).unwrap() - at(month - 1).unwrap()) / 1.01f64.powi(month);
    }
    let discounted = clv_12_months(&CDNOW, &summary, 25.0, ClvOptions::default()).unwrap();
    assert!((discounted - 25.0 * by_hand).abs() < 1e-9);
    assert!(discounted < undiscounted);
    assert!(year > expected_purchases(&CDNOW, &summary, NEXT_90_DAYS_WEEKS).unwrap());
}

#[test]
fn bad_input_is_an_error_never_nan() {
    let infinite_mean = GammaGammaParams {
        q: 0.9,
        ..CDNOW_SPEND
    };
    assert!(matches!(
        expected_spend(&infinite_mean, None),
        Err(GammaGammaError::InfiniteMeanSpend)
    ));
    assert!(matches!(
        expected_spend(&CDNOW_SPEND, Some(&spend(0, 10.0))),
        Err(GammaGammaError::BadSummary)
    ));
    assert!(matches!(
        fit(&[spend(1, f64::NAN)], MleOptions::default()),
        Err(GammaGammaError::BadSummary)
    ));
    assert!(matches!(
        fit(&[], MleOptions::default()),
        Err(GammaGammaError::NoRepeatCustomers)
    ));
    let summary = Summary {
        x: 1,
        t_x: 1.0,
        t: 2.0,
    };
    let bad_rate = ClvOptions {
        monthly_discount: f64::NAN,
    };
    assert!(matches!(
        clv_12_months(&CDNOW, &summary, 10.0, bad_rate),
        Err(GammaGammaError::BadDiscount)
    ));
}

/// Recovery (issue 15): the repeat purchases of 20,000 customers simulated from BG/NBD and
/// Gamma-Gamma (fixed seed), fitted on those with x ≥ 1: each parameter within 10 %.
#[test]
fn fit_recovers_the_simulated_parameters() {
    let truth = GammaGammaParams {
        p: 6.25,
        q: 3.74,
        gamma: 15.44,
    };
    let customers = simulate(&RECOVERY_TRUTH, (truth.p, truth.q, truth.gamma), 20_000, 25);
    let summaries: Vec<SpendSummary> = customers
        .iter()
        .filter(|c| !c.repeat_amounts.is_empty())
        .map(|c| {
            let n = c.repeat_amounts.len();
            spend(n as u32, c.repeat_amounts.iter().sum::<f64>() / n as f64)
        })
        .collect();
    let fitted = fit(&summaries, MleOptions::default()).unwrap();
    let pairs = [
        ("p", fitted.params.p, truth.p),
        ("q", fitted.params.q, truth.q),
        ("gamma", fitted.params.gamma, truth.gamma),
    ];
    println!(
        "Gamma-Gamma recovery: {} customers with repeats, ll {:.2}, {} iterations, converged {}",
        fitted.customers, fitted.log_likelihood, fitted.iterations, fitted.converged
    );
    for (name, got, want) in pairs {
        println!(
            "  {name}: fitted {got:.4}, truth {want}, error {:+.2} %",
            100.0 * (got - want) / want
        );
    }
    assert!(fitted.converged);
    for (name, got, want) in pairs {
        assert!(
            ((got - want) / want).abs() <= 0.10,
            "{name}: {got} vs {want}"
        );
    }
    assert!(fitted.log_likelihood >= log_likelihood(&summaries, &truth).unwrap());
}

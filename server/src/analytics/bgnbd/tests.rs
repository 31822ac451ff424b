// Reference values keep the digits their source printed (mpmath), beyond f64's.
#![allow(clippy::excessive_precision)]

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};

use super::*;
use crate::analytics::input::PurchaseDay;

/// CDNOW's BG/NBD parameters as the paper prints them (four significant figures).
pub(crate) const CDNOW: BgNbdParams = BgNbdParams {
    r: 0.243,
    alpha: 4.414,
    a: 0.793,
    b: 2.426,
};

fn summary(x: u32, t_x: f64, t: f64) -> Summary {
    Summary { x, t_x, t }
}

fn close(actual: f64, expected: f64, rel: f64) {
    let err = ((actual - expected) / expected).abs();
    assert!(
        err <= rel,
        "{actual} vs {expected}: relative error {err:e} > {rel:e}"
    );
}

/// Customer `c`'s history: a purchase of 100 on each of `days`.
pub(crate) fn history(days: &[i64]) -> History {
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

#[test]
fn summaries_count_repeat_purchase_days_in_weeks() {
    let s = summarize(&history(&[100, 114, 121]), 128).unwrap().unwrap();
    assert_eq!(s, summary(2, 3.0, 4.0));
    // One purchase: x = 0, recency 0.
    let s = summarize(&history(&[100]), 107).unwrap().unwrap();
    assert_eq!(s, summary(0, 0.0, 1.0));
    // No purchases: no summary, not in the fit.
    assert_eq!(summarize(&history(&[]), 107).unwrap(), None);
    assert!(matches!(
        summarize(&history(&[100, 130]), 120),
        Err(BgNbdError::PurchaseAfterAsOf { .. })
    ));
}

/// Reference values in these tests: mpmath 1.3.0 (`mp.dps = 40`) evaluating the paper's
/// formulas as printed, without any rearrangement (eq. 6: L = B(a,b+x)/B(a,b) ·
/// Γ(r+x)α^r/(Γ(r)(α+T)^(r+x)) + [x>0] B(a+1,b+x-1)/B(a,b) · Γ(r+x)α^r/(Γ(r)(α+t_x)^(r+x));
/// eq. 10 with `mpmath.hyp2f1`; eq. 11), at CDNOW's printed parameters.
#[test]
fn log_likelihood_matches_the_closed_form() {
    let summaries = [
        summary(2, 30.43, 38.86),
        summary(1, 1.71, 38.86),
        summary(0, 0.0, 38.86),
        summary(0, 0.0, 38.86),
        summary(5, 20.0, 30.0),
        summary(200, 150.0, 155.0),
    ];
    close(
        log_likelihood(&summaries, &CDNOW).unwrap(),
        -190.955_612_915_416_2,
        1e-12,
    );
}

#[test]
fn expected_purchases_match_hardie_and_mpmath() {
    // Hardie's spreadsheet for the paper (also lifetimes' test): a customer with x = 2,
    // t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks.
    let e = expected_purchases(&CDNOW, &summary(2, 30.43, 38.86), 39.0).unwrap();
    assert!((e - 1.226).abs() < 1e-3, "{e}");
    close(e, 1.226_028_174_767_144_5, 1e-12);
    close(
        expected_purchases(&CDNOW, &summary(1, 1.71, 38.86), NEXT_90_DAYS_WEEKS).unwrap(),
        0.073_900_080_806_274_333,
        1e-12,
    );
    // x = 200: the plain series of 2F1(200.243, 202.426; 201.219; z) would overflow its terms.
    close(
        expected_purchases(&CDNOW, &summary(200, 150.0, 155.0), NEXT_90_DAYS_WEEKS).unwrap(),
        4.709_898_229_504_954_2,
        1e-12,
    );
    // A customer acquired today (x = 0, T = 0) expects the unconditional E[X(t)] (paper eq. 9);
    // Hardie's spreadsheet values (fitted, unrounded parameters) within 0.003, mpmath's at the
    // printed parameters within 1e-12.
    let unconditional = [
        (0.1429, 0.0078, 0.007_828_347_516_072_163_4),
        (1.0, 0.0532, 0.053_267_891_171_658_282),
        (3.0, 0.1506, 0.150_865_230_893_046_69),
        (31.8571, 1.0405, 1.041_996_060_852_210_9),
        (32.0, 1.0437, 1.045_243_328_374_443_8),
        (78.0, 1.8576, 1.860_519_057_942_768_6),
    ];
    for (t, hardie, mpmath) in unconditional {
        let e = expected_purchases(&CDNOW, &summary(0, 0.0, 0.0), t).unwrap();
        assert!((e - hardie).abs() < 3e-3, "{t}: {e} vs {hardie}");
        close(e, mpmath, 1e-12);
    }
    assert_eq!(
        expected_purchases(&CDNOW, &summary(2, 30.43, 38.86), 0.0).unwrap(),
        0.0
    );
}

#[test]
fn expected_purchases_are_continuous_through_a_equal_one() {
    // As written, the formula is 0/0 at a = 1; mpmath (90 digits: the 0/0 eats ~40 of them)
    // at a = 1 + 1e-40 and a = 1 + 1e-9.
    let s = summary(3, 10.0, 20.0);
    let at = |a: f64| {
        let p = BgNbdParams {
            r: 0.5,
            alpha: 3.0,
            a,
            b: 2.0,
        };
        expected_purchases(&p, &s, 13.0).unwrap()
    };
    close(at(1.0), 0.581_332_015_869_680_54, 1e-12);
    close(at(1.0 + 1e-9), 0.581_332_015_407_050_97, 1e-9);
}

#[test]
fn p_alive_matches_the_closed_form() {
    close(
        p_alive(&CDNOW, &summary(2, 30.43, 38.86)).unwrap(),
        0.726_578_570_080_672_91,
        1e-12,
    );
    close(
        p_alive(&CDNOW, &summary(1, 1.71, 38.86)).unwrap(),
        0.212_100_985_377_379_08,
        1e-12,
    );
    close(
        p_alive(&CDNOW, &summary(200, 150.0, 155.0)).unwrap(),
        0.300_725_267_640_787_64,
        1e-12,
    );
    assert_eq!(p_alive(&CDNOW, &summary(0, 0.0, 38.86)).unwrap(), 1.0);
    // Extreme odds stay in [0, 1] instead of overflowing.
    let p = p_alive(&CDNOW, &summary(100_000, 0.001, 1e6)).unwrap();
    assert!((0.0..=1.0).contains(&p));
}

#[test]
fn bad_input_is_an_error_never_nan() {
    let bad = BgNbdParams {
        r: f64::NAN,
        ..CDNOW
    };
    assert!(matches!(
        p_alive(&bad, &summary(1, 1.0, 2.0)),
        Err(BgNbdError::BadParams)
    ));
    assert!(matches!(
        expected_purchases(&CDNOW, &summary(1, 3.0, 2.0), 1.0),
        Err(BgNbdError::BadSummary)
    ));
    assert!(matches!(
        expected_purchases(&CDNOW, &summary(1, 1.0, 2.0), f64::INFINITY),
        Err(BgNbdError::BadHorizon)
    ));
    assert!(matches!(
        fit(&[], MleOptions::default()),
        Err(BgNbdError::NoCustomers)
    ));
}

/// One simulated customer: the BG/NBD summary and the amounts of their repeat purchases.
#[derive(Debug, Clone)]
pub(crate) struct Simulated {
    pub summary: Summary,
    /// When each repeat purchase happened (weeks after the first) and its amount.
    pub repeat_times: Vec<f64>,
    pub repeat_amounts: Vec<f64>,
}

/// Customers from the BG/NBD story (rate λ ~ Gamma(r, α), dropout p ~ Beta(a, b) after each
/// repeat purchase) observed for T uniform in [26, 156] weeks, each purchase's amount from
/// Gamma-Gamma (ν ~ Gamma(q, rate γ), amount ~ Gamma(p, rate ν)).
pub(crate) fn simulate(
    bg: &BgNbdParams,
    spend: (f64, f64, f64),
    customers: usize,
    seed: u64,
) -> Vec<Simulated> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let rate = Gamma::new(bg.r, 1.0 / bg.alpha).unwrap();
    let dropout = Beta::new(bg.a, bg.b).unwrap();
    let (p, q, gamma) = spend;
    let spend_rate = Gamma::new(q, 1.0 / gamma).unwrap();
    (0..customers)
        .map(|_| {
            let lambda: f64 = rate.sample(&mut rng);
            let drop_p: f64 = dropout.sample(&mut rng);
            let nu: f64 = spend_rate.sample(&mut rng);
            let amount = Gamma::new(p, 1.0 / nu).unwrap();
            let t = rng.random_range(26.0..156.0);
            let gap = Exp::new(lambda).unwrap();
            let (mut now, mut x, mut t_x) = (0.0, 0u32, 0.0);
            let (mut repeat_times, mut repeat_amounts) = (Vec::new(), Vec::new());
            loop {
                now += gap.sample(&mut rng);
                if now > t {
                    break;
                }
                x += 1;
                t_x = now;
                repeat_times.push(now);
                repeat_amounts.push(amount.sample(&mut rng));
                if rng.random::<f64>() < drop_p {
                    break;
                }
            }
            Simulated {
                summary: summary(x, t_x, t),
                repeat_times,
                repeat_amounts,
            }
        })
        .collect()
}

/// The parameters the recovery tests simulate from (weeks): a purchase every 4 weeks on
/// average while active (r/α = 0.25), and a mean dropout probability of 0.2 after each repeat
/// purchase. Frequent enough buyers that Gamma-Gamma's p and γ, which trade off against each
/// other, are pinned down well within 10 % by 20,000 customers (seeds 1 to 6 all were).
pub(crate) const RECOVERY_TRUTH: BgNbdParams = BgNbdParams {
    r: 0.75,
    alpha: 3.0,
    a: 0.8,
    b: 3.2,
};

/// Recovery (issue 15): 20,000 simulated customers, fixed seed, each fitted parameter within
/// 10 % of the truth.
#[test]
fn fit_recovers_the_simulated_parameters() {
    let customers = simulate(&RECOVERY_TRUTH, (6.25, 3.74, 15.44), 20_000, 15);
    let summaries: Vec<Summary> = customers.iter().map(|c| c.summary).collect();
    let fitted = fit(&summaries, MleOptions::default()).unwrap();
    let truth = RECOVERY_TRUTH;
    let pairs = [
        ("r", fitted.params.r, truth.r),
        ("alpha", fitted.params.alpha, truth.alpha),
        ("a", fitted.params.a, truth.a),
        ("b", fitted.params.b, truth.b),
    ];
    println!(
        "BG/NBD recovery: ll {:.2}, {} iterations, converged {}",
        fitted.log_likelihood, fitted.iterations, fitted.converged
    );
    for (name, got, want) in pairs {
        println!(
            "  {name}: fitted {got:.4}, truth {want}, error {:+.2} %",
            100.0 * (got - want) / want
        );
    }
    assert!(fitted.converged);
    assert_eq!(fitted.customers, 20_000);
    for (name, got, want) in pairs {
        assert!(
            ((got - want) / want).abs() <= 0.10,
            "{name}: {got} vs {want}"
        );
    }
    // The fitted log-likelihood is the maximum: the truth scores lower.
    assert!(fitted.log_likelihood >= log_likelihood(&summaries, &truth).unwrap());
}

/// A fit at the optimiser's bound (a population with no sign of dropping out: a and b run to
/// 1e4) still predicts: Euler's form of the hypergeometric function then has huge parameters,
/// and the direct series, which converges fast there, is used instead.
#[test]
fn parameters_at_the_bound_still_predict() {
    let p = BgNbdParams {
        r: 2.579,
        alpha: 51.76,
        a: 10_000.0,
        b: 9_480.66,
    };
    for s in [
        Summary {
            x: 2,
            t_x: 26.0,
            t: 90.7,
        },
        Summary {
            x: 0,
            t_x: 0.0,
            t: 80.0,
        },
    ] {
        let expected = expected_purchases(&p, &s, 90.0 / 7.0).unwrap();
        assert!(expected.is_finite() && expected >= 0.0, "{expected}");
        let alive = p_alive(&p, &s).unwrap();
        assert!((0.0..=1.0).contains(&alive), "{alive}");
        // The direct formula, in plain f64: the same value.
        let x = f64::from(s.x);
        let z = (90.0 / 7.0) / (p.alpha + s.t + 90.0 / 7.0);
        let f = crate::analytics::hyp2f1::hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1.0, z).unwrap();
        let head = (p.a + p.b + x - 1.0) / (p.a - 1.0)
            * (1.0 - ((p.alpha + s.t) / (p.alpha + s.t + 90.0 / 7.0)).powf(p.r + x) * f);
        let d = if s.x > 0 {
            1.0 + p.a / (p.b + x - 1.0) * ((p.alpha + s.t) / (p.alpha + s.t_x)).powf(p.r + x)
        } else {
            1.0
        };
        assert!(
            (expected - head / d).abs() < 1e-9 * (1.0 + head / d),
            "{expected} vs {}",
            head / d
        );
    }
}

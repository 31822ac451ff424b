//! The Gaussian hypergeometric function 2F1(a, b; c; z) for real arguments and z < 1.
//!
//! `statrs` has no 2F1; the crates that do are GSL's bindings (a C library to install) and
//! `mathru` (a whole linear-algebra stack with BLAS/LAPACK features), too much to bring in for
//! one function. So it is written here, for what BG/NBD needs: its expected-transactions formula evaluates
//! 2F1(r+x, b+x; a+b+x-1; z) at z = t/(α+T+t) in [0, 1), with x the customer's repeat
//! purchases (large x makes the plain series' terms grow enormously before they shrink).
//!
//! How it is evaluated:
//! - **z in [0, 1)**: the power series Σ (a)ₙ(b)ₙ/((c)ₙ n!) zⁿ, after Euler's transformation
//!   2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z) whenever c-a-b < 0. For BG/NBD's
//!   arguments that turns (r+x, b+x; a+b+x-1) into (a+b-1-r, a-1; a+b+x-1): small upper
//!   parameters whatever x, so the terms shrink from the start.
//! - **z < 0**: Pfaff's transformation 2F1(a,b;c;z) = (1-z)^(-a) 2F1(a, c-b; c; z/(z-1)) moves
//!   the argument into [0, 1).
//! - **Convergence control**: once n is past every parameter (no sign change of a term is left),
//!   the next terms' ratios are bounded by q = max(ratio now, z) < 1, so the rest of the series
//!   is at most |term|·q/(1-q); summing stops when that bound is below 1e-16 of the sum. At most
//!   [`MAX_TERMS`] terms are summed: near z = 1 (z ≥ 1 - 1e-5 or so) that is not enough and the
//!   call answers [`Hyp2f1Error::NotConverged`] rather than a wrong number.
//! - z ≥ 1, c a non-positive integer (a pole) and non-finite arguments are
//!   [`Hyp2f1Error::Domain`]; a non-finite result is [`Hyp2f1Error::NonFinite`].

use thiserror::Error;

/// The most terms one evaluation sums (a bound on work, whatever the arguments).
pub const MAX_TERMS: usize = 1_000_000;

/// Relative size of the bound on the series' remainder at which summing stops.
const TOLERANCE: f64 = 1e-16;

#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum Hyp2f1Error {
    #[error("2F1({a}, {b}; {c}; {z}) is outside what is evaluated here")]
    Domain { a: f64, b: f64, c: f64, z: f64 },
    #[error("the 2F1 series did not converge within {MAX_TERMS} terms at z = {z}")]
    NotConverged { z: f64 },
    #[error("2F1 is not a finite number at these arguments")]
    NonFinite,
}

/// 2F1(a, b; c; z) for finite real a, b, c (c not 0, -1, -2, ...) and z < 1.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64, Hyp2f1Error> {
    check_domain(a, b, c, z)?;
    let value = if z < 0.0 {
        let w = z / (z - 1.0);
        (1.0 - z).powf(-a) * unit_interval(a, c - b, c, w)?
    } else {
        unit_interval(a, b, c, z)?
    };
    finite(value)
}

/// (2F1(a, b; c; z) - 1) / b, exact also at b = 0 (where it is the derivative of 2F1 in b at
/// b = 0), for z in [0, 1). No transformation is applied: the caller picks arguments whose
/// series converges well (BG/NBD passes Euler-transformed ones). This is the series
/// Σₙ≥₁ (a)ₙ(b+1)ₙ₋₁/((c)ₙ n!) zⁿ.
pub fn hyp2f1_excess_over_b(a: f64, b: f64, c: f64, z: f64) -> Result<f64, Hyp2f1Error> {
    check_domain(a, b, c, z)?;
    if z < 0.0 {
        return Err(Hyp2f1Error::Domain { a, b, c, z });
    }
    finite(excess_series(a, b, c, z)?)
}

fn check_domain(a: f64, b: f64, c: f64, z: f64) -> Result<(), Hyp2f1Error> {
    let pole = c <= 0.0 && c.fract() == 0.0;
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite()) || z >= 1.0 || pole {
        return Err(Hyp2f1Error::Domain { a, b, c, z });
    }
    Ok(())
}

fn finite(value: f64) -> Result<f64, Hyp2f1Error> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Hyp2f1Error::NonFinite)
    }
}

/// z in [0, 1): the series, Euler-transformed when c - a - b < 0.
fn unit_interval(a: f64, b: f64, c: f64, z: f64) -> Result<f64, Hyp2f1Error> {
    if c - a - b < 0.0 {
        let (ta, tb) = (c - a, c - b);
        Ok((1.0 - z).powf(c - a - b) * (1.0 + tb * excess_series(ta, tb, c, z)?))
    } else {
        Ok(1.0 + b * excess_series(a, b, c, z)?)
    }
}

/// Σₙ≥₁ (a)ₙ(b+1)ₙ₋₁/((c)ₙ n!) zⁿ for z in [0, 1), with the convergence control described in
/// the module docs.
fn excess_series(a: f64, b: f64, c: f64, z: f64) -> Result<f64, Hyp2f1Error> {
    if z == 0.0 {
        return Ok(0.0);
    }
    // Past this index no factor (a+n), (b+n), (c+n) changes sign any more.
    let settled = a.abs() + b.abs() + c.abs() + 2.0;
    let mut term = a * z / c;
    let mut sum = term;
    let mut n = 1.0f64;
    for _ in 0..MAX_TERMS {
        if term == 0.0 {
            // A non-positive integer upper parameter: a polynomial, summed exactly.
            return Ok(sum);
        }
        let ratio = (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        if n > settled {
            let q = ratio.abs().max(z);
            if q < 1.0 && term.abs() * q / (1.0 - q) <= TOLERANCE * sum.abs() {
                return Ok(sum);
            }
        }
        term *= ratio;
        sum += term;
        n += 1.0;
        if !sum.is_finite() {
            return Err(Hyp2f1Error::NonFinite);
        }
    }
    Err(Hyp2f1Error::NotConverged { z })
}

// Reference values keep the digits their source printed (mpmath), beyond f64's.
#[cfg(test)]
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, rel: f64) {
        let err = ((actual - expected) / expected).abs();
        assert!(
            err <= rel,
            "{actual} vs {expected}: relative error {err:e} > {rel:e}"
        );
    }

    /// DLMF 15.4.2: 2F1(1, 1; 2; z) = -ln(1-z)/z, on both sides of 0 (the negative side goes
    /// through Pfaff's transformation).
    #[test]
    fn one_one_two_is_the_logarithm() {
        for z in [-5.0, -0.9, -0.3, 0.01, 0.25, 0.5, 0.75, 0.9, 0.99] {
            let f: f64 = z;
            close(
                hyp2f1(1.0, 1.0, 2.0, z).unwrap(),
                -(1.0 - f).ln() / f,
                1e-13,
            );
        }
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 0.0).unwrap(), 1.0);
    }

    /// DLMF 15.4.6: 2F1(a, b; b; z) = (1-z)^(-a).
    #[test]
    fn equal_lower_and_upper_parameter_is_a_power() {
        for (a, b, z) in [
            (0.3, 2.0, 0.6),
            (2.5, 0.7, 0.9),
            (7.0, 3.3, 0.3),
            (1.5, 4.0, -2.0),
        ] {
            close(hyp2f1(a, b, b, z).unwrap(), (1.0 - z).powf(-a), 1e-13);
        }
    }

    /// DLMF 15.4.4 and 15.4.3: 2F1(1/2, 1/2; 3/2; z²) = arcsin(z)/z and
    /// 2F1(1/2, 1; 3/2; -z²) = arctan(z)/z.
    #[test]
    fn arcsine_and_arctangent() {
        for x in [0.1f64, 0.5, 0.8, 0.95] {
            close(hyp2f1(0.5, 0.5, 1.5, x * x).unwrap(), x.asin() / x, 1e-13);
            close(hyp2f1(0.5, 1.0, 1.5, -x * x).unwrap(), x.atan() / x, 1e-13);
        }
    }

    /// A non-positive integer upper parameter makes a polynomial:
    /// 2F1(-2, b; c; z) = 1 - 2bz/c + b(b+1)z²/(c(c+1)).
    #[test]
    fn terminating_series_is_a_polynomial() {
        let (b, c, z) = (1.7, 2.9, 0.8);
        let expected = 1.0 - 2.0 * b * z / c + b * (b + 1.0) * z * z / (c * (c + 1.0));
        close(hyp2f1(-2.0, b, c, z).unwrap(), expected, 1e-14);
    }

    /// Values computed with mpmath 1.3.0, `mp.dps = 30; hyp2f1(a, b, c, z)`, and the complete
    /// elliptic integrals K(1/2) = (π/2) 2F1(1/2, 1/2; 1; 1/2) = 1.8540746773013719 and
    /// E(1/2) = (π/2) 2F1(-1/2, 1/2; 1; 1/2) = 1.3506438810476755 (Abramowitz & Stegun table
    /// 17.1, parameter m = 1/2; the same from mpmath's `ellipk`, `ellipe`).
    #[test]
    fn matches_published_and_mpmath_values() {
        let half_pi = std::f64::consts::FRAC_PI_2;
        close(
            half_pi * hyp2f1(0.5, 0.5, 1.0, 0.5).unwrap(),
            1.854_074_677_301_371_9,
            1e-14,
        );
        close(
            half_pi * hyp2f1(-0.5, 0.5, 1.0, 0.5).unwrap(),
            1.350_643_881_047_675_5,
            1e-14,
        );
        let mpmath = [
            (0.5, 0.5, 1.0, 0.5, 1.180_340_599_016_096_2),
            (1.5, 2.5, 3.2, 0.9, 11.432_540_171_549_511),
            // BG/NBD's shape at CDNOW's parameters, x = 0: (r, b; a+b-1).
            (0.243, 2.426, 2.219, 0.8, 1.572_116_540_914_996_7),
            // x = 2 and z close to 1.
            (2.243, 4.426, 4.219, 0.99, 68_635.690_064_801_838),
            (10.5, 12.3, 4.2, 0.3, 8_054.831_743_638_928),
            (0.7, -0.3, 1.4, 0.95, 0.783_506_676_215_108_65),
            (1.2, 3.4, 5.6, -0.7, 0.661_712_476_470_126_53),
            (1.2, 3.4, 5.6, -3.0, 0.307_007_261_507_565_47),
            // x = 50: the plain series would sum terms up to ~1e20 first.
            (50.243, 52.426, 52.219, 0.25, 2_005_871.896_742_323_8),
        ];
        for (a, b, c, z, expected) in mpmath {
            close(hyp2f1(a, b, c, z).unwrap(), expected, 1e-12);
        }
    }

    #[test]
    fn excess_over_b_is_the_series_without_its_first_term_divided_by_b() {
        let (a, b, c, z) = (1.5, 2.5, 3.2, 0.9);
        close(
            hyp2f1_excess_over_b(a, b, c, z).unwrap(),
            (11.432_540_171_549_511 - 1.0) / b,
            1e-12,
        );
        // At b = 0: d/db 2F1(1, b; 2; z) at b = 0 = Σ zⁿ/(n(n+1))... = Σ (1)ₙ(1)ₙ₋₁/((2)ₙ n!) zⁿ
        // = Σ zⁿ/(n(n+1)) = 1 + (1-z)ln(1-z)/z.
        let z: f64 = 0.6;
        close(
            hyp2f1_excess_over_b(1.0, 0.0, 2.0, z).unwrap(),
            1.0 + (1.0 - z) * (1.0 - z).ln() / z,
            1e-13,
        );
    }

    #[test]
    fn outside_the_domain_is_an_error_never_a_number() {
        assert!(matches!(
            hyp2f1(1.0, 1.0, 2.0, 1.0),
            Err(Hyp2f1Error::Domain { .. })
        ));
        assert!(matches!(
            hyp2f1(1.0, 1.0, -2.0, 0.5),
            Err(Hyp2f1Error::Domain { .. })
        ));
        assert!(matches!(
            hyp2f1(f64::NAN, 1.0, 2.0, 0.5),
            Err(Hyp2f1Error::Domain { .. })
        ));
        assert!(matches!(
            hyp2f1(1.0, 1.0, 2.0, f64::INFINITY),
            Err(Hyp2f1Error::Domain { .. })
        ));
        assert!(matches!(
            hyp2f1_excess_over_b(1.0, 1.0, 2.0, -0.5),
            Err(Hyp2f1Error::Domain { .. })
        ));
        // So close to 1 that the series cannot finish within its bound of terms.
        assert!(matches!(
            hyp2f1(0.5, 0.5, 3.0, 1.0 - 1e-9),
            Err(Hyp2f1Error::NotConverged { .. })
        ));
    }
}

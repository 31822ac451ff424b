//! Maximum likelihood by Nelder-Mead (`argmin`) on the logarithms of positive parameters: the
//! one optimiser both lifetime-value models use.
//!
//! - The search runs over θ = ln(parameters), so every trial point is a valid (positive)
//!   parameter vector and the scales of e.g. BG/NBD's r (~0.2) and α (~10 weeks) even out.
//! - The cost is the negative mean log-likelihood per customer, so one tolerance fits any
//!   number of customers. A trial point where the likelihood is not finite costs +∞ (the
//!   simplex moves away from it); the optimiser never sees NaN.
//! - Every parameter is kept within [1e-4, 1e4] (in the model's units): a trial point outside
//!   costs what the nearest point on that box costs, so the likelihood is flat past the box and
//!   the simplex settles there instead of chasing a parameter running off to 0 or ∞ along a
//!   ridge for as many iterations as it is allowed (e.g. Gamma-Gamma's q when the customers'
//!   mean spends differ no more than chance allows: the model's limit is "everyone's mean spend
//!   is the population's"). A fit that ends within 1 % (in log terms) of the bound reports
//!   `at_bound`: its parameters are that limit's, not an interior maximum.
//! - The initial simplex is the start and the start with each log-parameter raised by 0.5.
//!   After the simplex has converged (the standard deviation of its vertices' costs is below
//!   `tolerance`), the search restarts once from the best point with a smaller simplex (steps
//!   of 0.1), the usual guard against Nelder-Mead collapsing early; the fit has converged when
//!   that second search converges too, within `max_iterations` iterations in all.

use argmin::core::{CostFunction, Executor, State, TerminationReason, TerminationStatus};
use argmin::solver::neldermead::NelderMead;
use thiserror::Error;

/// Most parameters a model here has (BG/NBD: four).
const MAX_PARAMS: usize = 4;

/// ln(1e4): every parameter within [1e-4, 1e4].
const LOG_BOUND: f64 = 9.210_340_371_976_184;

/// Limits of one fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MleOptions {
    /// Nelder-Mead iterations in all (both searches).
    pub max_iterations: u64,
    /// Convergence: the standard deviation of the simplex's costs (negative mean
    /// log-likelihood per customer) below this.
    pub tolerance: f64,
}

impl Default for MleOptions {
    fn default() -> Self {
        Self {
            max_iterations: 1_000,
            tolerance: 1e-11,
        }
    }
}

/// Where a fit ended.
#[derive(Debug, Clone, PartialEq)]
pub struct MleOutcome {
    /// The parameters (not their logarithms).
    pub params: Vec<f64>,
    /// The mean log-likelihood per customer at `params`.
    pub mean_log_likelihood: f64,
    pub iterations: u64,
    pub converged: bool,
    /// A parameter ended at the search's bound (module docs).
    pub at_bound: bool,
}

#[derive(Debug, Error)]
pub enum MleError {
    #[error("a fit needs between 1 and {MAX_PARAMS} start values within [1e-4, 1e4]")]
    BadStart,
    #[error("the optimiser failed: {0}")]
    Optimizer(String),
    #[error("the fit ended at a point whose likelihood is not finite")]
    NonFinite,
}

struct LogSpace<F> {
    mean_log_likelihood: F,
    dims: usize,
}

impl<F: Fn(&[f64]) -> f64> CostFunction for LogSpace<F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, theta: &Self::Param) -> Result<f64, argmin::core::Error> {
        let mut natural = [0.0f64; MAX_PARAMS];
        for (n, t) in natural.iter_mut().zip(theta.iter()) {
            *n = t.clamp(-LOG_BOUND, LOG_BOUND).exp();
        }
        let natural = &natural[..self.dims];
        if natural.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Ok(f64::INFINITY);
        }
        let ll = (self.mean_log_likelihood)(natural);
        Ok(if ll.is_finite() { -ll } else { f64::INFINITY })
    }
}

/// Maximises `mean_log_likelihood` (given the parameters, not their logarithms) from `start`.
pub fn maximise<F: Fn(&[f64]) -> f64>(
    mean_log_likelihood: F,
    start: &[f64],
    options: MleOptions,
) -> Result<MleOutcome, MleError> {
    let dims = start.len();
    let inside = |v: &f64| v.is_finite() && *v > 0.0 && v.ln().abs() < LOG_BOUND;
    if dims == 0 || dims > MAX_PARAMS || !start.iter().all(inside) {
        return Err(MleError::BadStart);
    }
    let problem = LogSpace {
        mean_log_likelihood,
        dims,
    };
    let theta: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    let first = search(
        &problem,
        &theta,
        0.5,
        options.max_iterations,
        options.tolerance,
    )?;
    let mut iterations = first.iterations;
    let mut best = first;
    if best.converged {
        let left = options.max_iterations.saturating_sub(iterations);
        let second = search(&problem, &best.theta, 0.1, left, options.tolerance)?;
        iterations += second.iterations;
        let converged = second.converged;
        if second.cost <= best.cost {
            best = second;
        }
        best.converged = converged;
    }
    if !best.cost.is_finite() {
        return Err(MleError::NonFinite);
    }
    let at_bound = best.theta.iter().any(|t| t.abs() > 0.99 * LOG_BOUND);
    let params: Vec<f64> = best
        .theta
        .iter()
        .map(|t| t.clamp(-LOG_BOUND, LOG_BOUND).exp())
        .collect();
    if params.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(MleError::NonFinite);
    }
    Ok(MleOutcome {
        params,
        mean_log_likelihood: -best.cost,
        iterations,
        converged: best.converged,
        at_bound,
    })
}

struct Search {
    theta: Vec<f64>,
    cost: f64,
    iterations: u64,
    converged: bool,
}

fn search<F: Fn(&[f64]) -> f64>(
    problem: &LogSpace<F>,
    theta: &[f64],
    step: f64,
    max_iterations: u64,
    tolerance: f64,
) -> Result<Search, MleError> {
    let start_cost = problem
        .cost(&theta.to_vec())
        .map_err(|e| MleError::Optimizer(e.to_string()))?;
    if max_iterations == 0 {
        return Ok(Search {
            theta: theta.to_vec(),
            cost: start_cost,
            iterations: 0,
            converged: false,
        });
    }
    let mut simplex = vec![theta.to_vec()];
    for i in 0..theta.len() {
        let mut vertex = theta.to_vec();
        vertex[i] += step;
        simplex.push(vertex);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(tolerance)
        .map_err(|e| MleError::Optimizer(e.to_string()))?;
    let result = Executor::new(
        LogSpace {
            mean_log_likelihood: &problem.mean_log_likelihood,
            dims: problem.dims,
        },
        solver,
    )
    .configure(|state| state.max_iters(max_iterations))
    .run()
    .map_err(|e| MleError::Optimizer(e.to_string()))?;
    let state = result.state();
    let converged = matches!(
        state.get_termination_status(),
        TerminationStatus::Terminated(TerminationReason::SolverConverged)
    );
    let (theta, cost) = match state.get_best_param() {
        Some(best) => (best.clone(), state.get_best_cost()),
        None => (theta.to_vec(), start_cost),
    };
    Ok(Search {
        theta,
        cost,
        iterations: state.get_iter(),
        converged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_maximum_of_a_known_likelihood() {
        // The mean log-likelihood of an exponential sample with mean 2.5 is -ln(m) - 2.5/m at
        // scale m, maximal at m = 2.5; a second, independent parameter peaks at 0.3.
        let ll = |p: &[f64]| -p[0].ln() - 2.5 / p[0] - (p[1] - 0.3).powi(2);
        let out = maximise(ll, &[1.0, 1.0], MleOptions::default()).unwrap();
        assert!(out.converged);
        assert!((out.params[0] - 2.5).abs() < 1e-3, "{:?}", out.params);
        assert!((out.params[1] - 0.3).abs() < 1e-3, "{:?}", out.params);
        assert!((out.mean_log_likelihood - (-(2.5f64).ln() - 1.0)).abs() < 1e-9);
        assert!(out.iterations > 0);
    }

    #[test]
    fn an_iteration_cap_reached_is_reported_as_not_converged() {
        let ll = |p: &[f64]| -p[0].ln() - 2.5 / p[0];
        let options = MleOptions {
            max_iterations: 2,
            tolerance: 1e-14,
        };
        let out = maximise(ll, &[100.0], options).unwrap();
        assert!(!out.converged);
        assert!(out.iterations <= 2);
    }

    #[test]
    fn a_parameter_running_off_to_infinity_stops_at_the_bound() {
        // Increasing in its first parameter without a maximum; the second peaks at 2.
        let ll = |p: &[f64]| -1.0 / p[0] - (p[1] - 2.0).powi(2);
        let out = maximise(ll, &[1.0, 1.0], MleOptions::default()).unwrap();
        assert!(out.converged && out.at_bound);
        assert!(
            out.params[0] > 0.9e4 && out.params[0] <= 1.000_001e4,
            "{:?}",
            out.params
        );
        assert!((out.params[1] - 2.0).abs() < 1e-3, "{:?}", out.params);
        let inside = maximise(
            |p: &[f64]| -(p[0] - 2.0).powi(2),
            &[1.0],
            MleOptions::default(),
        );
        assert!(!inside.unwrap().at_bound);
    }

    #[test]
    fn a_likelihood_that_is_never_finite_is_an_error() {
        let out = maximise(|_: &[f64]| f64::NAN, &[1.0, 1.0], MleOptions::default());
        assert!(matches!(out, Err(MleError::NonFinite)));
        assert!(matches!(
            maximise(|_: &[f64]| 0.0, &[-1.0], MleOptions::default()),
            Err(MleError::BadStart)
        ));
    }
}

//! What every FieldCRM benchmark shares. A benchmark prints each figure as one line
//! `bench: <name> = <value> <unit>` ([`emit`]) and everything else as `# ...` ([`comment`]);
//! `FIELDCRM_BENCH_SCALE` ([`scale`]) shrinks datasets for smoke runs (CI runs 0.02). Nothing
//! here asserts on timing.

use std::io::Write;
use std::time::Duration;

/// The environment variable that multiplies dataset sizes.
pub const SCALE_ENV: &str = "FIELDCRM_BENCH_SCALE";

/// `FIELDCRM_BENCH_SCALE`, or 1.0 when unset or not a positive number.
pub fn scale() -> f64 {
    std::env::var(SCALE_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0)
}

/// `count * scale`, rounded, at least 1.
pub fn scaled(count: usize, scale: f64) -> usize {
    ((count as f64 * scale).round() as usize).max(1)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// The `q` quantile (0..=1, nearest rank) of `samples` in milliseconds; sorts them.
pub fn quantile(samples: &mut [Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    ms(samples[rank - 1])
}

/// The median of `samples` in milliseconds; sorts them.
pub fn median(samples: &mut [Duration]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let n = samples.len();
    if n % 2 == 1 {
        ms(samples[n / 2])
    } else {
        (ms(samples[n / 2 - 1]) + ms(samples[n / 2])) / 2.0
    }
}

/// Prints one figure: `bench: <name> = <value> <unit>`.
pub fn emit(name: &str, value: f64, unit: &str) {
    println!("bench: {name} = {value:.3} {unit}");
    flush();
}

/// Prints a line that is not a figure.
pub fn comment(text: &str) {
    println!("# {text}");
    flush();
}

fn flush() {
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_quantiles_of_samples() {
        let mut samples: Vec<Duration> = [5, 1, 4, 2, 3].map(Duration::from_millis).to_vec();
        assert_eq!(median(&mut samples), 3.0);
        assert_eq!(quantile(&mut samples, 0.99), 5.0);
        assert_eq!(quantile(&mut samples, 0.2), 1.0);
        samples.pop();
        assert_eq!(median(&mut samples), 2.5);
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(scaled(200, 0.02), 4);
        assert_eq!(scaled(10, 0.001), 1);
    }
}

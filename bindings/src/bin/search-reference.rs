//! The Rust side of the Kotlin benchmark's FFI overhead ratio (`FfiBench.kt`): runs the same
//! customer searches on the same store file through the same wrapper the FFI calls
//! ([`fieldcrm_ffi::FieldStore`]), without the FFI and JNA crossing, and prints the median.
//!
//! Usage: `search-reference --store FILE (--prefixes-file FILE | --prefix TEXT...)
//! [--warmup N] [--runs N] [--limit N]`
//!
//! Run `--warmup` untimed searches, then `--runs` timed ones; search `i` uses prefix
//! `i % prefixes`, as the Kotlin benchmark does. Prints `search_median_ms=<ms>` and
//! `rows=<rows returned by the timed searches>` (so the caller can check both sides found the
//! same). Exit code 2 for bad arguments, 1 when the store fails.

use std::process::ExitCode;
use std::time::Instant;

use fieldcrm_ffi::FieldStore;

const USAGE: &str = "usage: search-reference --store FILE (--prefixes-file FILE | --prefix TEXT...) \
                     [--warmup N] [--runs N] [--limit N]";

#[derive(Debug)]
struct Args {
    store: String,
    prefixes: Vec<String>,
    warmup: usize,
    runs: usize,
    limit: u32,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    value
        .as_deref()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{flag} needs a non-negative number"))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut store = None;
    let mut prefixes = Vec::new();
    let (mut warmup, mut runs, mut limit) = (50, 300, 20);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--store" => store = Some(args.next().ok_or("--store needs a path")?),
            "--prefix" => prefixes.push(args.next().ok_or("--prefix needs a text")?),
            "--prefixes-file" => {
                let path = args.next().ok_or("--prefixes-file needs a path")?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {path}: {e}"))?;
                prefixes.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned),
                );
            }
            "--warmup" => warmup = number(&flag, args.next())?,
            "--runs" => runs = number(&flag, args.next())?,
            "--limit" => limit = number(&flag, args.next())?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let store = store.ok_or_else(|| format!("--store is required\n{USAGE}"))?;
    if prefixes.is_empty() {
        return Err(format!("no prefixes given\n{USAGE}"));
    }
    if runs == 0 {
        return Err("--runs must be at least 1".to_owned());
    }
    Ok(Args {
        store,
        prefixes,
        warmup,
        runs,
        limit,
    })
}

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    match samples.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => samples[mid],
        _ => (samples[mid - 1] + samples[mid]) / 2.0,
    }
}

fn run(args: &Args) -> Result<(f64, usize), fieldcrm_ffi::FieldCrmError> {
    let store = FieldStore::open(args.store.clone())?;
    let prefix = |i: usize| args.prefixes[i % args.prefixes.len()].clone();
    for i in 0..args.warmup {
        store.search_customers(prefix(i), args.limit)?;
    }
    let mut samples = Vec::with_capacity(args.runs);
    let mut rows = 0;
    for i in 0..args.runs {
        let text = prefix(i);
        let started = Instant::now();
        let hits = store.search_customers(text, args.limit)?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        rows += hits.len();
    }
    store.close();
    Ok((median_ms(samples), rows))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("search-reference: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok((median, rows)) => {
            println!("search_median_ms={median:.6}");
            println!("rows={rows}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("search-reference: {}: {e}", args.store);
            ExitCode::from(1)
        }
    }
}

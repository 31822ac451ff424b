//! The store benchmark's figures again on the store encrypted at rest (SQLCipher, AES-256 with
//! a raw key, as the apps open it), with the overhead as ratios to the plaintext figures of the
//! same run. Same binary and SQLite build for both, so a ratio is the cost of the encryption
//! alone:
//! - `store_encrypt_in_place_s`: the first keyed start of an existing user's store (the
//!   plaintext dataset encrypted in place);
//! - `store_encrypted_open_ms`, `store_encrypted_search_prefix_median_ms`,
//!   `store_encrypted_nearby_20_median_ms`, `store_encrypted_write_one_record_median_ms`: the
//!   same queries and writes as the plaintext section, on a copy of the same dataset;
//! - `store_encrypted_import_s`: the same bootstrap import into an empty encrypted store;
//! - `store_encrypted_rss_after_open_and_100_queries_mb`;
//! - `store_encrypted_<figure>_ratio`: encrypted / plaintext.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use fieldcrm_bench_support::{comment, emit, ms};
use fieldcrm_core::{Customer, IncomingDoc, Query, Store, StoreKey};

use super::{BenchResult, WriteOp, apply, file_mb, measure_rss, stats, time_import};

/// The benchmark's key: fixed, so the memory child opens the same store.
pub fn key() -> BenchResult<StoreKey> {
    Ok(StoreKey::from_bytes(&[0x42; StoreKey::LEN])?)
}

/// What the plaintext section measured.
pub struct Baseline {
    pub open_ms: f64,
    pub search_ms: f64,
    pub nearby_ms: f64,
    pub write_ms: f64,
    pub import_s: f64,
    pub rss_mb: f64,
}

/// What the plaintext section ran, to run it again.
pub struct Replay {
    pub prefixes: Vec<String>,
    pub nearby: Vec<(f64, f64)>,
    pub writes: Vec<WriteOp>,
    pub import: Vec<IncomingDoc>,
}

/// A copy of the (closed) plaintext source store beside it.
pub fn copy_of(source: &Path) -> BenchResult<PathBuf> {
    let copy = source.with_file_name("encrypted.sqlite");
    std::fs::copy(source, &copy)?;
    Ok(copy)
}

fn ratio(name: &str, encrypted: f64, plain: f64) {
    if plain > 0.0 {
        emit(
            &format!("store_encrypted_{name}_ratio"),
            encrypted / plain,
            "x",
        );
    }
}

pub fn run(path: &Path, dir: &Path, replay: Replay, base: &Baseline) -> BenchResult<()> {
    let key = key()?;

    // ---- The first keyed start of an existing store: encrypted in place.
    let plain_mb = file_mb(path);
    let started = Instant::now();
    drop(Store::open_encrypted(path, &key)?);
    emit(
        "store_encrypt_in_place_s",
        started.elapsed().as_secs_f64(),
        "s",
    );
    comment(&format!(
        "encrypt in place: {plain_mb:.1} MB plaintext, {:.1} MB encrypted",
        file_mb(path)
    ));

    // ---- Open and first query.
    let started = Instant::now();
    let store = Store::open_encrypted(path, &key)?;
    black_box(store.query(&Query::SearchCustomers {
        text: replay.prefixes[0].clone(),
        limit: 20,
    })?);
    let open_ms = ms(started.elapsed());
    emit("store_encrypted_open_ms", open_ms, "ms");
    ratio("open", open_ms, base.open_ms);

    // ---- The same prefix searches.
    let mut samples = Vec::with_capacity(replay.prefixes.len());
    for text in &replay.prefixes {
        let query = Query::SearchCustomers {
            text: text.clone(),
            limit: 20,
        };
        let started = Instant::now();
        black_box(store.query(&query)?);
        samples.push(started.elapsed());
    }
    let (search_ms, _, _) = stats(&mut samples);
    emit("store_encrypted_search_prefix_median_ms", search_ms, "ms");
    ratio("search_prefix", search_ms, base.search_ms);

    // ---- The same nearby queries.
    let mut samples = Vec::with_capacity(replay.nearby.len());
    for &(lat, lon) in &replay.nearby {
        let query = Query::NearbyCustomers {
            lat,
            lon,
            max_distance_m: None,
            limit: 20,
        };
        let started = Instant::now();
        black_box(store.query(&query)?);
        samples.push(started.elapsed());
    }
    let (nearby_ms, _, _) = stats(&mut samples);
    emit("store_encrypted_nearby_20_median_ms", nearby_ms, "ms");
    ratio("nearby_20", nearby_ms, base.nearby_ms);

    // ---- The same writes (only the save is timed, as in the plaintext section).
    let mut samples = Vec::with_capacity(replay.writes.len());
    for write in replay.writes {
        match write {
            WriteOp::Create(customer) => {
                let started = Instant::now();
                black_box(store.create(*customer)?);
                samples.push(started.elapsed());
            }
            WriteOp::Update { id, edit } => {
                let mut customer: Customer = store
                    .get(&id)?
                    .ok_or_else(|| format!("customer {id} vanished"))?;
                apply(&edit, &mut customer);
                let started = Instant::now();
                black_box(store.update(customer)?);
                samples.push(started.elapsed());
            }
        }
    }
    let (write_ms, _, _) = stats(&mut samples);
    emit("store_encrypted_write_one_record_median_ms", write_ms, "ms");
    ratio("write_one_record", write_ms, base.write_ms);
    drop(store);

    // ---- The same bootstrap import into an empty encrypted store.
    let target = Store::open_encrypted(dir.join("encrypted-bootstrap.sqlite"), &key)?;
    let import_s = time_import(&target, replay.import)?.as_secs_f64();
    emit("store_encrypted_import_s", import_s, "s");
    ratio("import", import_s, base.import_s);
    drop(target);

    // ---- Memory of a fresh process that opens the encrypted store and runs 100 queries.
    let (rss_kb, _) = measure_rss(path, true)?;
    let rss_mb = rss_kb as f64 / 1024.0;
    emit(
        "store_encrypted_rss_after_open_and_100_queries_mb",
        rss_mb,
        "MB",
    );
    ratio("rss", rss_mb, base.rss_mb);
    Ok(())
}

//! CSV import of customers through the real binary's `import` command, on a fixed dataset.
//!
//! Run with `cargo bench -p fieldcrm-server --bench csv_import`. The file holds 100,000
//! customers; `FIELDCRM_CSV_IMPORT_ROWS` sets another count (1,000,000 for the bounded-memory
//! check) and `FIELDCRM_BENCH_SCALE` scales it (CI runs 0.02 as a smoke run). Figures are
//! printed as `bench: <name> = <value> <unit>`; nothing here asserts on timing.
//!
//! Dataset (seeded, the same on every run): one team with 10 territories and 50 reps (5 per
//! territory), an admin; customers with a name, a territory, an owner (a rep of the
//! territory), a grade, one or two phones, an email, segments, an address, a location, a
//! cadence, and on every tenth row notes with a line break (a quoted cell). The database is a
//! file (WAL), like the server's, and starts with the organisation only.
//!
//! - `csv_import_100k_customers_s`: wall time of `fieldcrm-server import customers FILE --as
//!   root`, from the start of the process to its exit (reading, building, validating, pushing
//!   and committing every row);
//! - `csv_import_100k_customers_peak_rss_mb`: the import process's peak resident memory
//!   (`VmHWM`, read from `/proc` while it runs, as the abuse bench reads the server's);
//! - `csv_import_100k_customers_cpu_s`: the import process's CPU time, user and system, all
//!   threads (`/proc/<pid>/stat`, read the same way). The import runs on two threads (the
//!   import device writes a batch while the batch before is pushed), so on two free cores the
//!   wall time is near half of it; on a busy machine it approaches all of it.
//!
//! Where the time goes (`perf record` at `FIELDCRM_BENCH_SCALE=0.1`, per row): before the
//! speed work (44.96 s, 72.6 MB at full scale) the device thread took about 460 µs (writing
//! the new document op by op 250, its projection and search row 45 and their commits 30,
//! taking its change 22) and the pushing thread about 175; the device's 460 µs was the wall
//! time. Now the device thread takes about 125 µs (the new document written in one batch 40,
//! taking its change 19, its SQLite rows 15, no projection) and the pushing thread about 135
//! (Automerge applying the change 33, reading the record 18, parsing and checking the change
//! 11, SQLite 22 with the field-work projection 7, freeing 9): about 260 µs of CPU per row.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails by panicking

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fieldcrm_bench_support::{comment, emit, scale, scaled};
use fieldcrm_server::model::Role;
use fieldcrm_server::storage::NewUser;
use fieldcrm_server::{SqliteStorage, Storage};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const BIN: &str = env!("CARGO_BIN_EXE_fieldcrm-server");
const SEED: u64 = 0xC5F1_0000_2026;
const ROWS: usize = 100_000;
const ROWS_ENV: &str = "FIELDCRM_CSV_IMPORT_ROWS";
const TERRITORIES: usize = 10;
const REPS_PER_TERRITORY: usize = 5;
const CITIES: &[&str] = &["Hamburg", "Bremen", "Kiel", "Lübeck", "Hannover"];
const SEGMENTS: &[&str] = &["bakery", "kiosk", "café", "grocer", "wholesale", "hotel"];

fn organisation(db: &Path) -> Vec<(String, Vec<String>)> {
    let storage = SqliteStorage::open(db).unwrap();
    let team = storage.create_team("north").unwrap();
    let mut territories = Vec::new();
    for t in 0..TERRITORIES {
        let name = format!("territory-{t:02}");
        let territory = storage.create_territory(&name, &team.id).unwrap();
        let mut reps = Vec::new();
        for r in 0..REPS_PER_TERRITORY {
            let username = format!("rep-{t:02}-{r}");
            let user = storage
                .create_user(NewUser {
                    username: &username,
                    password_hash: None,
                    role: Role::Rep,
                    team_id: Some(&team.id),
                })
                .unwrap();
            storage
                .assign_user_territory(&user.id, &territory.id)
                .unwrap();
            reps.push(username);
        }
        territories.push((name, reps));
    }
    storage
        .create_user(NewUser {
            username: "root",
            password_hash: None,
            role: Role::Admin,
            team_id: None,
        })
        .unwrap();
    territories
}

fn write_file(path: &Path, rows: usize, territories: &[(String, Vec<String>)]) -> u64 {
    let mut rng = SmallRng::seed_from_u64(SEED);
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        out,
        "external_id,name,territory,owner,grade,phones,emails,segments,address_line,city,postal_code,lat,lon,visit_cadence_days,notes"
    )
    .unwrap();
    for i in 0..rows {
        let (territory, reps) = &territories[rng.random_range(0..territories.len())];
        let owner = &reps[rng.random_range(0..reps.len())];
        let grade = ["A", "B", "C", ""][rng.random_range(0..4)];
        let phones = if rng.random_bool(0.3) {
            format!(
                "+49 40 {:07}; +49 170 {:07}",
                rng.random_range(0..10_000_000),
                i
            )
        } else {
            format!("+49 40 {:07}", rng.random_range(0..10_000_000))
        };
        let segments = format!(
            "{};{}",
            SEGMENTS[rng.random_range(0..SEGMENTS.len())],
            SEGMENTS[rng.random_range(0..SEGMENTS.len())]
        );
        let city = CITIES[rng.random_range(0..CITIES.len())];
        let notes = if i % 10 == 0 {
            "\"Deliveries at the back,\nafter 10\""
        } else {
            ""
        };
        writeln!(
            out,
            "CUST-{i:07},Customer {i} GmbH,{territory},{owner},{grade},{phones},info{i}@example.com,{segments},Hauptstraße {},{city},{:05},{:.5},{:.5},{},{notes}",
            rng.random_range(1..200),
            rng.random_range(10_000..99_999),
            53.3 + rng.random::<f64>() * 0.5,
            9.7 + rng.random::<f64>() * 0.6,
            [7, 14, 30][rng.random_range(0..3)],
        )
        .unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// CPU time (user and system, every thread) of a running process so far, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces, so split after its `)`):
    // utime and stime are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Peak resident memory of a running process so far, in kB.
fn peak_rss_kb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let base_rows = std::env::var(ROWS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROWS);
    let rows = scaled(base_rows, scale());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite");
    let territories = organisation(&db);
    let file = dir.path().join("customers.csv");
    let bytes = write_file(&file, rows, &territories);
    comment(&format!(
        "{rows} customers, {:.1} MB of CSV, {TERRITORIES} territories, {} reps",
        bytes as f64 / 1e6,
        TERRITORIES * REPS_PER_TERRITORY
    ));

    let started = Instant::now();
    let mut child = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .args(["import", "customers"])
        .arg(&file)
        .args(["--as", "root"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // VmHWM only grows: the last reading before the exit is the peak (the end of the import,
    // revoking its device and printing the report, allocates next to nothing).
    let mut peak_kb: f64 = 0.0;
    let mut cpu_s: f64 = 0.0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kb) = peak_rss_kb(child.id()) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(seconds) = cpu_seconds(child.id()) {
            cpu_s = cpu_s.max(seconds);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let elapsed = started.elapsed();
    let output = child.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the import failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = report.lines().next().unwrap_or_default();
    assert!(
        summary.contains(&format!("{rows} created")) && summary.ends_with(" 0 rejected"),
        "every row is imported: {report}"
    );
    comment(summary);
    comment(&format!(
        "{:.0} rows/s",
        rows as f64 / elapsed.as_secs_f64()
    ));
    emit("csv_import_100k_customers_s", elapsed.as_secs_f64(), "s");
    emit(
        "csv_import_100k_customers_peak_rss_mb",
        peak_kb / 1024.0,
        "MB",
    );
    emit("csv_import_100k_customers_cpu_s", cpu_s, "s");
}

//! The real binary pointed at a file that is not its own (another application's SQLite
//! database, a plain SQLite file, a text file) refuses it with a clear message, exits
//! non-zero, and leaves the file and its folder byte for byte as they were: no header
//! rewritten, no `-wal` or `-shm` left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest;

mod support;
use support::BIN;

/// Every file of a folder with the SHA-256 of its bytes.
fn hashes(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let bytes = std::fs::read(entry.path()).unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                hex::encode(sha2::Sha256::digest(&bytes)),
            )
        })
        .collect()
}

/// Runs the binary on `db`; a binary that does not exit by itself (it started serving the
/// file) is killed and fails the test.
fn run(db: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{args:?} on {} did not exit: {}",
                db.display(),
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn sqlite(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let path = dir.join(name);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    path
}

#[test]
fn serving_a_file_that_is_not_ours_fails_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        // How apps keep their databases: WAL mode, an application id of their own.
        sqlite(
            dir.path(),
            "contacts.db",
            "PRAGMA journal_mode = WAL; PRAGMA application_id = 1234;
             CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('Greta');",
        ),
        sqlite(
            dir.path(),
            "recipes.sqlite",
            "CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('Franzbrötchen');",
        ),
        {
            let path = dir.path().join("notes.txt");
            std::fs::write(&path, "a shopping list, not a database\n".repeat(300)).unwrap();
            path
        },
    ];
    let before = hashes(dir.path());
    assert_eq!(before.len(), files.len(), "{before:?}");

    for file in &files {
        for args in [
            &["serve", "--listen", "127.0.0.1:0"][..],
            &["team", "add", "--name", "north"][..],
        ] {
            let output = run(file, args);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !output.status.success(),
                "{args:?} on {}: {stderr}",
                file.display()
            );
            assert!(
                stderr.contains(&format!(
                    "error: cannot open {}: not a FieldCRM server database",
                    file.display()
                )),
                "{stderr}"
            );
            assert!(output.stdout.is_empty(), "it never listened");
            assert_eq!(hashes(dir.path()), before, "{args:?} on {}", file.display());
        }
    }
}

//! `scripts/demo`'s own arguments: `--help` prints the usage and writes nothing, and a wrong
//! argument is a one-line error with the usage, a non-zero exit, and nothing written either
//! (no database named after a flag, in the working directory or in the repository).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("tests/ has a parent"))
        .to_path_buf()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    names.sort();
    names
}

/// Runs `scripts/demo ARGS` from an empty folder; its output, and that nothing was written
/// there or in the repository's root.
fn demo(args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder: {e}"));
    let root_before = listing(&repo());
    let output = Command::new("bash")
        .arg(repo().join("scripts/demo"))
        .args(args)
        .current_dir(cwd.path())
        .env_remove("FIELDCRM_DB")
        .env_remove("FIELDCRM_LISTEN")
        .output()
        .unwrap_or_else(|e| panic!("running scripts/demo: {e}"));
    assert_eq!(
        listing(cwd.path()),
        Vec::<String>::new(),
        "{args:?} wrote into the working folder"
    );
    assert_eq!(
        listing(&repo()),
        root_before,
        "{args:?} wrote into the repository"
    );
    output
}

#[test]
fn help_prints_the_usage_and_writes_nothing() {
    for flag in ["--help", "-h"] {
        let output = demo(&[flag]);
        assert!(output.status.success(), "{flag}: {output:?}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.starts_with("Usage: scripts/demo"), "{text}");
        for option in ["--db", "--listen", "--reset"] {
            assert!(text.contains(option), "{option} is not described: {text}");
        }
    }
}

#[test]
fn a_wrong_argument_is_an_error_with_the_usage_and_writes_nothing() {
    for (args, says) in [
        (&["--bogus"][..], "error: unknown option --bogus"),
        (&["--db"][..], "error: --db needs a value"),
        (&["--listen"][..], "error: --listen needs a value"),
        (
            &["a.sqlite", "b.sqlite"][..],
            "error: one database path at most",
        ),
    ] {
        let output = demo(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let text = String::from_utf8_lossy(&output.stderr);
        let first = text.lines().next().unwrap_or_default();
        assert!(first.starts_with(says), "{args:?}: {text}");
        assert!(text.contains("Usage: scripts/demo"), "{args:?}: {text}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

//! The architecture invariants a machine can check (in the spirit of rust-analyzer's `tidy`):
//! what `docs/ARCHITECTURE.md` promises about crate boundaries and migrations, checked on the
//! source tree itself, so that a change breaking one fails `scripts/test` instead of making
//! the document untrue.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `[dependencies]`-like tables of a manifest (not dev-dependencies), as text.
fn dependency_tables(manifest: &str) -> String {
    let mut inside = false;
    let mut out = String::new();
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            inside = trimmed.ends_with("dependencies]") && !trimmed.contains("dev-dependencies");
            continue;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn core_depends_on_no_ffi_and_no_server_runtime() {
    let manifest = read(&root().join("core/Cargo.toml"));
    let dependencies = dependency_tables(&manifest);
    for name in ["uniffi", "tokio", "axum", "hyper", "reqwest"] {
        assert!(
            !dependencies
                .lines()
                .any(|line| line.trim_start().starts_with(name)),
            "core must not depend on {name} (bindings/ and server/ do)"
        );
    }
    let ureq = dependencies
        .lines()
        .find(|line| line.trim_start().starts_with("ureq"))
        .expect("ureq, for the optional HTTP transport");
    assert!(
        ureq.contains("optional = true"),
        "ureq is only behind the `http` feature: {ureq}"
    );
}

#[test]
fn core_does_network_io_only_in_its_http_transport_behind_the_feature() {
    let src = root().join("core/src");
    let lib = read(&src.join("lib.rs"));
    assert!(
        lib.contains("#[cfg(feature = \"http\")]\nmod http_transport;"),
        "the HTTP transport module is compiled only with the `http` feature"
    );
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        if file.ends_with("http_transport.rs") {
            continue;
        }
        let text = read(&file);
        for needle in ["ureq", "std::net", "TcpStream", "UdpSocket", "tokio::"] {
            assert!(
                !text.contains(needle),
                "{} mentions {needle}: core does no network I/O outside http_transport.rs",
                file.display()
            );
        }
    }
}

/// The modules of core that `file` names through `crate::` (`crate::model::X`,
/// `use crate::{model, error}`), comments left out.
fn crate_modules_named(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut named = Vec::new();
    for rest in code.split("crate::").skip(1) {
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = group.split('}').next().unwrap_or("");
                named.extend(group.split(',').map(ident).filter(|m| !m.is_empty()));
            }
            None => named.push(ident(rest)),
        }
    }
    named
}

#[test]
fn the_model_and_the_pure_geography_have_no_path_to_storage_or_sync() {
    let src = root().join("core/src");
    let mut files = vec![src.join("geo.rs"), src.join("route.rs")];
    rust_files(&src.join("model"), &mut files);
    assert!(files.len() > 2, "core/src/model/ holds the leaf types");
    // Pure modules only: naming `crate::Store` (a re-export) would be a path to SQLite too.
    let allowed = ["model", "error", "geo", "route"];
    for file in files {
        let text = read(&file);
        assert!(
            !text.contains("rusqlite"),
            "{} uses SQLite: it must stay a pure function of its inputs",
            file.display()
        );
        for module in crate_modules_named(&text) {
            assert!(
                allowed.contains(&module.as_str()),
                "{} uses crate::{module}: the model, geo.rs and route.rs name only {allowed:?} \
                 (no query, store, sync or protocol)",
                file.display()
            );
        }
    }
}

/// Every migration file in `dir`, by number; fails on a number used twice.
fn migrations(dir: &Path) -> BTreeMap<u32, String> {
    let mut by_number = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some((number, rest)) = name.split_once('_') else {
            panic!("{name}: migrations are named NNNN_what.sql");
        };
        assert!(rest.ends_with(".sql"), "{name}");
        let number: u32 = number
            .parse()
            .unwrap_or_else(|_| panic!("{name}: NNNN_what.sql"));
        if let Some(other) = by_number.insert(number, name.clone()) {
            panic!("migration number {number} is used twice: {other} and {name}");
        }
    }
    by_number
}

/// Each migration of `dir` is numbered 1, 2, ... without a gap and listed once, in order, in
/// `listing` (the `include_str!` list the code runs).
fn check_migrations(dir: &str, listing: &str) {
    let files = migrations(&root().join(dir));
    let numbers: Vec<u32> = files.keys().copied().collect();
    let expected: Vec<u32> = (1..=files.len() as u32).collect();
    assert_eq!(numbers, expected, "{dir}: numbered from 1 without a gap");
    let code = read(&root().join(listing));
    let listed: Vec<&str> = code
        .split("include_str!(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|path| path.contains("migrations/"))
        .map(|path| path.rsplit('/').next().unwrap_or(path))
        .collect();
    let names: Vec<&str> = files.values().map(String::as_str).collect();
    assert_eq!(
        listed, names,
        "{listing} lists every migration of {dir} once, in order"
    );
}

#[test]
fn every_migration_number_is_used_once_and_run_in_order() {
    check_migrations("core/migrations", "core/src/schema.rs");
    check_migrations("server/migrations", "server/src/storage/sqlite.rs");
}

/// The server's storage uses the rules (`scope`, `model`, core) and never the HTTP side that
/// calls it: the dependency points one way (docs/ARCHITECTURE.md, "Architecture invariants").
/// Tests may reach anywhere.
#[test]
fn server_storage_never_reaches_back_into_the_handlers() {
    let mut files = Vec::new();
    rust_files(&root().join("server/src/storage"), &mut files);
    assert!(
        files.len() > 5,
        "server/src/storage/ holds the SQLite backend"
    );
    for file in files {
        if file.to_string_lossy().ends_with("tests.rs") {
            continue;
        }
        let text = read(&file);
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or(&text);
        for handler in [
            "accounts",
            "admin",
            "auth",
            "config",
            "demo",
            "error",
            "export",
            "http",
            "metrics",
            "rate_limit",
            "refetch",
            "serve",
        ] {
            assert!(
                !code.contains(&format!("crate::{handler}")),
                "{} uses crate::{handler}: storage must not depend on the handlers",
                file.display()
            );
        }
    }
}

#[test]
fn the_documents_speak_of_the_product() {
    for doc in [
        "README.md",
        "docs/ARCHITECTURE.md",
        "docs/PROTOCOL.md",
        "docs/EMBEDDING.md",
    ] {
        let text = read(&root().join(doc)).to_lowercase();
        for phrase in ["next issue", "this issue", "issue 1"] {
            assert!(!text.contains(phrase), "{doc} says {phrase:?}");
        }
    }
}

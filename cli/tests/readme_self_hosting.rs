//! The README's "Self-hosting" section, run as written: its admin commands create the
//! organisation in an empty folder, the real server serves it, and the first real login with
//! the CLI receives the rep's customers and nothing else. Two substitutions only: the database
//! folder (`/var/lib/fieldcrm`) becomes a temporary one, and the public address
//! (`https://crm.example.org`) the loopback server's; the release build is replaced by this
//! test's own build of the same binaries (this package's `fieldcrm`, and `fieldcrm-server`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::process::Command;

use fieldcrm_tests::server::{Launch, ServerProcess, build_binary};

const DB_FOLDER: &str = "/var/lib/fieldcrm";
const PUBLIC_URL: &str = "https://crm.example.org";

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `sh` code blocks of the README section headed `## {title}`, in order.
fn shell_blocks(readme: &str, title: &str) -> Vec<String> {
    let heading = format!("## {title}\n");
    let start = readme
        .find(&heading)
        .unwrap_or_else(|| panic!("the README has no section {title:?}"));
    let section = &readme[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + "```sh\n".len()..];
        let close = body.find("```").expect("a closed code block");
        blocks.push(body[..close].to_owned());
        rest = &body[close + 3..];
    }
    blocks
}

/// Runs `script` with bash (stop at the first failing command) in `dir`, with the test's
/// binaries first on PATH and no FIELDCRM_* variables from the caller's environment.
fn run_block(script: &str, dir: &Path, bin_dir: &Path) -> String {
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut command = Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FIELDCRM_") {
            command.env_remove(name);
        }
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the README block failed:\n{script}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn customers_csv() -> &'static str {
    "external_id,name,territory,city,lat,lon\n\
     C-1,Elbcafé Övelgönne,altona,Hamburg,53.5449,9.9101\n\
     C-2,Bäckerei Ottensen,altona,Hamburg,53.5530,9.9260\n\
     C-3,Eppendorfer Apotheke,eppendorf,Hamburg,53.5900,9.9800\n"
}

#[test]
fn the_self_hosting_section_runs_as_written() {
    let blocks = shell_blocks(&readme(), "Self-hosting");
    let [build, organisation, serve, first_login] = blocks.as_slice() else {
        panic!(
            "the section has four sh blocks (build, organisation, serve, first login): {blocks:#?}"
        );
    };
    assert!(
        build.contains("cargo build --locked --release -p fieldcrm-server -p fieldcrm-cli"),
        "{build}"
    );
    assert!(serve.trim().starts_with("fieldcrm-server serve"), "{serve}");
    assert!(organisation.contains(DB_FOLDER), "{organisation}");
    assert!(first_login.contains(PUBLIC_URL), "{first_login}");

    let server_bin = build_binary();
    let cli_bin = PathBuf::from(env!("CARGO_BIN_EXE_fieldcrm"));
    let bin_dir: PathBuf = server_bin.parent().unwrap().to_path_buf();
    assert_eq!(
        cli_bin.parent(),
        Some(bin_dir.as_path()),
        "both binaries in one target folder, as after the README's build"
    );

    let work = tempfile::tempdir().unwrap();
    let db_folder = work.path().join("var-lib-fieldcrm");
    let admin_dir = work.path().join("admin");
    std::fs::create_dir_all(&admin_dir).unwrap();
    std::fs::write(admin_dir.join("customers.csv"), customers_csv()).unwrap();
    let organisation = organisation.replace(DB_FOLDER, &db_folder.to_string_lossy());
    let report = run_block(&organisation, &admin_dir, &bin_dir);
    assert!(
        report.contains("customers: 3 rows: 3 created, 0 updated, 0 unchanged, 0 rejected"),
        "{report}"
    );

    let server = ServerProcess::start(
        &server_bin,
        &db_folder.join("fieldcrm.sqlite"),
        Launch::default(),
    );
    let rep_dir = work.path().join("rep");
    std::fs::create_dir_all(&rep_dir).unwrap();
    let first_login = first_login.replace(PUBLIC_URL, &server.base);
    let out = run_block(&first_login, &rep_dir, &bin_dir);
    assert!(
        out.contains(&format!("logged in to {} as anna", server.base)),
        "{out}"
    );
    assert!(out.contains("Elbcafé Övelgönne"), "{out}");
    assert!(out.contains("Bäckerei Ottensen"), "{out}");
    assert!(
        !out.contains("Eppendorfer Apotheke"),
        "anna sees only altona: {out}"
    );
}

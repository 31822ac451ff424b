//! Helpers shared by the server's end-to-end test binaries: admin commands on a server
//! database, the demo-free test organisation, and an HTTP agent.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_fieldcrm-server");

/// Runs an admin subcommand of the real binary against `db`; fails the test if it fails.
pub fn admin(db: &Path, args: &[&str]) {
    let output = Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Team north with territories harbour and hills, and `users` as (username, role, territory),
/// all with `password`.
pub fn seed_org(db: &Path, users: &[(&str, &str, Option<&str>)], password: &str) {
    admin(db, &["team", "add", "--name", "north"]);
    for territory in ["harbour", "hills"] {
        admin(
            db,
            &["territory", "add", "--name", territory, "--team", "north"],
        );
    }
    for (user, role, territory) in users {
        admin(
            db,
            &[
                "user",
                "add",
                "--username",
                user,
                "--password",
                password,
                "--role",
                role,
                "--team",
                "north",
            ],
        );
        if let Some(territory) = territory {
            admin(
                db,
                &[
                    "territory",
                    "assign-user",
                    "--username",
                    user,
                    "--territory",
                    territory,
                ],
            );
        }
    }
}

/// An HTTP client that returns error statuses as responses.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

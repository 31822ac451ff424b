//! What the workspace's end-to-end tests and benchmarks share: the real server process
//! ([`server`]) and the help-text rule of the command-line programs ([`cli_help`]). The
//! workspace-level tests themselves live in `tests/tests/`.

pub mod cli_help;
pub mod server;

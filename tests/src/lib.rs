//! What the workspace's end-to-end tests and benchmarks share: the real server process
//! ([`server`]). The workspace-level tests themselves live in `tests/tests/`.

pub mod server;

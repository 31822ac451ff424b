//! The real `fieldcrm-server` binary for end-to-end tests and benchmarks: admin commands on a
//! database, the process serving it on a loopback port (`127.0.0.1:0`, the OS picks a free
//! port and the binary prints it), and a small organisation in a temporary folder.
//!
//! The caller names the binary: the server package's own tests and benches pass
//! `env!("CARGO_BIN_EXE_fieldcrm-server")`; other packages, where Cargo sets no such variable,
//! call [`build_binary`].
//!
//! A process is killed and reaped when its [`ServerProcess`] is dropped, so a failing test
//! leaves no server behind. Its stdout and stderr are drained on threads (the server never
//! blocks on a full pipe); stderr is kept for diagnosis: it is in the panic message when the
//! server does not start, and [`ServerProcess::stderr`] returns it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The line the binary prints first once it accepts connections, before its address.
const LISTENING: &str = "fieldcrm-server listening on ";
/// How long a server may take to print its "listening" line: a debug build on a busy machine,
/// `serve --demo` seeding its organisation first.
const START_TIMEOUT: Duration = Duration::from_secs(600);
/// How much of a server's stderr is kept: the end, where a failure is told.
const STDERR_KEPT_BYTES: usize = 256 * 1024;

/// Why a server process could not be started or an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot run {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("fieldcrm-server did not start: {reason}; its stderr:\n{stderr}")]
    NotStarted { reason: String, stderr: String },
    #[error("fieldcrm-server {args:?} failed ({status}): {stderr}")]
    Admin {
        args: Vec<String>,
        status: ExitStatus,
        stderr: String,
    },
}

/// How a [`ServerProcess`] starts, beyond `--db DB serve --listen 127.0.0.1:0`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Launch<'a> {
    /// `RUST_LOG` (default `warn`).
    pub log: Option<&'a str>,
    /// More arguments of `serve` (e.g. `--token-ttl-secs 600`).
    pub args: &'a [&'a str],
    /// Extra environment, set after the variables named in `unset` are removed.
    pub env: &'a [(&'a str, &'a str)],
    pub unset: &'a [&'a str],
    /// An address-space limit for the process (`ulimit -v`, in KB).
    pub address_space_kb: Option<u64>,
}

/// The real server binary serving a database on a loopback port. Killed (and reaped) when
/// dropped.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`, from the binary's "listening" line.
    pub base: String,
    /// The stdout lines after the "listening" line, as the server prints them (in a mutex so
    /// that threads can share a server).
    stdout: Mutex<Receiver<String>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ServerProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerProcess")
            .field("pid", &self.child.id())
            .field("base", &self.base)
            .finish()
    }
}

impl ServerProcess {
    /// Starts `binary` on `db` and waits for its "listening" line; fails the test (with the
    /// server's stderr) if it does not come.
    pub fn start(binary: impl AsRef<Path>, db: &Path, launch: Launch<'_>) -> ServerProcess {
        Self::try_start(binary, db, launch).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ServerProcess::start`] for callers that report errors instead of panicking.
    pub fn try_start(
        binary: impl AsRef<Path>,
        db: &Path,
        launch: Launch<'_>,
    ) -> Result<ServerProcess, ServerError> {
        let binary = binary.as_ref();
        let mut command = match launch.address_space_kb {
            Some(kb) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -v {kb} && exec \"$0\" \"$@\""))
                    .arg(binary);
                sh
            }
            None => Command::new(binary),
        };
        command
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(launch.args)
            .env("RUST_LOG", launch.log.unwrap_or("warn"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in launch.unset {
            command.env_remove(name);
        }
        for (name, value) in launch.env {
            command.env(name, value);
        }
        let mut child = command.spawn().map_err(|source| ServerError::Spawn {
            binary: binary.display().to_string(),
            source,
        })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (lines, stdout_lines) = channel();
        if let Some(stdout) = stdout {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { return };
                    if lines.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        let kept = Arc::new(Mutex::new(Vec::new()));
        let stderr_reader = stderr.map(|stderr| {
            let kept = Arc::clone(&kept);
            std::thread::spawn(move || keep_tail(stderr, &kept))
        });
        // Owned from here on, so every early return kills the process.
        let mut server = ServerProcess {
            child,
            base: String::new(),
            stdout: Mutex::new(stdout_lines),
            stderr: kept,
            stderr_reader,
        };
        let first = match server.stdout_line(START_TIMEOUT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                return Err(server.not_started(format!("no line on stdout in {START_TIMEOUT:?}")));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(server.not_started("it closed stdout (exited?)".to_owned()));
            }
        };
        match first.trim().strip_prefix(LISTENING) {
            Some(base) => server.base = base.to_owned(),
            None => return Err(server.not_started(format!("unexpected first line {first:?}"))),
        }
        Ok(server)
    }

    fn not_started(mut self, reason: String) -> ServerError {
        let _ = self.child.kill();
        let _ = self.child.wait();
        ServerError::NotStarted {
            reason,
            stderr: self.stderr(),
        }
    }

    /// The process id (for signals and `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has ended (it is reaped if so).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then reap; an error if the process had already ended (and been reaped).
    pub fn kill(&mut self) -> std::io::Result<ExitStatus> {
        self.child.kill()?;
        self.child.wait()
    }

    /// Waits at most `timeout` for the process to end by itself.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The next line the server printed on stdout after the "listening" line, waiting at most
    /// `timeout`; `None` if none came (or stdout closed).
    pub fn next_stdout_line(&self, timeout: Duration) -> Option<String> {
        self.stdout_line(timeout).ok()
    }

    fn stdout_line(&self, timeout: Duration) -> Result<String, RecvTimeoutError> {
        let lines = self.stdout.lock().unwrap_or_else(PoisonError::into_inner);
        lines.recv_timeout(timeout)
    }

    /// What the server wrote on stderr (the last 256 KB of it): all of it once the process
    /// has ended, what was read so far while it runs.
    pub fn stderr(&mut self) -> String {
        if self.has_exited()
            && let Some(reader) = self.stderr_reader.take()
        {
            let _ = reader.join();
        }
        let kept = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&kept).into_owned()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `from` to its end, keeping the last [`STDERR_KEPT_BYTES`] in `kept`.
fn keep_tail(mut from: impl Read, kept: &Mutex<Vec<u8>>) {
    let mut buffer = [0u8; 8192];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                kept.extend_from_slice(&buffer[..n]);
                let excess = kept.len().saturating_sub(STDERR_KEPT_BYTES);
                kept.drain(..excess);
            }
        }
    }
}

/// Runs an admin subcommand of `binary` against `db`; its stdout.
pub fn try_admin(
    binary: impl AsRef<Path>,
    db: &Path,
    args: &[&str],
) -> Result<String, ServerError> {
    let binary = binary.as_ref();
    let output = Command::new(binary)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .map_err(|source| ServerError::Spawn {
            binary: binary.display().to_string(),
            source,
        })?;
    if !output.status.success() {
        return Err(ServerError::Admin {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// [`try_admin`] that fails the test if the command fails; its stdout.
pub fn admin(binary: impl AsRef<Path>, db: &Path, args: &[&str]) -> String {
    try_admin(binary, db, args).unwrap_or_else(|e| panic!("{e}"))
}

/// Team north with territories harbour and hills, and `users` as (username, role, territory),
/// all with `password`.
pub fn seed_org(
    binary: impl AsRef<Path>,
    db: &Path,
    users: &[(&str, &str, Option<&str>)],
    password: &str,
) {
    let binary = binary.as_ref();
    admin(binary, db, &["team", "add", "--name", "north"]);
    for territory in ["harbour", "hills"] {
        admin(
            binary,
            db,
            &["territory", "add", "--name", territory, "--team", "north"],
        );
    }
    for (user, role, territory) in users {
        admin(
            binary,
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
                binary,
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

/// A seeded organisation (see [`seed_org`]) in a temporary folder and the real binary serving
/// it; the server is killed before the folder is removed (fields drop in order).
#[derive(Debug)]
pub struct OrgServer {
    pub process: ServerProcess,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The binary it runs, for admin commands on [`OrgServer::db`].
    pub bin: PathBuf,
    pub db: PathBuf,
    _dir: tempfile::TempDir,
}

impl OrgServer {
    pub fn start(
        binary: impl AsRef<Path>,
        users: &[(&str, &str, Option<&str>)],
        password: &str,
        launch: Launch<'_>,
    ) -> OrgServer {
        let bin = binary.as_ref().to_path_buf();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder: {e}"));
        let db = dir.path().join("server.sqlite");
        seed_org(&bin, &db, users, password);
        let process = ServerProcess::start(&bin, &db, launch);
        OrgServer {
            base: process.base.clone(),
            process,
            bin,
            db,
            _dir: dir,
        }
    }

    /// Still running, and answering `/healthz`.
    pub fn assert_up(&mut self) {
        assert!(
            !self.process.has_exited(),
            "the server died: {}",
            self.process.stderr()
        );
        let health = agent()
            .get(format!("{}/healthz", self.base))
            .call()
            .unwrap_or_else(|e| panic!("/healthz: {e}"));
        assert_eq!(health.status(), 200);
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

/// Logs `username` in; returns the token and the user's id. Fails the test if it cannot.
pub fn login(base: &str, username: &str, password: &str) -> (String, String) {
    let mut response = agent()
        .post(format!("{base}/v1/auth/login"))
        .send_json(serde_json::json!({"username": username, "password": password}))
        .unwrap_or_else(|e| panic!("login {username}: {e}"));
    assert_eq!(response.status(), 200, "login {username}");
    let body: serde_json::Value = response
        .body_mut()
        .read_json()
        .unwrap_or_else(|e| panic!("login {username}: {e}"));
    let text = |value: &serde_json::Value| {
        value
            .as_str()
            .unwrap_or_else(|| panic!("login {username}: {body}"))
            .to_owned()
    };
    (text(&body["token"]), text(&body["user"]["id"]))
}

/// The `fieldcrm-server` binary in the target folder of the running test or bench
/// (`target/<profile>/`), built with cargo first (a no-op when up to date). For packages other
/// than the server, where Cargo sets no `CARGO_BIN_EXE_fieldcrm-server`.
pub fn build_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("the test executable: {e}"));
    // target/<profile>/deps/<test>-<hash> -> target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("no target folder above {}", exe.display()))
        .to_path_buf();
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build
        .args(["build", "-p", "fieldcrm-server", "--bin", "fieldcrm-server"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        build.arg("--release");
    }
    let status = build
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(status.success(), "cargo build -p fieldcrm-server failed");
    let binary = profile_dir.join(format!("fieldcrm-server{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "{} missing", binary.display());
    binary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_exits_before_listening_is_reported_with_its_stderr() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // `sh --db … serve …` is no server: it complains on stderr and exits.
        let started = ServerProcess::try_start("sh", &dir.path().join("db"), Launch::default());
        match started {
            Err(ServerError::NotStarted { reason, stderr }) => {
                assert!(reason.contains("closed stdout"), "{reason}");
                assert!(!stderr.trim().is_empty(), "stderr kept for diagnosis");
            }
            other => panic!("not a server: {other:?}"),
        }
    }

    #[test]
    fn a_missing_binary_is_a_spawn_error() {
        let started = ServerProcess::try_start(
            "/nonexistent/fieldcrm-server",
            Path::new("db"),
            Launch::default(),
        );
        assert!(
            matches!(started, Err(ServerError::Spawn { .. })),
            "{started:?}"
        );
    }
}

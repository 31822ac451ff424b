//! The server process, admin commands, logins, device stores and a transport that counts bytes.

use super::*;

// ---------------------------------------------------------------------------------------------
// The server process

/// This package's server binary, built by cargo before the bench (release, as the bench).
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_fieldcrm-server");

/// The scrape token the benchmark's server accepts for `/metrics`.
pub(crate) const METRICS_TOKEN: &str = "load-bench-scrape";

/// The running server; killed when dropped (also on every error path).
pub(crate) struct Server {
    pub(crate) process: ServerProcess,
    pub(crate) base: String,
}

impl Server {
    pub(crate) fn start(binary: &Path, db: &Path) -> BenchResult<Server> {
        let process = ServerProcess::try_start(
            binary,
            db,
            Launch {
                env: &[("FIELDCRM_METRICS_TOKEN", METRICS_TOKEN)],
                ..Launch::default()
            },
        )?;
        Ok(Server {
            base: process.base.clone(),
            process,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// A counter or histogram sum from `/metrics`: the sum of every sample whose line starts
    /// with `prefix` (labels included in the prefix if given).
    pub(crate) fn metric(&self, agent: &ureq::Agent, prefix: &str) -> BenchResult<f64> {
        let mut response = agent
            .get(format!("{}/metrics", self.base))
            .header("authorization", &format!("Bearer {METRICS_TOKEN}"))
            .call()?;
        let text = response.body_mut().read_to_string()?;
        let mut total = 0.0;
        for line in text.lines().filter(|l| l.starts_with(prefix)) {
            if let Some(value) = line.rsplit(' ').next() {
                total += value.parse::<f64>().unwrap_or(0.0);
            }
        }
        Ok(total)
    }
}

/// Runs an admin command of the server binary against the database.
pub(crate) fn admin(binary: &Path, db: &Path, args: &[&str]) -> BenchResult<()> {
    try_admin(binary, db, args)?;
    Ok(())
}

pub(crate) fn add_user(
    binary: &Path,
    db: &Path,
    username: &str,
    role: &str,
    team: &str,
    territory: Option<&str>,
) -> BenchResult<()> {
    admin(
        binary,
        db,
        &[
            "user",
            "add",
            "--username",
            username,
            "--password",
            PASSWORD,
            "--role",
            role,
            "--team",
            team,
        ],
    )?;
    if let Some(territory) = territory {
        admin(
            binary,
            db,
            &[
                "territory",
                "assign-user",
                "--username",
                username,
                "--territory",
                territory,
            ],
        )?;
    }
    Ok(())
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// A signed-in user: token and user id.
#[derive(Clone)]
pub(crate) struct Login {
    pub(crate) token: String,
    pub(crate) user_id: String,
}

pub(crate) fn login(agent: &ureq::Agent, base: &str, username: &str) -> BenchResult<Login> {
    let mut response = agent
        .post(format!("{base}/v1/auth/login"))
        .send_json(json!({"username": username, "password": PASSWORD}))?;
    if response.status() != 200 {
        return Err(format!("login {username}: HTTP {}", response.status()).into());
    }
    let body: Value = response.body_mut().read_json()?;
    let token = body["token"].as_str().ok_or("login: no token")?.to_owned();
    let user_id = body["user"]["id"]
        .as_str()
        .ok_or("login: no user id")?
        .to_owned();
    Ok(Login { token, user_id })
}

/// A device store of `login`'s user with its actor registered at the server.
pub(crate) fn device_store(
    agent: &ureq::Agent,
    base: &str,
    login: &Login,
    path: &Path,
) -> BenchResult<Store> {
    let store = Store::open(path)?;
    store.set_user(&login.user_id)?;
    let response = agent
        .post(format!("{base}/v1/devices"))
        .header("authorization", &format!("Bearer {}", login.token))
        .send_json(json!({"actor_id": store.actor_id()}))?;
    if !matches!(response.status().as_u16(), 200 | 201) {
        return Err(format!("device registration: HTTP {}", response.status()).into());
    }
    Ok(store)
}

/// Counts the bodies that cross the wire (request and response) and the time spent waiting.
pub(crate) struct Counting<'a> {
    pub(crate) inner: &'a dyn Transport,
    pub(crate) sent: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) waited_us: AtomicU64,
}

impl<'a> Counting<'a> {
    pub(crate) fn new(inner: &'a dyn Transport) -> Self {
        Counting {
            inner,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            waited_us: AtomicU64::new(0),
        }
    }

    pub(crate) fn exchange(
        &self,
        body: Vec<u8>,
        send: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, TransportError>,
    ) -> Result<Vec<u8>, TransportError> {
        self.sent.fetch_add(body.len() as u64, Ordering::Relaxed);
        let started = Instant::now();
        let response = send(body);
        self.waited_us
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if let Ok(bytes) = &response {
            self.received
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        response
    }

    pub(crate) fn wire_bytes(&self) -> u64 {
        self.sent.load(Ordering::Relaxed) + self.received.load(Ordering::Relaxed)
    }
}

impl Transport for Counting<'_> {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.exchange(body, |b| self.inner.push(b))
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.exchange(body, |b| self.inner.pull(b))
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.exchange(body, |b| self.inner.upload_pings(b))
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.exchange(body, |b| self.inner.refetch(b))
    }

    fn analytics(&self, query: &str) -> Result<Vec<u8>, TransportError> {
        self.inner.analytics(query)
    }
}

/// Pushes everything pending in `store`, `batch` changes per request. Returns the count.
pub(crate) fn push_all(store: &Store, transport: &dyn Transport, batch: u32) -> BenchResult<usize> {
    let mut session = SyncSession::new(store)?;
    session.push_batch = batch;
    let mut pushed = 0;
    while let Some(push) = session.build_push()? {
        let response = transport.push(push.body)?;
        let outcome = session.apply_push_response(&response, BASE_MS)?;
        if outcome.rejected > 0 {
            let first = store.rejected_changes()?;
            return Err(format!(
                "the server rejected {} changes, first: {:?}",
                outcome.rejected,
                first.first().map(|r| (&r.code, &r.reason))
            )
            .into());
        }
        if outcome.acknowledged == 0 {
            return Err("a push was neither acknowledged nor rejected".into());
        }
        pushed += outcome.acknowledged;
    }
    Ok(pushed)
}

/// Pulls every page into `store`; returns (pages, documents applied).
pub(crate) fn pull_all(store: &Store, transport: &dyn Transport) -> BenchResult<(u32, u32)> {
    let session = SyncSession::new(store)?;
    let (mut pages, mut docs) = (0, 0);
    loop {
        let response = transport.pull(session.build_pull()?)?;
        let outcome = session.apply_pull_response(&response, BASE_MS)?;
        pages += 1;
        docs += outcome.import.applied;
        if !outcome.has_more {
            return Ok((pages, docs));
        }
    }
}

pub(crate) fn customers_in(store: &Store) -> BenchResult<Vec<Customer>> {
    let mut customers = Vec::new();
    for id in store.document_ids(Kind::Customer)? {
        if let Some(customer) = store.get::<Customer>(&id)? {
            customers.push(customer);
        }
    }
    Ok(customers)
}

/// VmRSS and VmHWM of a process, in kB.
pub(crate) fn process_memory_kb(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) a process has used so far, in seconds; with the window's length it
/// shows whether the server had cores left over (waiting) or none (saturated).
pub(crate) fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux for every architecture this runs on.
    Some(ticks as f64 / 100.0)
}

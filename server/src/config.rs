//! The command line: `serve` and the admin commands. Every flag can also come from the
//! environment (`FIELDCRM_*`), so a container or a systemd unit needs no arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::Role;

#[derive(Debug, Parser)]
#[command(name = "fieldcrm-server", version, about = "FieldCRM sync server")]
pub struct Cli {
    /// The SQLite database file (created on first use).
    #[arg(
        long,
        env = "FIELDCRM_DB",
        default_value = "./fieldcrm-server.sqlite",
        global = true
    )]
    pub db: PathBuf,

    /// How logs (on stderr) are written: `text` (coloured only on a terminal) or `json` (one
    /// object per line, for a log collector).
    #[arg(long, env = "FIELDCRM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text,
          global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

// Parsed once at start: the size of `serve`'s flags costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Manage territories.
    #[command(subcommand)]
    Territory(TerritoryCommand),
    /// Customer assignments.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Token signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Users' devices: list them, revoke a lost one.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Import customers, contacts or products from a CSV file as an admin (see docs/ARCHITECTURE.md,
    /// "CSV import and export"): rows are pushed like a device's changes; a second run updates.
    Import(ImportArgs),
    /// Customer analytics: run them now, list the runs, print the current run's report.
    #[command(subcommand)]
    Analytics(AnalyticsCommand),
    /// Service cases: the SLA per severity, escalation of overdue cases.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Webhooks: register a receiver, list them, remove one, list and replay parked deliveries.
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register a receiver of the events committed from now on; prints its id and secret (the
    /// only time the secret is shown).
    Add {
        /// An http:// or https:// URL.
        #[arg(long)]
        url: String,
        /// 24 to 200 printable characters; generated when left out. Prefer the environment
        /// variable: flags show in `ps`.
        #[arg(long, env = "FIELDCRM_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// Every webhook with its queue: pending and parked deliveries.
    List,
    /// Remove a webhook and its queue.
    Remove {
        /// The webhook's id (`webhook list`).
        #[arg(long)]
        id: String,
    },
    /// A webhook's parked deliveries, newest first.
    Parked {
        /// The webhook's id (`webhook list`).
        #[arg(long)]
        id: String,
    },
    /// Try a webhook's parked deliveries again (every one, or the event `--seq`'s).
    Replay {
        /// The webhook's id (`webhook list`).
        #[arg(long)]
        id: String,
        /// Only the delivery of this event (its sequence number, `webhook parked`).
        #[arg(long)]
        seq: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Print the SLA: the hours a case of each severity may stay unresolved.
    Sla,
    /// Set the hours of one severity (default: critical 4, high 24, medium 72, low 168). Open
    /// cases get the new due time at the next escalation run.
    SetSla {
        /// critical, high, medium or low.
        #[arg(long, value_parser = crate::cases::severity_arg)]
        severity: fieldcrm_core::Severity,
        /// 1 to 8760 (a year).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=8760))]
        hours: u32,
    },
    /// Escalate the overdue open cases now (and set every open case's due time from the SLA),
    /// as this admin's change: it reaches the devices through normal sync.
    Escalate {
        /// The admin whose change it is.
        #[arg(long = "as", value_name = "ADMIN")]
        admin: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Compute every customer's analytics now and make them current (a failed run leaves the
    /// previous results in place).
    Run {
        /// Measure as of the end of this day (`YYYY-MM-DD`, UTC) using only orders up to it: a
        /// calibration run for a backtest. Default: now.
        #[arg(long)]
        as_of: Option<String>,
        /// Print the run's report as JSON (parameters, input counts, results, timings).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        params: AnalyticsParams,
        #[command(flatten)]
        grade: GradeOption,
    },
    /// The latest runs, newest first.
    Runs {
        /// How many runs to list.
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// Print the current run's report as JSON.
    Report,
    /// Backtest BG/NBD: calibrate on the orders up to a day, predict each customer's
    /// purchases in the days after it and compare with what they bought (nothing is stored:
    /// the current results stay).
    Holdout {
        /// The calibration period's last day (`YYYY-MM-DD`, UTC).
        #[arg(long)]
        as_of: String,
        /// Length of the holdout period after it, in days.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3660))]
        days: u32,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The reporting currency (ISO 4217): orders in other currencies are left out.
        #[arg(long = "analytics-currency", env = "FIELDCRM_DEFAULT_CURRENCY",
              default_value = "EUR", value_parser = currency)]
        currency: String,
    },
    /// Import orders from before the CRM from a CSV file: one row per order
    /// (`customer_external_id,date,amount,currency`) or per line (the same and
    /// `sku,quantity,unit_price`); a second run of the same file adds nothing.
    Import {
        /// The CSV file (UTF-8, with a header line).
        file: PathBuf,
    },
}

/// The parameters of an analytics run (the admin command's and the scheduled runs').
#[derive(Debug, Clone, Args)]
pub struct AnalyticsParams {
    /// The reporting currency (ISO 4217): orders in other currencies are left out.
    #[arg(long = "analytics-currency", env = "FIELDCRM_DEFAULT_CURRENCY", default_value = "EUR",
          value_parser = currency)]
    pub currency: String,
    /// Days of revenue the ABC classes measure, up to the run's day.
    #[arg(long, env = "FIELDCRM_ABC_WINDOW_DAYS", default_value_t = 365,
          value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub abc_window_days: u32,
    /// Share of baskets (orders) an itemset must be in to make cross-sell rules (0.001: 0.1 %).
    #[arg(long, env = "FIELDCRM_RULES_MIN_SUPPORT", default_value_t = 0.001, value_parser = share)]
    pub min_support: f64,
    /// Least confidence of a cross-sell rule.
    #[arg(long, env = "FIELDCRM_RULES_MIN_CONFIDENCE", default_value_t = 0.1, value_parser = share)]
    pub min_confidence: f64,
    /// Discount rate per month of the 12-month customer lifetime value (0.01: 1 %).
    #[arg(long, env = "FIELDCRM_CLV_MONTHLY_DISCOUNT", default_value_t = 0.01,
          value_parser = discount)]
    pub clv_monthly_discount: f64,
    /// Next-best products kept per customer.
    #[arg(long, env = "FIELDCRM_NEXT_BEST", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub next_best: u32,
}

/// The organisation's choice to grade customers by their ABC class (`analytics run` and the
/// scheduled runs).
#[derive(Debug, Clone, Default, Args)]
pub struct GradeOption {
    /// After each successful run, set every customer's grade to its ABC class (A, B, C) where
    /// it differs, as this admin's change: it reaches the devices through normal sync. Off
    /// unless given.
    #[arg(long, env = "FIELDCRM_GRADE_FROM_ABC", value_name = "ADMIN")]
    pub grade_from_abc: Option<String>,
}

impl AnalyticsParams {
    /// The run's settings, as of `as_of`.
    pub fn settings(&self, as_of: fieldcrm_core::Millis) -> crate::analytics::run::RunSettings {
        use crate::analytics::gamma_gamma::ClvOptions;
        use crate::analytics::lifetime_value::LifetimeOptions;
        use crate::analytics::{abc::AbcSettings, clusters::ClusterSettings, rules::RuleSettings};
        crate::analytics::run::RunSettings {
            as_of,
            abc: AbcSettings {
                window_days: self.abc_window_days,
                ..AbcSettings::default()
            },
            rules: RuleSettings {
                min_support: self.min_support,
                min_confidence: self.min_confidence,
                ..RuleSettings::default()
            },
            clusters: ClusterSettings::default(),
            lifetime: LifetimeOptions {
                clv: ClvOptions {
                    monthly_discount: self.clv_monthly_discount,
                },
                ..LifetimeOptions::default()
            },
            next_best: self.next_best as usize,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// What the file holds.
    #[arg(value_enum)]
    pub kind: crate::csv_import::ImportKind,
    /// The CSV file (UTF-8, with a header line).
    pub file: PathBuf,
    /// The admin the records are imported as (their `created_by`, their device's changes).
    #[arg(long = "as", env = "FIELDCRM_IMPORT_AS")]
    pub admin: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0: any free port, printed at start).
    #[arg(long, env = "FIELDCRM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// `iss` of the tokens this server issues and accepts.
    #[arg(long, env = "FIELDCRM_ISSUER", default_value = "fieldcrm")]
    pub issuer: String,
    /// `aud` of the tokens this server issues and accepts.
    #[arg(long, env = "FIELDCRM_AUDIENCE", default_value = "fieldcrm-sync")]
    pub audience: String,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, env = "FIELDCRM_TOKEN_TTL_SECS", default_value_t = 12 * 3600,
          value_parser = clap::value_parser!(u64).range(60..=30 * 24 * 3600))]
    pub token_ttl_secs: u64,
    /// Largest request body accepted, in bytes (compressed, as sent).
    #[arg(long, env = "FIELDCRM_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest sync request payload after decompression, in bytes. Devices keep their pushes
    /// under `protocol::MAX_PUSH_PAYLOAD_BYTES` (2 MiB); what a request may inflate to is held in
    /// memory while it decodes (with its decoded copy: twice this at most, per push in flight),
    /// so this bounds a deflate bomb's cost.
    #[arg(long, env = "FIELDCRM_MAX_DECOMPRESSED_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_decompressed_bytes: usize,
    /// The oldest sync protocol version served: apps speaking an older one get
    /// `426 upgrade_required` (their data stays on the phone until they are updated). Raise it
    /// to retire old app versions; by default every version this server speaks is served.
    #[arg(long, env = "FIELDCRM_OLDEST_PROTOCOL_VERSION",
          default_value_t = fieldcrm_core::protocol::OLDEST_PROTOCOL_VERSION,
          value_parser = clap::value_parser!(u8).range(
              i64::from(fieldcrm_core::protocol::OLDEST_PROTOCOL_VERSION)
                  ..=i64::from(fieldcrm_core::protocol::PROTOCOL_VERSION)))]
    pub oldest_protocol_version: u8,
    /// Public key (PEM, RSA or EC P-256) of an external identity provider whose tokens are
    /// accepted; its `sub` names a user by username.
    #[arg(long, env = "FIELDCRM_IDP_PUBLIC_KEY", requires = "idp_issuer")]
    pub idp_public_key: Option<PathBuf>,
    /// `iss` of the identity provider's tokens.
    #[arg(long, env = "FIELDCRM_IDP_ISSUER", requires = "idp_public_key")]
    pub idp_issuer: Option<String>,
    /// `aud` the identity provider's tokens must carry (default: `--audience`).
    #[arg(long, env = "FIELDCRM_IDP_AUDIENCE")]
    pub idp_audience: Option<String>,
    /// Sync requests (push, pull, pings) one device credential may make per minute, steadily.
    #[arg(long, env = "FIELDCRM_DEVICE_REQUESTS_PER_MIN", default_value_t = 1_200,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub device_requests_per_min: u32,
    /// Sync requests one device credential may make at once above its steady rate.
    #[arg(long, env = "FIELDCRM_DEVICE_REQUEST_BURST", default_value_t = 600,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub device_request_burst: u32,
    /// Sync requests one user (all their devices) may make per minute, steadily.
    #[arg(long, env = "FIELDCRM_USER_REQUESTS_PER_MIN", default_value_t = 3_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub user_requests_per_min: u32,
    /// Sync requests one user may make at once above their steady rate.
    #[arg(long, env = "FIELDCRM_USER_REQUEST_BURST", default_value_t = 1_200,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub user_request_burst: u32,
    /// Login attempts per username in any 60 s (right password or not); more are refused
    /// with 429 until the window passes.
    #[arg(long, env = "FIELDCRM_LOGIN_ATTEMPTS_PER_MIN", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub login_attempts_per_min: u32,
    /// Keys (devices, users, usernames) each rate limiter tracks at most.
    #[arg(long, env = "FIELDCRM_RATE_LIMIT_KEYS", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub rate_limit_keys: u64,
    /// Seed a demo organisation (Hamburg: team north, 5 users, 300 customers, a week of
    /// visits) into a new database on first start, and print how to log in.
    /// From the environment: `FIELDCRM_DEMO=1` (or true/yes/on; 0/false/no/off turn it off).
    #[arg(long, env = "FIELDCRM_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
    /// The organisation's currency (ISO 4217): the visits' free-text order lines become orders
    /// in it, once, at the first start of this version.
    #[arg(long, env = "FIELDCRM_DEFAULT_CURRENCY", default_value = "EUR", value_parser = currency)]
    pub default_currency: String,
    /// A rep's move of a customer's pin further than this many metres, in the push that
    /// carries one of their check-ins at that customer, is flagged to the manager.
    #[arg(long, env = "FIELDCRM_PIN_MOVE_FLAG_M",
          default_value_t = crate::storage::DEFAULT_PIN_MOVE_FLAG_M,
          value_parser = metres)]
    pub pin_move_flag_m: f64,
    /// Open deals of at least this amount, in minor units of their currency (cents), are big
    /// deals (`GET /v1/pipeline/big-deals` without `min_amount`).
    #[arg(long, env = "FIELDCRM_BIG_DEAL_MIN_MINOR",
          default_value_t = crate::storage::DEFAULT_BIG_DEAL_MIN_MINOR,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub big_deal_min_minor: i64,
    /// Devices (not revoked) a user may register; one more is refused with `device_limit`.
    #[arg(long, env = "FIELDCRM_MAX_DEVICES_PER_USER",
          default_value_t = crate::accounts::DEFAULT_MAX_DEVICES_PER_USER,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub max_devices_per_user: u16,
    /// A bearer token that may read `/metrics` besides admins' tokens (for a Prometheus
    /// scraper). Prefer the environment variable: flags show in `ps`.
    #[arg(long, env = "FIELDCRM_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Run the customer analytics every DURATION (`24h`, `6h`, `30m`, `90s`), counted from the
    /// latest run's start. Off unless this or `--analytics-at` is given.
    #[arg(long, env = "FIELDCRM_ANALYTICS_EVERY", value_name = "DURATION",
          value_parser = crate::insights::schedule::every_secs, conflicts_with = "analytics_at")]
    pub analytics_every: Option<u64>,
    /// Run the customer analytics daily at HH:MM, UTC (a run missed while the server was down
    /// runs when it starts again).
    #[arg(long, env = "FIELDCRM_ANALYTICS_AT", value_name = "HH:MM",
          value_parser = crate::insights::schedule::minute_of_day)]
    pub analytics_at: Option<u32>,
    /// Escalate overdue service cases every DURATION (`15m`, `1h`), as the admin named by
    /// `--escalate-as`. Off unless both are given.
    #[arg(long, env = "FIELDCRM_ESCALATE_EVERY", value_name = "DURATION",
          value_parser = crate::insights::schedule::every_secs, requires = "escalate_as")]
    pub escalate_every: Option<u64>,
    /// The admin whose change a scheduled escalation is.
    #[arg(
        long,
        env = "FIELDCRM_ESCALATE_AS",
        value_name = "ADMIN",
        requires = "escalate_every"
    )]
    pub escalate_as: Option<String>,
    /// Webhook deliveries: attempts of one event before it is parked (an admin may replay it).
    #[arg(long, env = "FIELDCRM_WEBHOOK_ATTEMPTS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub webhook_attempts: u32,
    /// Webhook deliveries: the wait after the first failure, in ms, doubled after each further
    /// one up to `--webhook-max-backoff-ms`.
    #[arg(long, env = "FIELDCRM_WEBHOOK_BACKOFF_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub webhook_backoff_ms: u64,
    /// Webhook deliveries: the longest wait between two attempts, in ms.
    #[arg(long, env = "FIELDCRM_WEBHOOK_MAX_BACKOFF_MS", default_value_t = 600_000,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub webhook_max_backoff_ms: u64,
    /// Webhook deliveries: a receiver that has not answered in full after this many ms has
    /// failed the attempt.
    #[arg(long, env = "FIELDCRM_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub webhook_timeout_ms: u64,
    /// Draw the dashboard's route map on tiles from this URL template (`{z}`, `{x}`, `{y}`;
    /// `{r}` for @2x tiles), e.g. `https://tiles.example.org/{z}/{x}/{y}.png`: the page may then
    /// load images from that host. Default: none, the route is drawn on a plain grid and the
    /// dashboard loads nothing from another host.
    #[arg(long, env = "FIELDCRM_MAP_TILES", value_name = "URL_TEMPLATE",
          value_parser = crate::basemap::TileTemplate::parse)]
    pub map_tiles: Option<crate::basemap::TileTemplate>,
    /// The tile source's attribution, shown on the map (most tile providers require one, such
    /// as "© OpenStreetMap contributors").
    #[arg(long, env = "FIELDCRM_MAP_ATTRIBUTION", value_name = "TEXT", requires = "map_tiles",
          value_parser = crate::basemap::attribution)]
    pub map_attribution: Option<String>,
    /// The scheduled runs' parameters (as `analytics run` takes them).
    #[command(flatten)]
    pub analytics: AnalyticsParams,
    #[command(flatten)]
    pub grade: GradeOption,
}

/// A currency: a three-letter ISO 4217 code in upper case.
pub(crate) fn currency(text: &str) -> Result<String, String> {
    if text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(text.to_owned())
    } else {
        Err("expected a three-letter ISO 4217 code such as EUR".into())
    }
}

/// A monthly discount rate from 0 to 0.5.
fn discount(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..=0.5).contains(&v) => Ok(v),
        _ => Err("expected a monthly rate from 0 to 0.5, such as 0.01".into()),
    }
}

/// A share from 0 (excluded) to 1.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err("expected a share above 0 and at most 1, such as 0.001".into()),
    }
}

/// A distance in metres: finite and not negative.
fn metres(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(m) if m.is_finite() && m >= 0.0 => Ok(m),
        _ => Err("expected a distance in metres (0 or more)".into()),
    }
}

impl ServeArgs {
    /// The analytics schedule, if one is configured.
    pub fn analytics_schedule(&self) -> Option<crate::insights::schedule::Schedule> {
        use crate::insights::schedule::Schedule;
        match (self.analytics_every, self.analytics_at) {
            (Some(secs), _) => Some(Schedule::Every { secs }),
            (None, Some(minute)) => Some(Schedule::DailyAt { minute }),
            (None, None) => None,
        }
    }

    /// How webhook deliveries are tried (`--webhook-*`).
    pub fn delivery_policy(&self) -> crate::webhooks::policy::DeliveryPolicy {
        use std::time::Duration;
        crate::webhooks::policy::DeliveryPolicy {
            max_attempts: self.webhook_attempts,
            base_backoff: Duration::from_millis(self.webhook_backoff_ms),
            max_backoff: Duration::from_millis(
                self.webhook_max_backoff_ms.max(self.webhook_backoff_ms),
            ),
            timeout: Duration::from_millis(self.webhook_timeout_ms),
        }
    }

    /// What the dashboard's route map is drawn on.
    pub fn basemap(&self) -> crate::basemap::Basemap {
        crate::basemap::Basemap {
            tiles: self.map_tiles.clone(),
            attribution: self.map_attribution.clone(),
        }
    }

    /// The rate limits these flags configure.
    pub fn rate_limits(&self) -> crate::rate_limit::RateLimits {
        use crate::rate_limit::{Rate, RateLimits};
        RateLimits {
            device: Rate {
                per_minute: self.device_requests_per_min,
                burst: self.device_request_burst,
            },
            user: Rate {
                per_minute: self.user_requests_per_min,
                burst: self.user_request_burst,
            },
            logins_per_minute: self.login_attempts_per_min,
            max_keys: usize::try_from(self.rate_limit_keys).unwrap_or(usize::MAX),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        /// The login name, unique on this server (e.g. `anna`); for identity-provider users,
        /// the provider's `sub`.
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
        /// Password for logging in here; omit for users who sign in only through the
        /// identity provider. Prefer the environment variable: flags show in `ps`.
        #[arg(long, env = "FIELDCRM_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// What the user may see and write: `rep` (the customers of their territories and their
        /// own visits), `manager` (their team's customers, visits and reps) or `admin`
        /// (everything, across teams).
        #[arg(long, env = "FIELDCRM_ROLE", value_enum)]
        role: Role,
        /// The user's team, by name (e.g. `north`; create it first with `team add`). Required
        /// for reps and managers; optional for admins.
        #[arg(long, env = "FIELDCRM_TEAM")]
        team: Option<String>,
    },
    /// Move a user to another team, with the visits and tasks they own (the old team's
    /// managers stop seeing them, the new team's start).
    Move {
        /// The user to move, by login name.
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
        /// The team they join, by name.
        #[arg(long, env = "FIELDCRM_TEAM")]
        team: String,
    },
    /// Disable a user (a departed rep): login and every token are refused at once, and their
    /// devices are told to wipe their local data.
    Disable {
        /// The user to disable, by login name.
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
    },
    /// Let a disabled user log in again (tokens issued before stay refused).
    Enable {
        /// The user to enable, by login name.
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// A user's devices, revoked ones included.
    List {
        /// The user whose devices are listed, by login name.
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
    },
    /// Revoke one device (a lost phone), by device id or actor id: its token is refused at
    /// once, it is told to wipe its local data, and its actor can no longer push. The user's
    /// other devices stay signed in.
    Revoke {
        /// The device id or the actor id, as `device list` prints them.
        #[arg(long, env = "FIELDCRM_DEVICE")]
        device: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create a team.
    Add {
        /// The team's name, unique on this server (e.g. `north`): users and territories name
        /// their team by it.
        #[arg(long, env = "FIELDCRM_TEAM_NAME")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TerritoryCommand {
    /// Create a territory in a team.
    Add {
        /// The territory's name, unique on this server across teams (e.g. `altona`).
        #[arg(long, env = "FIELDCRM_TERRITORY_NAME")]
        name: String,
        /// The team it belongs to, by name: the team's managers see its customers.
        #[arg(long, env = "FIELDCRM_TEAM")]
        team: String,
    },
    /// Give a user a territory (their devices receive its documents on their next sync).
    AssignUser {
        /// The user (usually a rep), by login name.
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
        /// The territory they start working in, by name.
        #[arg(long, env = "FIELDCRM_TERRITORY")]
        territory: String,
    },
    /// Take a territory from a user (their devices drop its documents on their next sync).
    UnassignUser {
        /// The user, by login name.
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
        /// The territory they stop working in, by name.
        #[arg(long, env = "FIELDCRM_TERRITORY")]
        territory: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomerCommand {
    /// Put a customer (by record id) in a territory.
    Assign {
        /// The customer's record id (a UUID, e.g. as `fieldcrm customer list` shows it).
        #[arg(long, env = "FIELDCRM_CUSTOMER_ID")]
        customer_id: uuid::Uuid,
        /// The territory it moves to, by name: its contacts, opportunities and cases move
        /// along, and any earlier territory is replaced.
        #[arg(long, env = "FIELDCRM_TERRITORY")]
        territory: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a new signing key active. Tokens signed by the old key stay valid until they
    /// expire; a running server picks the new key up within seconds.
    Rotate,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_consistent_and_every_entry_is_described() {
        let cli = Cli::command();
        assert!(
            cli.get_arguments().any(|arg| arg.get_id() == "db"),
            "the root's options are checked"
        );
        let missing = fieldcrm_tests::cli_help::undescribed(&cli);
        assert!(missing.is_empty(), "without a description: {missing:#?}");
    }

    #[test]
    fn serve_defaults() {
        let cli = Cli::try_parse_from(["fieldcrm-server", "serve"]).unwrap();
        assert_eq!(cli.db, PathBuf::from("./fieldcrm-server.sqlite"));
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(args.token_ttl_secs, 43_200);
        assert!(!args.demo);
        assert_eq!(args.rate_limits(), crate::rate_limit::RateLimits::default());
    }

    #[test]
    fn the_analytics_schedule_is_off_unless_one_is_given() {
        use crate::insights::schedule::Schedule;
        let schedule = |extra: &[&str]| {
            let argv = [&["fieldcrm-server", "serve"][..], extra].concat();
            match Cli::try_parse_from(argv).map(|cli| cli.command) {
                Ok(Command::Serve(args)) => Ok((args.analytics_schedule(), args.grade)),
                Ok(_) => panic!("not serve"),
                Err(e) => Err(e.to_string()),
            }
        };
        assert_eq!(schedule(&[]).unwrap().0, None);
        assert_eq!(
            schedule(&["--analytics-every", "6h"]).unwrap().0,
            Some(Schedule::Every { secs: 21_600 })
        );
        let (nightly, grade) =
            schedule(&["--analytics-at", "02:30", "--grade-from-abc", "root"]).unwrap();
        assert_eq!(nightly, Some(Schedule::DailyAt { minute: 150 }));
        assert_eq!(grade.grade_from_abc.as_deref(), Some("root"));
        assert!(schedule(&["--analytics-every", "6h", "--analytics-at", "02:30"]).is_err());
        assert!(schedule(&["--analytics-at", "25:00"]).is_err());
    }

    #[test]
    fn demo_is_a_flag() {
        let cli = Cli::try_parse_from(["fieldcrm-server", "serve", "--demo"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Serve(ServeArgs { demo: true, .. })
        ));
    }

    #[test]
    fn admin_commands_parse() {
        let cli = Cli::try_parse_from([
            "fieldcrm-server",
            "user",
            "add",
            "--username",
            "ana",
            "--password",
            "pw",
            "--role",
            "rep",
            "--team",
            "north",
            "--db",
            "x.sqlite",
        ])
        .unwrap();
        assert_eq!(cli.db, PathBuf::from("x.sqlite"));
        assert!(matches!(
            cli.command,
            Command::User(UserCommand::Add {
                role: Role::Rep,
                ..
            })
        ));
        assert!(
            Cli::try_parse_from([
                "fieldcrm-server",
                "user",
                "add",
                "--username",
                "a",
                "--role",
                "boss"
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_from([
                "fieldcrm-server",
                "customer",
                "assign",
                "--customer-id",
                "not-a-uuid",
                "--territory",
                "t"
            ])
            .is_err()
        );
        let cli = Cli::try_parse_from([
            "fieldcrm-server",
            "territory",
            "assign-user",
            "--username",
            "ana",
            "--territory",
            "harbour",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Territory(TerritoryCommand::AssignUser { .. })
        ));
    }

    #[test]
    fn a_tile_source_is_checked_at_startup() {
        let basemap = |extra: &[&str]| {
            let argv = [&["fieldcrm-server", "serve"][..], extra].concat();
            match Cli::try_parse_from(argv).map(|cli| cli.command) {
                Ok(Command::Serve(args)) => Ok(args.basemap()),
                Ok(_) => panic!("not serve"),
                Err(e) => Err(e.to_string()),
            }
        };
        assert_eq!(basemap(&[]).unwrap(), crate::basemap::Basemap::default());
        let configured = basemap(&[
            "--map-tiles",
            "https://tiles.example.org/{z}/{x}/{y}.png",
            "--map-attribution",
            "Example tiles",
        ])
        .unwrap();
        assert_eq!(
            configured.tiles.unwrap().origin(),
            "https://tiles.example.org"
        );
        assert_eq!(configured.attribution.as_deref(), Some("Example tiles"));
        let bad = basemap(&["--map-tiles", "https://tiles.example.org/{z}/{x}.png"]).unwrap_err();
        assert!(bad.contains("--map-tiles") && bad.contains("{y}"), "{bad}");
        // An attribution without tiles is a mistake, not a no-op.
        assert!(basemap(&["--map-attribution", "Example tiles"]).is_err());
    }

    #[test]
    fn idp_flags_come_together() {
        assert!(
            Cli::try_parse_from(["fieldcrm-server", "serve", "--idp-public-key", "k.pem"]).is_err()
        );
    }
}

//! `fieldcrm`: a device from the terminal. A local store (one SQLite file) that logs in to a
//! FieldCRM server, edits customers offline, checks in to visits and syncs. See
//! `fieldcrm --help`.

mod api;
mod error;
mod session;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use fieldcrm_core::{
    AnyRecord, Customer, CustomerFilter, CustomerSummary, DEVICE_REVOKED, Fix, GeoLocation, Grade,
    HttpTransport, LocationSource, Millis, Query, QueryResult, RetryPolicy, Store, StoreError,
    Visit, check_coordinates, distance_m, now_ms, sync,
};

use crate::api::Api;
use crate::error::CliError;
use crate::session::Session;

#[derive(Debug, Parser)]
#[command(
    name = "fieldcrm",
    version,
    about = "FieldCRM device CLI: an offline store that syncs"
)]
struct Cli {
    /// The device's store (a SQLite file, created on first use). The login session is kept
    /// beside it in `<name>.session.json`.
    #[arg(
        long,
        env = "FIELDCRM_STORE",
        default_value = "./fieldcrm-device.sqlite",
        global = true
    )]
    store: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in to a server and register this store as one of your devices.
    Login {
        /// Server base URL, e.g. http://127.0.0.1:8080
        #[arg(long, env = "FIELDCRM_SERVER")]
        server: String,
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
        /// Prefer the environment variable: flags show in `ps`.
        #[arg(long, env = "FIELDCRM_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Customers in the local store.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Full-text search over customer names, contacts, cities and phone numbers.
    Search {
        text: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// The customers nearest to a point.
    Nearby {
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        #[arg(long, allow_negative_numbers = true)]
        lon: f64,
        #[arg(long, default_value_t = 10)]
        limit: u32,
        /// Only customers within this many metres.
        #[arg(long)]
        within: Option<f64>,
    },
    /// Check in to a visit (or, given a customer id, start a visit there) with a GPS fix.
    Checkin {
        /// A planned visit's id or a customer's id.
        id: String,
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        #[arg(long, allow_negative_numbers = true)]
        lon: f64,
        /// Accuracy of the fix, in metres.
        #[arg(long, default_value_t = 10.0)]
        accuracy: f64,
    },
    /// Local changes not yet acknowledged by the server.
    Pending,
    /// Sync status: pending and rejected changes (with the server's reasons), last sync.
    Status,
    /// Push local changes, pull what changed on the server.
    Sync,
}

#[derive(Debug, Subcommand)]
enum CustomerCommand {
    /// Create a customer.
    Add {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        fields: CustomerFields,
    },
    /// Change a customer's fields (only those given).
    Edit {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: CustomerFields,
        /// Remove a phone number (repeatable).
        #[arg(long = "phone-remove")]
        phone_remove: Vec<String>,
    },
    /// List customers by name.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        territory: Option<String>,
    },
    /// Show one customer in full.
    Show { id: String },
}

#[derive(Debug, Args)]
struct CustomerFields {
    #[arg(long)]
    city: Option<String>,
    /// Add a phone number (repeatable).
    #[arg(long = "phone", visible_alias = "phone-add")]
    phones: Vec<String>,
    /// Territory name, as the server knows it (required for the server to accept a new
    /// customer from a rep).
    #[arg(long)]
    territory: Option<String>,
    #[arg(long, requires = "lon", allow_negative_numbers = true)]
    lat: Option<f64>,
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    lon: Option<f64>,
    /// A, B or C.
    #[arg(long, value_parser = parse_grade)]
    grade: Option<Grade>,
    /// Add a segment (repeatable).
    #[arg(long = "segment")]
    segments: Vec<String>,
}

fn parse_grade(text: &str) -> Result<Grade, String> {
    Grade::parse_known(&text.to_ascii_uppercase()).ok_or_else(|| "expected A, B or C".to_owned())
}

/// A grade as shown: one a newer app wrote and this one does not know is shown as unknown.
fn grade_label(grade: &Grade) -> String {
    match grade {
        Grade::Unknown(value) => format!("unknown ({value})"),
        known => known.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            if let Some(hint) = err.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

fn open_store(path: &Path) -> Result<Store, CliError> {
    Store::open(path).map_err(|source| CliError::OpenStore {
        path: path.display().to_string(),
        source: Box::new(source),
    })
}

fn run(cli: Cli) -> Result<(), CliError> {
    let session_path = session::path_for(&cli.store);
    let store = open_store(&cli.store)?;
    match cli.command {
        Command::Login {
            server,
            username,
            password,
        } => {
            let password = password.ok_or(CliError::NoPassword)?;
            login(&store, &session_path, &server, &username, &password)
        }
        Command::Customer(CustomerCommand::Add { name, fields }) => {
            let mut customer = Customer::new(name);
            apply_fields(&mut customer, fields);
            if Session::load(&session_path)?.is_some() {
                customer.owner = Some(store.user());
            }
            let customer = store.create(customer)?;
            println!("customer {} created: {}", customer.meta.id, customer.name);
            Ok(())
        }
        Command::Customer(CustomerCommand::Edit {
            id,
            name,
            fields,
            phone_remove,
        }) => {
            let mut customer: Customer = store
                .get(&id)?
                .ok_or_else(|| CliError::NotFound(id.clone()))?;
            if let Some(name) = name {
                customer.name = name;
            }
            apply_fields(&mut customer, fields);
            for phone in &phone_remove {
                customer.phones.remove(phone);
            }
            let customer = store.update(customer)?;
            println!("customer {} saved: {}", customer.meta.id, customer.name);
            Ok(())
        }
        Command::Customer(CustomerCommand::List { limit, territory }) => {
            let rows = customers(
                &store,
                &Query::Customers(CustomerFilter {
                    territory,
                    limit,
                    ..Default::default()
                }),
            )?;
            print_customers(&rows);
            Ok(())
        }
        Command::Customer(CustomerCommand::Show { id }) => {
            let customer: Customer = store
                .get(&id)?
                .ok_or_else(|| CliError::NotFound(id.clone()))?;
            print_customer(&customer);
            Ok(())
        }
        Command::Search { text, limit } => {
            print_customers(&customers(&store, &Query::SearchCustomers { text, limit })?);
            Ok(())
        }
        Command::Nearby {
            lat,
            lon,
            limit,
            within,
        } => {
            check_coordinates("position", lat, lon).map_err(|e| CliError::Usage(e.to_string()))?;
            print_customers(&customers(
                &store,
                &Query::NearbyCustomers {
                    lat,
                    lon,
                    max_distance_m: within,
                    limit,
                },
            )?);
            Ok(())
        }
        Command::Checkin {
            id,
            lat,
            lon,
            accuracy,
        } => checkin(&store, &session_path, &id, lat, lon, accuracy),
        Command::Pending => {
            let pending = store.pending_changes(10_000)?;
            if pending.is_empty() {
                println!("no pending changes");
            }
            for change in &pending {
                println!(
                    "{:>5}  {:<11} {}  change {}  {} bytes",
                    change.seq,
                    change.kind,
                    change.doc_id,
                    short(&change.hash),
                    change.bytes.len()
                );
            }
            Ok(())
        }
        Command::Status => status(&store, &session_path),
        Command::Sync => {
            let session = Session::require(&session_path)?;
            let transport = HttpTransport::new(&session.server, &session.token);
            let report = match sync(
                &store,
                &transport,
                &RetryPolicy::default(),
                &mut |delay| std::thread::sleep(delay),
                &now_ms,
            ) {
                Ok(report) => report,
                // The core has wiped the store already; the token is dead too.
                Err(err) if err.is_device_revoked() => {
                    Session::remove(&session_path)?;
                    return Err(CliError::DeviceRevoked);
                }
                Err(err) => return Err(err.into()),
            };
            println!(
                "synced with {}: {} changes pushed, {} rejected, {} documents received, {} removed ({} pages)",
                session.server,
                report.pushed,
                report.rejected,
                report.pulled_docs,
                report.removed,
                report.pages
            );
            if report.rejected > 0 {
                println!("some changes were rejected: see `fieldcrm status`");
            }
            if report.refetched > 0 {
                println!(
                    "{} documents that had not loaded were fetched again and loaded",
                    report.refetched
                );
            }
            if report.refused_documents > 0 {
                return Err(CliError::DocumentsRefused {
                    count: report.refused_documents,
                });
            }
            Ok(())
        }
    }
}

fn login(
    store: &Store,
    session_path: &Path,
    server: &str,
    username: &str,
    password: &str,
) -> Result<(), CliError> {
    let api = Api::new(server);
    let login = api.login(username, password)?;
    // A store holds one user's data and changes: never switch it to someone else.
    let current = store.user();
    if current != "local" && current != login.user.id {
        return Err(CliError::OtherUser {
            current,
            requested: username.to_owned(),
        });
    }
    store.set_user(&login.user.id)?;
    match api.register_device(&login.token, &store.actor_id()) {
        // This store's actor was revoked while it was away: its data must go. A new login
        // then registers it afresh as a new device.
        Err(CliError::Refused { code, .. }) if code == DEVICE_REVOKED => {
            store.wipe()?;
            Session::remove(session_path)?;
            return Err(CliError::DeviceRevoked);
        }
        other => other?,
    }
    Session {
        server: server.trim_end_matches('/').to_owned(),
        token: login.token,
        user_id: login.user.id.clone(),
        username: login.user.username.clone(),
        expires_at: login.expires_at,
    }
    .save(session_path)?;
    println!(
        "logged in to {server} as {} (user {}); this store is device {}",
        login.user.username,
        login.user.id,
        store.actor_id()
    );
    Ok(())
}

fn apply_fields(customer: &mut Customer, fields: CustomerFields) {
    if let Some(city) = fields.city {
        customer.address.city = Some(city);
    }
    customer.phones.extend(fields.phones);
    customer.segments.extend(fields.segments);
    if let Some(territory) = fields.territory {
        customer.territory = Some(territory);
    }
    if let (Some(lat), Some(lon)) = (fields.lat, fields.lon) {
        customer.location = Some(GeoLocation {
            lat,
            lon,
            source: LocationSource::Manual,
            at: now_ms(),
        });
    }
    if let Some(grade) = fields.grade {
        customer.grade = Some(grade);
    }
}

fn customers(store: &Store, query: &Query) -> Result<Vec<CustomerSummary>, CliError> {
    match store.query(query)? {
        QueryResult::Customers(rows) => Ok(rows),
        _ => Ok(Vec::new()),
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn print_customers(rows: &[CustomerSummary]) {
    if rows.is_empty() {
        println!("no customers");
        return;
    }
    for row in rows {
        let distance = row
            .distance_m
            .map(|d| format!("{d:>7.0} m  "))
            .unwrap_or_default();
        println!(
            "{}  {distance}{:<40} {:<12} {:<2} {}",
            row.id,
            row.name,
            row.city.as_deref().unwrap_or("-"),
            row.grade.as_ref().map_or("-".into(), grade_label),
            row.territory.as_deref().unwrap_or("-"),
        );
    }
}

fn print_customer(c: &Customer) {
    println!("{}  {}", c.meta.id, c.name);
    let line = |label: &str, value: String| println!("  {label:<10} {value}");
    let join = |set: &std::collections::BTreeSet<String>| {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    line("grade", c.grade.as_ref().map_or("-".into(), grade_label));
    line("territory", c.territory.clone().unwrap_or_default());
    line(
        "address",
        [&c.address.line, &c.address.postal_code, &c.address.city]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
    );
    if let Some(l) = &c.location {
        line(
            "location",
            format!("{:.5}, {:.5} ({})", l.lat, l.lon, l.source),
        );
    }
    for (label, set) in [
        ("phones", &c.phones),
        ("emails", &c.emails),
        ("segments", &c.segments),
    ] {
        if !set.is_empty() {
            line(label, join(set));
        }
    }
    if let Some(days) = c.visit_cadence_days {
        line("cadence", format!("every {days} days"));
    }
    if !c.notes.is_empty() {
        line("notes", c.notes.clone());
    }
}

fn checkin(
    store: &Store,
    session_path: &Path,
    id: &str,
    lat: f64,
    lon: f64,
    accuracy: f64,
) -> Result<(), CliError> {
    // The visit is recorded in the signed-in rep's name.
    Session::require(session_path)?;
    let now = now_ms();
    let fix = Fix {
        at: now,
        lat,
        lon,
        accuracy_m: accuracy,
        mock: false,
    };
    // Checked before a visit is started at a customer, so a bad fix leaves nothing behind.
    fix.validate("check_in", now)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let visit_id = match store.get_any(id)? {
        Some(AnyRecord::Visit(visit)) => visit.meta.id,
        Some(AnyRecord::Customer(customer)) => {
            let mut visit = Visit::new(customer.meta.id.clone(), store.user());
            visit.planned_start = Some(now);
            store.create(visit)?.meta.id
        }
        Some(other) => {
            return Err(CliError::Usage(format!(
                "{id} is a {}, not a visit or a customer",
                other.kind()
            )));
        }
        None => return Err(CliError::NotFound(id.to_owned())),
    };
    // Written once and verified offline by the store.
    let visit = store.check_in(&visit_id, fix).map_err(|e| match e {
        StoreError::Validation(e) => CliError::Usage(format!("visit {visit_id}: {e}")),
        other => other.into(),
    })?;
    let customer: Option<Customer> = store.get(&visit.customer_id)?;
    let distance = customer
        .as_ref()
        .and_then(|c| c.location.as_ref())
        .map_or(String::new(), |l| {
            format!(
                ", {:.0} m from the customer",
                distance_m(l.lat, l.lon, lat, lon)
            )
        });
    let name = customer.map(|c| c.name).unwrap_or_default();
    let verification = visit
        .verification
        .map_or("unverified".to_owned(), |v| v.to_string());
    println!(
        "checked in: visit {} at {name} ({verification}{distance})",
        visit.meta.id
    );
    Ok(())
}

fn status(store: &Store, session_path: &Path) -> Result<(), CliError> {
    match Session::load(session_path)? {
        Some(s) => println!(
            "logged in:      {} at {} (user {})",
            s.username, s.server, s.user_id
        ),
        None => println!("logged in:      no"),
    }
    let status = store.sync_status()?;
    let time = |at: Option<Millis>| at.map_or("never".to_owned(), utc);
    println!("pending:        {} changes", status.pending_changes);
    println!("cursor:         {}", status.cursor);
    println!("last sync:      {}", time(status.last_sync_at));
    println!("last attempt:   {}", time(status.last_attempt_at));
    match (&status.last_error, &status.last_error_code) {
        (Some(error), Some(code)) => println!("last error:     {error} ({code})"),
        (Some(error), None) => println!("last error:     {error}"),
        _ => println!("last error:     none"),
    }
    println!("rejected:       {} changes", status.rejected_changes);
    for rejected in store.rejected_changes()? {
        println!(
            "  {} {} change {}: {} ({})",
            rejected.kind,
            rejected.doc_id,
            short(&rejected.hash),
            rejected.reason,
            rejected.code.as_str()
        );
    }
    println!("refused:        {} documents", status.refused_documents);
    for refused in store.refused_documents()? {
        println!(
            "  {}: {} ({}, {} attempts)",
            refused.doc_id, refused.reason, refused.code, refused.attempts
        );
    }
    Ok(())
}

/// `2026-05-03 14:02:11 UTC`; a time outside the calendar's years (-9999 to 9999) as its
/// milliseconds.
fn utc(ms: Millis) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("{ms} ms since 1970 (UTC)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_790_000_000_000), "2026-09-21 14:13:20 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(utc(i64::MAX), format!("{} ms since 1970 (UTC)", i64::MAX));
    }

    #[test]
    fn grades_parse_in_either_case() {
        assert_eq!(parse_grade("a"), Ok(Grade::A));
        assert!(
            parse_grade("d").is_err(),
            "input takes only the grades this app knows"
        );
        assert_eq!(grade_label(&Grade::parse("D")), "unknown (D)");
        assert!(parse_grade("Z").is_err());
    }

    #[test]
    fn the_cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

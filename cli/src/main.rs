//! `fieldcrm`: a device from the terminal. A local store (one SQLite file) that logs in to a
//! FieldCRM server, edits customers offline, checks in to visits and syncs. See
//! `fieldcrm --help`.

mod api;
mod customers;
mod error;
mod fieldwork;
mod login;
mod opportunities;
mod rejected;
mod session;
mod syncing;
mod time_text;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fieldcrm_core::Store;

use crate::customers::CustomerCommand;
use crate::error::CliError;
use crate::opportunities::OpportunityCommand;
use crate::rejected::RejectedCommand;

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
        /// Your user name on the server.
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
        /// Prefer the environment variable: flags show in `ps`.
        #[arg(long, env = "FIELDCRM_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Customers in the local store.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Your deals: the pipeline by stage, amounts, probability, close dates and stage changes.
    #[command(subcommand, visible_alias = "deal")]
    Opportunity(OpportunityCommand),
    /// Full-text search over customer names, contacts, cities and phone numbers.
    Search {
        /// Words to find, each as a prefix.
        text: String,
        /// At most this many customers.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// The customers nearest to a point.
    Nearby {
        /// Latitude of the point, in degrees.
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        /// Longitude of the point, in degrees.
        #[arg(long, allow_negative_numbers = true)]
        lon: f64,
        /// At most this many customers.
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
        /// Latitude of the fix, in degrees.
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        /// Longitude of the fix, in degrees.
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
    /// Changes the server refused, with its reasons; `retry` or `discard` resolves a record.
    Rejected {
        #[command(subcommand)]
        action: Option<RejectedCommand>,
    },
    /// Push local changes, pull what changed on the server.
    Sync,
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
            login::login(&store, &session_path, &server, &username, &password)
        }
        Command::Customer(command) => customers::run(&store, &session_path, command),
        Command::Opportunity(command) => opportunities::run(&store, &session_path, command),
        Command::Search { text, limit } => customers::search(&store, text, limit),
        Command::Nearby {
            lat,
            lon,
            limit,
            within,
        } => customers::nearby(&store, lat, lon, limit, within),
        Command::Checkin {
            id,
            lat,
            lon,
            accuracy,
        } => fieldwork::checkin(&store, &session_path, &id, lat, lon, accuracy),
        Command::Pending => syncing::pending(&store),
        Command::Status => syncing::status(&store, &session_path),
        Command::Rejected { action } => rejected::run(&store, action),
        Command::Sync => syncing::sync_now(&store, &session_path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_is_consistent_and_every_entry_is_described() {
        use clap::CommandFactory;
        let cli = Cli::command();
        cli.clone().debug_assert();
        fn undescribed(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            if command.get_about().is_none() {
                missing.push(path.clone());
            }
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                undescribed(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        for sub in cli.get_subcommands() {
            if sub.get_name() != "help" {
                undescribed(sub, "fieldcrm", &mut missing);
            }
        }
        assert!(missing.is_empty(), "without a description: {missing:#?}");
    }
}

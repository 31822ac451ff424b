//! `fieldcrm`: a device from the terminal. A local store (one SQLite file) that logs in to a
//! FieldCRM server, edits customers offline, checks in to visits and syncs. See
//! `fieldcrm --help`.

mod api;
mod customers;
mod error;
mod fieldwork;
mod login;
mod opportunities;
mod output;
mod paging;
mod rejected;
mod server_url;
mod session;
mod syncing;
mod time_text;
mod visits;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use fieldcrm_core::Store;

use crate::customers::CustomerCommand;
use crate::error::CliError;
use crate::opportunities::OpportunityCommand;
use crate::paging::Page;
use crate::rejected::RejectedCommand;
use crate::visits::VisitCommand;

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
        /// Server base URL, e.g. https://crm.example.com; a server on this machine may go
        /// without the scheme (127.0.0.1:8080 means http://127.0.0.1:8080).
        #[arg(long, env = "FIELDCRM_SERVER", value_parser = server_url::server_url)]
        server: String,
        /// Your user name on the server.
        #[arg(long, env = "FIELDCRM_USERNAME")]
        username: String,
        /// Your password; prefer the environment variable FIELDCRM_PASSWORD: flags show in `ps`.
        #[arg(long, env = "FIELDCRM_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Customers in the local store.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Your deals: the pipeline by stage, amounts, probability, close dates and stage changes.
    #[command(subcommand, visible_alias = "deal")]
    Opportunity(OpportunityCommand),
    /// Visits: today's, or by date, customer and status, with the ids `checkin` and
    /// `checkout` take.
    #[command(subcommand)]
    Visit(VisitCommand),
    /// Full-text search over customer names, contacts, cities and phone numbers.
    Search {
        /// Words to find, each as a prefix.
        text: String,
        #[command(flatten)]
        page: Page,
    },
    /// The customers nearest to a point.
    Nearby {
        /// Latitude of the point, in degrees.
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        /// Longitude of the point, in degrees.
        #[arg(long, allow_negative_numbers = true)]
        lon: f64,
        #[command(flatten)]
        page: Page,
        /// Only customers within this many metres.
        #[arg(long)]
        within: Option<f64>,
    },
    /// Check in to a visit (or, given a customer id, start a visit there) with a GPS fix.
    Checkin {
        /// A planned visit's id or a customer's id.
        id: String,
        #[command(flatten)]
        fix: fieldwork::FixArgs,
    },
    /// Check out of a visit you checked in to, with a GPS fix: the visit is done.
    Checkout {
        /// The visit's id (as `fieldcrm visit list` shows it).
        id: String,
        #[command(flatten)]
        fix: fieldwork::FixArgs,
        /// How the visit went, e.g. "ordered 2 ovens".
        #[arg(long)]
        outcome: Option<String>,
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
    // Read while the process has one thread (see `time_text::local_offset`).
    time_text::local_offset();
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(err) => return refuse_arguments(&err),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => return refuse_arguments(&err),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            if err.is_wrong_argument() {
                // As clap answers a wrong argument: the usage, and exit code 2.
                eprintln!(
                    "\n{}\n\nFor more information, try '--help'.",
                    usage(&subcommand_path(&matches))
                );
                return ExitCode::from(2);
            }
            if let Some(hint) = err.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// clap's answer to what it could not parse, as one line and always with the usage: clap leaves
/// it out of some (an invalid value), so it comes from the subcommands named on the command line.
fn refuse_arguments(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    // One line for the error (clap spreads some over several), then the usage.
    let text = err.render().to_string();
    let message = text
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let named: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|word| word.to_string_lossy().into_owned())
        .collect();
    eprintln!(
        "{message}\n\n{}\n\nFor more information, try '--help'.",
        usage(&named)
    );
    ExitCode::from(2)
}

/// The names of the subcommands that ran, e.g. `["customer", "add"]`.
fn subcommand_path(matches: &clap::ArgMatches) -> Vec<String> {
    let mut path = Vec::new();
    let mut matches = matches;
    while let Some((name, sub_matches)) = matches.subcommand() {
        path.push(name.to_owned());
        matches = sub_matches;
    }
    path
}

/// The usage line of the deepest subcommand named in `words` (in order, others skipped), e.g.
/// `Usage: fieldcrm customer add [OPTIONS] --name <NAME>`.
fn usage(words: &[String]) -> String {
    let mut command = Cli::command();
    command.build();
    let mut current = &command;
    for word in words {
        if let Some(sub) = current
            .get_subcommands()
            .find(|sub| sub.get_name() == word || sub.get_all_aliases().any(|a| a == word))
        {
            current = sub;
        }
    }
    current.clone().render_usage().to_string()
}

pub(crate) fn open_store(path: &Path) -> Result<Store, CliError> {
    Store::open(path).map_err(|source| CliError::OpenStore {
        path: path.display().to_string(),
        source: Box::new(source),
    })
}

/// Runs the command; a command that fails on a store it created leaves no store behind (a
/// failed login, `sync` while logged out, a wrong argument).
fn run(cli: Cli) -> Result<(), CliError> {
    let session_path = session::path_for(&cli.store);
    let fresh = !cli.store.try_exists().unwrap_or(true);
    let result = run_command(&cli.store, &session_path, cli.command);
    if result.is_err() && fresh {
        remove_store(&cli.store);
    }
    result
}

/// The store file and SQLite's files beside it. Best effort: the command's own error is the one
/// to report.
fn remove_store(path: &Path) {
    let name = path.as_os_str();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = name.to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

fn run_command(store_path: &Path, session_path: &Path, command: Command) -> Result<(), CliError> {
    if let Command::Login {
        server,
        username,
        password,
    } = command
    {
        let password = password.ok_or(CliError::NoPassword)?;
        return login::login(store_path, session_path, &server, &username, &password);
    }
    let store = open_store(store_path)?;
    match command {
        Command::Login { .. } => Ok(()), // handled above, before the store is opened
        Command::Customer(command) => customers::run(&store, session_path, command),
        Command::Opportunity(command) => opportunities::run(&store, session_path, command),
        Command::Visit(command) => visits::run(&store, session_path, command),
        Command::Search { text, page } => customers::search(&store, text, page),
        Command::Nearby {
            lat,
            lon,
            page,
            within,
        } => customers::nearby(&store, lat, lon, page, within),
        Command::Checkin { id, fix } => fieldwork::checkin(&store, session_path, &id, &fix),
        Command::Checkout { id, fix, outcome } => {
            fieldwork::checkout(&store, session_path, &id, &fix, outcome)
        }
        Command::Pending => syncing::pending(&store),
        Command::Status => syncing::status(&store, session_path),
        Command::Rejected { action } => rejected::run(&store, action),
        Command::Sync => syncing::sync_now(&store, session_path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_is_consistent_and_every_entry_is_described() {
        let cli = Cli::command();
        assert!(
            cli.get_arguments().any(|arg| arg.get_id() == "store"),
            "the root's options are checked"
        );
        let missing = fieldcrm_tests::cli_help::undescribed(&cli);
        assert!(missing.is_empty(), "without a description: {missing:#?}");
    }

    #[test]
    fn a_wrong_argument_is_answered_with_the_usage_of_its_command() {
        let matches = Cli::command()
            .try_get_matches_from(["fieldcrm", "customer", "add", "--name", "x"])
            .unwrap();
        let line = usage(&subcommand_path(&matches));
        assert!(line.starts_with("Usage: fieldcrm customer add "), "{line}");
        let matches = Cli::command()
            .try_get_matches_from(["fieldcrm", "status"])
            .unwrap();
        assert_eq!(
            usage(&subcommand_path(&matches)),
            "Usage: fieldcrm status [OPTIONS]"
        );
        // From the words typed, when clap refused them: the deepest subcommand named.
        let words = ["--store", "x", "deal", "list", "--limit", "0"].map(String::from);
        assert!(usage(&words).starts_with("Usage: fieldcrm opportunity list "));
    }
}

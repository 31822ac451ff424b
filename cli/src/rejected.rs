//! `fieldcrm rejected`: the changes the server refused, and resolving them per record: retry
//! after fixing the record, or discard back to the server's version (see docs/PROTOCOL.md,
//! "Resolving rejected changes").

use crate::output::out;
use clap::Subcommand;
use fieldcrm_core::{Store, StoreError};

use crate::error::CliError;
use crate::syncing::short;
use crate::time_text::at;

#[derive(Debug, Subcommand)]
pub enum RejectedCommand {
    /// Send a refused record again as it reads now (fix it first, e.g. `customer edit ID
    /// --territory NAME`); the next `sync` pushes it.
    Retry {
        /// The record's id (as `fieldcrm rejected` lists it).
        id: String,
    },
    /// Drop your refused changes to a record: it goes back to the server's version (a record
    /// the server never had is removed from this device).
    Discard {
        /// The record's id (as `fieldcrm rejected` lists it).
        id: String,
    },
}

pub fn run(store: &Store, command: Option<RejectedCommand>) -> Result<(), CliError> {
    match command {
        None => list(store),
        Some(RejectedCommand::Retry { id }) => {
            store
                .retry_rejected(&id)
                .map_err(|e| resolve_error(&id, e))?;
            out!("record {id} queued again: run `fieldcrm sync` to send it");
            Ok(())
        }
        Some(RejectedCommand::Discard { id }) => {
            store
                .discard_rejected(&id)
                .map_err(|e| resolve_error(&id, e))?;
            match store.get_any(&id)? {
                Some(_) => out!("record {id} is back to the server's version"),
                None => out!("record {id} removed: the server never had it"),
            }
            Ok(())
        }
    }
}

/// `fieldcrm rejected`: one line per refused change, newest first.
fn list(store: &Store) -> Result<(), CliError> {
    let rejected = store.rejected_changes()?;
    if rejected.is_empty() {
        out!("no rejected changes");
        return Ok(());
    }
    for change in &rejected {
        out!(
            "{:<11} {}  change {}  {}  {} ({})",
            change.kind,
            change.doc_id,
            short(&change.hash),
            at(change.at),
            change.reason,
            change.code.as_str()
        );
    }
    out!("fix and `fieldcrm rejected retry ID`, or `fieldcrm rejected discard ID`");
    Ok(())
}

fn resolve_error(id: &str, err: StoreError) -> CliError {
    match err {
        StoreError::NoRejectedChanges { .. } => CliError::Usage(format!(
            "record {id} has no rejected change (see `fieldcrm rejected`)"
        )),
        StoreError::Validation(e) => CliError::Usage(format!("record {id}: {e}; fix it first")),
        other => other.into(),
    }
}

//! Everything that can go wrong, as messages for the person at the terminal.

use fieldcrm_core::{StoreError, SyncError, TransportError};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot open the store {path}: {source}")]
    OpenStore {
        path: String,
        source: Box<StoreError>,
    },
    #[error(transparent)]
    Store(Box<StoreError>),
    #[error("not logged in: run `fieldcrm login --server URL --username NAME` first")]
    NotLoggedIn,
    #[error("cannot use the session file {path}: {source}")]
    SessionFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the session file {path} is damaged ({detail}); log in again")]
    SessionCorrupt { path: String, detail: String },
    #[error("cannot reach the server at {server}: {detail}")]
    Unreachable { server: String, detail: String },
    #[error("the server refused {what} ({status} {code}): {message}")]
    Refused {
        what: &'static str,
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected answer from the server to {what}: {detail}")]
    BadAnswer { what: &'static str, detail: String },
    #[error(
        "this store belongs to another user ({current}); use another --store to log in as {requested}"
    )]
    OtherUser { current: String, requested: String },
    #[error("no password: pass --password or set FIELDCRM_PASSWORD")]
    NoPassword,
    #[error("no record with id {0}")]
    NotFound(String),
    #[error("{0}")]
    Usage(String),
    #[error("sync failed: {0}")]
    Sync(Box<SyncError>),
    /// The round finished, but documents from the server did not load: not a clean success.
    #[error(
        "{count} document(s) from the server could not be loaded (document_refused); the next sync fetches them again, see `fieldcrm status`"
    )]
    DocumentsRefused { count: u64 },
    #[error(
        "the server revoked this device (an admin revoked it or disabled the user): the local store has been wiped and the session removed"
    )]
    DeviceRevoked,
}

impl From<StoreError> for CliError {
    fn from(err: StoreError) -> Self {
        CliError::Store(Box::new(err))
    }
}

impl From<SyncError> for CliError {
    fn from(err: SyncError) -> Self {
        CliError::Sync(Box::new(err))
    }
}

/// A value the model refuses, or an id of another kind of record, is the user's mistake, said
/// as such.
pub fn validation_as_usage(e: StoreError) -> CliError {
    match e {
        StoreError::Validation(e) => CliError::Usage(e.to_string()),
        e @ StoreError::WrongKind { .. } => CliError::Usage(e.to_string()),
        StoreError::NotFound { id } => CliError::NotFound(id),
        other => other.into(),
    }
}

impl CliError {
    /// A mistake in what was typed: answered with the command's usage and exit code 2.
    pub fn is_wrong_argument(&self) -> bool {
        matches!(
            self,
            CliError::Usage(_) | CliError::NotFound(_) | CliError::NoPassword
        )
    }

    /// A hint printed under the message, when there is a useful next step.
    pub fn hint(&self) -> Option<&'static str> {
        if matches!(self, CliError::DeviceRevoked) {
            return Some("ask your admin; a new login starts this store afresh as a new device");
        }
        let CliError::Sync(err) = self else {
            return None;
        };
        match err.as_ref() {
            SyncError::Transport(TransportError::Server { status: 401, .. }) => {
                Some("the token was refused or has expired: run `fieldcrm login` again")
            }
            SyncError::Transport(TransportError::Offline(_)) => Some(
                "nothing is lost: local changes stay queued (`fieldcrm pending`); sync again later",
            ),
            _ => None,
        }
    }
}

//! Errors of the core library, one enum per concern.

use thiserror::Error;

/// A record value that breaks a rule of the domain model. Nothing is written when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    #[error("{field} is required")]
    Required { field: String },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: String, max: usize },
    #[error("{field} is out of range: {detail}")]
    OutOfRange { field: String, detail: String },
    #[error("{field} must be a finite number")]
    NotFinite { field: String },
    #[error("{field} has an unknown value {value:?}")]
    UnknownValue { field: String, value: String },
    #[error("{field} is not a plausible timestamp (milliseconds since 1970, years 2000 to 2100)")]
    BadTimestamp { field: String },
    #[error("{field} cannot change once written")]
    Immutable { field: String },
    #[error("status cannot go back from {from} to {to}")]
    StatusRegression { from: String, to: String },
    /// The visit's status is one a newer app wrote and this code does not know: it is kept as
    /// it is, since this code cannot tell whether a change would move it forward.
    #[error("visit status {status:?} is unknown to this app version: it cannot be changed here")]
    UnknownStatus { status: String },
    #[error("{field} is malformed: {detail}")]
    Malformed { field: String, detail: String },
    /// A submitted (or later) order: its lines can no longer change, only its status moves on.
    #[error("the order is {status}: its lines can no longer be edited")]
    OrderFrozen { status: String },
    /// A line was added from a product that has no price in the order's currency.
    #[error("product {product_id} has no price in {currency}")]
    NoPriceInCurrency {
        product_id: String,
        currency: String,
    },
    /// A satisfaction survey on a case that has not been resolved.
    #[error("a satisfaction survey is recorded once the case has been resolved")]
    SurveyBeforeResolution,
    /// An activity names a contact of another customer than its own.
    #[error("contact {contact_id} is not a contact of the activity's customer")]
    ContactOfAnotherCustomer { contact_id: String },
}

impl ValidationError {
    pub(crate) fn required(field: &str) -> Self {
        Self::Required {
            field: field.to_owned(),
        }
    }
    pub(crate) fn out_of_range(field: &str, detail: impl Into<String>) -> Self {
        Self::OutOfRange {
            field: field.to_owned(),
            detail: detail.into(),
        }
    }
    pub(crate) fn malformed(field: &str, detail: impl Into<String>) -> Self {
        Self::Malformed {
            field: field.to_owned(),
            detail: detail.into(),
        }
    }
}

/// Errors returned by the [`crate::Store`].
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("invalid record: {0}")]
    Validation(#[from] ValidationError),
    #[error("no record with id {id}")]
    NotFound { id: String },
    #[error("record {id} is a {actual}, not a {expected}")]
    WrongKind {
        id: String,
        expected: String,
        actual: String,
    },
    #[error("the file is not a FieldCRM store")]
    NotAStore,
    #[error(
        "the store was written by a newer version (schema {found}, this build knows up to {supported})"
    )]
    NewerSchema { found: i64, supported: i64 },
    /// The file is encrypted: it opens only with its key ([`crate::Store::open_encrypted`]).
    /// It was not modified. (A file of whole pages of random bytes looks the same.)
    #[error("the store is encrypted: open it with its key")]
    KeyRequired,
    /// The key does not open the file: it was encrypted with another key, or it is not a
    /// store at all (without the right key the two cannot be told apart). It was not modified.
    #[error("the key does not open this store")]
    WrongKey,
    /// A key was given, but this build's SQLite is not SQLCipher.
    #[error("this build cannot encrypt stores (SQLCipher is not compiled in)")]
    EncryptionUnavailable,
    /// A sync session is running on this store; [`crate::Store::wipe`] waits for none and
    /// wipes nothing meanwhile (the round would go on writing into the wiped store).
    #[error("a sync is running on this store")]
    SyncRunning,
    /// [`crate::Store::discard_rejected`] or [`crate::Store::retry_rejected`] on a document
    /// with no change the server refused: nothing to resolve, nothing changed.
    #[error("record {id} has no rejected change")]
    NoRejectedChanges { id: String },
    #[error("file system error: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored document {id} is unreadable: {detail}")]
    CorruptDocument { id: String, detail: String },
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("document error: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// Why one document of an import batch was refused. The rest of the batch still applies.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    #[error("malformed Automerge data: {0}")]
    MalformedData(String),
    #[error("document does not describe a valid record: {0}")]
    InvalidRecord(String),
    #[error("document claims id {found}, expected {expected}")]
    IdMismatch { expected: String, found: String },
}

impl ImportError {
    /// Stable, machine-readable code (kept with a refused document, see
    /// [`crate::RefusedDocument`]).
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::MalformedData(_) => "malformed_data",
            ImportError::InvalidRecord(_) => "invalid_record",
            ImportError::IdMismatch { .. } => "id_mismatch",
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

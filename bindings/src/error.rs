//! The one error type of the bindings. Every core error maps onto it.
//!
//! Each variant is a stable code that apps can match on (a sealed class in Kotlin, an enum in
//! Swift). Fields carry what an app needs (which field, which record id, which server code);
//! nothing carries record contents, so errors can be logged and reported without leaking
//! customer data. No field is called `message`: it would clash with `Throwable.message` in the
//! generated Kotlin.

use fieldcrm_core as fc;
use thiserror::Error;

/// Which rule an invalid value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ValidationRule {
    Required,
    TooLong,
    OutOfRange,
    NotFinite,
    UnknownValue,
    BadTimestamp,
    Immutable,
    StatusRegression,
    Malformed,
}

impl std::fmt::Display for ValidationRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ValidationRule::Required => "required",
            ValidationRule::TooLong => "too_long",
            ValidationRule::OutOfRange => "out_of_range",
            ValidationRule::NotFinite => "not_finite",
            ValidationRule::UnknownValue => "unknown_value",
            ValidationRule::BadTimestamp => "bad_timestamp",
            ValidationRule::Immutable => "immutable",
            ValidationRule::StatusRegression => "status_regression",
            ValidationRule::Malformed => "malformed",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error, uniffi::Error)]
pub enum FieldCrmError {
    /// `close()` was called on the store; open it again to continue.
    #[error("the store is closed")]
    StoreClosed,
    /// A value breaks a rule of the data model; nothing was written.
    #[error("invalid value for {field} ({rule}): {detail}")]
    InvalidValue {
        field: String,
        rule: ValidationRule,
        /// The rule in words (never the offending value).
        detail: String,
    },
    #[error("no record with id {id}")]
    NotFound { id: String },
    #[error("record {id} is a {actual}, not a {expected}")]
    WrongKind {
        id: String,
        expected: String,
        actual: String,
    },
    /// The file exists but is not a FieldCRM store; it was not modified.
    #[error("the file is not a FieldCRM store")]
    NotAStore,
    /// The store is encrypted: open it with `openEncrypted` and its key. It was not modified.
    #[error("the store is encrypted: open it with its key")]
    KeyRequired,
    /// The key does not open the store: it was encrypted with another key (or the file is not
    /// a store at all; without the right key the two look the same). It was not modified.
    /// Without its key the data cannot be read: see docs/EMBEDDING.md for what the app does.
    #[error("the key does not open this store")]
    WrongKey,
    /// The file was written by a newer app version; it was not modified.
    #[error("the store has schema {found}; this build supports up to {supported}")]
    NewerSchema { found: i64, supported: i64 },
    #[error("stored document {id} is unreadable")]
    CorruptDocument { id: String },
    /// SQLite failed (disk full, I/O error, locked file, ...).
    #[error("database error: {detail}")]
    Database { detail: String },
    #[error("document error: {detail}")]
    Document { detail: String },
    /// No connection to the sync server; try again later. Hosts throw this from
    /// `SyncTransport` when a request did not reach the server.
    #[error("offline: {reason}")]
    Offline { reason: String },
    /// The sync server answered with an error status and its stable error code. Hosts throw
    /// this from `SyncTransport` for a non-200 response, with the `Retry-After` header's
    /// seconds when there is one (`429 rate_limited`): the sync waits at least that long.
    #[error("server refused the request ({status} {code})")]
    ServerRefused {
        status: u16,
        code: String,
        retry_after_secs: Option<u32>,
    },
    /// The server revoked this device (an admin revoked it, or disabled its user: code
    /// `device_revoked`). The store has already been wiped by the sync that got this answer;
    /// the app signs out, forgets the token and deletes the store's key (see
    /// docs/EMBEDDING.md). Logging in again starts the store afresh as a new device.
    #[error("this device was revoked: the local data has been wiped")]
    DeviceRevoked,
    /// The server no longer serves the sync protocol this version of the library speaks
    /// (code `upgrade_required`, HTTP 426): the app must be updated. Nothing was lost: every
    /// local change stays on the device and syncs once the updated app connects.
    #[error("the server needs a newer version of the app: update it; local changes are kept")]
    UpgradeRequired,
    /// A sync is already running on this store (another `sync` call, or the background
    /// worker's): this call did nothing and waited for nothing. `wipe` during a sync is
    /// refused the same way. Try again once it has ended.
    #[error("a sync is already running on this store")]
    AlreadySyncing,
    /// The server's response could not be read (`code` is the protocol's stable code).
    #[error("unreadable sync message: {code}")]
    Protocol { code: String },
    /// A bug: the library panicked during `operation`. The store stays usable.
    #[error("internal error during {operation}")]
    Internal { operation: String },
}

impl From<fc::ValidationError> for FieldCrmError {
    fn from(e: fc::ValidationError) -> Self {
        use fc::ValidationError as V;
        let (field, rule, detail) = match e {
            V::Required { field } => (
                field,
                ValidationRule::Required,
                "a value is required".into(),
            ),
            V::TooLong { field, max } => (
                field,
                ValidationRule::TooLong,
                format!("at most {max} characters"),
            ),
            // Core's details are fixed texts describing the rule ("latitude must be within
            // [-90, 90]"), never the value.
            V::OutOfRange { field, detail } => (field, ValidationRule::OutOfRange, detail),
            V::NotFinite { field } => (
                field,
                ValidationRule::NotFinite,
                "must be a finite number".into(),
            ),
            // Core's message quotes the offending value; leave it out.
            V::UnknownValue { field, .. } => (
                field,
                ValidationRule::UnknownValue,
                "not one of the allowed values".into(),
            ),
            V::BadTimestamp { field } => (
                field,
                ValidationRule::BadTimestamp,
                "milliseconds since 1970, years 2000 to 2100".into(),
            ),
            V::Immutable { field } => (
                field,
                ValidationRule::Immutable,
                "cannot change once written".into(),
            ),
            V::StatusRegression { from, to } => (
                "status".into(),
                ValidationRule::StatusRegression,
                format!("cannot go back from {from} to {to}"),
            ),
            // The status a newer app version wrote, kept as it is; the value is left out.
            V::UnknownStatus { .. } => (
                "status".into(),
                ValidationRule::UnknownValue,
                "a status this app version does not know cannot be changed here".into(),
            ),
            V::Malformed { field, detail } => (field, ValidationRule::Malformed, detail),
            V::OrderFrozen { .. } => (
                "lines".into(),
                ValidationRule::Immutable,
                "the order was submitted: its lines can no longer change".into(),
            ),
            // Which product and currency the app knows: it asked for them.
            V::NoPriceInCurrency { .. } => (
                "currency".into(),
                ValidationRule::OutOfRange,
                "the product has no price in the order's currency".into(),
            ),
            V::SurveyBeforeResolution => (
                "survey".into(),
                ValidationRule::Malformed,
                "a satisfaction survey is recorded once the case has been resolved".into(),
            ),
            // The app chose the contact: its id is no news to it.
            V::ContactOfAnotherCustomer { .. } => (
                "contact_id".into(),
                ValidationRule::OutOfRange,
                "the contact is not one of the activity's customer's contacts".into(),
            ),
        };
        FieldCrmError::InvalidValue {
            field,
            rule,
            detail,
        }
    }
}

impl From<fc::StoreError> for FieldCrmError {
    fn from(e: fc::StoreError) -> Self {
        use fc::StoreError as S;
        match e {
            S::Validation(v) => v.into(),
            S::NotFound { id } => FieldCrmError::NotFound { id },
            S::WrongKind {
                id,
                expected,
                actual,
            } => FieldCrmError::WrongKind {
                id,
                expected,
                actual,
            },
            S::NotAStore => FieldCrmError::NotAStore,
            S::NewerSchema { found, supported } => FieldCrmError::NewerSchema { found, supported },
            S::KeyRequired => FieldCrmError::KeyRequired,
            S::WrongKey => FieldCrmError::WrongKey,
            // The bindings are always built with SQLCipher; a host SQLite replacing it is a
            // build fault, reported as a database failure.
            S::EncryptionUnavailable => FieldCrmError::Database {
                detail: "SQLCipher is not compiled in".into(),
            },
            // The kind only: an I/O error's text may name the app's folders.
            S::Io(e) => FieldCrmError::Database {
                detail: format!("file system: {:?}", e.kind()),
            },
            // Core's detail may describe document contents; the id is enough to report it.
            S::CorruptDocument { id, .. } => FieldCrmError::CorruptDocument { id },
            // SQLite's error class (busy, full, I/O, ...) without SQL text or bound values.
            S::Database(e) => FieldCrmError::Database {
                detail: match e.sqlite_error() {
                    Some(code) => format!("{:?} (extended code {})", code.code, code.extended_code),
                    None => "failed to read or write the database".into(),
                },
            },
            S::Automerge(e) => FieldCrmError::Document {
                detail: e.to_string(),
            },
            S::SyncRunning => FieldCrmError::AlreadySyncing,
            // Nothing refused to resolve for that id: to the app, no such rejected record.
            S::NoRejectedChanges { id } => FieldCrmError::NotFound { id },
        }
    }
}

impl From<fc::TransportError> for FieldCrmError {
    fn from(e: fc::TransportError) -> Self {
        match e {
            fc::TransportError::Offline(reason) => FieldCrmError::Offline { reason },
            fc::TransportError::Server {
                status,
                code,
                retry_after,
            } => FieldCrmError::ServerRefused {
                status,
                code,
                retry_after_secs: retry_after
                    .map(|wait| u32::try_from(wait.as_secs()).unwrap_or(u32::MAX)),
            },
        }
    }
}

impl From<fc::SyncError> for FieldCrmError {
    fn from(e: fc::SyncError) -> Self {
        match e {
            e if e.is_device_revoked() => FieldCrmError::DeviceRevoked,
            e if e.is_upgrade_required() => FieldCrmError::UpgradeRequired,
            fc::SyncError::Transport(t) => t.into(),
            fc::SyncError::Protocol(p) => FieldCrmError::Protocol {
                code: p.code().to_owned(),
            },
            fc::SyncError::Store(s) => s.into(),
            fc::SyncError::AlreadySyncing => FieldCrmError::AlreadySyncing,
        }
    }
}

impl FieldCrmError {
    /// How core's sync loop should treat an error thrown by a host `SyncTransport`: the two
    /// transport variants keep their meaning (offline is retried, server codes are not unless
    /// 5xx/429); anything else the host threw is treated as not having reached the server.
    pub(crate) fn into_transport_error(self) -> fc::TransportError {
        match self {
            FieldCrmError::Offline { reason } => fc::TransportError::Offline(reason),
            FieldCrmError::ServerRefused {
                status,
                code,
                retry_after_secs,
            } => fc::TransportError::Server {
                status,
                code,
                retry_after: retry_after_secs
                    .map(|secs| std::time::Duration::from_secs(u64::from(secs))),
            },
            other => fc::TransportError::Offline(format!("transport failed: {other}")),
        }
    }
}

/// A host callback that threw something other than `FieldCrmError` (or crashed) surfaces here.
impl From<uniffi::UnexpectedUniFFICallbackError> for FieldCrmError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        FieldCrmError::Offline {
            reason: format!("host transport threw: {}", e.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_keep_the_field_and_drop_the_value() {
        let err = FieldCrmError::from(fc::ValidationError::UnknownValue {
            field: "grade".into(),
            value: "Secret Customer Name".into(),
        });
        assert!(matches!(
            &err,
            FieldCrmError::InvalidValue { field, rule: ValidationRule::UnknownValue, .. } if field == "grade"
        ));
        assert!(!err.to_string().contains("Secret"), "{err}");
        let wrapped =
            FieldCrmError::from(fc::StoreError::Validation(fc::ValidationError::Required {
                field: "name".into(),
            }));
        assert!(matches!(
            wrapped,
            FieldCrmError::InvalidValue {
                rule: ValidationRule::Required,
                ..
            }
        ));
    }

    #[test]
    fn a_server_that_no_longer_serves_this_protocol_asks_for_an_update() {
        let err = FieldCrmError::from(fc::SyncError::Transport(fc::TransportError::Server {
            status: 426,
            code: fc::UPGRADE_REQUIRED.into(),
            retry_after: None,
        }));
        assert!(matches!(err, FieldCrmError::UpgradeRequired), "{err:?}");
        let other = FieldCrmError::from(fc::SyncError::Transport(fc::TransportError::Server {
            status: 400,
            code: "unsupported_protocol_version".into(),
            retry_after: None,
        }));
        assert!(
            matches!(other, FieldCrmError::ServerRefused { .. }),
            "{other:?}"
        );
    }

    #[test]
    fn corrupt_documents_report_only_the_id() {
        let err = FieldCrmError::from(fc::StoreError::CorruptDocument {
            id: "d1".into(),
            detail: "name: Jane Doe".into(),
        });
        assert_eq!(err, FieldCrmError::CorruptDocument { id: "d1".into() });
    }

    #[test]
    fn key_and_file_errors_carry_no_key_and_no_path() {
        assert_eq!(
            FieldCrmError::from(fc::StoreError::WrongKey),
            FieldCrmError::WrongKey
        );
        assert_eq!(
            FieldCrmError::from(fc::StoreError::KeyRequired),
            FieldCrmError::KeyRequired
        );
        let io = std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "/data/user/0/app.fieldcrm/files/crm.sqlite",
        );
        let err = FieldCrmError::from(fc::StoreError::Io(io));
        assert!(
            matches!(&err, FieldCrmError::Database { detail } if detail == "file system: PermissionDenied"),
            "{err:?}"
        );
    }

    #[test]
    fn transport_variants_round_trip_through_core() {
        let offline = FieldCrmError::Offline {
            reason: "no route".into(),
        };
        assert!(offline.clone().into_transport_error().is_retryable());
        assert_eq!(
            FieldCrmError::from(offline.clone().into_transport_error()),
            offline
        );
        let refused = FieldCrmError::ServerRefused {
            status: 401,
            code: "unauthorized".into(),
            retry_after_secs: None,
        };
        assert!(!refused.clone().into_transport_error().is_retryable());
        assert_eq!(
            FieldCrmError::from(refused.clone().into_transport_error()),
            refused
        );
        let busy = FieldCrmError::ServerRefused {
            status: 429,
            code: "rate_limited".into(),
            retry_after_secs: Some(3),
        };
        let core = busy.clone().into_transport_error();
        assert!(core.is_retryable());
        assert_eq!(core.retry_after(), Some(std::time::Duration::from_secs(3)));
        assert_eq!(FieldCrmError::from(core), busy);
    }
}

//! FieldCRM sync server: accounts, devices, territories, push/pull of Automerge changes and
//! the field-work reviews, over HTTP.
//!
//! One concern per module: [`config`] (command line), [`storage`] (the `Storage` trait and
//! SQLite: every SQL statement lives under it), [`scope`] (who may see what), [`auth`]
//! (passwords, tokens, the `AuthUser` extractor), [`error`] (JSON errors with stable codes),
//! [`http`] (routes), [`metrics`] (Prometheus), [`admin`] (self-hoster commands), [`serve`]
//! (listening and graceful shutdown).

pub mod accounts;
pub mod admin;
pub mod analytics;
pub mod auth;
pub mod basemap;
pub mod campaigns;
pub mod cases;
pub mod config;
pub mod csv_export;
pub mod csv_import;
/// Calendar dates live in core (the CLI and the apps use them too).
pub use fieldcrm_core::dates;
pub mod demo;
pub mod doc_cache;
pub mod error;
pub mod export;
pub mod http;
pub mod insights;
pub mod metrics;
pub mod model;
pub mod order_history;
#[cfg(test)]
mod query_plan_tests;
pub mod rate_limit;
pub mod refetch;
pub mod sales;
pub mod scope;
pub mod serve;
pub mod server_device;
pub mod spreadsheet;
pub mod storage;
pub mod webhooks;

pub use error::ApiError;
pub use http::{AppState, Limits, app};
pub use storage::{SqliteStorage, Storage};

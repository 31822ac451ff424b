//! Sales analytics as pure computations over plain values (no SQLite, no HTTP): periods, what
//! a deal's stage history says (funnel rank, time in each stage, when it closed), how the
//! pipeline is weighted, the reports' shapes, which orders count as revenue (`orders.rs`), and
//! target attainment. The storage reads the rows
//! (`storage/sqlite_sales.rs`), these functions decide what they mean, the handlers
//! (`http/sales.rs`) answer with them.

pub mod deal;
pub mod orders;
pub mod period;
pub mod reports;
pub mod targets;

pub use period::Period;

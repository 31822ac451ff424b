//! The uniffi mirrors of core's model and query types, and the `From` conversions both ways.
//!
//! Core stays free of uniffi: every type that crosses the FFI boundary is declared here, field
//! for field. Sets (`BTreeSet`) cross as sorted lists and maps as maps; timestamps stay `i64`
//! milliseconds since 1970 (UTC).

mod activities;
mod catalog;
mod enums;
mod fieldwork;
mod insights;
mod opportunities;
mod queries;
mod records;
mod sync;
mod values;

pub use activities::*;
pub use catalog::*;
pub use enums::*;
pub use fieldwork::*;
pub use insights::*;
pub use opportunities::*;
pub use queries::*;
pub use records::*;
pub use sync::*;
pub use values::*;

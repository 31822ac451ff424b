//! The record a server sends beside a snapshot, in a format that names itself, so that the
//! record's layout can change without breaking the pages of apps that do not know the new one.
//!
//! The server reads the record from the document it stores and sends it so that a fresh device
//! need not decode 60,000 documents to show them. The record is a convenience, the document is
//! the truth: a device that does not know the format, or cannot read the bytes, reads the
//! document instead ([`WireRecord::read`] answers `None`), and the page never fails for it.
//! The server stores the same bytes with the same format number (`documents.record`,
//! `documents.record_format`) and derives them again from the document when the number is
//! older than its own.

use serde::{Deserialize, Serialize};

use super::{ProtocolError, bounded};
use crate::records::AnyRecord;

/// The layout of [`WireRecord::bytes`] this code writes: postcard of [`AnyRecord`] as the
/// structs in `model.rs` lay it out. Postcard is positional, so any change to a record struct
/// or enum (a field added, moved or retyped, a variant added anywhere but last) is a new
/// format: bump this number. Every enum a record holds ends in `Unknown(String)`, so a new
/// known value (added before it) is a new format too. The compatibility fixtures (`core/tests/compat_fixtures.rs`)
/// fail when the layout changes and the number does not.
pub const RECORD_FORMAT: u16 = 2;

/// A record as sent beside a snapshot: its format, then its bytes in that format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireRecord {
    pub format: u16,
    #[serde(deserialize_with = "bounded::bytes")]
    pub bytes: Vec<u8>,
}

impl WireRecord {
    /// `record` in this code's format.
    pub fn new(record: &AnyRecord) -> Result<WireRecord, ProtocolError> {
        Ok(WireRecord {
            format: RECORD_FORMAT,
            bytes: postcard::to_stdvec(record)
                .map_err(|e| ProtocolError::Malformed(e.to_string()))?,
        })
    }

    /// The record, when it is in this code's format and reads whole; `None` otherwise (the
    /// reader then takes the document itself).
    pub fn read(&self) -> Option<AnyRecord> {
        if self.format != RECORD_FORMAT {
            return None;
        }
        match postcard::take_from_bytes::<AnyRecord>(&self.bytes) {
            Ok((record, [])) => Some(record),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Customer;

    #[test]
    fn a_record_reads_back_only_in_its_own_format() {
        let record = AnyRecord::Customer(Customer::new("Café Mitte"));
        let wire = WireRecord::new(&record).unwrap();
        assert_eq!(wire.format, RECORD_FORMAT);
        assert_eq!(wire.read(), Some(record));
        let newer = WireRecord {
            format: RECORD_FORMAT + 1,
            ..wire.clone()
        };
        assert_eq!(newer.read(), None, "a format this code does not know");
        let mut longer = wire.clone();
        longer.bytes.push(0);
        assert_eq!(longer.read(), None, "bytes left over: not this layout");
        let mut cut = wire;
        cut.bytes.truncate(cut.bytes.len() / 2);
        assert_eq!(cut.read(), None);
    }
}

//! The record stored beside each document (`documents.record`, `documents.record_format`): the
//! document's record as the server read it when it was written, kept so that a pull page need
//! not load documents to send their records. Its bytes are in a format that names itself
//! ([`WireRecord`]); a row in a format other than this code's is read again from its document
//! (the truth), never misread (migration 0010).

use fieldcrm_core::AnyRecord;
use fieldcrm_core::authority::Current;
use fieldcrm_core::protocol::{RECORD_FORMAT, WireRecord};

use crate::storage::{Result, corrupt};

/// The stored form of `record`, written now: its bytes and format number.
pub(crate) fn to_store(record: &AnyRecord) -> Result<(Vec<u8>, i64)> {
    let wire = WireRecord::new(record).map_err(corrupt)?;
    Ok((wire.bytes, i64::from(wire.format)))
}

/// A row's record for a pull page: as stored when it is in this code's format (no decoding),
/// otherwise read again from the row's document.
pub(crate) fn for_wire(format: i64, stored: Vec<u8>, document: &[u8]) -> Result<WireRecord> {
    if format == i64::from(RECORD_FORMAT) {
        return Ok(WireRecord {
            format: RECORD_FORMAT,
            bytes: stored,
        });
    }
    WireRecord::new(&from_document(document)?).map_err(corrupt)
}

/// A row's record, decoded: from the stored bytes when they are in this code's format and
/// read whole, otherwise from the row's document.
pub(crate) fn read(format: i64, stored: Vec<u8>, document: &[u8]) -> Result<AnyRecord> {
    let wire = WireRecord {
        format: u16::try_from(format).unwrap_or(u16::MAX),
        bytes: stored,
    };
    match wire.read() {
        Some(record) => Ok(record),
        None => from_document(document),
    }
}

fn from_document(document: &[u8]) -> Result<AnyRecord> {
    Ok(Current::load(document)
        .map_err(|refusal| corrupt(refusal.reason))?
        .record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_core::{Customer, Store};

    fn stored_customer() -> (AnyRecord, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.sqlite")).unwrap();
        let mut customer = Customer::new("Café Mitte");
        customer.notes = "Back door after 10".into();
        let customer = store.create(customer).unwrap();
        let bytes = store.document_bytes(&customer.meta.id).unwrap().unwrap();
        (AnyRecord::Customer(customer), bytes)
    }

    #[test]
    fn a_row_in_this_format_is_sent_as_stored() {
        let (record, document) = stored_customer();
        let (bytes, format) = to_store(&record).unwrap();
        assert_eq!(format, i64::from(RECORD_FORMAT));
        let wire = for_wire(format, bytes.clone(), &document).unwrap();
        assert_eq!(wire.bytes, bytes);
        assert_eq!(read(format, bytes, &document).unwrap(), record);
    }

    #[test]
    fn a_row_in_another_format_is_read_again_from_its_document() {
        let (record, document) = stored_customer();
        // Bytes that a reader of this format would misread: the layout of another format.
        let other = vec![0x01; 24];
        for format in [0, i64::from(RECORD_FORMAT) + 1, -1, i64::MAX] {
            let wire = for_wire(format, other.clone(), &document).unwrap();
            assert_eq!(wire.format, RECORD_FORMAT);
            assert_eq!(wire.read(), Some(record.clone()), "format {format}");
            assert_eq!(read(format, other.clone(), &document).unwrap(), record);
        }
        // This format, but bytes that do not read whole: the document again.
        assert_eq!(
            read(i64::from(RECORD_FORMAT), vec![0xFF; 3], &document).unwrap(),
            record
        );
    }

    #[test]
    fn a_row_whose_document_does_not_load_is_corrupt_not_a_panic() {
        assert!(for_wire(0, vec![], b"not a document").is_err());
    }
}

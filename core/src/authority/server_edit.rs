//! Edits the server makes itself (a one-time data migration): written as ordinary Automerge
//! changes by the server's own actor into its authoritative copy, so every device merges them
//! like any other change, and a device's concurrent edits of other fields survive. Only the
//! fields that differ from the record before are written, as on a device.

use automerge::{ActorId, Automerge};

use super::{Current, Refusal, contained, refuse};
use crate::protocol::RejectCode;
use crate::records::AnyRecord;

/// The server's own Automerge actor. No device is ever registered with it (device actors are
/// random 16 bytes), so a device cannot push changes in its name.
pub const SERVER_ACTOR: [u8; 16] = *b"fieldcrm-server\0";

/// A document after a server edit: its new change, ready for the log.
#[derive(Debug)]
pub struct ServerEdit {
    pub doc: Automerge,
    pub record: AnyRecord,
    /// (hex hash, raw bytes) of the change the edit made; empty when nothing differed.
    pub new_changes: Vec<(String, Vec<u8>)>,
}

/// Writes `record` into `current` (`None`: a new document of the record's kind), as the
/// server. The record must be valid, keep `check_written_once` against the current one, and
/// read back as written.
pub fn server_edit(current: Option<Current>, record: AnyRecord) -> Result<ServerEdit, Refusal> {
    let invalid =
        |e: crate::error::ValidationError| refuse(RejectCode::InvalidRecord, e.to_string());
    record.validate().map_err(invalid)?;
    let (doc, old) = match current {
        Some(Current { doc, record: old }) => {
            crate::records::check_written_once(&old, &record).map_err(invalid)?;
            (doc, Some(old))
        }
        None => (Automerge::new(), None),
    };
    contained(move || {
        let mut doc = doc.with_actor(ActorId::from(SERVER_ACTOR.as_slice()));
        doc.transact(|tx| record.write(tx, old.as_ref()))
            .map_err(|failure| refuse(RejectCode::InvalidRecord, failure.error.to_string()))?;
        let new_changes = doc
            .get_last_local_change()
            .map(|change| (change.hash().to_string(), change.raw_bytes().to_vec()))
            .into_iter()
            .collect();
        let read = AnyRecord::read(&doc).map_err(invalid)?;
        if read != record {
            return Err(refuse(
                RejectCode::InvalidRecord,
                "the edited document does not read as the record written",
            ));
        }
        Ok(ServerEdit {
            doc,
            record,
            new_changes,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Order, Visit, VisitOrderLine};

    #[test]
    fn a_server_edit_writes_only_what_differs_and_reads_back() {
        let mut visit = Visit::new("c1", "anna");
        visit.meta.id = "v1".into();
        visit.meta.created_at = 1_790_000_000_000;
        visit.meta.updated_at = 1_790_000_000_000;
        visit.meta.created_by = "anna".into();
        visit.order_lines.push(VisitOrderLine {
            product: "Bread".into(),
            quantity: 2,
            unit_price_minor: 250,
        });
        let created = server_edit(None, AnyRecord::Visit(visit.clone())).unwrap();
        assert_eq!(created.new_changes.len(), 1);
        let current = Current::from_doc(created.doc).unwrap();
        let mut cleared = visit.clone();
        cleared.order_lines.clear();
        let edited = server_edit(Some(current.clone()), AnyRecord::Visit(cleared.clone())).unwrap();
        assert_eq!(edited.record, AnyRecord::Visit(cleared));
        assert_eq!(edited.new_changes.len(), 1);
        // A rule the record keeps on a device holds for the server too.
        let mut moved = visit;
        moved.rep = "ben".into();
        assert_eq!(
            server_edit(Some(current), AnyRecord::Visit(moved))
                .unwrap_err()
                .code,
            RejectCode::InvalidRecord
        );
        let mut order = Order::new("c1", "anna", "EUR");
        order.meta = edited.record.meta().clone();
        order.meta.id = "o1".into();
        order.ordered_at = 1_790_000_000_000;
        assert!(server_edit(None, AnyRecord::Order(order)).is_ok());
    }
}

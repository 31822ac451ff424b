//! Whether a change has a mark operation, read from its action column alone.
//!
//! Why: a change with marks must be refused before Automerge applies it (fuzz finding 7, see
//! `authority::check_changes`). Asking Automerge means expanding the whole change into its
//! legacy form (every op, key and value allocated), which was a tenth of the server's work per
//! pushed document. The action column is one run-length encoded column of small integers, read
//! here without allocating. Only a column read whole is an answer; anything this reader does
//! not expect leaves the question to Automerge's decoding.
//!
//! Automerge's layout (`storage/change/change_op_columns.rs`): the action column has id 4 and
//! the integer type (spec `4 << 4 | 2`), run-length encoded as `RleDecoder<u64>` reads it (see
//! `string_columns.rs`); `Action::Mark` is 7, for both the start and the end of a mark.

use super::change_body;
use super::string_columns::{Cursor, columns};

/// The spec of Automerge's action column: id 4, `ColumnType::Integer`.
const ACTION_COLUMN: u64 = 4 << 4 | 2;
/// `Action::Mark`, the action of `MarkBegin` and `MarkEnd` operations.
const MARK_ACTION: u64 = 7;

/// `Some(true)` when the change chunk `bytes` has an operation with the mark action,
/// `Some(false)` when its action column reads whole without one, `None` when the column is
/// missing, repeated, holds nulls or does not read (the caller then decodes the change).
pub(crate) fn has_mark_action(bytes: &[u8]) -> Option<bool> {
    let body = change_body(bytes).ok()?;
    let columns = columns(body).ok()?;
    let mut actions = columns.iter().filter(|(spec, _)| *spec == ACTION_COLUMN);
    let (_, column) = actions.next()?;
    if actions.next().is_some() {
        return None;
    }
    let mut cursor = Cursor { rest: column };
    while !cursor.rest.is_empty() {
        let count = cursor.signed("run count").ok()?;
        if count > 0 {
            if cursor.unsigned("action").ok()? == MARK_ACTION {
                return Some(true);
            }
        } else if count < 0 {
            // Each value takes at least one byte: a count beyond the column ends at its end.
            for _ in 0..count.unsigned_abs() {
                if cursor.unsigned("action").ok()? == MARK_ACTION {
                    return Some(true);
                }
            }
        } else {
            // A parsed change has an action for every operation.
            return None;
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, AutomergeError, ObjType, ROOT, ScalarValue};

    use super::has_mark_action;

    /// Whether Automerge's own decoding finds a mark operation (the answer to agree with).
    fn decoded_marks(bytes: &[u8]) -> bool {
        let change = automerge::Change::from_bytes(bytes.to_vec()).unwrap();
        change.decode().operations.iter().any(|op| {
            matches!(
                op.action,
                automerge::legacy::OpType::MarkBegin(..) | automerge::legacy::OpType::MarkEnd(..)
            )
        })
    }

    fn last_change(doc: &Automerge) -> Vec<u8> {
        doc.get_last_local_change().unwrap().raw_bytes().to_vec()
    }

    #[test]
    fn agrees_with_automerge_on_changes_with_and_without_marks() {
        let mut doc = Automerge::new().with_actor(ActorId::from(b"device-one".as_slice()));
        let mut changes = Vec::new();
        for round in 0..6_usize {
            doc.transact::<_, _, AutomergeError>(|tx| {
                // Every action but marks, in repeated and literal runs.
                tx.put(ROOT, "name", format!("round {round}"))?;
                tx.put(ROOT, "visits", ScalarValue::counter(1))?;
                tx.increment(ROOT, "visits", 2)?;
                let list = tx.put_object(ROOT, "segments", ObjType::List)?;
                for index in 0..round {
                    tx.insert(&list, index, "retail")?;
                }
                let map = tx.put_object(ROOT, "address", ObjType::Map)?;
                tx.put(&map, "city", "Kiel")?;
                tx.delete(&map, "city")?;
                let text = tx.put_object(ROOT, "notes", ObjType::Text)?;
                tx.splice_text(&text, 0, 0, &"ü".repeat(round))?;
                Ok(())
            })
            .unwrap();
            changes.push(last_change(&doc));
        }
        doc.transact::<_, _, AutomergeError>(|tx| {
            let text = tx.put_object(ROOT, "comment", ObjType::Text)?;
            tx.splice_text(&text, 0, 0, "bold words here")?;
            tx.mark(
                &text,
                automerge::marks::Mark::new("bold".into(), true, 0, 4),
                automerge::marks::ExpandMark::None,
            )?;
            Ok(())
        })
        .unwrap();
        let with_marks = last_change(&doc);
        changes.push(with_marks.clone());
        for change in &changes {
            assert_eq!(has_mark_action(change), Some(decoded_marks(change)));
        }
        assert_eq!(has_mark_action(&with_marks), Some(true));
    }

    /// A change chunk (checksum not filled in) with one column of `spec` holding `column`.
    fn chunk_with_column(spec: u8, column: &[u8]) -> Vec<u8> {
        let mut body = vec![0, 2, 0xab, 0xcd, 1, 1, 0, 0, 0, 1, spec, column.len() as u8];
        body.extend_from_slice(column);
        let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, body.len() as u8];
        chunk.extend_from_slice(&body);
        chunk
    }

    #[test]
    fn reads_runs_and_leaves_what_it_does_not_expect_to_automerge() {
        const ACTIONS: u8 = 4 << 4 | 2;
        // A repeated run of three sets, a literal run of a make-map and a set.
        assert_eq!(
            has_mark_action(&chunk_with_column(ACTIONS, &[3, 1, 0x7e, 0, 1])),
            Some(false)
        );
        assert_eq!(
            has_mark_action(&chunk_with_column(ACTIONS, &[0x7e, 1, 7])),
            Some(true)
        );
        assert_eq!(
            has_mark_action(&chunk_with_column(ACTIONS, &[2, 7])),
            Some(true)
        );
        // Nulls, a literal run longer than the column, no action column, not a change.
        assert_eq!(has_mark_action(&chunk_with_column(ACTIONS, &[0, 2])), None);
        assert_eq!(
            has_mark_action(&chunk_with_column(ACTIONS, &[0x7d, 1])),
            None
        );
        assert_eq!(
            has_mark_action(&chunk_with_column(1 << 4 | 2, &[1, 7])),
            None
        );
        assert_eq!(has_mark_action(b"not a change"), None);
    }
}

//! Walks the string columns of an uncompressed change chunk before Automerge decodes it.
//!
//! Why: Automerge 0.12 decodes a string of a column by reserving the length the change declares
//! (`vec![0; len]`, capped only at 10^9 bytes, `columnar/encoding/decodable_impls.rs`), before
//! it sees whether that many bytes follow. A 60-byte change could so take 1 GB of address space
//! per push in flight (fuzz/README.md, finding 4). Here every string a string column declares
//! must fit in the bytes its column has left, so Automerge never reserves more than the change
//! carries. Nothing is allocated: the walk only reads lengths and skips.
//!
//! The layout read here is Automerge's change chunk body: dependencies, actor, sequence number,
//! start op, time, message, other actors, then the operation columns' metadata (a count, and a
//! `(spec, length)` pair each) followed by the columns' bytes. A column spec is
//! `id << 4 | deflate << 3 | type`; type 5 is a string column, run-length encoded as Automerge's
//! `RleDecoder` reads it: a signed count, then one value (count > 0, a repeated run), `-count`
//! values (count < 0, a literal run) or an unsigned null count (count = 0). A value is an
//! unsigned length and that many bytes.

use super::leb128_u64;

/// Automerge's column type of a string column (`ColumnType::String`).
const STRING_COLUMN: u64 = 5;
/// The spec bit of a DEFLATE-compressed column; Automerge refuses those in a change.
const DEFLATE_BIT: u64 = 0b1000;
/// A change hash in the dependency list.
const HASH_BYTES: usize = 32;

/// Reads a chunk body front to back; every read is bounded by the bytes left.
pub(super) struct Cursor<'a> {
    pub(super) rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(super) fn unsigned(&mut self, what: &str) -> Result<u64, String> {
        let (value, size) =
            leb128_u64(self.rest).ok_or_else(|| format!("bad {what} in the change"))?;
        self.rest = &self.rest[size..];
        Ok(value)
    }

    /// A signed LEB128 value (a run count), sign-extended from its last byte.
    pub(super) fn signed(&mut self, what: &str) -> Result<i64, String> {
        let mut value: i64 = 0;
        for (index, byte) in self.rest.iter().enumerate().take(10) {
            let shift = 7 * index as u32;
            value |= i64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            if byte & 0x80 == 0 {
                if byte & 0x40 != 0 && shift + 7 < 64 {
                    value |= -1i64 << (shift + 7);
                }
                self.rest = &self.rest[index + 1..];
                return Ok(value);
            }
        }
        Err(format!("bad {what} in the change"))
    }

    fn take(&mut self, length: u64, what: &str) -> Result<&'a [u8], String> {
        let length = usize::try_from(length)
            .ok()
            .filter(|length| *length <= self.rest.len())
            .ok_or_else(|| format!("{what} is longer than the change"))?;
        let (taken, rest) = self.rest.split_at(length);
        self.rest = rest;
        Ok(taken)
    }

    fn length_prefixed(&mut self, what: &str) -> Result<&'a [u8], String> {
        let length = self.unsigned(what)?;
        self.take(length, what)
    }
}

/// `Ok` when every string in the string columns of `body` (a change chunk's bytes after its
/// length) fits in its column. Other damage is left to Automerge, which refuses it without
/// reserving from a declared length.
pub(crate) fn check_string_columns(body: &[u8]) -> Result<(), String> {
    for (spec, data) in columns(body)? {
        if spec & DEFLATE_BIT != 0 {
            return Err("a change's columns are never compressed".to_owned());
        }
        if spec & 0b111 == STRING_COLUMN {
            check_string_column(data)?;
        }
    }
    Ok(())
}

/// The operation columns of `body` (a change chunk's bytes after its length): each column's
/// spec and bytes, in the order the change lists them.
pub(super) fn columns(body: &[u8]) -> Result<Vec<(u64, &[u8])>, String> {
    let mut cursor = Cursor { rest: body };
    let dependencies = cursor.unsigned("dependency count")?;
    let dependency_bytes = dependencies
        .checked_mul(HASH_BYTES as u64)
        .ok_or_else(|| "the dependencies are longer than the change".to_owned())?;
    cursor.take(dependency_bytes, "the dependency list")?;
    cursor.length_prefixed("actor")?;
    cursor.unsigned("sequence number")?;
    cursor.unsigned("start op")?;
    cursor.signed("time")?;
    cursor.length_prefixed("message")?;
    let other_actors = cursor.unsigned("actor count")?;
    for _ in 0..other_actors {
        // Each actor takes at least its length byte, so this ends within the change's bytes.
        cursor.length_prefixed("actor")?;
    }
    let column_count = cursor.unsigned("column count")?;
    let mut columns = Vec::new();
    for _ in 0..column_count {
        let spec = cursor.unsigned("column spec")?;
        let length = cursor.unsigned("column length")?;
        columns.push((spec, length));
    }
    columns
        .into_iter()
        .map(|(spec, length)| Ok((spec, cursor.take(length, "a column")?)))
        .collect()
}

fn check_string_column(column: &[u8]) -> Result<(), String> {
    let mut cursor = Cursor { rest: column };
    while !cursor.rest.is_empty() {
        let count = cursor.signed("run count")?;
        if count > 0 {
            cursor.length_prefixed("a string")?;
        } else if count < 0 {
            for _ in 0..count.unsigned_abs() {
                // Each value takes at least its length byte: a count larger than the column
                // runs out of bytes, and is refused, within the column's length.
                cursor.length_prefixed("a string")?;
            }
        } else {
            cursor.unsigned("null count")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ObjType, ROOT};
    use sha2::{Digest, Sha256};

    use super::super::check_change;
    use super::check_string_columns;

    fn uleb(mut value: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// A change chunk around `body`, with its checksum.
    fn seal(body: &[u8]) -> Vec<u8> {
        let mut hashed = vec![1];
        uleb(body.len() as u64, &mut hashed);
        hashed.extend_from_slice(body);
        let hash = Sha256::digest(&hashed);
        let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83];
        chunk.extend_from_slice(&hash[..4]);
        chunk.extend_from_slice(&hashed);
        chunk
    }

    /// A change body with no dependencies, one actor, and one column of `spec` holding `column`.
    fn body_with_column(spec: u64, column: &[u8]) -> Vec<u8> {
        let mut body = vec![0, 2, 0xab, 0xcd, 1, 1, 0, 0, 0, 1];
        uleb(spec, &mut body);
        uleb(column.len() as u64, &mut body);
        body.extend_from_slice(column);
        body
    }

    fn body_of(chunk: &[u8]) -> &[u8] {
        let (_, size) = super::super::leb128_u64(&chunk[9..]).unwrap();
        &chunk[9 + size..]
    }

    #[test]
    fn real_changes_pass() {
        let mut doc = Automerge::new().with_actor(ActorId::from(b"device-one".as_slice()));
        let mut changes = Vec::new();
        for round in 0..20 {
            doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                // Keys are the string column; the same key repeated makes a repeated run,
                // different keys a literal run, and list elements leave nulls in it.
                for key in ["name", "notes", "name", &format!("field-{round}")] {
                    tx.put(ROOT, key, "x".repeat(round * 50))?;
                }
                let list = tx.put_object(ROOT, "segments", ObjType::List)?;
                tx.insert(&list, 0, "retail")?;
                tx.insert(&list, 1, "ü".repeat(round))?;
                let text = tx.put_object(ROOT, "comment", ObjType::Text)?;
                tx.splice_text(&text, 0, 0, "Grüße aus Mitte")?;
                Ok(())
            })
            .unwrap();
            changes.push(doc.get_last_local_change().unwrap().raw_bytes().to_vec());
        }
        let mut other = doc
            .fork()
            .with_actor(ActorId::from(b"device-two".as_slice()));
        other
            .transact::<_, _, automerge::AutomergeError>(|tx| tx.delete(ROOT, "notes"))
            .unwrap();
        changes.push(other.get_last_local_change().unwrap().raw_bytes().to_vec());
        for change in &changes {
            assert_eq!(check_change(change), Ok(()));
        }
    }

    #[test]
    fn a_string_longer_than_its_column_is_refused() {
        let mut column = vec![1]; // a repeated run of one value
        uleb(250_000_000, &mut column);
        column.extend_from_slice(b"abc");
        let chunk = seal(&body_with_column(1 << 4 | 5, &column));
        let refused = check_change(&chunk).unwrap_err();
        assert!(refused.contains("longer than the change"), "{refused}");

        let mut literal = vec![0x7e]; // -2: a literal run of two values
        literal.extend_from_slice(&[3, b'a', b'b', b'c']);
        uleb(1 << 40, &mut literal);
        assert!(check_string_columns(&body_with_column(2 << 4 | 5, &literal)).is_err());
    }

    #[test]
    fn a_string_that_fits_and_runs_of_nulls_pass() {
        let column = vec![0x7e, 3, b'a', b'b', b'c', 0, 0, 5, 0x02, 1, b'z'];
        assert_eq!(
            check_string_columns(&body_with_column(1 << 4 | 5, &column)),
            Ok(())
        );
        // Columns of other types are not read as strings.
        let integers = [0x02, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(
            check_string_columns(&body_with_column(1 << 4 | 2, &integers)),
            Ok(())
        );
    }

    #[test]
    fn counts_larger_than_the_change_end_within_it() {
        // A literal run of 2^62 values, a repeated run and a null count of 2^63, and 2^60
        // columns or actors: each is refused or passes after reading only the bytes there are.
        let mut literal = Vec::new();
        literal.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
        literal.extend_from_slice(&[1, b'a']);
        assert!(check_string_columns(&body_with_column(1 << 4 | 5, &literal)).is_err());
        let mut nulls = vec![0];
        uleb(1 << 63, &mut nulls);
        assert_eq!(
            check_string_columns(&body_with_column(1 << 4 | 5, &nulls)),
            Ok(())
        );
        let mut many_columns = vec![0, 2, 0xab, 0xcd, 1, 1, 0, 0, 0];
        uleb(1 << 60, &mut many_columns);
        many_columns.extend_from_slice(&[0x15, 0]);
        assert!(check_string_columns(&many_columns).is_err());
        let mut many_actors = vec![0, 2, 0xab, 0xcd, 1, 1, 0, 0];
        uleb(1 << 60, &mut many_actors);
        assert!(check_string_columns(&many_actors).is_err());
        let mut many_dependencies = Vec::new();
        uleb(u64::MAX / 16, &mut many_dependencies);
        assert!(check_string_columns(&many_dependencies).is_err());
    }

    #[test]
    fn compressed_columns_are_refused() {
        let refused =
            check_string_columns(&body_with_column(1 << 4 | 0b1000 | 2, &[1, 2])).unwrap_err();
        assert!(refused.contains("compressed"), "{refused}");
    }

    #[test]
    fn the_body_helper_reads_what_seal_wrote() {
        let body = body_with_column(1 << 4 | 5, &[1, 1, b'x']);
        assert_eq!(body_of(&seal(&body)), body.as_slice());
    }
}

//! Checks the framing of Automerge's binary format (magic bytes, chunk type, length and the
//! SHA-256 checksum of every chunk) without decoding the document. Used where bytes are stored
//! before they are loaded, so corrupt or truncated data is refused at the door.

use sha2::{Digest, Sha256};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Document, change, compressed change, bundle.
const KNOWN_CHUNK_TYPES: std::ops::RangeInclusive<u8> = 0..=3;

fn leb128_u64(input: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (index, byte) in input.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f).checked_shl(7 * index as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}

/// Change and compressed-change chunk types.
const CHANGE_CHUNK_TYPES: std::ops::RangeInclusive<u8> = 1..=2;

/// `Ok` when `bytes` is exactly one well-formed change chunk (plain or compressed) with a valid
/// checksum: what a device pushes as one change. The checksum is the head of the change's
/// SHA-256 hash, so a change whose bytes were damaged after hashing is refused here, before
/// anything stores it.
pub(crate) fn check_change(bytes: &[u8]) -> Result<(), String> {
    check(bytes)?;
    if !CHANGE_CHUNK_TYPES.contains(&bytes[8]) {
        return Err(format!("chunk type {} is not a change", bytes[8]));
    }
    let (length, length_size) =
        leb128_u64(&bytes[9..]).ok_or_else(|| "bad chunk length".to_owned())?;
    if usize::try_from(length)
        .ok()
        .and_then(|l| l.checked_add(9 + length_size))
        != Some(bytes.len())
    {
        return Err("more than one chunk where one change was expected".to_owned());
    }
    Ok(())
}

/// `Ok` when `bytes` is a sequence of well-formed Automerge chunks with valid checksums.
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("no data".to_owned());
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 9 || rest[..4] != MAGIC {
            return Err("not Automerge data (bad magic bytes)".to_owned());
        }
        let checksum = &rest[4..8];
        let chunk_type = rest[8];
        if !KNOWN_CHUNK_TYPES.contains(&chunk_type) {
            return Err(format!("unknown chunk type {chunk_type}"));
        }
        let (length, length_size) =
            leb128_u64(&rest[9..]).ok_or_else(|| "bad chunk length".to_owned())?;
        let data_start = 9 + length_size;
        let data_end = usize::try_from(length)
            .ok()
            .and_then(|length| data_start.checked_add(length))
            .filter(|end| *end <= rest.len())
            .ok_or_else(|| "truncated chunk".to_owned())?;
        let mut hasher = Sha256::new();
        hasher.update(&rest[8..data_end]);
        if hasher.finalize()[..4] != *checksum {
            return Err("chunk checksum mismatch".to_owned());
        }
        rest = &rest[data_end..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ROOT};

    use super::{check, check_change};

    #[test]
    fn accepts_documents_and_changes_and_refuses_damage() {
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "name", "Café Mitte")?;
            Ok(())
        })
        .unwrap();
        let saved = doc.save();
        assert_eq!(check(&saved), Ok(()));
        assert_eq!(check(&doc.save_nocompress()), Ok(()));
        let change = doc.get_last_local_change().unwrap();
        assert_eq!(check(change.raw_bytes()), Ok(()));
        let mut both = saved.clone();
        both.extend_from_slice(change.raw_bytes());
        assert_eq!(check(&both), Ok(()));

        assert!(check(&[]).is_err());
        assert!(check(&saved[..saved.len() - 1]).is_err());
        for position in [0, 5, 8, saved.len() / 2, saved.len() - 1] {
            let mut flipped = saved.clone();
            flipped[position] ^= 0x01;
            assert!(check(&flipped).is_err(), "flip at {position}");
        }
        assert!(
            check(b"\x85\x6f\x4a\x83\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")
                .is_err()
        );
    }

    #[test]
    fn a_pushed_change_is_exactly_one_intact_change_chunk() {
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "name", "Café Mitte")?;
            Ok(())
        })
        .unwrap();
        let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
        assert_eq!(check_change(&change), Ok(()));
        let mut wrong_checksum = change.clone();
        wrong_checksum[4] ^= 0xff;
        assert!(check_change(&wrong_checksum).is_err());
        let mut two = change.clone();
        two.extend_from_slice(&change);
        assert!(check_change(&two).is_err(), "two chunks");
        assert!(check_change(&doc.save()).is_err(), "a whole document");
    }
}

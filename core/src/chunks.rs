//! Checks the framing of Automerge's binary format (magic bytes, chunk type, length and the
//! SHA-256 checksum of every chunk) without decoding the document. Used where bytes are stored
//! before they are loaded, so corrupt or truncated data is refused at the door.

use automerge::Automerge;
use sha2::{Digest, Sha256};

mod marks;
mod string_columns;

pub(crate) use marks::has_mark_action;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunk types FieldCRM loads: document (0), change (1) and compressed change (2, which
/// earlier versions stored). Never a bundle (3): nothing in FieldCRM writes one, and Automerge's
/// bundle parser allocates what the bytes declare (fuzz/README.md, findings 1 and 5).
const LOADABLE_CHUNK_TYPES: std::ops::RangeInclusive<u8> = 0..=2;

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

/// The chunk type of an uncompressed change: the only form a device pushes (`Change::raw_bytes`).
/// A compressed change (type 2) would be inflated by Automerge without a bound, and a bundle
/// (type 3) makes its parser allocate what the bytes declare: neither reaches Automerge from a
/// device.
const CHANGE_CHUNK_TYPE: u8 = 1;

/// `Ok` when `bytes` is framed as exactly one uncompressed change chunk (magic, type, a length
/// that covers the rest exactly), whatever its checksum.
pub(crate) fn check_change_framing(bytes: &[u8]) -> Result<(), String> {
    change_body(bytes).map(|_| ())
}

/// The body of a change chunk framed as [`check_change_framing`] accepts: its bytes after the
/// chunk length.
fn change_body(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < 10 || bytes[..4] != MAGIC {
        return Err("not Automerge data (bad magic bytes)".to_owned());
    }
    if bytes[8] != CHANGE_CHUNK_TYPE {
        return Err(format!(
            "chunk type {} is not an uncompressed change",
            bytes[8]
        ));
    }
    let (length, length_size) =
        leb128_u64(&bytes[9..]).ok_or_else(|| "bad chunk length".to_owned())?;
    if usize::try_from(length)
        .ok()
        .and_then(|l| l.checked_add(9 + length_size))
        != Some(bytes.len())
    {
        return Err("the chunk length does not cover exactly one change".to_owned());
    }
    Ok(&bytes[9 + length_size..])
}

/// `Ok` when `bytes` is exactly one uncompressed change chunk with a valid checksum: what a
/// device pushes as one change. The checksum is the head of the change's SHA-256 hash, so a
/// change whose bytes were damaged after hashing is refused here, before anything stores it.
/// Every string its columns declare fits in the change (`string_columns`), so Automerge
/// reserves no more than the change carries when it decodes one.
pub(crate) fn check_change(bytes: &[u8]) -> Result<(), String> {
    let body = change_body(bytes)?;
    check(bytes)?;
    string_columns::check_string_columns(body)
}

/// The hash of a change chunk framed as [`check_change_framing`] accepts: the SHA-256 of the
/// chunk from its type byte on (what Automerge calls the change's hash; the checksum is its
/// first four bytes). No Automerge parser sees the bytes.
pub(crate) fn change_hash(bytes: &[u8]) -> Option<[u8; 32]> {
    check_change_framing(bytes).ok()?;
    Some(Sha256::digest(&bytes[8..]).into())
}

/// `Ok` when `bytes` is a sequence of well-formed Automerge chunks with valid checksums, each
/// of a loadable type.
pub(crate) fn check(bytes: &[u8]) -> Result<(), String> {
    walk(bytes, |checksum, hashed| {
        let mut hasher = Sha256::new();
        hasher.update(hashed);
        if hasher.finalize()[..4] != *checksum {
            return Err("chunk checksum mismatch".to_owned());
        }
        Ok(())
    })
}

/// Loads Automerge data (a saved document, possibly followed by change chunks) once its chunk
/// headers are walked: only loadable chunk types reach Automerge's parser. Checksums are left
/// to Automerge, which checks them while loading.
pub(crate) fn load(bytes: &[u8]) -> Result<Automerge, String> {
    walk(bytes, |_, _| Ok(()))?;
    Automerge::load(bytes).map_err(|e| e.to_string())
}

/// Walks the chunks of `bytes` (magic, a loadable type, a length within the bytes), giving each
/// chunk's checksum and the bytes it covers (from the type byte on) to `each`.
fn walk(
    bytes: &[u8],
    mut each: impl FnMut(&[u8], &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("no data".to_owned());
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 9 || rest[..4] != MAGIC {
            return Err("not Automerge data (bad magic bytes)".to_owned());
        }
        let chunk_type = rest[8];
        if !LOADABLE_CHUNK_TYPES.contains(&chunk_type) {
            return Err(format!("chunk type {chunk_type} is not loadable"));
        }
        let (length, length_size) =
            leb128_u64(&rest[9..]).ok_or_else(|| "bad chunk length".to_owned())?;
        let data_start = 9 + length_size;
        let data_end = usize::try_from(length)
            .ok()
            .and_then(|length| data_start.checked_add(length))
            .filter(|end| *end <= rest.len())
            .ok_or_else(|| "truncated chunk".to_owned())?;
        each(&rest[4..8], &rest[8..data_end])?;
        rest = &rest[data_end..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ROOT};

    use sha2::Digest;

    use super::{change_hash, check, check_change};

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

    #[test]
    fn a_change_hash_comes_from_the_framing_and_matches_automerges() {
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "notes", "x".repeat(4_000))?;
            Ok(())
        })
        .unwrap();
        let mut change = doc.get_last_local_change().unwrap().clone();
        let raw = change.raw_bytes().to_vec();
        let expected = change.hash().to_string();
        assert_eq!(change_hash(&raw).map(hex::encode), Some(expected.clone()));
        let mut damaged = raw.clone();
        damaged[5] ^= 0xff;
        assert_eq!(
            change_hash(&damaged).map(hex::encode),
            Some(expected),
            "the checksum is not part of the hash"
        );
        assert!(check_change(&damaged).is_err());
        let compressed = change.bytes().to_vec();
        assert_eq!(compressed[8], 2, "large changes compress");
        assert_eq!(change_hash(&compressed), None);
        assert!(check_change(&compressed).is_err());
        assert_eq!(change_hash(&doc.save()), None, "a document is not a change");
        let mut bundle = raw;
        bundle[8] = 3;
        assert_eq!(change_hash(&bundle), None);
        let mut sealed = bundle.clone();
        let digest = sha2::Sha256::digest(&sealed[8..]);
        sealed[4..8].copy_from_slice(&digest[..4]);
        assert!(check(&sealed).is_err(), "a bundle is never loaded");
        assert!(super::load(&sealed).is_err());
        assert!(super::load(&doc.save()).is_ok());
    }
}

//! Requests an attacker crafts, shared by the abuse tests (`tests/abuse.rs`) and the abuse
//! benchmark (`benches/abuse.rs`): both replay the same attacks against the real binary.
//! Included by path (`#[path = "support/attacks.rs"]`), not through `support`, so the other
//! test binaries do not carry it.

use std::io::Write;

use fieldcrm_core::Kind;
use fieldcrm_core::protocol::{DocChanges, PushRequest};
use sha2::{Digest, Sha256};

/// A protocol body (version 1, deflated) around `payload`, deflated as hard as it goes.
pub fn deflated(payload: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(b"FCRM\x01\x01".to_vec(), flate2::Compression::best());
    encoder.write_all(payload).unwrap();
    encoder.finish().unwrap()
}

/// A body of a few KB that declares a million documents, each with no changes (finding 1).
pub fn million_entries() -> Vec<u8> {
    // Hand-made postcard: the varint count, then entries (doc_id "", kind 0, no changes).
    let mut payload = Vec::new();
    let mut count: u64 = 1_000_000;
    loop {
        let byte = (count & 0x7f) as u8;
        count >>= 7;
        if count == 0 {
            payload.push(byte);
            break;
        }
        payload.push(byte | 0x80);
    }
    for _ in 0..1_000_000 {
        payload.extend_from_slice(&[0, 0, 0]);
    }
    deflated(&payload)
}

/// A push of one change of `size` zero bytes, deflated to a few KB (a decompression bomb).
pub fn deflate_bomb(size: usize) -> Vec<u8> {
    let payload = postcard::to_stdvec(&PushRequest {
        docs: vec![DocChanges {
            doc_id: "bomb".into(),
            kind: Kind::Customer,
            changes: vec![vec![0; size]],
        }],
    })
    .unwrap();
    deflated(&payload)
}

/// Recomputes a change chunk's checksum, as an attacker who edits a change's bytes does.
pub fn reseal(chunk: &mut [u8]) {
    let digest = Sha256::digest(&chunk[8..]);
    chunk[4..8].copy_from_slice(&digest[..4]);
}

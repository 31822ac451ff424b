//! What the fuzz targets share: the panic rule (a panic that escapes our code is a crash, one
//! that `fieldcrm_core::authority` contains is not), Automerge chunk framing to re-seal mutated
//! changes so they get past the checksum, and the fixed organisation the server targets run on.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use sha2::{Digest, Sha256};

pub mod org;

/// The server's default limit on a decompressed sync payload (`--max-decompressed-bytes`,
/// `server/src/config.rs`): what the HTTP handlers pass to `protocol::decode`.
pub const SERVER_MAX_DECOMPRESSED: usize = 4 * 1024 * 1024;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces libfuzzer-sys's hook (which aborts on every panic, even one caught by
/// `catch_unwind`) with one that only remembers the panic; [`no_escaping_panic`] decides.
pub fn remember_panics() {
    std::panic::set_hook(Box::new(|info| {
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(info.to_string()));
    }));
}

/// Runs one input. A panic that reaches here escaped every containment of the code under test:
/// print where it happened and abort, so libFuzzer records the input as a crash.
pub fn no_escaping_panic(work: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(work)).is_err() {
        let site = LAST_PANIC
            .with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| "unknown site".to_owned());
        eprintln!("panic escaped: {site}");
        std::process::abort();
    }
}

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Change and compressed-change chunk types.
pub const CHANGE_CHUNK: u8 = 1;

/// The chunk type and body of one Automerge chunk, if `bytes` is framed as one.
pub fn split_chunk(bytes: &[u8]) -> Option<(u8, &[u8])> {
    if bytes.len() < 10 || bytes[..4] != MAGIC {
        return None;
    }
    let mut length: u64 = 0;
    for (index, byte) in bytes[9..].iter().enumerate().take(10) {
        length |= u64::from(byte & 0x7f).checked_shl(7 * index as u32)?;
        if byte & 0x80 == 0 {
            let start = 9 + index + 1;
            let end = start.checked_add(usize::try_from(length).ok()?)?;
            return Some((bytes[8], bytes.get(start..end)?));
        }
    }
    None
}

/// Frames `body` as one chunk of `chunk_type` with a correct length and checksum (the first 4
/// bytes of SHA-256 over the chunk from its type byte), so it passes the server's framing check
/// and reaches Automerge.
pub fn seal(chunk_type: u8, body: &[u8]) -> Vec<u8> {
    let mut chunk = vec![chunk_type];
    let mut length = body.len() as u64;
    loop {
        let byte = (length & 0x7f) as u8;
        length >>= 7;
        if length == 0 {
            chunk.push(byte);
            break;
        }
        chunk.push(byte | 0x80);
    }
    chunk.extend_from_slice(body);
    let checksum = Sha256::digest(&chunk);
    let mut out = Vec::with_capacity(8 + chunk.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&checksum[..4]);
    out.extend_from_slice(&chunk);
    out
}

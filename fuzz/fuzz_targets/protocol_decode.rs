//! `protocol::decode` of every message type on arbitrary bytes, with the server's limit, both
//! as a whole body (header, flags, DEFLATE) and as a payload behind a valid header. Must never
//! panic; memory is bounded by `-malloc_limit_mb` / `-rss_limit_mb` (see scripts/fuzz).
#![no_main]

use fieldcrm_core::protocol::{
    PingAck, PingUpload, PullRequest, PullResponse, PushRequest, PushResponse, decode,
};
use fieldcrm_fuzz::{SERVER_MAX_DECOMPRESSED, no_escaping_panic, remember_panics};
use libfuzzer_sys::fuzz_target;

/// "FCRM", version 1, no flags: what follows is read as the postcard payload.
const PLAIN_HEADER: [u8; 6] = *b"FCRM\x01\x00";

fn decode_all(body: &[u8]) {
    let _ = decode::<PushRequest>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<PullRequest>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<PullResponse>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<PingUpload>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<PingAck>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<PushResponse>(body, SERVER_MAX_DECOMPRESSED);
}

fuzz_target!(init: remember_panics(), |data: &[u8]| {
    no_escaping_panic(|| {
        decode_all(data);
        let mut framed = PLAIN_HEADER.to_vec();
        framed.extend_from_slice(data);
        decode_all(&framed);
    });
});

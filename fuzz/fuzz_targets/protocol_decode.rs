//! `protocol::decode` of every message type on arbitrary bytes, with the server's limit, both
//! as a whole body (header, flags, DEFLATE) and as a payload behind a valid header of every
//! protocol version served (pull pages and refetch answers through their versioned decoders;
//! the record a snapshot carries is read as a device reads it). Must never panic; memory is
//! bounded by `-malloc_limit_mb` / `-rss_limit_mb` (see scripts/fuzz).
#![no_main]

use fieldcrm_core::protocol::{
    OLDEST_PROTOCOL_VERSION, PROTOCOL_VERSION, PingAck, PingUpload, PullRequest, PulledPayload,
    PushRequest, PushResponse, RefetchRequest, decode, decode_pull_response,
    decode_refetch_response,
};
use fieldcrm_fuzz::{SERVER_MAX_DECOMPRESSED, no_escaping_panic, remember_panics};
use libfuzzer_sys::fuzz_target;

fn decode_all(body: &[u8]) {
    let _ = decode::<PushRequest>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<PullRequest>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<PingUpload>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<PingAck>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<PushResponse>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode::<RefetchRequest>(body, SERVER_MAX_DECOMPRESSED);
    let _ = decode_refetch_response(body, SERVER_MAX_DECOMPRESSED);
    if let Ok(page) = decode_pull_response(body, SERVER_MAX_DECOMPRESSED) {
        for doc in &page.docs {
            if let PulledPayload::Snapshot { record, .. } = &doc.payload {
                let _ = record.read();
            }
        }
    }
}

fuzz_target!(init: remember_panics(), |data: &[u8]| {
    no_escaping_panic(|| {
        decode_all(data);
        // "FCRM", a served version, no flags: what follows is read as the postcard payload.
        for version in OLDEST_PROTOCOL_VERSION..=PROTOCOL_VERSION {
            let mut framed = b"FCRM".to_vec();
            framed.extend_from_slice(&[version, 0]);
            framed.extend_from_slice(data);
            decode_all(&framed);
        }
    });
});

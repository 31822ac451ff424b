//! A ping upload decoded from arbitrary bytes and stored through the server's ping path
//! (`Storage::store_pings`, i.e. `store_ping_batch` in `storage/sqlite_fieldwork.rs`) as rep
//! anna of the fixed organisation, at a fixed server time. Never panics and never answers `Err` (a storage error
//! is a finding). The storage is kept for the whole process, so pings accumulate as they would.
#![no_main]

use std::sync::OnceLock;

use fieldcrm_core::protocol::{PingUpload, decode};
use fieldcrm_fuzz::org::{NOW_MS, Org, seed};
use fieldcrm_fuzz::{SERVER_MAX_DECOMPRESSED, no_escaping_panic, remember_panics};
use fieldcrm_server::Storage;
use libfuzzer_sys::fuzz_target;

fn org() -> &'static Org {
    static ORG: OnceLock<Org> = OnceLock::new();
    ORG.get_or_init(seed)
}

fuzz_target!(init: { remember_panics(); org(); }, |data: &[u8]| {
    no_escaping_panic(|| {
        let Ok(upload) = decode::<PingUpload>(data, SERVER_MAX_DECOMPRESSED) else {
            return;
        };
        let org = org();
        if let Err(e) = org.storage.store_pings(&org.anna.user_id, &upload, NOW_MS) {
            panic!("storing a ping batch failed: {e}");
        }
    });
});

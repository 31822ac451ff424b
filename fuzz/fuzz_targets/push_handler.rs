//! The server's push (`Storage::push_changes`) as rep anna of the fixed organisation (see
//! `src/org.rs`), one storage for the whole process. Inputs are structure-aware: documents of
//! the pool or any id, with changes that are valid ones of the pool, pool changes with their
//! body edited and the chunk re-sealed (so they get past the checksum and the actor check and
//! reach Automerge and the server's rules), sealed arbitrary bodies, or raw bytes. Must never
//! panic and never answer `Err`: a storage error is a finding, a per-document rejection is
//! the expected answer to junk.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use fieldcrm_core::Kind;
use fieldcrm_core::protocol::{DocChanges, PushRequest};
use fieldcrm_fuzz::org::{Org, seed};
use fieldcrm_fuzz::{no_escaping_panic, remember_panics, seal, split_chunk};
use fieldcrm_server::Storage;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    docs: Vec<Doc>,
}

#[derive(Debug, Arbitrary)]
struct Doc {
    target: Target,
    changes: Vec<ChangeInput>,
}

#[derive(Debug, Arbitrary)]
enum Target {
    /// A document of the pool, with its own kind.
    Pool(u8),
    /// A document of the pool declared as another kind.
    PoolAs(u8, u8),
    /// Any id and kind.
    Any(String, u8),
}

#[derive(Debug, Arbitrary)]
enum ChangeInput {
    /// A valid change of the pool, as is.
    Pool(u8),
    /// A pool change with its body edited, re-sealed.
    Edited { base: u8, edits: Vec<Edit> },
    /// An arbitrary body, sealed as a chunk of any known type (document, change, compressed
    /// change, bundle): what only the framing check stands between and Automerge.
    Sealed { chunk_type: u8, body: Vec<u8> },
    /// Raw bytes, as is.
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum Edit {
    Set { at: u16, byte: u8 },
    Flip { at: u16, bit: u8 },
    Insert { at: u16, bytes: Vec<u8> },
    Remove { at: u16, len: u8 },
    Truncate { at: u16 },
}

fn org() -> &'static Org {
    static ORG: OnceLock<Org> = OnceLock::new();
    ORG.get_or_init(seed)
}

fn pick<T>(items: &[T], index: u8) -> &T {
    &items[usize::from(index) % items.len()]
}

fn kind(index: u8) -> Kind {
    *pick(&Kind::ALL, index)
}

fn edited(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let Some((chunk_type, body)) = split_chunk(base) else {
        return base.to_vec();
    };
    let mut body = body.to_vec();
    for edit in edits {
        let at = |at: u16| usize::from(at) % (body.len() + 1);
        match edit {
            Edit::Set { at: i, byte } => {
                let i = at(*i);
                if i < body.len() {
                    body[i] = *byte;
                }
            }
            Edit::Flip { at: i, bit } => {
                let i = at(*i);
                if i < body.len() {
                    body[i] ^= 1 << (bit % 8);
                }
            }
            Edit::Insert { at: i, bytes } => {
                let i = at(*i);
                body.splice(i..i, bytes.iter().copied());
            }
            Edit::Remove { at: i, len } => {
                let i = at(*i);
                let end = (i + usize::from(*len)).min(body.len());
                body.drain(i..end);
            }
            Edit::Truncate { at: i } => {
                let i = at(*i);
                body.truncate(i);
            }
        }
    }
    seal(chunk_type, &body)
}

fn request(org: &Org, input: Input) -> PushRequest {
    let docs = input
        .docs
        .into_iter()
        .map(|doc| {
            let (doc_id, kind) = match doc.target {
                Target::Pool(i) => pick(&org.docs, i).clone(),
                Target::PoolAs(i, k) => (pick(&org.docs, i).0.clone(), kind(k)),
                Target::Any(id, k) => (id, kind(k)),
            };
            let changes = doc
                .changes
                .into_iter()
                .map(|change| match change {
                    ChangeInput::Pool(i) => pick(&org.changes, i).clone(),
                    ChangeInput::Edited { base, edits } => {
                        edited(pick(&org.changes, base).as_slice(), &edits)
                    }
                    ChangeInput::Sealed { chunk_type, body } => seal(chunk_type % 4, &body),
                    ChangeInput::Raw(bytes) => bytes,
                })
                .collect();
            DocChanges {
                doc_id,
                kind,
                changes,
            }
        })
        .collect();
    PushRequest { docs }
}

fuzz_target!(init: { remember_panics(); org(); }, |input: Input| {
    no_escaping_panic(|| {
        let org = org();
        let request = request(org, input);
        if let Err(e) = org.storage.push_changes(&org.anna, request) {
            panic!("push answered a storage error: {e}");
        }
    });
});

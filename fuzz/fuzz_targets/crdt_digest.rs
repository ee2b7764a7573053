#![no_main]
//! Anti-entropy digests from hostile bytes: a peer's digest is network
//! input too. Whatever decodes must round-trip, and answering it from a
//! decoded state must ship a delta that merges lawfully.

#[path = "crdt_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use murmura_crdt::{AntiEntropy, Codec, Digest, Lattice, List, ListDigest, ORSet};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).min(rest.len());
    let (state, digest) = rest.split_at(cut);
    if let Ok(d) = Digest::<u64>::from_bytes(digest) {
        assert_eq!(Digest::<u64>::from_bytes(&d.to_bytes()).ok(), Some(d.clone()));
        if let Ok(s) = ORSet::<u64, u64>::from_bytes(state) {
            let answer = s.missing(&d);
            assert!(answer.leq(&s), "answer invented state");
        }
    }
    if let Ok(d) = ListDigest::<u64>::from_bytes(digest) {
        assert_eq!(ListDigest::<u64>::from_bytes(&d.to_bytes()).ok(), Some(d.clone()));
        if let Ok(s) = List::<u64, u64>::from_bytes(state) {
            let answer = s.missing(&d);
            assert!(answer.leq(&s), "answer invented state");
        }
    }
    // The same bytes as states, so the corpus is shared with crdt_orset.
    common::decode_and_merge::<ORSet<u64, u64>>(data);
});

#![no_main]
//! Grow-only, two-phase and remove-wins set states from hostile bytes.

#[path = "crdt_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use murmura_crdt::{GSet, RemoveWinsSet, TwoPSet};

fuzz_target!(|data: &[u8]| {
    common::decode_and_merge::<GSet<u64>>(data);
    common::decode_and_merge::<TwoPSet<String>>(data);
    common::decode_and_merge::<RemoveWinsSet<u64, u64>>(data);
});

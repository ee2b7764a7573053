#![no_main]
//! Counter states from hostile bytes: decode, merge, anti-entropy.

#[path = "crdt_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use murmura_crdt::{BoundedCounter, CausalCounter, GCounter, PNCounter};

fuzz_target!(|data: &[u8]| {
    common::decode_and_merge::<GCounter<u64>>(data);
    common::decode_and_merge::<PNCounter<u64>>(data);
    common::decode_and_merge::<BoundedCounter<u64>>(data);
    common::decode_and_merge::<CausalCounter<u64>>(data);
});

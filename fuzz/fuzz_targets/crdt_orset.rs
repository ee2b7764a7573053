#![no_main]
//! Add-wins OR-Set states from hostile bytes: decode, merge, anti-entropy.

#[path = "crdt_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use murmura_crdt::ORSet;

fuzz_target!(|data: &[u8]| {
    common::decode_and_merge::<ORSet<u64, u64>>(data);
    common::decode_and_merge::<ORSet<String, String>>(data);
});

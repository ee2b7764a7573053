#![no_main]
//! Map states (nested OR-Maps, LWW map) from hostile bytes.

#[path = "crdt_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use murmura_crdt::{CounterDots, DotMap, ElemDots, LwwMap, ORMap};

fuzz_target!(|data: &[u8]| {
    common::decode_and_merge::<ORMap<u64, ElemDots<u64, u64>, u64>>(data);
    common::decode_and_merge::<ORMap<String, DotMap<u64, CounterDots<u64>>, u64>>(data);
    common::decode_and_merge::<LwwMap<u64, Vec<u8>, u64, u64>>(data);
});

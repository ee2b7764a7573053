#![no_main]
//! Register and flag states from hostile bytes: decode, merge, anti-entropy.

#[path = "crdt_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use murmura_crdt::{DisableWinsFlag, EnableWinsFlag, LwwRegister, MvRegister};

fuzz_target!(|data: &[u8]| {
    common::decode_and_merge::<LwwRegister<Vec<u8>, u64, u64>>(data);
    common::decode_and_merge::<MvRegister<String, u64>>(data);
    common::decode_and_merge::<EnableWinsFlag<u64>>(data);
    common::decode_and_merge::<DisableWinsFlag<u64>>(data);
});

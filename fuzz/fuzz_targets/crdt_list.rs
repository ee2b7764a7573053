#![no_main]
//! RGA list states and anti-entropy digests from hostile bytes.

#[path = "crdt_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use murmura_crdt::{Codec, Digest, List};

fuzz_target!(|data: &[u8]| {
    common::decode_and_merge::<List<u64, u64>>(data);
    if let Ok(list) = List::<String, u64>::from_bytes(data) {
        // Reading never loops, even over hostile origin chains.
        assert!(list.to_vec().len() <= list.len());
    }
    if let Ok(digest) = Digest::<u64>::from_bytes(data) {
        assert_eq!(
            Digest::<u64>::from_bytes(&digest.to_bytes()).ok(),
            Some(digest)
        );
    }
});

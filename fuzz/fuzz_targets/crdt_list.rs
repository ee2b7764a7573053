#![no_main]
//! RGA list states and anti-entropy digests from hostile bytes.

#[path = "crdt_common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use murmura_crdt::{Codec, Digest, List};

fuzz_target!(|data: &[u8]| {
    common::decode_and_merge::<List<u64, u64>>(data);
    if let Ok(list) = List::<String, u64>::from_bytes(data) {
        // Reading never loops, even over hostile origin chains, and every
        // read of size and content agrees.
        let values = list.to_vec();
        assert_eq!(values.len(), list.len());
        assert_eq!(values.is_empty(), list.is_empty());
        assert_eq!(list.get(list.len()), None);
        if let Some(last) = list.len().checked_sub(1) {
            assert_eq!(list.get(last), values.last());
            assert!(list.clone().remove(last).is_ok());
        }
        // Edits at the bounds succeed unless a stamp or counter is at the
        // end of its range.
        match list.clone().insert(7, list.len(), String::new()) {
            Ok(_) | Err(murmura_crdt::Error::Overflow) => {}
            Err(e) => panic!("insert at len() failed: {e}"),
        }
    }
    if let Ok(digest) = Digest::<u64>::from_bytes(data) {
        assert_eq!(
            Digest::<u64>::from_bytes(&digest.to_bytes()).ok(),
            Some(digest)
        );
    }
});

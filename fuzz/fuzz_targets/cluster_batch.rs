#![no_main]
//! Hostile bytes into the store's wire decoder: a batch of messages.
use libfuzzer_sys::fuzz_target;
use murmura_cluster::Value;
use murmura_cluster::message::{decode_batch, encode_batch};

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = decode_batch::<Value>(data) {
        // Whatever decodes re-encodes and decodes to the same messages.
        let mut out = Vec::new();
        encode_batch(&batch, &mut out);
        let again = decode_batch::<Value>(&out).expect("re-encoded batch decodes");
        assert_eq!(again.len(), batch.len());
    }
});

#![no_main]
//! Frame decoding on hostile bytes: never panics, and whatever decodes
//! re-encodes to exactly the bytes it came from.

use libfuzzer_sys::fuzz_target;
use murmura_core::frame::{self, FrameLimits};

fuzz_target!(|data: &[u8]| {
    let limits = FrameLimits {
        min_version: 1,
        max_version: 3,
        max_payload: 64 * 1024,
    };
    let mut rest = data;
    while let Ok((f, used)) = frame::decode(rest, &limits) {
        let again = frame::encode_to_vec(f.version, f.payload, &limits).expect("decoded frame fits");
        assert_eq!(&again[..], &rest[..used]);
        rest = &rest[used..];
    }
});

#![no_main]
//! The bounded reader on hostile bytes: never panics, never allocates more
//! than the input justifies, and a failed read leaves the cursor in place.

use libfuzzer_sys::fuzz_target;
use murmura_core::codec::Reader;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    loop {
        let before = r.position();
        let ok = match r.u8() {
            Ok(0) => r.varint().is_ok(),
            Ok(1) => r.length_prefixed().is_ok(),
            Ok(2) => r
                .count(8)
                .map(|n| Vec::<u64>::with_capacity(n).capacity() >= n)
                .is_ok(),
            Ok(3) => r.varint_i64().is_ok(),
            Ok(_) => r.u32_le().is_ok(),
            Err(_) => break,
        };
        if !ok {
            assert!(r.position() == before + 1);
            break;
        }
    }
});

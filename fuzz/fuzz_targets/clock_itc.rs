#![no_main]
//! Interval tree clock bit decoding on hostile bytes: never panics or
//! recurses without bound, accepts only canonical encodings, and what
//! decodes supports the clock operations.

use libfuzzer_sys::fuzz_target;
use murmura_clock::itc::Stamp;

fuzz_target!(|data: &[u8]| {
    if let Ok(stamp) = Stamp::decode(data) {
        assert_eq!(stamp.to_bytes(), data);
        assert!(stamp.leq(&stamp));
        let (mut a, b) = stamp.fork();
        if !a.is_anonymous() {
            a.event().expect("owns an identity");
            assert!(stamp.leq(&a));
        }
        let _ = a.join(&b);
        assert!(stamp.peek().join(&stamp).is_ok());
    }
});

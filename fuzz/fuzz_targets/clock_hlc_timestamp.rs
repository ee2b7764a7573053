#![no_main]
//! Hybrid logical timestamp decoding, and a clock fed hostile timestamps:
//! never panics, and every timestamp it accepts moves it strictly forward.

use libfuzzer_sys::fuzz_target;
use murmura_clock::hlc::{Hlc, Timestamp};
use murmura_core::time::ManualClock;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Timestamp::decode(data) {
        assert_eq!(t.to_bytes(), data);
    }
    let clock = Hlc::with_clock(ManualClock::new(Duration::from_secs(1_700_000_000)));
    for chunk in data.chunks_exact(8) {
        let Ok(t) = Timestamp::decode(chunk) else { continue };
        let before = clock.last();
        match clock.update(t) {
            Ok(next) => assert!(next > before && next > t),
            Err(_) => assert_eq!(clock.last(), before),
        }
    }
});

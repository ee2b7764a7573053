#![no_main]
//! Version vector decoding on hostile bytes: never panics, accepts only the
//! canonical encoding, and what decodes behaves as a lattice element.

use libfuzzer_sys::fuzz_target;
use murmura_clock::{Causality, VersionVector};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = VersionVector::<u64>::decode(data) {
        assert_eq!(v.to_bytes(), data);
        assert_eq!(v.causality(&v), Causality::Equal);
        let mut m = v.clone();
        m.merge(&v);
        assert_eq!(m, v);
        for dot in v.dots() {
            assert!(v.contains(&dot));
        }
    }
    let _ = VersionVector::<String>::decode(data);
    let _ = VersionVector::<[u8; 16]>::decode(data);
});

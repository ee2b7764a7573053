#![no_main]
//! Causal context decoding on hostile bytes: never panics, accepts only the
//! compact canonical form, and merging what decodes is idempotent.

use libfuzzer_sys::fuzz_target;
use murmura_clock::CausalContext;

fuzz_target!(|data: &[u8]| {
    if let Ok(cc) = CausalContext::<u64>::decode(data) {
        assert_eq!(cc.to_bytes(), data);
        let mut m = cc.clone();
        m.merge(&cc);
        assert_eq!(m, cc);
        assert!(cc.missing_from(&cc).is_empty());
    }
    let _ = CausalContext::<String>::decode(data);
});

#![no_main]
//! DVVSet decoding on hostile bytes: never panics, round trips what it
//! accepts, and syncing a decoded set with itself changes nothing.

use libfuzzer_sys::fuzz_target;
use murmura_clock::DvvSet;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = DvvSet::<u64, Vec<u8>>::decode(data) {
        assert_eq!(set.to_bytes(), data);
        let mut synced = set.clone();
        synced.sync(&set);
        assert_eq!(synced.len(), set.len());
    }
    let _ = DvvSet::<String, String>::decode(data);
});

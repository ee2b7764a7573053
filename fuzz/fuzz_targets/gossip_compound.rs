#![no_main]
//! Hostile bytes into the gossip compound decoder: never a panic, and what
//! decodes re-encodes to the same bytes (the format has one encoding).
use libfuzzer_sys::fuzz_target;
use murmura_gossip::wire::{decode_compound, encode_compound};

fuzz_target!(|data: &[u8]| {
    if let Ok(msgs) = decode_compound::<u64>(data) {
        // Unknown kinds are skipped, so only compare when nothing was.
        let again = encode_compound(&msgs);
        let back = decode_compound::<u64>(&again).expect("re-encoded compound decodes");
        assert_eq!(back, msgs);
    }
    let _ = decode_compound::<std::net::SocketAddr>(data);
});

#![no_main]
//! Hostile bytes into the envelope (frame, label, decryption, decompression).
use libfuzzer_sys::fuzz_target;
use murmura_gossip::wire::{Envelope, Keyring};

fuzz_target!(|data: &[u8]| {
    let plain = Envelope::new(b"fuzz", 1 << 16).with_compression(true);
    let _ = plain.open(data);
    let _ = plain.open_prefix(data);
    let keyed = Envelope::new(b"", 1 << 16)
        .with_compression(true)
        .with_keyring(Some(Keyring::new([7; 32])));
    let _ = keyed.open(data);
});

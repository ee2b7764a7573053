#![no_main]
//! Hostile bytes into the envelope (frame, label, decryption, decompression).
use libfuzzer_sys::fuzz_target;
use murmura_core::frame::{FrameLimits, encode_to_vec};
use murmura_gossip::wire::{Envelope, Keyring, PROTOCOL_VERSION};

fuzz_target!(|data: &[u8]| {
    let plain = Envelope::new(b"fuzz", 1 << 16).with_compression(true);
    let keyed = Envelope::new(b"", 1 << 16)
        .with_compression(true)
        .with_keyring(Some(Keyring::new([7; 32])));
    let _ = plain.open(data);
    let _ = plain.open_prefix(data);
    let _ = keyed.open(data);
    // The same bytes as the payload of a valid frame, so the fuzzer reaches
    // the flags, the label, the AEAD and the LZ4 decoder past the checksum.
    let limits = FrameLimits {
        min_version: PROTOCOL_VERSION,
        max_version: PROTOCOL_VERSION,
        max_payload: 1 << 16,
    };
    if let Ok(framed) = encode_to_vec(PROTOCOL_VERSION, data, &limits) {
        let empty_label = Envelope::new(b"", 1 << 16).with_compression(true);
        if let Ok(out) = empty_label.open_limited(&framed, 4096) {
            // Decompression is capped; a plain payload is only as large as the frame.
            assert!(out.len() <= 4096.max(data.len()));
        }
        let _ = plain.open(&framed);
        let _ = keyed.open(&framed);
    }
});

#![no_main]
//! Hostile bytes into the socket-address decoder.
use libfuzzer_sys::fuzz_target;
use murmura_core::codec::Reader;
use murmura_gossip::Address;

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    if let Ok(addr) = std::net::SocketAddr::decode(&mut r) {
        let mut out = Vec::new();
        addr.encode(&mut out);
        assert_eq!(&out[..], &data[..r.position()]);
    }
});

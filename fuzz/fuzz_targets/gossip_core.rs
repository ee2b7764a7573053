#![no_main]
//! Hostile datagrams and stream messages into a running member: never a
//! panic, and the local member is never lost or made non-alive.
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use murmura_gossip::wire::{Accusation, Alive, Message, encode_compound};
use murmura_gossip::{Config, State, Swim};

fuzz_target!(|data: &[u8]| {
    let now = Duration::from_secs(1);
    let mut core = Swim::new("me", 1u64, Config::local(), murmura_core::rng::seeded(0), now).unwrap();
    // Know one live peer and one dead one, so accusations, corrections and
    // dead checks have something to hit.
    let hello = encode_compound(&[
        Message::Alive(Alive { name: "p".into(), addr: 2u64, incarnation: 1, meta: vec![] }),
        Message::Alive(Alive { name: "q".into(), addr: 3u64, incarnation: 1, meta: vec![] }),
        Message::Dead(Accusation { name: "q".into(), incarnation: 1, from: "p".into() }),
    ]);
    let env = murmura_gossip::wire::Envelope::new(b"", 1 << 20);
    let sealed = env.seal(&hello, &mut murmura_core::rng::seeded(1)).unwrap();
    core.handle_datagram(now, 2, &sealed).unwrap();
    // The fuzz input as a compound inside a valid envelope, and raw.
    let wrapped = env.seal(data, &mut murmura_core::rng::seeded(2)).unwrap();
    let _ = core.handle_datagram(now, 3, &wrapped);
    let _ = core.handle_stream(now, 3, &wrapped);
    let _ = core.handle_datagram(now, 3, data);
    core.handle_timer(now + Duration::from_secs(100));
    while core.poll_transmit().is_some() {}
    assert_eq!(core.local_member().state, State::Alive);
});

use std::net::SocketAddr;

use murmura_core::rng::seeded;
use proptest::prelude::*;

use super::*;
use crate::member::State;
use crate::{Address, Error};

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9.-]{1,20}"
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Alive),
        Just(State::Suspect),
        Just(State::Dead),
        Just(State::Left)
    ]
}

fn accusation() -> impl Strategy<Value = Accusation> {
    (name(), any::<u64>(), name()).prop_map(|(name, incarnation, from)| Accusation {
        name,
        incarnation,
        from,
    })
}

fn message<A: Address, S: Strategy<Value = A> + Clone + 'static>(
    addr: S,
) -> impl Strategy<Value = Message<A>> {
    let member = (name(), addr.clone(), any::<u64>(), state(), bytes(40)).prop_map(
        |(name, addr, incarnation, state, meta)| MemberState {
            name,
            addr,
            incarnation,
            state,
            meta,
        },
    );
    prop_oneof![
        (any::<u32>(), name(), name()).prop_map(|(seq, target, from)| Message::Ping(Ping {
            seq,
            target,
            from
        })),
        (any::<u32>(), name(), addr.clone()).prop_map(|(seq, target, target_addr)| {
            Message::PingReq(PingReq {
                seq,
                target,
                target_addr,
            })
        }),
        any::<u32>().prop_map(|seq| Message::Ack(Ack { seq })),
        any::<u32>().prop_map(|seq| Message::Nack(Nack { seq })),
        (name(), addr.clone(), any::<u64>(), bytes(64)).prop_map(
            |(name, addr, incarnation, meta)| {
                Message::Alive(Alive {
                    name,
                    addr,
                    incarnation,
                    meta,
                })
            }
        ),
        accusation().prop_map(Message::Suspect),
        accusation().prop_map(Message::Dead),
        (name(), any::<u64>())
            .prop_map(|(name, incarnation)| Message::Leave(Leave { name, incarnation })),
        (bytes(32), bytes(200))
            .prop_map(|(key, payload)| Message::User(UserBroadcast { key, payload })),
        (name(), bytes(300)).prop_map(|(from, payload)| Message::Direct(Direct { from, payload })),
        (
            name(),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(member, 0..8),
            bytes(64)
        )
            .prop_map(|(from, join, reply, members, app_state)| {
                Message::PushPull(PushPull {
                    from,
                    join,
                    reply,
                    members,
                    app_state,
                })
            }),
    ]
}

#[test]
fn golden_compound() {
    // Pinned: a change here is a wire-format change and needs a new
    // PROTOCOL_VERSION (2: pings name their sender).
    let msgs: Vec<Message<u64>> = vec![
        Message::Ping(Ping {
            seq: 300,
            target: "b".into(),
            from: "a".into(),
        }),
        Message::Alive(Alive {
            name: "a".into(),
            addr: 7,
            incarnation: 2,
            meta: b"m".to_vec(),
        }),
        Message::Suspect(Accusation {
            name: "c".into(),
            incarnation: 1,
            from: "a".into(),
        }),
        Message::User(UserBroadcast {
            key: b"k".to_vec(),
            payload: b"v".to_vec(),
        }),
    ];
    let plain = encode_compound(&msgs);
    assert_eq!(
        plain,
        [
            4, // count
            1, 6, 0xac, 0x02, 1, b'b', 1, b'a', // ping seq 300 to "b" from "a"
            5, 6, 1, b'a', 7, 2, 1, b'm', // alive
            6, 5, 1, b'c', 1, 1, b'a', // suspect
            9, 4, 1, b'k', 1, b'v', // user
        ]
    );
    let env = Envelope::new(b"L", 1 << 16);
    let sealed = env.seal(&plain, &mut seeded(0)).unwrap();
    // frame(version 2, len) | flags 0 | label "L" | compound | crc32
    assert_eq!(&sealed[..8], &[2, 33, 0, 0, 0, 0, 1, b'L']);
    assert_eq!(&sealed[8..sealed.len() - 4], &plain[..]);
    assert_eq!(
        &sealed[sealed.len() - 4..],
        &crc32fast::hash(&sealed[..sealed.len() - 4]).to_le_bytes()
    );
}

#[test]
fn golden_socket_addr() {
    let addr: SocketAddr = "10.1.2.3:7946".parse().unwrap();
    let mut out = Vec::new();
    addr.encode(&mut out);
    assert_eq!(out, [4, 10, 1, 2, 3, 0x0a, 0x1f]);
}

#[test]
fn unknown_kinds_are_skipped_and_bad_ones_refused() {
    // An unknown kind 200 with a 2-byte body, then an ack.
    let plain = [2, 200, 2, 9, 9, 3, 1, 5];
    assert_eq!(
        decode_compound::<u64>(&plain).unwrap(),
        vec![Message::Ack(Ack { seq: 5 })]
    );
    // Trailing bytes inside a body.
    assert!(decode_compound::<u64>(&[1, 3, 2, 5, 0]).is_err());
    // A count far larger than the input.
    assert!(decode_compound::<u64>(&[0xff, 0xff, 0x03]).is_err());
    // An empty name.
    assert!(decode_compound::<u64>(&[1, 1, 2, 1, 0]).is_err());
    // A name that is not UTF-8.
    assert!(decode_compound::<u64>(&[1, 1, 3, 1, 1, 0xff]).is_err());
    // A bad member state in a push-pull.
    let bad_state = [1, 10, 8, 1, b'x', 0, 1, 1, b'y', 3, 0];
    assert!(decode_compound::<u64>(&bad_state).is_err());
    let mut ok_state = bad_state;
    ok_state[9] = 9; // unknown state tag
    assert!(decode_compound::<u64>(&ok_state).is_err());
}

#[test]
fn envelope_rejects_other_clusters_and_versions() {
    let plain = encode_compound::<u64>(&[Message::Ack(Ack { seq: 1 })]);
    let env = Envelope::new(b"a", 4096);
    let sealed = env.seal(&plain, &mut seeded(1)).unwrap();
    assert!(matches!(
        Envelope::new(b"b", 4096).open(&sealed),
        Err(Error::LabelMismatch)
    ));
    assert!(matches!(
        Envelope::new(b"", 4096).open(&sealed),
        Err(Error::LabelMismatch)
    ));
    for other in [PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1] {
        let mut v = sealed.clone();
        v[0] = other;
        assert!(matches!(env.open(&v), Err(Error::Frame(_))));
    }
    // Oversized frames are refused before the payload is looked at.
    assert!(matches!(
        Envelope::new(b"a", 4).open(&sealed),
        Err(Error::Frame(_))
    ));
}

#[cfg(feature = "encryption")]
#[test]
fn encryption_keyring_and_rotation() {
    let plain = encode_compound::<u64>(&[Message::Ack(Ack { seq: 1 })]);
    let k1 = Envelope::new(b"", 4096).with_keyring(Some(Keyring::new([1; 32])));
    let sealed = k1.seal(&plain, &mut seeded(1)).unwrap();
    assert_eq!(k1.open(&sealed).unwrap(), plain);
    // Wrong key, no key, and plain text into an encrypted cluster.
    let k2 = Envelope::new(b"", 4096).with_keyring(Some(Keyring::new([2; 32])));
    assert!(matches!(k2.open(&sealed), Err(Error::NoMatchingKey)));
    assert!(matches!(
        Envelope::new(b"", 4096).open(&sealed),
        Err(Error::NoKeyring)
    ));
    let clear = Envelope::new(b"", 4096)
        .seal(&plain, &mut seeded(1))
        .unwrap();
    assert!(matches!(k1.open(&clear), Err(Error::Unencrypted)));
    // Rotation: a ring holding both keys opens both.
    let mut ring = Keyring::new([2; 32]);
    ring.add([1; 32]);
    let both = Envelope::new(b"", 4096).with_keyring(Some(ring));
    assert_eq!(both.open(&sealed).unwrap(), plain);
    assert_eq!(
        both.open(&k2.seal(&plain, &mut seeded(2)).unwrap())
            .unwrap(),
        plain
    );
    // The label is authenticated: flipping it (and fixing the crc) fails.
    let labelled = Envelope::new(b"x", 4096).with_keyring(Some(Keyring::new([1; 32])));
    let mut s = labelled.seal(&plain, &mut seeded(3)).unwrap();
    let n = s.len();
    s[7] = b'y';
    let crc = crc32fast::hash(&s[..n - 4]).to_le_bytes();
    s[n - 4..].copy_from_slice(&crc);
    let y = Envelope::new(b"y", 4096).with_keyring(Some(Keyring::new([1; 32])));
    assert!(matches!(y.open(&s), Err(Error::NoMatchingKey)));
}

#[cfg(feature = "compression")]
#[test]
fn compression_round_trip_and_bounds() {
    let msgs: Vec<Message<u64>> = (0..20)
        .map(|i| {
            Message::Alive(Alive {
                name: format!("member-{i}"),
                addr: i,
                incarnation: 1,
                meta: vec![b'z'; 30],
            })
        })
        .collect();
    let plain = encode_compound(&msgs);
    let env = Envelope::new(b"", 1 << 16).with_compression(true);
    let sealed = env.seal(&plain, &mut seeded(1)).unwrap();
    assert!(sealed.len() < plain.len());
    assert_eq!(env.open(&sealed).unwrap(), plain);
    // A datagram may not expand past a datagram's size.
    assert!(matches!(
        env.open_limited(&sealed, 100),
        Err(Error::Decompress)
    ));
    // A small limit refuses the decompressed size up front.
    let small = Envelope::new(b"", sealed.len() + 8);
    assert!(matches!(small.open(&sealed), Err(Error::Decompress)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_u64(msgs in proptest::collection::vec(message(any::<u64>()), 0..6)) {
        let plain = encode_compound(&msgs);
        prop_assert_eq!(decode_compound::<u64>(&plain).unwrap(), msgs);
    }

    #[test]
    fn round_trip_socket_addr(msgs in proptest::collection::vec(message(any::<SocketAddr>().prop_map(|a| SocketAddr::new(a.ip(), a.port()))), 0..6)) {
        let plain = encode_compound(&msgs);
        prop_assert_eq!(decode_compound::<SocketAddr>(&plain).unwrap(), msgs);
    }

    #[test]
    fn round_trip_sealed(msgs in proptest::collection::vec(message(any::<u64>()), 1..4), seed in any::<u64>(), compress in any::<bool>()) {
        let env = Envelope::new(b"c", 1 << 20).with_compression(compress);
        #[cfg(feature = "encryption")]
        let env = env.with_keyring(Some(Keyring::new([seed as u8; 32])));
        let sealed = env.seal(&encode_compound(&msgs), &mut seeded(seed)).unwrap();
        prop_assert_eq!(decode_compound::<u64>(&env.open(&sealed).unwrap()).unwrap(), msgs);
    }

    #[test]
    fn garbage_never_panics(data in bytes(256)) {
        let _ = decode_compound::<u64>(&data);
        let _ = decode_compound::<SocketAddr>(&data);
        let _ = Envelope::new(b"", 1 << 16).with_compression(true).open(&data);
    }

    #[test]
    fn truncation_is_an_error(msgs in proptest::collection::vec(message(any::<u64>()), 1..4), cut in any::<prop::sample::Index>()) {
        let plain = encode_compound(&msgs);
        let at = cut.index(plain.len());
        prop_assert!(decode_compound::<u64>(&plain[..at]).is_err());
    }
}

#[test]
fn golden_push_pull() {
    let msg: Message<u64> = Message::PushPull(PushPull {
        from: "a".into(),
        join: true,
        reply: false,
        members: vec![MemberState {
            name: "b".into(),
            addr: 2,
            incarnation: 3,
            state: State::Suspect,
            meta: b"m".to_vec(),
        }],
        app_state: b"s".to_vec(),
    });
    assert_eq!(
        msg.to_bytes(),
        [10, 13, 1, b'a', 1, 1, 1, b'b', 2, 3, 1, 1, b'm', 1, b's']
    );
}

/// The kinds `golden_compound` and `golden_push_pull` leave out.
fn other_kinds() -> Vec<Message<u64>> {
    vec![
        Message::Ack(Ack { seq: 1 }),
        Message::Nack(Nack { seq: 2 }),
        Message::PingReq(PingReq {
            seq: 3,
            target: "t".into(),
            target_addr: 9,
        }),
        Message::Dead(Accusation {
            name: "d".into(),
            incarnation: 4,
            from: "a".into(),
        }),
        Message::Leave(Leave {
            name: "l".into(),
            incarnation: 5,
        }),
        Message::Direct(Direct {
            from: "f".into(),
            payload: b"p".to_vec(),
        }),
    ]
}

#[test]
fn golden_other_kinds() {
    // kind | varint body length | fields, as in `golden_compound`.
    let got: Vec<Vec<u8>> = other_kinds().iter().map(|m| m.to_bytes()).collect();
    let want: [&[u8]; 6] = [
        &[3, 1, 1],                   // ack seq 1
        &[4, 1, 2],                   // nack seq 2
        &[2, 4, 3, 1, b't', 9],       // ping-req seq 3, "t" at 9
        &[7, 5, 1, b'd', 4, 1, b'a'], // dead "d" inc 4 from "a"
        &[8, 3, 1, b'l', 5],          // leave "l" inc 5
        &[11, 4, 1, b'f', 1, b'p'],   // direct from "f", payload "p"
    ];
    assert_eq!(got, want.map(<[u8]>::to_vec));
    let plain = encode_compound(&other_kinds());
    assert_eq!(decode_compound::<u64>(&plain).unwrap(), other_kinds());
}

/// The sealed layout, checked by opening it with the AEAD and LZ4 crates
/// directly rather than with `Envelope`.
#[cfg(all(feature = "encryption", feature = "compression"))]
#[test]
fn golden_sealed_layout() {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{ChaCha20Poly1305, Nonce};

    let msgs = vec![Message::<u64>::User(UserBroadcast {
        key: b"k".to_vec(),
        payload: vec![0; 200],
    })];
    let plain = encode_compound(&msgs);
    let env = Envelope::new(b"L", 1 << 16)
        .with_keyring(Some(Keyring::new([7; 32])))
        .with_compression(true);
    let sealed = env.seal(&plain, &mut seeded(0)).unwrap();
    let len = u32::from_le_bytes(sealed[1..5].try_into().unwrap()) as usize;
    assert_eq!(sealed.len(), 5 + len + 4);
    // version 2 | len | flags = encrypted + compressed | label "L"
    assert_eq!(
        (sealed[0], sealed[5], &sealed[6..8]),
        (2, 3, &[1, b'L'][..])
    );
    let body = &sealed[8..5 + len];
    let (nonce, ciphertext) = body.split_at(12);
    let aad = [2, 3, 1, b'L'];
    let inner = ChaCha20Poly1305::new(&[7u8; 32].into())
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .unwrap();
    assert_eq!(ciphertext.len(), inner.len() + 16);
    // inner = varint(plain length) | LZ4 block
    let mut r = murmura_core::codec::Reader::new(&inner);
    assert_eq!(r.varint().unwrap(), plain.len() as u64);
    let out = lz4_flex::block::decompress(r.rest(), plain.len()).unwrap();
    assert_eq!(out, plain);
    assert!(inner.len() < plain.len());
    assert_eq!(env.open(&sealed).unwrap(), plain);
}

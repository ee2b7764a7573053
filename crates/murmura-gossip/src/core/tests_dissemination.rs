//! Dissemination at scale: fairness between membership news and user
//! broadcasts, the MTU, invalidation keys, and version refusal.

use std::time::Duration;

use murmura_core::rng::seeded;

use crate::wire::{self, Accusation, Alive, Envelope, Message, UserBroadcast};
use crate::{Config, Swim};

const T0: Duration = Duration::from_secs(1);

fn seal(msgs: &[Message<u64>]) -> Vec<u8> {
    Envelope::new(b"", 1 << 20)
        .seal(&wire::encode_compound(msgs), &mut seeded(9))
        .unwrap()
}

/// A member that knows `n` others (all news still queued).
fn crowded(n: u64) -> Swim<u64> {
    let mut c = Swim::new("me", 1u64, Config::local(), seeded(1), T0).unwrap();
    let peers: Vec<Message<u64>> = (2..n + 2)
        .map(|i| {
            Message::Alive(Alive {
                name: format!("peer-{i:05}"),
                addr: i,
                incarnation: 0,
                meta: vec![7; 24],
            })
        })
        .collect();
    for chunk in peers.chunks(100) {
        c.handle_datagram(T0, 2, &seal(chunk)).unwrap();
    }
    assert_eq!(c.num_live() as u64, n + 1);
    c
}

/// Every datagram queued, decoded: (bytes on the wire, membership
/// messages, user broadcasts).
fn datagrams(c: &mut Swim<u64>) -> Vec<(usize, usize, Vec<UserBroadcast>)> {
    let env = Envelope::new(b"", 1 << 20);
    let mut out = Vec::new();
    while let Some(t) = c.poll_transmit() {
        let msgs = wire::decode_compound::<u64>(&env.open(&t.bytes).unwrap()).unwrap();
        let mut members = 0;
        let mut users = Vec::new();
        for m in msgs {
            match m {
                Message::User(u) => users.push(u),
                Message::Alive(_) | Message::Suspect(_) | Message::Dead(_) | Message::Leave(_) => {
                    members += 1
                }
                _ => {}
            }
        }
        out.push((t.bytes.len(), members, users));
    }
    out
}

#[test]
fn at_1200_members_neither_membership_nor_broadcasts_starve() {
    let mut c = crowded(1200);
    let (members_queued, _) = c.queued_updates();
    assert!(members_queued >= 1200);
    for i in 0..40 {
        c.broadcast(format!("key-{i}"), vec![i as u8; 100]).unwrap();
    }
    let mut now = T0;
    let mut rounds = 0;
    let mut member_msgs = 0;
    let mut user_sends = 0;
    while c.queued_updates().1 > 0 {
        rounds += 1;
        assert!(rounds <= 60, "user broadcasts starved behind 1,200 members");
        now += Duration::from_millis(100);
        c.handle_timer(now);
        let both_waiting = c.queued_updates();
        for (len, members, users) in datagrams(&mut c) {
            assert!(len <= 1400, "{len} bytes over the MTU");
            member_msgs += members;
            user_sends += users.len();
            if both_waiting.0 > 0 && both_waiting.1 > 0 && len > 600 {
                // A full datagram while both kinds wait carries both.
                assert!(
                    members > 0 && !users.is_empty(),
                    "{members} / {}",
                    users.len()
                );
            }
        }
    }
    // Each broadcast went out its full λ·log(N+1) times: 2 · ⌈log10 1202⌉ = 8.
    assert_eq!(user_sends, 40 * 8);
    // ...while membership news kept flowing: at least as many messages as
    // there were broadcast sends (it gets half of each datagram, at least).
    assert!(member_msgs >= user_sends, "{member_msgs} < {user_sends}");
    assert!(
        c.queued_updates().0 > 0,
        "the membership backlog is still being worked off"
    );

    // The other way round: a full broadcast queue does not delay fresh
    // membership news; the next datagram carries it.
    for i in 0..1024 {
        c.broadcast(format!("flood-{i}"), vec![1u8; 100]).unwrap();
    }
    let suspect = Message::<u64>::Suspect(Accusation {
        name: "peer-00007".into(),
        incarnation: 0,
        from: "peer-00008".into(),
    });
    c.handle_datagram(now, 8, &seal(&[suspect])).unwrap();
    now += Duration::from_millis(100);
    c.handle_timer(now);
    let env = Envelope::new(b"", 1 << 20);
    let first = c.poll_transmit().unwrap();
    let msgs = wire::decode_compound::<u64>(&env.open(&first.bytes).unwrap()).unwrap();
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Message::Suspect(a) if a.name == "peer-00007")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| matches!(m, Message::User(_))));
}

#[test]
fn a_newer_broadcast_replaces_an_older_one_in_flight() {
    // 200 members: each update is sent 2 · ⌈log10 201⌉ = 6 times, more than
    // one gossip round does.
    let mut c = crowded(200);
    // Drain the membership news so only broadcasts remain.
    let mut now = T0;
    while c.queued_updates().0 > 0 {
        now += Duration::from_millis(100);
        c.handle_timer(now);
        datagrams(&mut c);
    }
    c.broadcast("config", b"v1".to_vec()).unwrap();
    now += Duration::from_millis(100);
    c.handle_timer(now);
    let first: Vec<Vec<u8>> = datagrams(&mut c)
        .into_iter()
        .flat_map(|(_, _, u)| u.into_iter().map(|u| u.payload))
        .collect();
    assert!(!first.is_empty() && first.iter().all(|p| p == b"v1"));
    // v1 is still in flight (sent fewer than its limit); v2 replaces it.
    assert_eq!(c.queued_updates().1, 1);
    c.broadcast("config", b"v2".to_vec()).unwrap();
    assert_eq!(c.queued_updates().1, 1);
    // So does news received from a peer under the same key.
    let mut payloads = Vec::new();
    for _ in 0..20 {
        now += Duration::from_millis(100);
        c.handle_timer(now);
        payloads.extend(
            datagrams(&mut c)
                .into_iter()
                .flat_map(|(_, _, u)| u.into_iter().map(|u| u.payload)),
        );
    }
    assert!(!payloads.is_empty());
    assert!(payloads.iter().all(|p| p == b"v2"), "{payloads:?}");
    let from_peer = Message::<u64>::User(UserBroadcast {
        key: b"config".to_vec(),
        payload: b"v3".to_vec(),
    });
    c.broadcast("config", b"v4".to_vec()).unwrap();
    c.handle_datagram(now, 2, &seal(&[from_peer])).unwrap();
    assert_eq!(c.queued_updates().1, 1);
    now += Duration::from_millis(100);
    c.handle_timer(now);
    let last: Vec<Vec<u8>> = datagrams(&mut c)
        .into_iter()
        .flat_map(|(_, _, u)| u.into_iter().map(|u| u.payload))
        .collect();
    assert!(
        !last.is_empty() && last.iter().all(|p| p == b"v3"),
        "{last:?}"
    );
}

#[test]
fn other_protocol_versions_are_refused_and_counted() {
    let mut c = Swim::new("me", 1u64, Config::local(), seeded(1), T0).unwrap();
    let mut bytes = seal(&[Message::Alive(Alive {
        name: "x".into(),
        addr: 2,
        incarnation: 0,
        meta: vec![],
    })]);
    bytes[0] = wire::PROTOCOL_VERSION + 1;
    let err = c.handle_datagram(T0, 2, &bytes).unwrap_err();
    assert!(
        err.to_string().contains("unsupported frame version"),
        "{err}"
    );
    assert!(c.handle_stream(T0, 2, &bytes).is_err());
    assert_eq!(c.stats().dropped_version, 2);
    assert!(c.member("x").is_none());
    bytes[0] = wire::PROTOCOL_VERSION;
    c.handle_datagram(T0, 2, &bytes).unwrap();
    assert!(c.member("x").is_some());
}

//! Merge rules and single-member behaviour, with a manual clock and seeded RNG.

use std::time::Duration;

use murmura_core::rng::seeded;
use proptest::prelude::*;

use crate::wire::{self, Accusation, Alive, Envelope, Leave, Message};
use crate::{Config, Event, Stability, State, Swim, TransmitKind, supersedes};

const T0: Duration = Duration::from_secs(1);

fn core(name: &str, addr: u64) -> Swim<u64> {
    Swim::new(name, addr, Config::local(), seeded(addr), T0).unwrap()
}

fn datagram(msgs: &[Message<u64>]) -> Vec<u8> {
    Envelope::new(b"", 1 << 20)
        .seal(&wire::encode_compound(msgs), &mut seeded(9))
        .unwrap()
}

fn alive(name: &str, addr: u64, incarnation: u64) -> Message<u64> {
    Message::Alive(Alive {
        name: name.into(),
        addr,
        incarnation,
        meta: vec![],
    })
}

fn accuse(name: &str, incarnation: u64, from: &str) -> Accusation {
    Accusation {
        name: name.into(),
        incarnation,
        from: from.into(),
    }
}

/// The outgoing messages of every queued transmit.
fn sent(c: &mut Swim<u64>) -> Vec<Message<u64>> {
    let env = Envelope::new(b"", 1 << 20);
    let mut out = Vec::new();
    while let Some(t) = c.poll_transmit() {
        out.extend(wire::decode_compound::<u64>(&env.open(&t.bytes).unwrap()).unwrap());
    }
    out
}

#[derive(Debug, Clone)]
enum Update {
    Alive(u64),
    Suspect(u64, u8),
    Dead(u64),
    Leave(u64),
}

fn update() -> impl Strategy<Value = Update> {
    let inc = 0u64..6;
    prop_oneof![
        inc.clone().prop_map(Update::Alive),
        (inc.clone(), 0u8..4).prop_map(|(i, f)| Update::Suspect(i, f)),
        inc.clone().prop_map(Update::Dead),
        inc.prop_map(Update::Leave),
    ]
}

impl Update {
    fn key(&self) -> (u64, State) {
        match *self {
            Update::Alive(i) => (i, State::Alive),
            Update::Suspect(i, _) => (i, State::Suspect),
            Update::Dead(i) => (i, State::Dead),
            Update::Leave(i) => (i, State::Left),
        }
    }
    fn message(&self, name: &str) -> Message<u64> {
        match *self {
            Update::Alive(i) => alive(name, 5, i),
            Update::Suspect(i, f) => Message::Suspect(accuse(name, i, &format!("f{f}"))),
            Update::Dead(i) => Message::Dead(accuse(name, i, "f0")),
            Update::Leave(i) => Message::Leave(Leave {
                name: name.into(),
                incarnation: i,
            }),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever order news arrives in, a member ends at the greatest
    /// (incarnation, state) seen: higher incarnations always win and dead or
    /// left is final for an incarnation.
    #[test]
    fn member_converges_to_the_greatest_news(updates in proptest::collection::vec(update(), 1..20)) {
        let mut c = core("me", 1);
        c.handle_datagram(T0, 5, &datagram(&[alive("x", 5, 0)])).unwrap();
        let mut best = (0, State::Alive);
        for u in &updates {
            c.handle_datagram(T0, 5, &datagram(&[u.message("x")])).unwrap();
            if supersedes(u.key(), best) { best = u.key(); }
            let m = c.member("x").unwrap();
            prop_assert_eq!((m.incarnation, m.state), best);
        }
    }

    /// Any accusation of this member, at any incarnation, is refuted by an
    /// alive message that supersedes it.
    #[test]
    fn a_member_can_always_refute(inc in 0u64..u64::MAX - 1, kind in 0u8..3) {
        let mut c = core("me", 1);
        let msg = match kind {
            0 => Message::Suspect(accuse("me", inc, "other")),
            1 => Message::Dead(accuse("me", inc, "other")),
            _ => Message::Leave(Leave { name: "me".into(), incarnation: inc }),
        };
        c.handle_datagram(T0, 2, &datagram(&[alive("other", 2, 0), msg])).unwrap();
        prop_assert_eq!(c.local_member().state, State::Alive);
        let mine = c.local_member().incarnation;
        prop_assert!(supersedes((mine, State::Alive), (inc, State::Left)));
        // The refutation goes out with the next datagram.
        c.handle_timer(T0 + Duration::from_secs(1));
        let refuted = sent(&mut c).into_iter().any(|m| matches!(m, Message::Alive(a) if a.name == "me" && a.incarnation == mine));
        prop_assert!(refuted);
        prop_assert_eq!(c.stats().refutations, 1);
    }

    #[test]
    fn supersedes_is_a_strict_total_order(a in 0u64..4, b in 0u64..4, sa in 0u8..4, sb in 0u8..4) {
        let st = |s| [State::Alive, State::Suspect, State::Dead, State::Left][s as usize];
        let (x, y) = ((a, st(sa)), (b, st(sb)));
        prop_assert!(!(supersedes(x, y) && supersedes(y, x)));
        prop_assert_eq!(x == y, !supersedes(x, y) && !supersedes(y, x));
        if a > b { prop_assert!(supersedes(x, y)); }
        if a == b && y.1.is_gone() && !x.1.is_gone() { prop_assert!(!supersedes(x, y)); }
    }
}

#[test]
fn confirmations_shrink_the_suspicion_timeout() {
    let mut c = core("me", 1);
    let peers: Vec<Message<u64>> = (2..10).map(|i| alive(&format!("p{i}"), i, 0)).collect();
    c.handle_datagram(T0, 2, &datagram(&peers)).unwrap();
    c.handle_datagram(T0, 2, &datagram(&[Message::Suspect(accuse("p2", 0, "p3"))]))
        .unwrap();
    let first = c.suspicion("p2").unwrap();
    assert_eq!(first.confirmations, 0);
    assert!(first.expected >= 1);
    // The same accuser again is not independent.
    c.handle_datagram(T0, 2, &datagram(&[Message::Suspect(accuse("p2", 0, "p3"))]))
        .unwrap();
    assert_eq!(c.suspicion("p2").unwrap().confirmations, 0);
    c.handle_datagram(T0, 2, &datagram(&[Message::Suspect(accuse("p2", 0, "p4"))]))
        .unwrap();
    let second = c.suspicion("p2").unwrap();
    assert_eq!(second.confirmations, 1);
    assert!(second.deadline < first.deadline);
    // Time up: declared dead, with a Failed event.
    c.handle_timer(second.deadline);
    assert_eq!(c.member("p2").unwrap().state, State::Dead);
    let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Failed(m) if m.name == "p2"))
    );
}

#[test]
fn stable_removal_waits_for_enough_accusers() {
    let mut config = Config::local();
    config.stability = Stability {
        min_accusations: Some(3),
        ..Stability::default()
    };
    let mut c = Swim::new("me", 1u64, config, seeded(1), T0).unwrap();
    let peers: Vec<Message<u64>> = (2..10).map(|i| alive(&format!("p{i}"), i, 0)).collect();
    c.handle_datagram(T0, 2, &datagram(&peers)).unwrap();
    c.handle_datagram(T0, 2, &datagram(&[Message::Suspect(accuse("p2", 0, "p3"))]))
        .unwrap();
    let later = T0 + Duration::from_secs(600);
    c.handle_timer(later);
    assert_eq!(
        c.member("p2").unwrap().state,
        State::Suspect,
        "one accuser is not enough"
    );
    assert!(c.poll_timeout().unwrap() > later, "the timer was re-armed");
    for from in ["p4", "p5"] {
        c.handle_datagram(
            later,
            2,
            &datagram(&[Message::Suspect(accuse("p2", 0, from))]),
        )
        .unwrap();
    }
    c.handle_timer(later + Duration::from_secs(600));
    assert_eq!(c.member("p2").unwrap().state, State::Dead);
}

#[test]
fn misdirected_pings_and_bad_input_change_nothing() {
    let mut c = core("me", 1);
    let before = c.members().count();
    c.handle_datagram(
        T0,
        2,
        &datagram(&[Message::Ping(wire::Ping {
            seq: 1,
            target: "someone-else".into(),
            from: "x".into(),
        })]),
    )
    .unwrap();
    assert!(c.poll_transmit().is_none());
    assert!(c.handle_datagram(T0, 2, b"garbage").is_err());
    assert_eq!(c.stats().dropped_malformed, 1);
    let other = Envelope::new(b"other", 1 << 20)
        .seal(&wire::encode_compound(&[alive("x", 2, 0)]), &mut seeded(1))
        .unwrap();
    assert!(c.handle_datagram(T0, 2, &other).is_err());
    assert_eq!(c.stats().dropped_label, 1);
    assert_eq!(c.members().count(), before);
}

#[test]
fn piggyback_respects_the_mtu_and_shares_it() {
    let mut c = core("me", 1);
    let peers: Vec<Message<u64>> = (2..200)
        .map(|i| {
            Message::Alive(Alive {
                name: format!("peer-{i:04}"),
                addr: i,
                incarnation: 0,
                meta: vec![7; 40],
            })
        })
        .collect();
    for chunk in peers.chunks(20) {
        c.handle_datagram(T0, 2, &datagram(chunk)).unwrap();
    }
    for i in 0..50 {
        c.broadcast(format!("k{i}"), vec![1u8; 100]).unwrap();
    }
    c.handle_timer(T0 + Duration::from_millis(150));
    let env = Envelope::new(b"", 1 << 20);
    let mut saw_both = false;
    let mut n = 0;
    while let Some(t) = c.poll_transmit() {
        assert_eq!(t.kind, TransmitKind::Datagram);
        assert!(t.bytes.len() <= 1400, "{} bytes", t.bytes.len());
        let msgs = wire::decode_compound::<u64>(&env.open(&t.bytes).unwrap()).unwrap();
        let users = msgs
            .iter()
            .filter(|m| matches!(m, Message::User(_)))
            .count();
        let alives = msgs
            .iter()
            .filter(|m| matches!(m, Message::Alive(_)))
            .count();
        saw_both |= users > 0 && alives > 0;
        n += 1;
    }
    assert!(n > 0);
    assert!(saw_both, "neither kind starves the other");
    assert!(matches!(
        c.broadcast("big", vec![0u8; 2000]),
        Err(crate::Error::BroadcastTooLarge { .. })
    ));
    assert!(matches!(
        c.set_metadata(T0, vec![0u8; 4000]),
        Err(crate::Error::MetadataTooLarge { .. })
    ));
}

#[derive(Default)]
struct Counter {
    value: u64,
    merged_joins: u32,
}

impl crate::BroadcastHandler for Counter {
    fn receive(&mut self, _key: &[u8], _payload: &[u8]) -> bool {
        true
    }
    fn local_state(&mut self, _join: bool) -> Vec<u8> {
        self.value.to_le_bytes().to_vec()
    }
    fn merge_remote_state(&mut self, state: &[u8], join: bool) {
        if let Ok(b) = <[u8; 8]>::try_from(state) {
            self.value = self.value.max(u64::from_le_bytes(b));
        }
        self.merged_joins += u32::from(join);
    }
}

#[test]
fn push_pull_carries_application_state_both_ways() {
    let mut a = Swim::with_handler(
        "a",
        1u64,
        Config::local(),
        seeded(1),
        Counter::default(),
        T0,
    )
    .unwrap();
    let mut b = Swim::with_handler(
        "b",
        2u64,
        Config::local(),
        seeded(2),
        Counter::default(),
        T0,
    )
    .unwrap();
    a.handler_mut().value = 40;
    b.handler_mut().value = 2;
    b.join(T0, [1u64]);
    let req = b.poll_transmit().unwrap();
    let answer = a.handle_stream(T0, 2, &req.bytes).unwrap().unwrap();
    b.handle_stream(T0, 1, &answer).unwrap();
    assert_eq!(b.handler().value, 40);
    assert_eq!(a.handler().value, 40);
    // The join flag travels with the request and its answer.
    assert_eq!((a.handler().merged_joins, b.handler().merged_joins), (1, 1));
}

#[test]
fn direct_messages_travel_over_streams() {
    let mut a = core("a", 1);
    let mut b = core("b", 2);
    assert!(matches!(
        a.send_reliable("b", vec![1]),
        Err(crate::Error::UnknownMember(_))
    ));
    b.join(T0, [1u64]);
    let req = b.poll_transmit().unwrap();
    let answer = a.handle_stream(T0, 2, &req.bytes).unwrap().unwrap();
    b.handle_stream(T0, 1, &answer).unwrap();
    while a.poll_event().is_some() {}
    // Larger than any datagram.
    a.send_reliable("b", vec![9u8; 100_000]).unwrap();
    let t = a.poll_transmit().unwrap();
    assert_eq!((t.to, t.kind), (2, TransmitKind::Stream));
    let ack = b
        .handle_stream(T0, 1, &t.bytes)
        .unwrap()
        .expect("delivery is acknowledged");
    assert_eq!(a.handle_stream(T0, 2, &ack).unwrap(), None);
    let got = std::iter::from_fn(|| b.poll_event()).find_map(|e| match e {
        Event::Message { from, payload } => Some((from, payload.len())),
        _ => None,
    });
    assert_eq!(got, Some(("a".to_owned(), 100_000)));
    assert!(matches!(
        a.send_reliable("a", vec![1]),
        Err(crate::Error::UnknownMember(_))
    ));
}

#[test]
fn push_pulls_are_bounded_in_number_and_time() {
    let mut config = Config::local();
    config.max_concurrent_push_pull = 2;
    config.reconnect_interval = Duration::from_millis(100);
    config.push_pull_interval = Duration::from_millis(100);
    config.push_pull_timeout = Duration::from_secs(1);
    let mut c = Swim::new("me", 1u64, config, seeded(1), T0).unwrap();
    let peers: Vec<Message<u64>> = (2..30).map(|i| alive(&format!("p{i}"), i, 0)).collect();
    c.handle_datagram(T0, 2, &datagram(&peers)).unwrap();
    let dead: Vec<Message<u64>> = (2..20)
        .map(|i| Message::Dead(accuse(&format!("p{i}"), 0, "x")))
        .collect();
    c.handle_datagram(T0, 2, &datagram(&dead)).unwrap();
    // Nobody ever answers: at most two exchanges are outstanding at a time.
    let mut streams = 0;
    let mut now = T0;
    for _ in 0..9 {
        now += Duration::from_millis(100);
        c.handle_timer(now);
        streams += std::iter::from_fn(|| c.poll_transmit())
            .filter(|t| t.kind == TransmitKind::Stream)
            .count();
    }
    assert_eq!(streams, 2, "capped while none completes");
    // Unanswered exchanges time out and free their slots.
    now += Duration::from_secs(1);
    c.handle_timer(now);
    now += Duration::from_millis(100);
    c.handle_timer(now);
    let more = std::iter::from_fn(|| c.poll_transmit())
        .filter(|t| t.kind == TransmitKind::Stream)
        .count();
    assert!((1..=2).contains(&more), "{more}");
}

#[test]
fn seeds_can_be_replaced_for_healing() {
    let mut config = Config::local();
    config.reconnect_interval = Duration::from_millis(100);
    let mut c = Swim::new("me", 1u64, config, seeded(1), T0).unwrap();
    c.join(T0, [5u64]);
    let first: Vec<u64> = std::iter::from_fn(|| c.poll_transmit())
        .map(|t| t.to)
        .collect();
    assert_eq!(first, vec![5]);
    c.stream_failed(T0, &5);
    c.set_seeds([1u64, 7, 7]);
    c.handle_timer(T0 + Duration::from_millis(100));
    let healing: Vec<u64> = std::iter::from_fn(|| c.poll_transmit())
        .filter(|t| t.kind == TransmitKind::Stream)
        .map(|t| t.to)
        .collect();
    assert_eq!(healing, vec![7], "only the new seed, never ourselves");
}

//! Telling the accused directly (issue 13, gossip points 8–10), by hand:
//! stale accusations answered, probers told their standing, dead members
//! checked, push-pull verdicts verified first, and a resync on contact.

use std::time::Duration;

use murmura_core::rng::seeded;

use crate::wire::{self, Accusation, Alive, Envelope, MemberState, Message, Ping, PushPull};
use crate::{Config, Event, State, Swim, TransmitKind};

const T0: Duration = Duration::from_secs(1);

fn seal(msgs: &[Message<u64>]) -> Vec<u8> {
    Envelope::new(b"", 1 << 20)
        .seal(&wire::encode_compound(msgs), &mut seeded(9))
        .unwrap()
}

/// Every queued transmit: (destination, kind, messages).
fn out(c: &mut Swim<u64>) -> Vec<(u64, TransmitKind, Vec<Message<u64>>)> {
    let env = Envelope::new(b"", 1 << 20);
    std::iter::from_fn(|| c.poll_transmit())
        .map(|t| {
            let m = wire::decode_compound::<u64>(&env.open(&t.bytes).unwrap()).unwrap();
            (t.to, t.kind, m)
        })
        .collect()
}

fn to(sent: &[(u64, TransmitKind, Vec<Message<u64>>)], addr: u64) -> Vec<Message<u64>> {
    sent.iter()
        .filter(|(t, k, _)| *t == addr && *k == TransmitKind::Datagram)
        .flat_map(|(_, _, m)| m.clone())
        .collect()
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

fn ping(target: &str, from: &str) -> Message<u64> {
    Message::Ping(Ping {
        seq: 7,
        target: target.into(),
        from: from.into(),
    })
}

/// "me" at 1, knowing a (2), b (3) and c (4) alive, and d (5) dead.
fn with_peers() -> Swim<u64> {
    let mut c = Swim::new("me", 1u64, Config::lan(), seeded(3), T0).unwrap();
    let mut news: Vec<Message<u64>> = ["a", "b", "c", "d"]
        .iter()
        .zip(2u64..)
        .map(|(n, addr)| alive(n, addr, 0))
        .collect();
    news.push(Message::Dead(accuse("d", 0, "a")));
    c.handle_datagram(T0, 9, &seal(&news)).unwrap();
    // Spend the news, so later datagrams carry only what a test sends.
    for i in 1..40 {
        c.handle_timer(T0 + Duration::from_millis(10 * i));
    }
    out(&mut c);
    while c.poll_event().is_some() {}
    c
}

#[test]
fn a_stale_accusation_is_answered_with_the_current_state() {
    let mut b = Swim::new("b", 3u64, Config::local(), seeded(5), T0)
        .unwrap()
        .with_incarnation(3);
    // The accuser (1) holds our old incarnation: nothing to refute, but it
    // is told what we are now, at once.
    let stale = [
        Message::Suspect(accuse("b", 1, "a")),
        Message::Dead(accuse("b", 2, "a")),
    ];
    b.handle_datagram(T0, 1, &seal(&stale)).unwrap();
    assert_eq!(b.local_member().incarnation, 3);
    assert_eq!(b.stats().refutations, 0);
    let sent = out(&mut b);
    let answer = to(&sent, 1);
    assert!(
        answer
            .iter()
            .any(|m| matches!(m, Message::Alive(a) if a.name == "b" && a.incarnation == 3)),
        "{sent:?}"
    );
    // A current accusation is refuted, and the refutation goes straight back.
    b.handle_datagram(T0, 1, &seal(&[Message::Suspect(accuse("b", 3, "a"))]))
        .unwrap();
    assert_eq!(b.local_member().incarnation, 4);
    assert!(
        to(&out(&mut b), 1)
            .iter()
            .any(|m| matches!(m, Message::Alive(a) if a.name == "b" && a.incarnation == 4))
    );
}

#[test]
fn stale_news_of_another_member_is_corrected_at_its_sender() {
    let mut c = with_peers();
    c.handle_datagram(T0, 2, &seal(&[alive("a", 2, 2)]))
        .unwrap();
    out(&mut c);
    // 7 gossips what it holds of a: older than what we hold.
    for stale in [
        alive("a", 2, 1),
        Message::Suspect(accuse("a", 1, "x")),
        Message::Dead(accuse("a", 0, "x")),
    ] {
        c.handle_datagram(T0, 7, &seal(&[stale])).unwrap();
        let back = to(&out(&mut c), 7);
        assert!(
            matches!(back.as_slice(), [Message::Alive(a)] if a.name == "a" && a.incarnation == 2),
            "{back:?}"
        );
    }
    assert_eq!(c.member("a").unwrap().state, State::Alive);
    assert_eq!(c.stats().corrections, 3);
    // News as new as ours needs no answer.
    c.handle_datagram(T0, 7, &seal(&[alive("a", 2, 2)]))
        .unwrap();
    assert!(to(&out(&mut c), 7).is_empty());
}

#[test]
fn a_prober_held_dead_is_told_so_in_the_ack() {
    let mut c = with_peers();
    c.handle_datagram(T0, 5, &seal(&[ping("me", "d")])).unwrap();
    let back = to(&out(&mut c), 5);
    assert!(
        back.iter()
            .any(|m| matches!(m, Message::Ack(a) if a.seq == 7))
    );
    assert!(
        back.iter()
            .any(|m| matches!(m, Message::Dead(d) if d.name == "d" && d.incarnation == 0)),
        "{back:?}"
    );
    // A live prober, or a name at another address, gets the ack alone.
    for (from, name) in [(2, "a"), (6, "d")] {
        c.handle_datagram(T0, from, &seal(&[ping("me", name)]))
            .unwrap();
        let back = to(&out(&mut c), from);
        assert!(
            back.iter()
                .all(|m| !matches!(m, Message::Dead(_) | Message::Suspect(_))),
            "{back:?}"
        );
    }
}

#[test]
fn dead_members_are_checked_every_probe_period() {
    let mut c = with_peers();
    let period = c.config.probe_interval;
    let mut now = T0 + Duration::from_secs(1);
    for _ in 0..5 {
        now += period;
        c.handle_timer(now);
        let sent = out(&mut c);
        // The verdict first, then a ping naming us; nothing piggybacked.
        let check: Vec<&[Message<u64>]> = sent
            .iter()
            .filter(|(t, _, m)| *t == 5 && matches!(m.first(), Some(Message::Dead(_))))
            .map(|(_, _, m)| m.as_slice())
            .collect();
        assert!(
            matches!(check.as_slice(),
                [[Message::Dead(d), Message::Ping(p)]]
                    if d.name == "d" && p.target == "d" && p.from == "me"),
            "{check:?}"
        );
        // The live members answer their probes; the silent dead one costs
        // no suspicion and no local health.
        for (t, _, msgs) in &sent {
            for m in msgs {
                if let Message::Ping(p) = m
                    && *t != 5
                {
                    let ack = Message::Ack(wire::Ack { seq: p.seq });
                    c.handle_datagram(now, *t, &seal(&[ack])).unwrap();
                }
            }
        }
        out(&mut c);
        assert_eq!(c.stats().suspicions, 0);
    }
    assert_eq!(c.local_health(), 0);
    assert_eq!(c.stats().checks, 5);
    // The dead member answers with its refutation: back, and one push-pull
    // with it settles what either side missed.
    c.handle_datagram(now, 5, &seal(&[alive("d", 5, 1)]))
        .unwrap();
    assert_eq!(c.member("d").unwrap().state, State::Alive);
    let sent = out(&mut c);
    assert!(
        sent.iter()
            .any(|(t, k, _)| *t == 5 && *k == TransmitKind::Stream),
        "{sent:?}"
    );
    // With the checks off, a dead member waits for the reconnect tick.
    let mut quiet = with_peers();
    quiet.config.dead_checks = 0;
    quiet.handle_timer(T0 + Duration::from_secs(3));
    assert!(to(&out(&mut quiet), 5).is_empty());
}

#[test]
fn refuting_a_death_resyncs_with_whoever_declared_it() {
    let mut c = with_peers();
    c.handle_datagram(T0, 2, &seal(&[Message::Dead(accuse("me", 0, "a"))]))
        .unwrap();
    assert_eq!(c.local_member().incarnation, 1);
    let sent = out(&mut c);
    assert!(
        sent.iter()
            .any(|(t, k, _)| *t == 2 && *k == TransmitKind::Stream)
    );
    assert!(
        to(&sent, 2)
            .iter()
            .any(|m| matches!(m, Message::Alive(a) if a.name == "me" && a.incarnation == 1))
    );
}

fn push_pull_saying(name: &str, state: State) -> Vec<u8> {
    seal(&[Message::PushPull(PushPull {
        from: "y".into(),
        join: false,
        reply: false,
        members: vec![MemberState {
            name: name.into(),
            addr: 2,
            incarnation: 0,
            state,
            meta: vec![],
        }],
        app_state: vec![],
    })])
}

#[test]
fn a_push_pull_verdict_on_a_member_we_reach_is_put_to_it_first() {
    for state in [State::Dead, State::Suspect] {
        // a answers: never suspected here.
        let mut c = with_peers();
        c.handle_stream(T0, 8, &push_pull_saying("a", state))
            .unwrap();
        assert_eq!(c.member("a").unwrap().state, State::Alive);
        let check = to(&out(&mut c), 2);
        assert!(
            matches!(check.as_slice(), [m, Message::Ping(p)]
                if p.target == "a"
                && matches!(m, Message::Dead(d) | Message::Suspect(d) if d.name == "a")),
            "{check:?}"
        );
        c.handle_datagram(T0 + Duration::from_millis(5), 2, &seal(&[alive("a", 2, 1)]))
            .unwrap();
        c.handle_timer(T0 + Duration::from_secs(5));
        assert_eq!(c.member("a").unwrap().state, State::Alive);
        assert!(
            !std::iter::from_fn(|| c.poll_event()).any(|e| matches!(e, Event::Suspected(_))),
            "{state:?}"
        );
        // a stays silent for a probe period: now it is suspected.
        let mut c = with_peers();
        c.handle_stream(T0, 8, &push_pull_saying("a", state))
            .unwrap();
        c.handle_timer(T0 + c.config.probe_interval - Duration::from_millis(1));
        assert_eq!(c.member("a").unwrap().state, State::Alive);
        c.handle_timer(T0 + c.config.probe_interval);
        assert_eq!(c.member("a").unwrap().state, State::Suspect, "{state:?}");
    }
}

#[test]
fn one_datagram_never_carries_an_update_twice() {
    let mut c = Swim::new("me", 1u64, Config::lan(), seeded(3), T0).unwrap();
    let news: Vec<Message<u64>> = (2..8).map(|i| alive(&format!("p{i}"), i, 0)).collect();
    c.handle_datagram(T0, 9, &seal(&news)).unwrap();
    out(&mut c);
    // The ack leads; the piggybacked news after it, each once.
    c.handle_datagram(T0, 2, &seal(&[ping("me", "p2")]))
        .unwrap();
    let ack = to(&out(&mut c), 2);
    assert!(matches!(ack.first(), Some(Message::Ack(_))));
    let names: Vec<&str> = ack
        .iter()
        .filter_map(|m| match m {
            Message::Alive(a) => Some(a.name.as_str()),
            _ => None,
        })
        .collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert!(!names.is_empty());
    assert_eq!(names.len(), unique.len(), "{names:?}");
}

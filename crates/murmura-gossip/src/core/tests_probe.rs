//! Failure detection by hand: nacks, the local health multiplier stretching
//! probe intervals and timeouts, the buddy system, and relaying for others.

use std::time::Duration;

use murmura_core::rng::seeded;

use crate::wire::{self, Ack, Alive, Envelope, Message, Nack, Ping, PingReq};
use crate::{Config, State, Swim};

const T0: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn seal(msgs: &[Message<u64>]) -> Vec<u8> {
    Envelope::new(b"", 1 << 20)
        .seal(&wire::encode_compound(msgs), &mut seeded(9))
        .unwrap()
}

/// Every queued datagram: (destination, messages).
fn out(c: &mut Swim<u64>) -> Vec<(u64, Vec<Message<u64>>)> {
    let env = Envelope::new(b"", 1 << 20);
    std::iter::from_fn(|| c.poll_transmit())
        .map(|t| {
            let m = wire::decode_compound::<u64>(&env.open(&t.bytes).unwrap()).unwrap();
            (t.to, m)
        })
        .collect()
}

fn pings(sent: &[(u64, Vec<Message<u64>>)]) -> Vec<(u64, Ping, bool)> {
    sent.iter()
        .flat_map(|(to, ms)| {
            // The prober's own accusation leads the datagram, ahead of the
            // ping (piggybacked news comes after).
            let buddy =
                |name: &str| matches!(ms.first(), Some(Message::Suspect(a)) if a.name == name);
            ms.iter().filter_map(move |m| match m {
                Message::Ping(p) => Some((*to, p.clone(), buddy(&p.target))),
                _ => None,
            })
        })
        .collect()
}

/// The single ping sent since the last look.
fn one_ping(c: &mut Swim<u64>) -> (u64, Ping, bool) {
    let mut p = pings(&out(c));
    assert_eq!(p.len(), 1, "{p:?}");
    p.remove(0)
}

fn ping_reqs(sent: &[(u64, Vec<Message<u64>>)]) -> Vec<(u64, PingReq<u64>)> {
    sent.iter()
        .flat_map(|(to, ms)| {
            ms.iter().filter_map(move |m| match m {
                Message::PingReq(p) => Some((*to, p.clone())),
                _ => None,
            })
        })
        .collect()
}

fn with_five_peers() -> Swim<u64> {
    let mut config = Config::local();
    config.indirect_checks = 2;
    let mut c = Swim::new("me", 1u64, config, seeded(5), T0).unwrap();
    let peers: Vec<Message<u64>> = ["a", "b", "c", "d", "e"]
        .iter()
        .zip(2u64..)
        .map(|(n, addr)| {
            Message::Alive(Alive {
                name: (*n).into(),
                addr,
                incarnation: 0,
                meta: vec![],
            })
        })
        .collect();
    c.handle_datagram(T0, 9, &seal(&peers)).unwrap();
    out(&mut c);
    c
}

#[test]
fn nacks_spare_local_health_and_silence_stretches_every_timer() {
    let mut c = with_five_peers();
    // Probe 1: both helpers nack, so the trouble is the target's, not ours.
    let t1 = T0 + ms(1000);
    c.handle_timer(t1);
    let (_, p1, _) = one_ping(&mut c);
    c.handle_timer(t1 + ms(199));
    assert!(ping_reqs(&out(&mut c)).is_empty(), "indirect too early");
    c.handle_timer(t1 + ms(200));
    let reqs = ping_reqs(&out(&mut c));
    assert_eq!(reqs.len(), 2);
    for (helper, r) in &reqs {
        assert_eq!((r.seq, &r.target), (p1.seq, &p1.target));
        c.handle_datagram(
            t1 + ms(700),
            *helper,
            &seal(&[Message::Nack(Nack { seq: r.seq })]),
        )
        .unwrap();
    }
    // Probe 2 starts as probe 1 ends; nobody nacks it.
    c.handle_timer(t1 + ms(1000));
    assert_eq!(c.local_health(), 0);
    assert_eq!(c.member(&p1.target).unwrap().state, State::Suspect);
    let (_, p2, _) = one_ping(&mut c);
    c.handle_timer(t1 + ms(1200));
    // Only alive members help (p1's target is suspect now).
    let helpers = ping_reqs(&out(&mut c)).len() as u32;
    assert!(helpers >= 1);
    c.handle_timer(t1 + ms(2000));
    // Every missing nack counts against us; the timers stretch by score + 1.
    assert_eq!(c.local_health(), helpers);
    assert_eq!(c.stats().failed_probes, 2);
    let f = u64::from(helpers) + 1;
    let (_, p3, buddy) = one_ping(&mut c);
    assert_ne!(p3.seq, p2.seq);
    // Buddy system: a ping to a suspect carries the suspicion.
    let suspect = c.member(&p3.target).unwrap().state == State::Suspect;
    assert_eq!(buddy, suspect);
    let t3 = t1 + ms(2000);
    c.handle_timer(t3 + ms(200 * f - 1));
    assert!(
        ping_reqs(&out(&mut c)).is_empty(),
        "probe timeout not stretched"
    );
    c.handle_timer(t3 + ms(200 * f));
    assert!(!ping_reqs(&out(&mut c)).is_empty());
    c.handle_timer(t3 + ms(1000 * f - 1));
    assert!(
        pings(&out(&mut c)).is_empty(),
        "probe interval not stretched"
    );
    c.handle_timer(t3 + ms(1000 * f));
    let (to, p4, _) = one_ping(&mut c);
    // An ack lowers the score again.
    let before = c.local_health();
    c.handle_datagram(
        t3 + ms(1000 * f + 10),
        to,
        &seal(&[Message::Ack(Ack { seq: p4.seq })]),
    )
    .unwrap();
    assert_eq!(c.local_health(), before - 1);
    // Keep probing, acking each ping, until a suspect's turn: its ping
    // carries the suspicion (buddy system).
    let mut now = t3 + ms(1000 * f + 10);
    let mut buddies = 0;
    for _ in 0..60 {
        now += ms(250);
        // As they stand when the probe starts (a suspicion may expire in
        // the same timer call).
        let suspects: Vec<String> = c
            .members()
            .filter(|m| m.state == State::Suspect)
            .map(|m| m.name.clone())
            .collect();
        c.handle_timer(now);
        for (to, p, buddy) in pings(&out(&mut c)) {
            assert_eq!(buddy, suspects.contains(&p.target), "{p:?}");
            buddies += usize::from(buddy);
            c.handle_datagram(now, to, &seal(&[Message::Ack(Ack { seq: p.seq })]))
                .unwrap();
        }
    }
    assert!(buddies > 0, "no suspect was probed");
}

#[test]
fn a_suspect_that_hears_the_buddy_ping_refutes_at_once() {
    let mut c = Swim::new("b", 3u64, Config::local(), seeded(5), T0).unwrap();
    let ping = Message::<u64>::Ping(Ping {
        seq: 7,
        target: "b".into(),
        from: "me".into(),
    });
    let accusation = Message::<u64>::Suspect(wire::Accusation {
        name: "b".into(),
        incarnation: 0,
        from: "me".into(),
    });
    // As the prober sends it: the accusation first, then the ping.
    c.handle_datagram(T0, 1, &seal(&[accusation, ping]))
        .unwrap();
    assert_eq!(c.local_member().incarnation, 1);
    assert_eq!(c.stats().refutations, 1);
    // Having to refute counts against our own health (Lifeguard).
    assert_eq!(c.local_health(), 1);
    let sent = out(&mut c);
    // The ack goes back with the refutation piggybacked.
    let (to, msgs) = &sent[0];
    assert_eq!(*to, 1);
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Message::Ack(a) if a.seq == 7))
    );
    assert!(
        msgs.iter()
            .any(|m| matches!(m, Message::Alive(a) if a.name == "b" && a.incarnation == 1))
    );
}

#[test]
fn helpers_relay_acks_nack_silence_and_refuse_forged_targets() {
    let mut c = with_five_peers();
    let req = |seq, target: &str, addr| {
        seal(&[Message::PingReq(PingReq {
            seq,
            target: target.into(),
            target_addr: addr,
        })])
    };
    // A forged address, an unknown member: refused, nothing sent.
    c.handle_datagram(T0, 2, &req(1, "b", 99)).unwrap();
    c.handle_datagram(T0, 2, &req(2, "zed", 3)).unwrap();
    assert!(out(&mut c).is_empty());
    assert_eq!(c.stats().refused_ping_reqs, 2);
    // a asks us to probe b (3) and c (4).
    c.handle_datagram(T0, 2, &req(40, "b", 3)).unwrap();
    c.handle_datagram(T0, 2, &req(41, "c", 4)).unwrap();
    let relayed = pings(&out(&mut c));
    assert_eq!(relayed.len(), 2);
    let to_b = relayed.iter().find(|(to, ..)| *to == 3).unwrap();
    // b answers: the ack goes back to a under a's sequence number.
    c.handle_datagram(
        T0 + ms(10),
        3,
        &seal(&[Message::Ack(Ack { seq: to_b.1.seq })]),
    )
    .unwrap();
    let back = out(&mut c);
    assert!(back.iter().any(|(to, ms)| {
        *to == 2
            && ms
                .iter()
                .any(|m| matches!(m, Message::Ack(a) if a.seq == 40))
    }));
    // c stays silent: a nack before a's period ends (80% of the timeout).
    c.handle_timer(T0 + ms(159));
    assert!(
        !out(&mut c)
            .iter()
            .any(|(_, ms)| ms.iter().any(|m| matches!(m, Message::Nack(_))))
    );
    c.handle_timer(T0 + ms(160));
    let nacks: Vec<(u64, u32)> = out(&mut c)
        .into_iter()
        .flat_map(|(to, ms)| {
            ms.into_iter().filter_map(move |m| match m {
                Message::Nack(n) => Some((to, n.seq)),
                _ => None,
            })
        })
        .collect();
    assert_eq!(nacks, vec![(2, 41)]);
}

//! Failure detection: direct probes, indirect probes through helpers with
//! nacks, and the Lifeguard bookkeeping around them.

use std::time::Duration;

use murmura_core::rng::RngCore;
use rand::seq::SliceRandom;

use super::{MAX_RELAYS, Probe, Relay, Swim};
use crate::address::Address;
use crate::broadcast::BroadcastHandler;
use crate::member::State;
use crate::wire::{Accusation, Ack, Message, Nack, Ping, PingReq};

impl<A: Address, B: BroadcastHandler, R: RngCore> Swim<A, B, R> {
    pub(crate) fn seq(&mut self) -> u32 {
        self.next_seq = self.next_seq.wrapping_add(1);
        self.next_seq
    }

    /// The next member in the shuffled round-robin order; the order is
    /// rebuilt and reshuffled at the end of each round.
    fn next_probe_target(&mut self) -> Option<String> {
        for _ in 0..=self.probe_order.len() + 1 {
            if self.probe_index >= self.probe_order.len() {
                let mut order: Vec<String> = self
                    .members
                    .iter()
                    .filter(|(n, e)| **n != self.me && !e.member.state.is_gone())
                    .map(|(n, _)| n.clone())
                    .collect();
                order.sort_unstable();
                order.shuffle(&mut self.rng);
                self.probe_order = order;
                self.probe_index = 0;
                if self.probe_order.is_empty() {
                    return None;
                }
            }
            let name = self.probe_order[self.probe_index].clone();
            self.probe_index += 1;
            if self
                .members
                .get(&name)
                .is_some_and(|e| !e.member.state.is_gone())
            {
                return Some(name);
            }
        }
        None
    }

    fn start_probe(&mut self, now: Duration) {
        let Some(target) = self.next_probe_target() else {
            return;
        };
        let seq = self.seq();
        let e = &self.members[&target];
        let addr = e.member.addr.clone();
        let mut primary = Vec::with_capacity(2);
        if e.member.state == State::Suspect {
            // Buddy system: tell the suspect at once, so it can refute. First,
            // so its ack already carries the refutation back.
            primary.push(
                Message::<A>::Suspect(Accusation {
                    name: target.clone(),
                    incarnation: e.member.incarnation,
                    from: self.me.clone(),
                })
                .to_bytes(),
            );
        }
        primary.push(
            Message::<A>::Ping(Ping {
                seq,
                target: target.clone(),
                from: self.me.clone(),
            })
            .to_bytes(),
        );
        self.send_datagram(addr.clone(), &primary);
        self.stats.probes += 1;
        self.probe = Some(Probe {
            seq,
            target,
            addr,
            indirect_at: now + self.awareness.scale(self.config.probe_timeout),
            end: now + self.awareness.scale(self.config.probe_interval),
            indirect_sent: false,
            nacks_expected: 0,
            nacks: 0,
        });
    }

    pub(crate) fn probe_timers(&mut self, now: Duration) {
        if let Some(p) = &self.probe
            && !p.indirect_sent
            && now >= p.indirect_at
        {
            self.send_ping_reqs();
        }
        if self.probe.as_ref().is_some_and(|p| now >= p.end) {
            self.probe_failed(now);
        }
        if self.probe.is_none() && now >= self.next_probe && !self.leaving {
            self.next_probe = now + self.awareness.scale(self.config.probe_interval);
            self.start_probe(now);
            self.check_the_dead(now);
        }
    }

    fn send_ping_reqs(&mut self) {
        let Some(p) = self.probe.as_ref() else {
            return;
        };
        let (seq, target, addr) = (p.seq, p.target.clone(), p.addr.clone());
        let helpers = self.random_members(self.config.indirect_checks, |m| {
            m.state == State::Alive && m.name != target
        });
        let req = Message::PingReq(PingReq {
            seq,
            target,
            target_addr: addr,
        })
        .to_bytes();
        for h in &helpers {
            let to = self.members[h].member.addr.clone();
            self.send_datagram(to, std::slice::from_ref(&req));
            self.stats.ping_reqs += 1;
        }
        if let Some(p) = self.probe.as_mut() {
            p.indirect_sent = true;
            p.nacks_expected = helpers.len() as u32;
        }
    }

    /// No ack in the whole protocol period: suspect the target, and (Lifeguard)
    /// count the missing nacks against our own health — if helpers did not
    /// answer either, the trouble may be ours.
    fn probe_failed(&mut self, now: Duration) {
        let Some(p) = self.probe.take() else {
            return;
        };
        self.stats.failed_probes += 1;
        let delta = if p.nacks_expected > 0 {
            i64::from(p.nacks_expected.saturating_sub(p.nacks))
        } else {
            1
        };
        self.awareness.apply(delta);
        let Some(e) = self.members.get(&p.target) else {
            return;
        };
        if e.member.state.is_gone() {
            return;
        }
        let accusation = Accusation {
            name: p.target,
            incarnation: e.member.incarnation,
            from: self.me.clone(),
        };
        self.apply_suspect(now, accusation);
    }

    pub(crate) fn relay_timers(&mut self, now: Duration) {
        let expired: Vec<u32> = self
            .relays
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(s, _)| *s)
            .collect();
        for seq in expired {
            if let Some(r) = self.relays.remove(&seq) {
                let nack = Message::<A>::Nack(Nack { seq: r.origin_seq }).to_bytes();
                self.send_datagram(r.origin, &[nack]);
            }
        }
    }

    pub(crate) fn on_ping(&mut self, from: &A, p: Ping) {
        if p.target != self.me {
            // Meant for whoever had this address before us.
            return;
        }
        // At once, with news piggybacked as it stands now: news the rest of
        // this datagram brings is not echoed back to where it came from.
        let ack = Message::<A>::Ack(Ack { seq: p.seq }).to_bytes();
        self.send_datagram(from.clone(), &[ack]);
        // A prober we hold suspect, dead or left is alive and can hear us:
        // tell it, so it refutes now rather than whenever gossip gets there.
        if p.from != self.me
            && self
                .members
                .get(&p.from)
                .is_some_and(|e| e.member.state != State::Alive && e.member.addr == *from)
        {
            self.correct(&p.from);
        }
    }

    pub(crate) fn on_ping_req(&mut self, now: Duration, from: &A, p: PingReq<A>) {
        if p.target == self.me || self.relays.len() >= MAX_RELAYS {
            return;
        }
        // Only relay to a live member we know, at the address we know: a
        // forged request cannot aim our pings at an arbitrary address.
        let known = self
            .members
            .get(&p.target)
            .is_some_and(|e| !e.member.state.is_gone() && e.member.addr == p.target_addr);
        if !known {
            self.stats.refused_ping_reqs += 1;
            return;
        }
        let seq = self.seq();
        // Nack before the requester's period ends: 80% of our probe timeout.
        let deadline = now + self.config.probe_timeout.mul_f64(0.8);
        self.relays.insert(
            seq,
            Relay {
                origin: from.clone(),
                origin_seq: p.seq,
                deadline,
            },
        );
        let ping = Message::<A>::Ping(Ping {
            seq,
            target: p.target,
            from: self.me.clone(),
        })
        .to_bytes();
        self.send_datagram(p.target_addr, &[ping]);
    }

    pub(crate) fn on_ack(&mut self, _now: Duration, seq: u32) {
        if self.probe.as_ref().is_some_and(|p| p.seq == seq) {
            self.probe = None;
            self.awareness.apply(-1);
            return;
        }
        if let Some(r) = self.relays.remove(&seq) {
            let ack = Message::<A>::Ack(Ack { seq: r.origin_seq }).to_bytes();
            self.send_datagram(r.origin, &[ack]);
        }
    }

    pub(crate) fn on_nack(&mut self, seq: u32) {
        if let Some(p) = self.probe.as_mut()
            && p.seq == seq
        {
            p.nacks += 1;
        }
    }
}

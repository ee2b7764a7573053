//! Dissemination: packing queued updates into datagrams and gossip rounds.

use std::time::Duration;

use murmura_core::rng::{Rng, RngCore};

use super::{Swim, Transmit, TransmitKind};
use crate::address::Address;
use crate::broadcast::BroadcastHandler;
use crate::member::{Member, State};
use crate::queue::retransmit_limit;
use crate::wire;

impl<A: Address, B: BroadcastHandler, R: RngCore> Swim<A, B, R> {
    /// Plain bytes available in one datagram.
    pub(crate) fn datagram_budget(&self) -> usize {
        self.config.mtu.saturating_sub(
            self.envelope.overhead() + wire::compound_header_len(wire::MAX_COMPOUND),
        )
    }

    /// Sends `primary` to `to` with as many queued updates as fit, sharing the
    /// room fairly between membership news and user broadcasts.
    pub(crate) fn send_datagram(&mut self, to: A, primary: &[Vec<u8>]) {
        let budget = self.datagram_budget();
        let mut parts: Vec<u8> = primary.concat();
        let mut count = primary.len();
        let mut room = budget.saturating_sub(parts.len());
        let limit = retransmit_limit(self.config.retransmit_mult, self.live);
        // Each kind may use half the room first; then either may use what is left.
        let split = self.user_updates.len() > 0 && self.member_updates.len() > 0;
        let half = if split { room / 2 } else { room };
        let (used, n) = self.member_updates.fill(half, limit, &mut parts);
        room -= used;
        count += n;
        let (used, n) = self.user_updates.fill(room, limit, &mut parts);
        room -= used;
        count += n;
        // (Only after a split: a second pass would put an update already
        // taken into the same datagram again, spending a retransmission.)
        if split && room > 16 {
            let (_, n) = self.member_updates.fill(room, limit, &mut parts);
            count += n;
        }
        if count == 0 {
            return;
        }
        let mut plain = Vec::with_capacity(parts.len() + 3);
        murmura_core::codec::put_varint(&mut plain, count as u64);
        plain.extend_from_slice(&parts);
        self.stats.messages_sent += count as u64;
        if let Ok(bytes) = self.envelope.seal(&plain, &mut self.rng) {
            self.push_transmit(Transmit {
                to,
                kind: TransmitKind::Datagram,
                bytes,
            });
        }
    }

    /// Piggyback-only datagrams to a few random members (and the recently dead).
    pub(crate) fn gossip(&mut self, now: Duration) {
        if self.member_updates.len() == 0 && self.user_updates.len() == 0 {
            return;
        }
        let dead_window = self.config.gossip_to_the_dead_time;
        let targets = self.random_members(self.config.gossip_nodes, |m| match m.state {
            State::Alive | State::Suspect => true,
            State::Dead => now.saturating_sub(m.state_changed) < dead_window,
            State::Left => false,
        });
        for name in targets {
            let addr = self.members[&name].member.addr.clone();
            self.send_datagram(addr, &[]);
        }
    }

    /// Up to `n` distinct random members other than this one matching `keep`.
    pub(crate) fn random_members(
        &mut self,
        n: usize,
        keep: impl Fn(&Member<A>) -> bool,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(n);
        if self.roster.is_empty() {
            return out;
        }
        // Random tries, bounded, then a scan from a random start: O(n) when
        // most members qualify, never worse than one pass.
        for _ in 0..n * 4 {
            if out.len() == n {
                return out;
            }
            let name = &self.roster[self.rng.random_range(0..self.roster.len())];
            if !out.contains(name) && keep(&self.members[name].member) {
                out.push(name.clone());
            }
        }
        let start = self.rng.random_range(0..self.roster.len());
        for i in 0..self.roster.len() {
            if out.len() == n {
                break;
            }
            let name = &self.roster[(start + i) % self.roster.len()];
            if !out.contains(name) && keep(&self.members[name].member) {
                out.push(name.clone());
            }
        }
        out
    }
}

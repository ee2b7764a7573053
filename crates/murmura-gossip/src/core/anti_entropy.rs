//! Anti-entropy: push-pull exchanges, partition healing and tombstone reaping.

use std::time::Duration;

use murmura_core::rng::{Rng, RngCore};

use super::{Swim, Transmit, TransmitKind};
use crate::address::Address;
use crate::broadcast::BroadcastHandler;
use crate::error::Result;
use crate::member::State;
use crate::wire::{self, MemberState, Message, PushPull};

impl<A: Address, B: BroadcastHandler, R: RngCore> Swim<A, B, R> {
    pub(crate) fn push_pull_interval(&self) -> Duration {
        // memberlist's scaling: above 32 members, back off logarithmically.
        let base = self.config.push_pull_interval;
        if self.live <= 32 {
            return base;
        }
        let mult = ((self.live as f64).log2() - 32f64.log2()).ceil() + 1.0;
        base.mul_f64(mult)
    }

    pub(crate) fn push_pull_message(&mut self, reply: bool, join: bool) -> Result<Vec<u8>> {
        let app_state = self.handler.local_state(join);
        let max = self
            .config
            .max_stream_bytes
            .saturating_sub(self.envelope.overhead() + 64 + app_state.len());
        let mut members = Vec::new();
        let mut size = 0usize;
        // This member first, so it always fits.
        let mut names: Vec<&String> = Vec::with_capacity(self.members.len());
        names.push(&self.me);
        let mut others: Vec<&String> = self.members.keys().filter(|n| **n != self.me).collect();
        // Sorted, so a run replays exactly from its seed.
        others.sort_unstable();
        names.extend(others);
        for name in names.into_iter().take(self.config.max_push_pull_members) {
            let m = &self.members[name].member;
            let entry_size = m.name.len() + m.meta.len() + 40;
            if size + entry_size > max {
                break;
            }
            size += entry_size;
            members.push(MemberState {
                name: m.name.clone(),
                addr: m.addr.clone(),
                incarnation: m.incarnation,
                state: m.state,
                meta: m.meta.clone(),
            });
        }
        let msg = Message::PushPull(PushPull {
            from: self.me.clone(),
            join,
            reply,
            members,
            app_state,
        });
        let plain = wire::encode_compound(&[msg]);
        self.stats.messages_sent += 1;
        let bytes = self.envelope.seal(&plain, &mut self.rng)?;
        self.stats.bytes_sent += bytes.len() as u64;
        Ok(bytes)
    }

    pub(crate) fn start_push_pull(&mut self, now: Duration, to: A, join: bool) {
        if self.pending_push_pulls.iter().any(|(a, _)| a == &to) {
            return;
        }
        if !join && self.pending_push_pulls.len() >= self.config.max_concurrent_push_pull {
            return;
        }
        let Ok(bytes) = self.push_pull_message(false, join) else {
            return;
        };
        self.stats.bytes_sent -= bytes.len() as u64; // counted again by push_transmit
        self.stats.push_pulls += 1;
        self.pending_push_pulls
            .push((to.clone(), now + self.config.push_pull_timeout));
        self.push_transmit(Transmit {
            to,
            kind: TransmitKind::Stream,
            bytes,
        });
    }

    /// Partition healing: reach out to one dead member and one seed.
    pub(crate) fn reconnect(&mut self, now: Duration) {
        let dead = self.random_members(1, |m| m.state == State::Dead).pop();
        if let Some(name) = dead {
            let addr = self.members[&name].member.addr.clone();
            self.start_push_pull(now, addr, false);
        }
        if !self.seeds.is_empty() {
            let seed = self.seeds[self.rng.random_range(0..self.seeds.len())].clone();
            let known_live = self
                .members
                .values()
                .filter(|e| !e.member.state.is_gone())
                .any(|e| e.member.addr == seed);
            // A seed we already see alive adds nothing unless we are alone.
            if !known_live || self.live <= 1 {
                self.start_push_pull(now, seed, false);
            }
        }
    }

    pub(crate) fn next_tombstone_expiry(&self) -> Option<Duration> {
        let (at, name) = self.tombstones.front()?;
        let m = &self.members.get(name)?.member;
        Some(*at + self.retention(m.state))
    }

    pub(crate) fn retention(&self, state: State) -> Duration {
        match state {
            State::Left => self.config.left_retention,
            _ => self.config.dead_retention,
        }
    }

    pub(crate) fn reap_tombstones(&mut self, now: Duration) {
        while let Some((at, name)) = self.tombstones.front().cloned() {
            let gone = self.members.len() - self.live - usize::from(self.leaving);
            let current = self.members.get(&name).is_some_and(|e| {
                e.member.state.is_gone() && e.member.state_changed == at && name != self.me
            });
            if !current {
                self.tombstones.pop_front();
                continue;
            }
            let state = self.members[&name].member.state;
            if at + self.retention(state) <= now || gone > self.config.max_tombstones {
                self.tombstones.pop_front();
                self.forget(now, &name);
            } else {
                break;
            }
        }
    }

    /// Removes a member completely, remembering only its last incarnation
    /// for a while (see `is_stale_reintroduction`).
    pub(crate) fn forget(&mut self, now: Duration, name: &str) {
        let Some(e) = self.members.remove(name) else {
            return;
        };
        // A held comeback outlives the tombstone: it is still released on time.
        self.remember_forgotten(now, name, e.member.incarnation);
        self.suspects.remove(name);
        if let Some(i) = self.roster_index.remove(name) {
            self.roster.swap_remove(i);
            if let Some(moved) = self.roster.get(i) {
                self.roster_index.insert(moved.clone(), i);
            }
        }
    }
}

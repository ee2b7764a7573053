//! Settling what is believed about one member by asking it, rather than
//! waiting for gossip to come round: answers to the sender of a datagram
//! (its own standing, corrections of stale news), checks of the dead, and
//! second-hand accusations verified before they are believed.
//!
//! memberlist leaves these to chance: it gossips to the dead for a while,
//! drops an accusation older than its incarnation, and turns a push-pull's
//! "dead" into a local suspicion. Here each is answered directly, so one
//! round trip settles it.

use std::collections::BTreeSet;
use std::time::Duration;

use murmura_core::rng::{Rng, RngCore};

use super::{Check, MAX_CHECKS, MAX_REPLIES, Swim};
use crate::address::Address;
use crate::broadcast::BroadcastHandler;
use crate::member::{State, supersedes};
use crate::wire::{Accusation, Alive, Leave, Message, Ping};

impl<A: Address, B: BroadcastHandler, R: RngCore> Swim<A, B, R> {
    /// Queues `msg` for the sender of the datagram being handled (dropped
    /// when not handling one: a stream's peer address is no member's).
    pub(crate) fn reply(&mut self, msg: Message<A>) {
        if let Some((_, parts)) = self.replies.as_mut() {
            if parts.len() < MAX_REPLIES {
                parts.push(msg.to_bytes());
            } else {
                self.stats.dropped_corrections += 1;
            }
        }
    }

    /// Whether a datagram is being handled (so [`reply`](Self::reply) reaches someone).
    pub(crate) fn replying(&self) -> Option<A> {
        self.replies.as_ref().map(|(to, _)| to.clone())
    }

    /// What this member holds about `name`, as the message that says it.
    pub(crate) fn record(&self, name: &str) -> Option<Message<A>> {
        let e = self.members.get(name)?;
        let m = &e.member;
        let accusation = |from: String| Accusation {
            name: m.name.clone(),
            incarnation: m.incarnation,
            from,
        };
        Some(match m.state {
            State::Alive => Message::Alive(Alive {
                name: m.name.clone(),
                addr: m.addr.clone(),
                incarnation: m.incarnation,
                meta: m.meta.clone(),
            }),
            State::Suspect => {
                // Pass on a real accuser: not ours to confirm.
                let from = e
                    .suspicion
                    .as_ref()
                    .and_then(|s| s.accusers.iter().next().cloned())
                    .unwrap_or_else(|| self.me.clone());
                Message::Suspect(accusation(from))
            }
            State::Dead => Message::Dead(accusation(self.me.clone())),
            State::Left => Message::Leave(Leave {
                name: m.name.clone(),
                incarnation: m.incarnation,
            }),
        })
    }

    /// The sender told us something about `name` older than what we hold:
    /// tell it what we hold.
    pub(crate) fn correct(&mut self, name: &str) {
        if self.replies.is_some()
            && let Some(msg) = self.record(name)
        {
            self.reply(msg);
        }
    }

    /// Sends the answers to one datagram: as many as fit in one datagram
    /// (the sender learns the rest from gossip, or asks again). Nothing is
    /// piggybacked: news the sender just brought must not be spent on
    /// sending it back, and one datagram in never makes more than one out.
    pub(crate) fn send_replies(&mut self, to: A, parts: Vec<Vec<u8>>) {
        let budget = self.datagram_budget();
        let mut size = 0;
        let total = parts.len();
        let fit: Vec<Vec<u8>> = parts
            .into_iter()
            .take_while(|p| {
                size += p.len();
                size <= budget
            })
            .collect();
        self.stats.corrections += fit.len() as u64;
        self.stats.dropped_corrections += (total - fit.len()) as u64;
        if !fit.is_empty() {
            self.send_plain(to, &fit);
        }
    }

    /// Contact with a member that was cut off from us (it declared us dead,
    /// or we it): exchange whole tables with it, so whatever either side
    /// missed meanwhile is settled at once rather than update by update. At
    /// most once per `reconnect_interval`: one exchange repairs a whole view.
    pub(crate) fn resync(&mut self, now: Duration, to: A) {
        if self
            .last_resync
            .is_some_and(|t| now < t + self.config.reconnect_interval)
        {
            return;
        }
        self.last_resync = Some(now);
        self.start_push_pull(now, to, false);
    }

    /// Sends exactly `parts` in one datagram.
    fn send_plain(&mut self, to: A, parts: &[Vec<u8>]) {
        let mut plain = Vec::new();
        crate::wire::encode_compound_raw(parts.iter().map(Vec::as_slice), &mut plain);
        self.stats.messages_sent += parts.len() as u64;
        if let Ok(bytes) = self.envelope.seal(&plain, &mut self.rng) {
            self.push_transmit(super::Transmit {
                to,
                kind: super::TransmitKind::Datagram,
                bytes,
            });
        }
    }

    /// Sends `name` what we believe about it (`first`) with a ping naming
    /// us, so a live member refutes at once and its answer comes straight
    /// back. At most one per member per probe period.
    fn send_check(
        &mut self,
        now: Duration,
        name: &str,
        first: Message<A>,
        accusation: Option<Accusation>,
    ) {
        let Some(addr) = self.members.get(name).map(|e| e.member.addr.clone()) else {
            return;
        };
        let seq = self.seq();
        let ping = Message::<A>::Ping(Ping {
            seq,
            target: name.to_owned(),
            from: self.me.clone(),
        });
        // Nothing piggybacked: news sent to a member that may not hear
        // would spend its few retransmissions for nothing.
        self.send_plain(addr, &[first.to_bytes(), ping.to_bytes()]);
        self.stats.checks += 1;
        let deadline = now + self.awareness.scale(self.config.probe_interval);
        self.checks.insert(
            name.to_owned(),
            Check {
                deadline,
                accusation,
            },
        );
    }

    /// Tells `name` that we hold it suspect, dead or left, unless it was
    /// told within the last probe period or its comeback is being held back.
    pub(crate) fn notify(&mut self, now: Duration, name: &str) {
        if self.leaving
            || name == self.me
            || self.checks.contains_key(name)
            || self.checks.len() >= MAX_CHECKS
            || self.held.contains_key(name)
        {
            return;
        }
        let Some(msg) = self.record(name) else {
            return;
        };
        if matches!(msg, Message::Alive(_)) {
            return;
        }
        self.send_check(now, name, msg, None);
    }

    /// A push-pull says `acc.name` is suspect (or dead, `dead`). If we hold
    /// it alive, we ask it first and suspect it only if it does not refute
    /// within a probe period: a member we reach directly is not suspected
    /// on another's word (after a partition, the other side's verdicts about
    /// ours are all stale).
    pub(crate) fn verify(&mut self, now: Duration, acc: Accusation, dead: bool) {
        let holds_alive = acc.name != self.me
            && self.members.get(&acc.name).is_some_and(|e| {
                e.member.state == State::Alive
                    && supersedes(
                        (acc.incarnation, State::Suspect),
                        (e.member.incarnation, e.member.state),
                    )
            });
        if !holds_alive || self.leaving {
            self.apply_suspect(now, acc);
            return;
        }
        if let Some(c) = self.checks.get_mut(&acc.name)
            && let Some(held) = c.accusation.as_mut()
        {
            // Already put to it: the newest accusation waits for the answer.
            if held.incarnation < acc.incarnation {
                *held = acc;
            }
            return;
        }
        if self.checks.len() >= MAX_CHECKS {
            self.apply_suspect(now, acc);
            return;
        }
        let name = acc.name.clone();
        let first = if dead {
            Message::Dead(acc.clone())
        } else {
            Message::Suspect(acc.clone())
        };
        self.send_check(now, &name, first, Some(acc));
    }

    /// Once per probe period: maybe check one dead member (see
    /// [`Config::dead_checks`](crate::Config::dead_checks)).
    pub(crate) fn check_the_dead(&mut self, now: Duration) {
        let budget = self.config.dead_checks;
        if budget == 0 || self.leaving || self.members.len() <= self.live {
            return;
        }
        let p = (f64::from(budget) / self.live.max(1) as f64).min(1.0);
        if p < 1.0 && !self.rng.random_bool(p) {
            return;
        }
        let busy: BTreeSet<String> = self
            .checks
            .keys()
            .chain(self.held.keys())
            .cloned()
            .collect();
        if let Some(name) = self
            .random_members(1, |m| m.state == State::Dead && !busy.contains(&m.name))
            .pop()
        {
            self.notify(now, &name);
        }
    }

    /// Checks whose time is up: an unrefuted accusation is believed now.
    pub(crate) fn check_timers(&mut self, now: Duration) {
        let due: Vec<String> = self
            .checks
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            if let Some(Check {
                accusation: Some(acc),
                ..
            }) = self.checks.remove(&name)
            {
                self.apply_suspect(now, acc);
            }
        }
    }
}

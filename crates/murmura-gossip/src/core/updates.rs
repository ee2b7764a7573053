//! Applying membership news: the merge rules, suspicion, refutation, events.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use murmura_core::rng::{Rng, RngCore};

use super::{Entry, Event, Swim};
use crate::address::Address;
use crate::broadcast::BroadcastHandler;
use crate::health::{Suspicion, suspicion_bounds};
use crate::member::{Member, State, refutation_incarnation, supersedes};
use crate::wire::{Accusation, Alive, Leave, MemberState, Message};

impl<A: Address, B: BroadcastHandler, R: RngCore> Swim<A, B, R> {
    pub(crate) fn dispatch(&mut self, now: Duration, from: &A, m: Message<A>) {
        match m {
            Message::Ping(p) => self.on_ping(from, p),
            Message::PingReq(p) => self.on_ping_req(now, from, p),
            Message::Ack(a) => self.on_ack(now, a.seq),
            Message::Nack(n) => self.on_nack(n.seq),
            Message::Alive(a) => self.apply_alive(now, a, false),
            Message::Suspect(s) => self.apply_suspect(now, s),
            Message::Dead(d) => self.apply_dead(now, d),
            Message::Leave(l) => self.apply_leave(now, l),
            Message::User(u) => {
                if self.handler.receive(&u.key, &u.payload) {
                    let bytes = Message::<A>::User(u.clone()).to_bytes();
                    self.user_updates.push(u.key.clone(), bytes);
                    self.push_event(Event::Broadcast {
                        key: u.key,
                        payload: u.payload,
                    });
                }
            }
            // These belong on streams; a datagram carrying one is ignored.
            Message::PushPull(_) | Message::Direct(_) => {}
        }
    }

    /// Merges a remote member table. Its "dead" verdicts become suspicions
    /// here, so the accused gets a chance to refute (as memberlist does) —
    /// and one about a member we hold alive is first put to that member
    /// (see `verify`): only if it does not refute is it suspected.
    pub(crate) fn merge_remote(&mut self, now: Duration, from: &str, states: Vec<MemberState<A>>) {
        for s in states {
            let firsthand = s.name == from;
            match s.state {
                State::Alive => self.apply_alive(
                    now,
                    Alive {
                        name: s.name,
                        addr: s.addr,
                        incarnation: s.incarnation,
                        meta: s.meta,
                    },
                    firsthand,
                ),
                State::Suspect | State::Dead => self.verify(
                    now,
                    Accusation {
                        name: s.name,
                        incarnation: s.incarnation,
                        from: from.to_owned(),
                    },
                    s.state == State::Dead,
                ),
                State::Left => self.apply_leave(
                    now,
                    Leave {
                        name: s.name,
                        incarnation: s.incarnation,
                    },
                ),
            }
        }
    }

    fn queue_update(&mut self, name: &str, msg: Message<A>) {
        self.member_updates.push(name.to_owned(), msg.to_bytes());
    }

    /// An accusation of this member at `accused` arrived (declared gone
    /// when `gone`): refute it if it is current, and either way answer the
    /// sender with what we are now. Whoever declared us dead has been out
    /// of touch with us, so we also exchange state with it.
    fn answer_accusation(&mut self, now: Duration, accused: u64, gone: bool) {
        if self.leaving {
            let me = self.me.clone();
            self.correct(&me);
            return;
        }
        let current = accused >= self.local_member().incarnation;
        if current {
            self.refute(accused);
        }
        let me = self.me.clone();
        self.correct(&me);
        if current
            && gone
            && let Some(to) = self.replying()
        {
            self.resync(now, to);
        }
    }

    /// Raises this member's incarnation above `accused` and announces it.
    fn refute(&mut self, accused: u64) {
        let me = self.me_mut();
        me.incarnation = refutation_incarnation(me.incarnation, accused);
        self.awareness.apply(1);
        self.stats.refutations += 1;
        self.announce_self();
    }

    /// Moves `name` to `state`, keeping the counters, the suspect set and the
    /// tombstone queue right.
    fn set_state(&mut self, now: Duration, name: &str, state: State, incarnation: u64) {
        let Some(e) = self.members.get_mut(name) else {
            return;
        };
        let was_live = !e.member.state.is_gone();
        let is_live = !state.is_gone();
        e.member.state = state;
        e.member.incarnation = incarnation;
        e.member.state_changed = now;
        if state != State::Suspect {
            e.suspicion = None;
            self.suspects.remove(name);
        }
        match (was_live, is_live) {
            (true, false) => self.live -= 1,
            (false, true) => self.live += 1,
            _ => {}
        }
        if !is_live {
            self.tombstones.push_back((now, name.to_owned()));
            let cap = 2 * self.config.max_tombstones.max(16);
            if self.tombstones.len() > cap {
                // Drop entries made stale by later changes.
                let members = &self.members;
                self.tombstones.retain(|(at, n)| {
                    members
                        .get(n)
                        .is_some_and(|e| e.member.state.is_gone() && e.member.state_changed == *at)
                });
            }
        }
    }

    fn snapshot(&self, name: &str) -> Option<Member<A>> {
        self.members.get(name).map(|e| e.member.clone())
    }

    /// Applies news that `a.name` is alive. `firsthand` when the member
    /// itself sent it (its own push-pull): that may bring back a member
    /// forgotten recently, which third-hand news at an old incarnation may not.
    pub(crate) fn apply_alive(&mut self, now: Duration, a: Alive<A>, firsthand: bool) {
        if a.name == self.me {
            let me = self.local_member();
            let same = a.incarnation == me.incarnation && a.addr == me.addr && a.meta == me.meta;
            let stale = a.incarnation < me.incarnation;
            if !stale && !same && !self.leaving {
                // Someone speaks for us with other facts: correct them.
                self.refute(a.incarnation);
            }
            if stale || !same {
                // And tell the sender what we are now.
                let me = self.me.clone();
                self.correct(&me);
            }
            return;
        }
        let Some(e) = self.members.get(&a.name) else {
            if self.hold_forgotten(&a) {
                return;
            }
            if !firsthand && self.is_stale_reintroduction(now, &a) {
                self.stats.dropped_stale += 1;
                return;
            }
            self.admit_alive(now, a);
            return;
        };
        if !supersedes(
            (a.incarnation, State::Alive),
            (e.member.incarnation, e.member.state),
        ) {
            let held = (e.member.incarnation, e.member.state);
            if a.incarnation < held.0 {
                self.correct(&a.name);
            } else if matches!(held.1, State::Suspect | State::Dead) {
                // Seen alive elsewhere at the incarnation we accuse: ask it
                // to refute, rather than wait for gossip to reach it.
                self.notify(now, &a.name);
            }
            return;
        }
        if e.member.state.is_gone() && self.must_damp(now, &a.name) {
            self.hold(now, a);
            return;
        }
        self.admit_alive(now, a);
    }

    /// Applies `a` without the stability checks (they have passed).
    pub(crate) fn admit_alive(&mut self, now: Duration, a: Alive<A>) {
        let msg = Message::Alive(a.clone());
        self.held.remove(&a.name);
        let Some(e) = self.members.get_mut(&a.name) else {
            self.forgotten.remove(&a.name);
            self.members.insert(
                a.name.clone(),
                Entry {
                    member: Member {
                        name: a.name.clone(),
                        addr: a.addr,
                        incarnation: a.incarnation,
                        state: State::Alive,
                        meta: a.meta,
                        state_changed: now,
                    },
                    suspicion: None,
                    recoveries: VecDeque::new(),
                },
            );
            self.live += 1;
            self.roster_index.insert(a.name.clone(), self.roster.len());
            self.roster.push(a.name.clone());
            // A random place in the probe order, so newcomers are not all probed last.
            let at = self.rng.random_range(0..=self.probe_order.len());
            self.probe_order.insert(at, a.name.clone());
            self.queue_update(&a.name, msg);
            if let Some(m) = self.snapshot(&a.name) {
                self.push_event(Event::Joined(m));
            }
            return;
        };
        if !supersedes(
            (a.incarnation, State::Alive),
            (e.member.incarnation, e.member.state),
        ) {
            return;
        }
        let old = e.member.state;
        let changed = e.member.meta != a.meta || e.member.addr != a.addr;
        e.member.meta = a.meta;
        e.member.addr = a.addr.clone();
        let addr = a.addr;
        self.set_state(now, &a.name, State::Alive, a.incarnation);
        if old.is_gone() && !self.probe_order.contains(&a.name) {
            self.probe_order.push(a.name.clone());
        }
        if old == State::Dead && self.checks.remove(&a.name).is_some() {
            // Back in touch with a member we had given up: whatever else
            // either side missed meanwhile, one exchange settles it.
            self.resync(now, addr);
        }
        self.queue_update(&a.name, msg);
        let Some(m) = self.snapshot(&a.name) else {
            return;
        };
        let event = match old {
            State::Alive if changed => Event::Updated(m),
            State::Alive => return,
            State::Suspect | State::Dead => Event::Recovered(m),
            State::Left => Event::Joined(m),
        };
        self.push_event(event);
    }

    pub(crate) fn apply_suspect(&mut self, now: Duration, s: Accusation) {
        if s.name == self.me {
            self.answer_accusation(now, s.incarnation, false);
            return;
        }
        let live = self.live;
        let min_accusers = self.config.stability.min_accusations.unwrap_or(0);
        let (mult, max_mult, interval) = (
            self.config.suspicion_mult,
            self.config.suspicion_max_timeout_mult,
            self.config.probe_interval,
        );
        let Some(e) = self.members.get_mut(&s.name) else {
            return;
        };
        if e.member.state == State::Suspect && e.member.incarnation == s.incarnation {
            // An independent confirmation shortens the timeout (Lifeguard).
            if let Some(susp) = e.suspicion.as_mut()
                && susp.confirm(&s.from)
            {
                self.queue_update(&s.name.clone(), Message::Suspect(s));
            }
            return;
        }
        if !supersedes(
            (s.incarnation, State::Suspect),
            (e.member.incarnation, e.member.state),
        ) {
            if s.incarnation < e.member.incarnation {
                self.correct(&s.name);
            }
            return;
        }
        let (min, max) = suspicion_bounds(mult, max_mult, live, interval);
        // Expected confirmations: mult - 2, but never more than the others there are.
        let k = mult.saturating_sub(2).min(live.saturating_sub(2) as u32);
        e.suspicion = Some(Suspicion {
            incarnation: s.incarnation,
            start: now,
            min,
            max,
            k,
            cap: (k + 1).max(min_accusers),
            accusers: BTreeSet::from([s.from.clone()]),
        });
        let name = s.name.clone();
        let incarnation = s.incarnation;
        self.set_state(now, &name, State::Suspect, incarnation);
        self.suspects.insert(name.clone());
        self.stats.suspicions += 1;
        self.queue_update(&name, Message::Suspect(s));
        if let Some(m) = self.snapshot(&name) {
            self.push_event(Event::Suspected(m));
        }
    }

    pub(crate) fn apply_dead(&mut self, now: Duration, d: Accusation) {
        if d.name == self.me {
            self.answer_accusation(now, d.incarnation, true);
            return;
        }
        let Some(e) = self.members.get(&d.name) else {
            return;
        };
        if !supersedes(
            (d.incarnation, State::Dead),
            (e.member.incarnation, e.member.state),
        ) {
            if d.incarnation < e.member.incarnation {
                self.correct(&d.name);
            }
            return;
        }
        let name = d.name.clone();
        self.set_state(now, &name, State::Dead, d.incarnation);
        self.queue_update(&name, Message::Dead(d));
        if let Some(m) = self.snapshot(&name) {
            self.push_event(Event::Failed(m));
        }
    }

    pub(crate) fn apply_leave(&mut self, now: Duration, l: Leave) {
        if l.name == self.me {
            self.answer_accusation(now, l.incarnation, true);
            return;
        }
        let Some(e) = self.members.get(&l.name) else {
            return;
        };
        if !supersedes(
            (l.incarnation, State::Left),
            (e.member.incarnation, e.member.state),
        ) {
            if l.incarnation < e.member.incarnation {
                self.correct(&l.name);
            }
            return;
        }
        let name = l.name.clone();
        self.set_state(now, &name, State::Left, l.incarnation);
        self.queue_update(&name, Message::Leave(l));
        if let Some(m) = self.snapshot(&name) {
            self.push_event(Event::Left(m));
        }
    }

    /// Suspects whose time is up are declared dead — unless stable removal
    /// asks for more accusers, in which case they wait one more minimum timeout.
    pub(crate) fn suspicion_timers(&mut self, now: Duration) {
        let due: Vec<String> = self
            .suspects
            .iter()
            .filter(|n| {
                self.members
                    .get(*n)
                    .and_then(|e| e.suspicion.as_ref())
                    .is_none_or(|s| s.deadline() <= now)
            })
            .cloned()
            .collect();
        for name in due {
            let Some(e) = self.members.get_mut(&name) else {
                self.suspects.remove(&name);
                continue;
            };
            let Some(s) = e.suspicion.as_mut() else {
                self.suspects.remove(&name);
                continue;
            };
            if let Some(needed) = self.config.stability.min_accusations
                && (s.accusers.len() as u32) < needed
            {
                let timeout = s.deadline() - s.start;
                s.start = (now + s.min).saturating_sub(timeout);
                continue;
            }
            let incarnation = s.incarnation;
            let from = self.me.clone();
            self.apply_dead(
                now,
                Accusation {
                    name,
                    incarnation,
                    from,
                },
            );
        }
    }
}

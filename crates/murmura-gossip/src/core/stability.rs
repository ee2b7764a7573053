//! Keeping unstable or stale members out: flap damping (a member that keeps
//! coming back is re-admitted only after a hold-down) and a short memory of
//! forgotten members, so stale news cannot bring them back.

use std::time::Duration;

use murmura_core::rng::RngCore;

use super::Swim;
use crate::address::Address;
use crate::broadcast::BroadcastHandler;
use crate::member::{State, supersedes};
use crate::wire::Alive;

impl<A: Address, B: BroadcastHandler, R: RngCore> Swim<A, B, R> {
    /// Whether the comeback of the gone member `name` must wait: it came back
    /// `flap_threshold` times within `flap_window` already. Records the
    /// comeback when it is admitted.
    pub(crate) fn must_damp(&mut self, now: Duration, name: &str) -> bool {
        let Some(threshold) = self.config.stability.flap_threshold else {
            return false;
        };
        let window = self.config.stability.flap_window;
        let Some(e) = self.members.get_mut(name) else {
            return false;
        };
        while e
            .recoveries
            .front()
            .is_some_and(|t| now.saturating_sub(*t) > window)
        {
            e.recoveries.pop_front();
        }
        if e.recoveries.len() >= threshold as usize {
            return true;
        }
        e.recoveries.push_back(now);
        false
    }

    /// Holds `a` back until the hold-down ends. News of a comeback already
    /// held (re-gossiped, or a newer incarnation) joins it without moving the
    /// release: repeats must not postpone it forever. A new failure after the
    /// held news makes it stale, and the next comeback is held afresh.
    pub(crate) fn hold(&mut self, now: Duration, a: Alive<A>) {
        if self.hold_forgotten(&a) {
            return;
        }
        if self.held.len() >= self.config.max_tombstones.max(16) {
            // Full: it stays gone here until later news of it.
            return;
        }
        self.stats.damped_flaps += 1;
        let release = now + self.config.stability.flap_hold;
        self.held.insert(a.name.clone(), (release, a));
    }

    /// News of a member whose comeback is held (maybe forgotten meanwhile):
    /// the newest news waits for the same release time. True if it was taken.
    pub(crate) fn hold_forgotten(&mut self, a: &Alive<A>) -> bool {
        let stale = self.held.get(&a.name).is_some_and(|(_, held)| {
            self.members.get(&a.name).is_some_and(|e| {
                !supersedes(
                    (held.incarnation, State::Alive),
                    (e.member.incarnation, e.member.state),
                )
            })
        });
        if stale {
            self.held.remove(&a.name);
            return false;
        }
        match self.held.get_mut(&a.name) {
            Some((_, held)) => {
                if a.incarnation > held.incarnation {
                    *held = a.clone();
                }
                true
            }
            None => false,
        }
    }

    /// Admits held comebacks whose hold-down is over, if nothing newer
    /// happened to the member meanwhile.
    pub(crate) fn damping_timers(&mut self, now: Duration) {
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            let Some((_, a)) = self.held.remove(&name) else {
                continue;
            };
            // Forgotten meanwhile: it comes back as a new member.
            let current = self.members.get(&name).is_none_or(|e| {
                e.member.state.is_gone()
                    && supersedes(
                        (a.incarnation, State::Alive),
                        (e.member.incarnation, e.member.state),
                    )
            });
            if current {
                if let Some(e) = self.members.get_mut(&name) {
                    e.recoveries.push_back(now);
                }
                self.admit_alive(now, a);
            }
        }
    }

    pub(crate) fn next_release(&self) -> Option<Duration> {
        self.held.values().map(|(at, _)| *at).min()
    }

    /// Remembers a forgotten member's last incarnation for another
    /// `dead_retention` (at most `max_tombstones` of them).
    pub(crate) fn remember_forgotten(&mut self, now: Duration, name: &str, incarnation: u64) {
        self.expire_forgotten(now);
        while self.forgotten_order.len() >= self.config.max_tombstones.max(1) {
            if let Some((at, n)) = self.forgotten_order.pop_front()
                && self.forgotten.get(&n).is_some_and(|(t, _)| *t == at)
            {
                self.forgotten.remove(&n);
            }
        }
        self.forgotten.insert(name.to_owned(), (now, incarnation));
        self.forgotten_order.push_back((now, name.to_owned()));
    }

    pub(crate) fn expire_forgotten(&mut self, now: Duration) {
        let keep = self.config.dead_retention;
        while let Some((at, _)) = self.forgotten_order.front()
            && now.saturating_sub(*at) >= keep
        {
            if let Some((at, n)) = self.forgotten_order.pop_front()
                && self.forgotten.get(&n).is_some_and(|(t, _)| *t == at)
            {
                self.forgotten.remove(&n);
            }
        }
    }

    /// Whether `a` is stale news of a recently forgotten member: not newer
    /// than the incarnation it had when it was forgotten.
    pub(crate) fn is_stale_reintroduction(&self, now: Duration, a: &Alive<A>) -> bool {
        self.forgotten.get(&a.name).is_some_and(|(at, inc)| {
            now.saturating_sub(*at) < self.config.dead_retention && a.incarnation <= *inc
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use murmura_core::rng::seeded;

    use crate::wire::{self, Accusation, Alive, Envelope, MemberState, Message, PushPull};
    use crate::{Config, Event, Stability, State, Swim};

    const T0: Duration = Duration::from_secs(1);

    fn secs(s: u64) -> Duration {
        T0 + Duration::from_secs(s)
    }

    fn feed(c: &mut Swim<u64>, now: Duration, msgs: &[Message<u64>]) {
        let bytes = Envelope::new(b"", 1 << 20)
            .seal(&wire::encode_compound(msgs), &mut seeded(9))
            .unwrap();
        c.handle_datagram(now, 2, &bytes).unwrap();
    }

    fn alive(name: &str, incarnation: u64) -> Message<u64> {
        Message::Alive(Alive {
            name: name.into(),
            addr: 2,
            incarnation,
            meta: vec![],
        })
    }

    fn dead(name: &str, incarnation: u64) -> Message<u64> {
        Message::Dead(Accusation {
            name: name.into(),
            incarnation,
            from: "y".into(),
        })
    }

    fn events(c: &mut Swim<u64>) -> Vec<Event<u64>> {
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    fn damped() -> Swim<u64> {
        let mut config = Config::local();
        config.stability = Stability {
            flap_threshold: Some(1),
            flap_window: Duration::from_secs(60),
            flap_hold: Duration::from_secs(30),
            ..Stability::default()
        };
        Swim::new("me", 1u64, config, seeded(1), T0).unwrap()
    }

    #[test]
    fn a_flapping_member_is_readmitted_only_after_the_hold_down() {
        let mut c = damped();
        feed(&mut c, T0, &[alive("x", 0), dead("x", 0), alive("x", 1)]);
        let first = events(&mut c);
        assert!(
            matches!(first.last(), Some(Event::Recovered(_))),
            "{first:?}"
        );
        assert_eq!(c.num_live(), 2);

        // The second comeback inside the window is held back entirely.
        feed(&mut c, secs(1), &[dead("x", 2), alive("x", 3)]);
        let evs = events(&mut c);
        assert!(matches!(evs.as_slice(), [Event::Failed(_)]), "{evs:?}");
        let x = c.member("x").unwrap();
        assert_eq!((x.state, x.incarnation), (State::Dead, 2));
        assert_eq!(c.num_live(), 1);
        assert_eq!(c.stats().damped_flaps, 1);
        assert!(c.poll_timeout().unwrap() <= secs(31));

        // The same news again, and a newer incarnation, do not postpone it.
        feed(&mut c, secs(20), &[alive("x", 3), alive("x", 4)]);
        assert_eq!(c.stats().damped_flaps, 1);
        c.handle_timer(secs(30));
        assert_eq!(c.member("x").unwrap().state, State::Dead);
        c.handle_timer(secs(31));
        let x = c.member("x").unwrap();
        assert_eq!((x.state, x.incarnation), (State::Alive, 4));
        assert_eq!(c.num_live(), 2);
        assert!(matches!(events(&mut c).as_slice(), [Event::Recovered(_)]));
    }

    #[test]
    fn a_held_comeback_overtaken_by_a_new_failure_is_dropped() {
        let mut c = damped();
        feed(&mut c, T0, &[alive("x", 0), dead("x", 0), alive("x", 1)]);
        feed(
            &mut c,
            secs(1),
            &[dead("x", 2), alive("x", 3), dead("x", 4)],
        );
        events(&mut c);
        c.handle_timer(secs(40));
        let x = c.member("x").unwrap();
        assert_eq!((x.state, x.incarnation), (State::Dead, 4));
        assert!(events(&mut c).is_empty());
        // Quiet for longer than the window: the next comeback is immediate.
        feed(&mut c, secs(100), &[alive("x", 5)]);
        assert_eq!(c.member("x").unwrap().state, State::Alive);
    }

    #[test]
    fn a_hold_outlives_the_tombstone() {
        let mut c = damped();
        c.config.dead_retention = Duration::from_secs(20);
        feed(&mut c, T0, &[alive("x", 0), dead("x", 0), alive("x", 1)]);
        // Dead at 1 s (forgotten at 21 s), comeback held until 31 s.
        feed(&mut c, secs(1), &[dead("x", 2), alive("x", 3)]);
        events(&mut c);
        c.handle_timer(secs(22));
        assert!(c.member("x").is_none(), "the tombstone was reaped");
        // Newer news while held and forgotten waits for the same release.
        feed(&mut c, secs(25), &[alive("x", 5)]);
        assert!(c.member("x").is_none());
        c.handle_timer(secs(30));
        assert!(c.member("x").is_none());
        c.handle_timer(secs(31));
        let x = c.member("x").unwrap();
        assert_eq!((x.state, x.incarnation), (State::Alive, 5));
        assert!(matches!(events(&mut c).as_slice(), [Event::Joined(_)]));
    }

    #[test]
    fn without_damping_every_comeback_is_immediate() {
        let mut c = Swim::new("me", 1u64, Config::local(), seeded(1), T0).unwrap();
        feed(&mut c, T0, &[alive("x", 0)]);
        for i in 0..5 {
            feed(&mut c, T0, &[dead("x", 2 * i), alive("x", 2 * i + 1)]);
            assert_eq!(c.member("x").unwrap().state, State::Alive);
        }
        assert_eq!(c.stats().damped_flaps, 0);
    }

    #[test]
    fn stale_news_cannot_bring_back_a_forgotten_member() {
        let mut c = Swim::new("me", 1u64, Config::local(), seeded(1), T0).unwrap();
        feed(&mut c, T0, &[alive("x", 4), dead("x", 4)]);
        // Config::local keeps the dead for 60 s.
        c.handle_timer(secs(61));
        assert!(c.member("x").is_none());
        feed(&mut c, secs(62), &[alive("x", 3), alive("x", 4)]);
        assert!(c.member("x").is_none());
        assert_eq!(c.stats().dropped_stale, 2);
        // A newer incarnation is real news.
        feed(&mut c, secs(63), &[alive("x", 5)]);
        assert_eq!(c.member("x").unwrap().state, State::Alive);
    }

    #[test]
    fn a_forgotten_member_speaking_for_itself_is_admitted() {
        let mut c = Swim::new("me", 1u64, Config::local(), seeded(1), T0).unwrap();
        feed(&mut c, T0, &[alive("x", 0), dead("x", 0)]);
        c.handle_timer(secs(61));
        assert!(c.member("x").is_none());
        let pp = Message::PushPull(PushPull {
            from: "x".into(),
            join: true,
            reply: false,
            members: vec![MemberState {
                name: "x".into(),
                addr: 2,
                incarnation: 0,
                state: State::Alive,
                meta: vec![],
            }],
            app_state: vec![],
        });
        let bytes = Envelope::new(b"", 1 << 20)
            .seal(&wire::encode_compound(&[pp]), &mut seeded(9))
            .unwrap();
        assert!(c.handle_stream(secs(62), 2, &bytes).unwrap().is_some());
        assert_eq!(c.member("x").unwrap().state, State::Alive);
    }

    #[test]
    fn an_oversized_push_pull_is_refused_whole() {
        let mut config = Config::local();
        config.max_push_pull_members = 3;
        let mut c = Swim::new("me", 1u64, config, seeded(1), T0).unwrap();
        let table = |n: u64| {
            let pp = Message::PushPull(PushPull {
                from: "m0".into(),
                join: false,
                reply: false,
                members: (0..n)
                    .map(|i| MemberState {
                        name: format!("m{i}"),
                        addr: 10 + i,
                        incarnation: 0,
                        state: State::Alive,
                        meta: vec![],
                    })
                    .collect(),
                app_state: vec![],
            });
            Envelope::new(b"", 1 << 20)
                .seal(&wire::encode_compound(&[pp]), &mut seeded(9))
                .unwrap()
        };
        assert_eq!(c.handle_stream(T0, 10, &table(4)).unwrap(), None);
        assert_eq!(c.members().count(), 1);
        assert_eq!(c.stats().dropped_malformed, 1);
        assert!(c.handle_stream(T0, 10, &table(3)).unwrap().is_some());
        assert_eq!(c.members().count(), 4);
    }

    #[test]
    fn the_memory_of_forgotten_members_is_bounded_in_time_and_size() {
        let mut config = Config::local();
        config.max_tombstones = 4;
        let mut c = Swim::new("me", 1u64, config, seeded(1), T0).unwrap();
        for i in 0..20 {
            let name = format!("m{i}");
            feed(&mut c, T0, &[alive(&name, 0), dead(&name, 0)]);
        }
        c.handle_timer(secs(61));
        assert!(c.forgotten.len() <= 4 && c.forgotten_order.len() <= 4);
        assert!(!c.forgotten.is_empty());
        c.handle_timer(secs(200));
        assert!(c.forgotten.is_empty() && c.forgotten_order.is_empty());
        // After the memory expires, even old news is accepted again.
        feed(&mut c, secs(201), &[alive("m19", 0)]);
        assert!(c.member("m19").is_some());
    }
}

#[cfg(test)]
mod properties {
    use std::time::Duration;

    use murmura_core::rng::seeded;
    use proptest::prelude::*;

    use crate::wire::{self, Accusation, Alive, Envelope, Leave, Message};
    use crate::{Config, Stability, State, Swim};

    #[derive(Debug, Clone)]
    enum Op {
        Alive(u8, u64),
        Dead(u8, u64),
        Leave(u8, u64),
        Wait(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..4, 0u64..12).prop_map(|(n, i)| Op::Alive(n, i)),
            (0u8..4, 0u64..12).prop_map(|(n, i)| Op::Dead(n, i)),
            (0u8..4, 0u64..12).prop_map(|(n, i)| Op::Leave(n, i)),
            (1u64..40).prop_map(Op::Wait),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Under any news and any timing, with damping on: the live count
        /// matches the table, held comebacks belong to gone members, a
        /// member comes back at most `threshold` times per window, and the
        /// memories stay bounded.
        #[test]
        fn stability_bookkeeping_stays_consistent(ops in proptest::collection::vec(op(), 1..80)) {
            let mut config = Config::local();
            config.max_tombstones = 2;
            config.stability = Stability {
                flap_threshold: Some(2),
                flap_window: Duration::from_secs(30),
                flap_hold: Duration::from_secs(10),
                ..Stability::default()
            };
            let mut c = Swim::new("me", 1u64, config, seeded(1), Duration::ZERO).unwrap();
            let env = Envelope::new(b"", 1 << 20);
            let mut now = Duration::ZERO;
            // Times each member turned from gone to alive, for the window check.
            let mut comebacks: Vec<Vec<Duration>> = vec![Vec::new(); 4];
            for op in ops {
                let before: Vec<Option<State>> =
                    (0..4).map(|n| c.member(&format!("m{n}")).map(|m| m.state)).collect();
                let msg = match op {
                    Op::Wait(s) => {
                        now += Duration::from_secs(s);
                        c.handle_timer(now);
                        None
                    }
                    Op::Alive(n, i) => Some(Message::Alive(Alive { name: format!("m{n}"), addr: 2, incarnation: i, meta: vec![] })),
                    Op::Dead(n, i) => Some(Message::Dead(Accusation { name: format!("m{n}"), incarnation: i, from: "z".into() })),
                    Op::Leave(n, i) => Some(Message::Leave(Leave { name: format!("m{n}"), incarnation: i })),
                };
                if let Some(m) = msg {
                    let bytes = env.seal(&wire::encode_compound(&[m]), &mut seeded(2)).unwrap();
                    c.handle_datagram(now, 2, &bytes).unwrap();
                }
                for (n, was) in before.iter().enumerate() {
                    let is = c.member(&format!("m{n}")).map(|m| m.state);
                    if was.is_some_and(State::is_gone) && is == Some(State::Alive) {
                        comebacks[n].push(now);
                    }
                    if was.is_some() && is.is_none() {
                        // Forgotten: its flap history goes with it.
                        comebacks[n].clear();
                    }
                }
                let live = c.members().filter(|m| !m.state.is_gone()).count();
                prop_assert_eq!(c.num_live(), live);
                for name in c.held.keys() {
                    // Gone here, or forgotten while held.
                    prop_assert!(c.member(name).is_none_or(|m| m.state.is_gone()), "{}", name);
                }
                prop_assert!(c.forgotten.len() <= 2 && c.forgotten_order.len() <= 2);
                for e in c.members.values() {
                    prop_assert!(e.recoveries.len() <= 3);
                }
            }
            // Admitted at once: at most 2 per 30 s window; a third needs the
            // 10 s hold-down, so no 3 comebacks fall within 10 s.
            for times in &comebacks {
                for w in times.windows(3) {
                    prop_assert!(w[2] - w[0] >= Duration::from_secs(10), "{:?}", times);
                }
            }
        }
    }
}

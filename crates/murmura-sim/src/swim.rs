//! murmura-gossip's [`Swim`] in the simulator: building clusters, and
//! [`Watch`], an observer that keeps the ground truth and counts what the
//! members got right and wrong.

use std::collections::HashMap;
use std::time::Duration;

use murmura_core::rng::seeded;
use murmura_gossip::{Config, Event, State, Swim};

use crate::core::NodeId;
use crate::net::Link;
use crate::sim::{Sim, Spawn};

/// A simulation of SWIM members, watched.
pub type SwimSim = Sim<Swim<u64>, Watch>;

/// The member name the helpers give slot `id`.
pub fn name(id: NodeId) -> String {
    format!("n{id}")
}

/// The slot of a member named by [`name`].
pub fn id_of(name: &str) -> Option<NodeId> {
    name.strip_prefix('n')?.parse().ok()
}

/// A constructor for [`Sim::add`] / [`Sim::restart`]: member `n{id}` with
/// `config`, seeded from the run. A restarted member starts at an
/// incarnation above any it held (its restart count, shifted high), as a
/// runtime passing a wall-clock incarnation would.
pub fn spawner(config: &Config) -> impl Fn(Spawn) -> Swim<u64> + '_ {
    move |s: Spawn| {
        Swim::new(name(s.id), s.addr, config.clone(), seeded(s.seed), s.now)
            .expect("a short name is valid")
            .with_incarnation(u64::from(s.restarts) << 32)
    }
}

/// `n` members on `link`, each joining through the first `seeds` of them
/// (all at time zero).
pub fn cluster(seed: u64, n: usize, seeds: usize, config: &Config, link: Link) -> SwimSim {
    let mut sim = Sim::with_observer(seed, Watch::new(n));
    sim.net_mut().default_link = link;
    let make = spawner(config);
    for _ in 0..n {
        sim.add(&make);
    }
    let seed_addrs: Vec<u64> = (0..seeds.clamp(1, n.max(1)))
        .filter_map(|i| sim.addr(i))
        .collect();
    for id in 1..n {
        let seeds = seed_addrs.clone();
        sim.act(id, |core, now| core.join(now, seeds));
    }
    sim
}

/// Whether every running member sees exactly the running members as live.
pub fn converged(sim: &SwimSim) -> bool {
    let up = sim.up().count();
    sim.up()
        .all(|id| sim.core(id).is_some_and(|c| c.num_live() == up))
}

/// Crashes `id` and tells the watch.
pub fn crash(sim: &mut SwimSim, id: NodeId) {
    let now = sim.now();
    sim.crash(id);
    let up = sim.up().count();
    sim.observer_mut().crashed(now, id, up);
}

/// What the members' events said about one crashed member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrashTrack {
    /// When it crashed.
    pub at: Duration,
    /// First `Suspected` anywhere.
    pub first_suspected: Option<Duration>,
    /// First `Failed` anywhere.
    pub first_failed: Option<Duration>,
    /// When each member learned it failed (in order).
    pub known_at: Vec<Duration>,
    /// Members running when it crashed (the others excluded).
    pub audience: usize,
    knew: Vec<bool>,
}

impl CrashTrack {
    /// When the last member of the audience learned it failed.
    pub fn all_know(&self) -> Option<Duration> {
        (self.known_at.len() >= self.audience)
            .then(|| self.known_at.last().copied())
            .flatten()
    }
}

/// Who raised a false accusation, and of whom: `[by healthy, by slow]` for
/// accused healthy members and for accused slow members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accusations {
    /// Of healthy members, `[raised by healthy, raised by slow]`.
    pub of_healthy: [u64; 2],
    /// Of slow members, `[raised by healthy, raised by slow]`.
    pub of_slow: [u64; 2],
}

impl Accusations {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.of_healthy.iter().chain(&self.of_slow).sum()
    }

    /// Those raised by slow members.
    pub fn by_slow(&self) -> u64 {
        self.of_healthy[1] + self.of_slow[1]
    }

    /// Those raised by healthy members.
    pub fn by_healthy(&self) -> u64 {
        self.of_healthy[0] + self.of_slow[0]
    }
}

/// Keeps the ground truth (who crashed, who is slow) and follows the events:
/// crash detection per tracked member, and false suspicions and deaths of
/// running members, each counted once per accusation (member and
/// incarnation), attributed to the member that reported it first — the
/// accuser, since an accusation is applied where it is raised before it
/// spreads.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    down: Vec<bool>,
    slow: Vec<bool>,
    tracks: HashMap<NodeId, CrashTrack>,
    seen_suspicions: HashMap<(NodeId, u64), ()>,
    seen_deaths: HashMap<(NodeId, u64), ()>,
    seen_deaths_healthy: HashMap<(NodeId, u64), ()>,
    /// False deaths of healthy running members in the view of some healthy
    /// member (what an application on a healthy member would act on),
    /// once per member and incarnation.
    pub healthy_deaths_seen_by_healthy: u64,
    /// False suspicions (of running members).
    pub false_suspicions: Accusations,
    /// False deaths (of running members).
    pub false_deaths: Accusations,
    /// Every event seen.
    pub events: u64,
    /// `Recovered` events (a member back from suspect or dead).
    pub recoveries: u64,
    /// User broadcasts delivered: per key, `(when, to whom)` per delivery.
    pub broadcasts: HashMap<Vec<u8>, Vec<(Duration, NodeId)>>,
}

impl Watch {
    /// A watch for `n` members, all healthy.
    pub fn new(n: usize) -> Self {
        Self {
            down: vec![false; n],
            slow: vec![false; n],
            ..Self::default()
        }
    }

    fn grow(&mut self, id: NodeId) {
        if self.down.len() <= id {
            self.down.resize(id + 1, false);
            self.slow.resize(id + 1, false);
        }
    }

    /// Records that `id` crashed at `at`, with `audience` members still up;
    /// its detection is tracked from now on.
    pub fn crashed(&mut self, at: Duration, id: NodeId, audience: usize) {
        self.grow(id);
        self.down[id] = true;
        let n = self.down.len();
        self.tracks.insert(
            id,
            CrashTrack {
                at,
                audience,
                knew: vec![false; n],
                ..CrashTrack::default()
            },
        );
    }

    /// Records that `id` runs again (restarted).
    pub fn restarted(&mut self, id: NodeId) {
        self.grow(id);
        self.down[id] = false;
    }

    /// Marks `id` slow (or healthy again).
    pub fn set_slow(&mut self, id: NodeId, slow: bool) {
        self.grow(id);
        self.slow[id] = slow;
    }

    /// Detection of the crashed member `id`.
    pub fn track(&self, id: NodeId) -> Option<&CrashTrack> {
        self.tracks.get(&id)
    }

    /// Every tracked crash.
    pub fn tracks(&self) -> impl Iterator<Item = (NodeId, &CrashTrack)> {
        let mut v: Vec<_> = self.tracks.iter().map(|(k, v)| (*k, v)).collect();
        v.sort_by_key(|(k, _)| *k);
        v.into_iter()
    }

    fn is_down(&self, id: NodeId) -> bool {
        self.down.get(id).copied().unwrap_or(false)
    }

    fn class(&self, id: NodeId) -> usize {
        usize::from(self.slow.get(id).copied().unwrap_or(false))
    }
}

impl crate::sim::Observer<Event<u64>> for Watch {
    fn on_event(&mut self, now: Duration, observer: NodeId, event: Event<u64>) {
        self.events += 1;
        match event {
            Event::Suspected(m) | Event::Failed(m) if m.state != State::Left => {
                let Some(subject) = id_of(&m.name) else {
                    return;
                };
                let failed = m.state == State::Dead;
                if self.is_down(subject) {
                    if let Some(t) = self.tracks.get_mut(&subject) {
                        if failed {
                            t.first_failed.get_or_insert(now);
                            if !t.knew.get(observer).copied().unwrap_or(true) {
                                t.knew[observer] = true;
                                t.known_at.push(now);
                            }
                        } else {
                            t.first_suspected.get_or_insert(now);
                        }
                    }
                    return;
                }
                let by = self.slow.get(observer).copied().unwrap_or(false);
                let of_slow = self.class(subject) == 1;
                if failed
                    && !by
                    && !of_slow
                    && self
                        .seen_deaths_healthy
                        .insert((subject, m.incarnation), ())
                        .is_none()
                {
                    self.healthy_deaths_seen_by_healthy += 1;
                }
                let (seen, counts) = if failed {
                    (&mut self.seen_deaths, &mut self.false_deaths)
                } else {
                    (&mut self.seen_suspicions, &mut self.false_suspicions)
                };
                if seen.insert((subject, m.incarnation), ()).is_none() {
                    let row = if of_slow {
                        &mut counts.of_slow
                    } else {
                        &mut counts.of_healthy
                    };
                    row[usize::from(by)] += 1;
                }
            }
            Event::Recovered(_) => self.recoveries += 1,
            Event::Broadcast { key, .. } => self
                .broadcasts
                .entry(key)
                .or_default()
                .push((now, observer)),
            _ => {}
        }
    }
}

//! An in-memory network of sans-IO cores on virtual time: discrete events,
//! seeded drops, partitions and crashed members.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use murmura_core::rng::{DefaultRng, Rng, seeded};
use murmura_gossip::wire::{self, Envelope, Message};
use murmura_gossip::{Config, Event, Member, State, Swim, TransmitKind};

/// One-way latency of every datagram.
const LATENCY: Duration = Duration::from_millis(2);

pub(crate) struct Node {
    pub(crate) core: Swim<u64>,
    pub(crate) events: Vec<Event<u64>>,
}

pub(crate) struct Net {
    pub(crate) nodes: BTreeMap<u64, Node>,
    pub(crate) now: Duration,
    rng: DefaultRng,
    /// Fraction of datagrams lost, 0.0..=1.0.
    pub(crate) loss: f64,
    /// Members whose process is stopped: they neither send nor receive.
    pub(crate) down: HashSet<u64>,
    /// Members that receive nothing but can still send.
    pub(crate) deaf: HashSet<u64>,
    /// Pairs that cannot talk (both directions).
    cuts: HashSet<(u64, u64)>,
    in_flight: BTreeMap<(Duration, u64), (u64, u64, Vec<u8>)>,
    next_id: u64,
    pub(crate) seed: u64,
}

impl Net {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            nodes: BTreeMap::new(),
            now: Duration::from_secs(1),
            rng: seeded(seed),
            loss: 0.0,
            down: HashSet::new(),
            deaf: HashSet::new(),
            cuts: HashSet::new(),
            in_flight: BTreeMap::new(),
            next_id: 0,
            seed,
        }
    }

    pub(crate) fn add(&mut self, id: u64, config: Config) {
        let core = Swim::new(
            format!("n{id}"),
            id,
            config,
            seeded(self.seed ^ id),
            self.now,
        )
        .unwrap();
        self.nodes.insert(
            id,
            Node {
                core,
                events: Vec::new(),
            },
        );
    }

    /// `n` members 0..n with `config`, all joined through member 0.
    pub(crate) fn cluster(seed: u64, n: u64, config: Config) -> Self {
        let mut net = Self::new(seed);
        for id in 0..n {
            net.add(id, config.clone());
        }
        for id in 1..n {
            let now = net.now;
            net.core(id).join(now, [0]);
        }
        net
    }

    pub(crate) fn core(&mut self, id: u64) -> &mut Swim<u64> {
        &mut self.nodes.get_mut(&id).unwrap().core
    }

    pub(crate) fn partition(&mut self, a: &[u64], b: &[u64]) {
        for x in a {
            for y in b {
                self.cuts.insert((*x, *y));
                self.cuts.insert((*y, *x));
            }
        }
    }

    pub(crate) fn heal(&mut self) {
        self.cuts.clear();
    }

    fn reachable(&self, from: u64, to: u64) -> bool {
        !self.down.contains(&from)
            && !self.down.contains(&to)
            && !self.deaf.contains(&to)
            && !self.cuts.contains(&(from, to))
            && self.nodes.contains_key(&to)
    }

    /// Moves every node's queued transmits into the network.
    fn flush(&mut self) {
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for id in ids {
            while let Some(t) = self.nodes.get_mut(&id).unwrap().core.poll_transmit() {
                match t.kind {
                    TransmitKind::Datagram => {
                        if !self.reachable(id, t.to) || self.rng.random_bool(self.loss) {
                            continue;
                        }
                        self.next_id += 1;
                        self.in_flight
                            .insert((self.now + LATENCY, self.next_id), (id, t.to, t.bytes));
                    }
                    TransmitKind::Stream => self.stream(id, t.to, &t.bytes),
                }
            }
            let node = self.nodes.get_mut(&id).unwrap();
            while let Some(e) = node.core.poll_event() {
                node.events.push(e);
            }
        }
    }

    /// Streams are reliable: delivered at once, or failed at once (they
    /// need both directions, like a TCP connection).
    fn stream(&mut self, from: u64, to: u64, bytes: &[u8]) {
        let now = self.now;
        if !self.reachable(from, to) || !self.reachable(to, from) {
            self.core(from).stream_failed(now, &to);
            return;
        }
        let reply = self.core(to).handle_stream(now, from, bytes);
        match reply {
            Ok(Some(answer)) => {
                let _ = self.core(from).handle_stream(now, to, &answer);
            }
            _ => self.core(from).stream_failed(now, &to),
        }
    }

    /// Runs one event (a delivery or a timer) if there is one before `limit`.
    pub(crate) fn step(&mut self, limit: Duration) -> bool {
        self.flush();
        let next_msg = self.in_flight.keys().next().map(|k| k.0);
        let next_timer = self
            .nodes
            .iter()
            .filter(|(id, _)| !self.down.contains(id))
            .filter_map(|(_, n)| n.core.poll_timeout())
            .min();
        let Some(at) = [next_msg, next_timer].into_iter().flatten().min() else {
            return false;
        };
        if at > limit {
            return false;
        }
        self.now = self.now.max(at);
        let now = self.now;
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (from, to, bytes) = entry.remove();
            if self.reachable(from, to) {
                let _ = self.core(to).handle_datagram(now, from, &bytes);
            }
        }
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for id in ids {
            if self.down.contains(&id) {
                continue;
            }
            if self.nodes[&id]
                .core
                .poll_timeout()
                .is_some_and(|t| t <= now)
            {
                self.core(id).handle_timer(now);
            }
        }
        self.flush();
        true
    }

    /// Runs for `d` of virtual time (bounded by a step budget).
    pub(crate) fn drive(&mut self, d: Duration) {
        let limit = self.now + d;
        for _ in 0..5_000_000 {
            if !self.step(limit) {
                break;
            }
        }
        self.now = limit;
    }

    /// Runs until `done` holds (checked every 100 ms), at most `max`;
    /// returns whether it held.
    pub(crate) fn drive_until(
        &mut self,
        max: Duration,
        mut done: impl FnMut(&Net) -> bool,
    ) -> bool {
        let end = self.now + max;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.drive(Duration::from_millis(100));
        }
        done(self)
    }

    /// Delivers `msgs` to `to` as one datagram from `from` now, as if the
    /// network carried it.
    pub(crate) fn inject(&mut self, to: u64, from: u64, msgs: &[Message<u64>]) {
        let bytes = Envelope::new(b"", 1 << 20)
            .seal(&wire::encode_compound(msgs), &mut self.rng)
            .unwrap();
        let now = self.now;
        self.core(to).handle_datagram(now, from, &bytes).unwrap();
        self.flush();
    }

    /// Whether every running member sees every running member alive, each
    /// at the same incarnation everywhere.
    pub(crate) fn views_agree(&self) -> bool {
        let running: Vec<u64> = self
            .nodes
            .keys()
            .copied()
            .filter(|i| !self.down.contains(i))
            .collect();
        running.iter().all(|m| {
            let name = self.nodes[m].core.name().to_owned();
            let mine = self.nodes[m].core.local_member().incarnation;
            running.iter().all(|o| {
                self.view(*o, &name)
                    .is_some_and(|v| v.state == State::Alive && v.incarnation == mine)
            })
        })
    }

    pub(crate) fn view(&self, observer: u64, name: &str) -> Option<Member<u64>> {
        self.nodes[&observer].core.member(name).cloned()
    }

    /// Whether every running member in `observers` sees `name` in `state`.
    pub(crate) fn all_see(
        &self,
        observers: impl IntoIterator<Item = u64>,
        name: &str,
        state: State,
    ) -> bool {
        observers
            .into_iter()
            .filter(|o| !self.down.contains(o))
            .all(|o| self.view(o, name).is_some_and(|m| m.state == state))
    }

    /// Whether each running member sees exactly `n` live members.
    pub(crate) fn all_live(&self, ids: impl IntoIterator<Item = u64>, n: usize) -> bool {
        ids.into_iter()
            .filter(|o| !self.down.contains(o))
            .all(|o| self.nodes[&o].core.num_live() == n)
    }

    pub(crate) fn ids(&self) -> BTreeSet<u64> {
        self.nodes.keys().copied().collect()
    }
}

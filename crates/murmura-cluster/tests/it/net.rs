//! A deterministic network of store replicas on virtual time: messages are
//! queued, delivered in order (or dropped by a filter), and timers fire as
//! time advances.

use murmura_cluster::{Config, Consistency, Event, Op, RequestId, Store, Value};
use murmura_hash::{NodeSpec, Ring, RingConfig};
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

pub(crate) type S = Store<Value, Ring<String>>;

pub(crate) struct Net {
    pub(crate) names: Vec<String>,
    pub(crate) stores: Vec<Option<S>>,
    pub(crate) config: Config,
    pub(crate) now: Duration,
    queue: VecDeque<(usize, usize, Vec<u8>)>,
    /// Links (from, to) that drop everything.
    pub(crate) cut: BTreeSet<(usize, usize)>,
    pub(crate) events: Vec<(usize, Event<Value>)>,
    pub(crate) delivered_bytes: u64,
    next_actor: u64,
}

pub(crate) fn ring(names: &[String]) -> Arc<Ring<String>> {
    Arc::new(
        Ring::new(
            names.iter().map(|n| NodeSpec::new(n.clone())),
            RingConfig::default(),
        )
        .expect("ring"),
    )
}

impl Net {
    pub(crate) fn new(n: usize, config: Config) -> Self {
        let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
        let placement = ring(&names);
        let stores = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                Some(
                    Store::new(
                        name.clone(),
                        i as u64 + 1,
                        config.clone(),
                        placement.clone(),
                        i as u64,
                    )
                    .expect("store"),
                )
            })
            .collect();
        Self {
            names,
            stores,
            config,
            now: Duration::ZERO,
            queue: VecDeque::new(),
            cut: BTreeSet::new(),
            events: Vec::new(),
            delivered_bytes: 0,
            next_actor: n as u64 + 1,
        }
    }

    pub(crate) fn index(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .expect("known member")
    }

    pub(crate) fn store(&self, i: usize) -> &S {
        self.stores[i].as_ref().expect("member is up")
    }

    pub(crate) fn store_mut(&mut self, i: usize) -> &mut S {
        self.stores[i].as_mut().expect("member is up")
    }

    /// Pulls every transmission into the queue.
    fn collect(&mut self) {
        for i in 0..self.stores.len() {
            let Some(s) = self.stores[i].as_mut() else {
                continue;
            };
            while let Some(t) = s.poll_transmit() {
                let to = self
                    .names
                    .iter()
                    .position(|n| *n == t.to)
                    .expect("known member");
                self.queue.push_back((i, to, t.bytes));
            }
            while let Some(e) = s.poll_event() {
                self.events.push((i, e));
            }
        }
    }

    /// Delivers messages until none are left (at the current time).
    pub(crate) fn settle(&mut self) {
        for _ in 0..10_000 {
            self.collect();
            let Some((from, to, bytes)) = self.queue.pop_front() else {
                return;
            };
            if self.cut.contains(&(from, to)) {
                continue;
            }
            let now = self.now;
            let from_name = self.names[from].clone();
            if let Some(s) = self.stores[to].as_mut() {
                self.delivered_bytes += bytes.len() as u64;
                s.handle_message(now, &from_name, &bytes)
                    .expect("valid batch");
            }
        }
        panic!("network did not settle");
    }

    /// Advances time by `by` in steps of `step`, firing timers and settling.
    pub(crate) fn run(&mut self, by: Duration, step: Duration) {
        let end = self.now + by;
        while self.now < end {
            self.now = (self.now + step).min(end);
            let now = self.now;
            for s in self.stores.iter_mut().flatten() {
                s.handle_timer(now);
            }
            self.settle();
        }
    }

    pub(crate) fn update(&mut self, at: usize, key: &str, op: Op) -> RequestId {
        let now = self.now;
        self.store_mut(at)
            .update(now, key.as_bytes().to_vec(), op, Consistency::Default)
            .expect("write accepted")
    }

    pub(crate) fn get(&mut self, at: usize, key: &str, c: Consistency) -> RequestId {
        let now = self.now;
        self.store_mut(at)
            .get(now, key.as_bytes().to_vec(), c)
            .expect("read accepted")
    }

    /// The outcome of request `id` started at `at`, if it finished.
    pub(crate) fn written(
        &self,
        at: usize,
        id: RequestId,
    ) -> Option<Result<(), murmura_cluster::Error>> {
        self.events.iter().find_map(|(i, e)| match e {
            Event::Written { id: done, result } if *i == at && *done == id => Some(result.clone()),
            _ => None,
        })
    }

    pub(crate) fn read(
        &self,
        at: usize,
        id: RequestId,
    ) -> Option<Result<Value, murmura_cluster::Error>> {
        self.events.iter().find_map(|(i, e)| match e {
            Event::Read { id: done, result } if *i == at && *done == id => Some(result.clone()),
            _ => None,
        })
    }

    /// Crashes member `i`: its state is gone, and the others' membership
    /// marks it down.
    pub(crate) fn crash(&mut self, i: usize) {
        self.stores[i] = None;
        let (now, name) = (self.now, self.names[i].clone());
        for s in self.stores.iter_mut().flatten() {
            s.peer_down(now, &name);
        }
    }

    /// Restarts member `i` empty, under a new actor id.
    pub(crate) fn restart(&mut self, i: usize) {
        let placement = ring(&self.names);
        let actor = self.next_actor;
        self.next_actor += 1;
        self.stores[i] = Some(
            Store::new(
                self.names[i].clone(),
                actor,
                self.config.clone(),
                placement,
                actor,
            )
            .expect("store"),
        );
        let (now, name) = (self.now, self.names[i].clone());
        for s in self.stores.iter_mut().flatten() {
            s.peer_up(now, &name);
        }
    }

    /// Members holding `key` with exactly `value` as their local copy.
    pub(crate) fn holders(&self, key: &str, check: impl Fn(&Value) -> bool) -> usize {
        self.stores
            .iter()
            .flatten()
            .filter(|s| s.local(key.as_bytes()).is_some_and(&check))
            .count()
    }
}

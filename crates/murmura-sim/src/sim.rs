//! The discrete-event engine: one binary heap of deliveries, timers and
//! wake-ups on virtual time, and the members it drives.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use murmura_core::rng::{DefaultRng, Rng, seeded};
use xxhash_rust::xxh3::Xxh3;

use crate::core::{Addr, Core, Delivery, Input, NodeId, Output};
use crate::net::Network;
use crate::stats::Traffic;

/// Receives every event a core reports, with the (global) time and the
/// member that reported it. `()` ignores them; a closure
/// `FnMut(Duration, NodeId, E)` is an observer too.
pub trait Observer<E> {
    /// One event from member `node` at `now`.
    fn on_event(&mut self, now: Duration, node: NodeId, event: E);
}

impl<E> Observer<E> for () {
    fn on_event(&mut self, _: Duration, _: NodeId, _: E) {}
}

impl<E, F: FnMut(Duration, NodeId, E)> Observer<E> for F {
    fn on_event(&mut self, now: Duration, node: NodeId, event: E) {
        self(now, node, event)
    }
}

/// A member's clock: `offset + t · (1 + ppm / 10⁶)` at global time `t`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Where the clock stood at global time zero.
    pub offset: Duration,
    /// Rate error in parts per million (clamped to ±500,000).
    pub ppm: i32,
}

impl Clock {
    fn ppm(&self) -> i128 {
        i128::from(self.ppm.clamp(-500_000, 500_000))
    }

    /// The member's reading at global time `g`.
    pub fn local(&self, g: Duration) -> Duration {
        let n = g.as_nanos() as i128;
        let l = n + n * self.ppm() / 1_000_000 + self.offset.as_nanos() as i128;
        Duration::from_nanos(l.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The earliest global time, not before `now`, at which the member's
    /// clock reads at least `local`.
    pub fn global(&self, local: Duration, now: Duration) -> Duration {
        if self.ppm == 0 && self.offset.is_zero() {
            return local.max(now);
        }
        let l = local.as_nanos() as i128 - self.offset.as_nanos() as i128;
        let den = 1_000_000 + self.ppm();
        let g = (l * 1_000_000 + den - 1).div_euclid(den).max(0);
        let mut g = Duration::from_nanos(g.min(i128::from(u64::MAX)) as u64).max(now);
        // The integer rounding in `local` may leave the estimate a few
        // nanoseconds off either way.
        while self.local(g) < local {
            g += Duration::from_nanos(1);
        }
        while g > now && self.local(g - Duration::from_nanos(1)) >= local {
            g -= Duration::from_nanos(1);
        }
        g
    }
}

/// Whether a member's process gets the CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Stall {
    /// Runs whenever it has work.
    #[default]
    Running,
    /// Stopped (as by SIGSTOP) until the given global time: its inbox fills,
    /// its timers wait.
    Paused {
        /// When it resumes.
        until: Duration,
    },
    /// CPU-starved: it runs only at multiples of `period` (global time),
    /// then handles its whole inbox and its due timers at once.
    Starved {
        /// Time between its turns on the CPU.
        period: Duration,
    },
}

/// What the simulator passes a member's constructor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spawn {
    /// The member's slot (the same after a restart).
    pub id: NodeId,
    /// Its fresh address.
    pub addr: Addr,
    /// A seed for its generator, derived from the run's seed, the slot and
    /// the number of restarts.
    pub seed: u64,
    /// Its clock's reading now.
    pub now: Duration,
    /// How many times this slot was started before.
    pub restarts: u32,
}

/// Counters of the simulation itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimStats {
    /// Events taken off the queue (deliveries, timers, wake-ups), stale ones included.
    pub events: u64,
    /// Messages handed to a core.
    pub delivered: u64,
    /// Datagrams lost to loss or partitions, or sent to nobody.
    pub lost: u64,
    /// Datagrams duplicated by the network.
    pub duplicated: u64,
    /// Messages dropped because a stalled member's inbox was full.
    pub overflowed: u64,
    /// Stream requests that failed.
    pub streams_failed: u64,
}

/// Messages a stalled member can hold unread (a socket buffer's worth).
pub const INBOX_LIMIT: usize = 4096;

/// First retransmission timeout of a simulated stream under loss; it
/// doubles per retry, and a stream fails after [`STREAM_RETRIES`].
const STREAM_RTO: Duration = Duration::from_millis(200);
const STREAM_RETRIES: u32 = 6;
/// Guard against a core that keeps asking for a deadline already passed.
const TIMER_GUARD: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Datagram,
    Request,
    Answer,
    Failed,
}

#[derive(Debug)]
struct Packet {
    from: Addr,
    to: Addr,
    kind: Kind,
    bytes: Vec<u8>,
}

#[derive(Debug)]
enum What {
    Timer { id: NodeId, generation: u32 },
    Wake { id: NodeId, generation: u32 },
    Deliver(Packet),
}

#[derive(Debug)]
struct Scheduled {
    at: Duration,
    seq: u64,
    what: What,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Slot<C> {
    core: Option<C>,
    addr: Addr,
    generation: u32,
    restarts: u32,
    timer_at: Option<Duration>,
    wake_at: Option<Duration>,
    clock: Clock,
    stall: Stall,
    inbox: VecDeque<Packet>,
}

/// A deterministic simulation of many cores on one seeded network.
///
/// Everything — latencies, losses, the members' generators — derives from
/// the seed, so a seed replays a run bit for bit ([`trace_hash`](Sim::trace_hash)
/// proves it). If a thread panics while a `Sim` is alive (a failed
/// assertion), the seed is printed for replay.
///
/// ```
/// use std::time::Duration;
/// use murmura_gossip::{Config, Swim};
/// use murmura_core::rng::seeded;
/// use murmura_sim::Sim;
///
/// let mut sim: Sim<Swim<u64>> = Sim::new(7);
/// let spawn = |s: murmura_sim::Spawn| {
///     Swim::new(format!("n{}", s.id), s.addr, Config::local(), seeded(s.seed), s.now).unwrap()
/// };
/// let a = sim.add(spawn);
/// let b = sim.add(spawn);
/// let seed = sim.addr(a).unwrap();
/// sim.act(b, |core, now| core.join(now, [seed]));
/// assert!(sim.drive_until(Duration::from_secs(5), Duration::from_millis(100), |s| {
///     s.core(a).unwrap().num_live() == 2
/// }));
/// ```
pub struct Sim<C: Core, O = ()> {
    now: Duration,
    seed: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    slots: Vec<Slot<C>>,
    owners: Vec<Option<NodeId>>,
    net: Network,
    rng: DefaultRng,
    trace: Xxh3,
    traffic: Vec<Traffic>,
    observer: O,
    stats: SimStats,
    scratch: Vec<Output>,
}

fn mix(mut z: u64) -> u64 {
    // splitmix64's finaliser.
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<C: Core> Sim<C> {
    /// An empty simulation at time zero on a clean LAN.
    pub fn new(seed: u64) -> Self {
        Self::with_observer(seed, ())
    }
}

impl<C: Core, O: Observer<C::Event>> Sim<C, O> {
    /// An empty simulation whose cores' events go to `observer`.
    pub fn with_observer(seed: u64, observer: O) -> Self {
        Self {
            now: Duration::ZERO,
            seed,
            seq: 0,
            queue: BinaryHeap::new(),
            slots: Vec::new(),
            owners: Vec::new(),
            net: Network::default(),
            rng: seeded(mix(seed)),
            trace: Xxh3::new(),
            traffic: Vec::new(),
            observer,
            stats: SimStats::default(),
            scratch: Vec::new(),
        }
    }

    // ----- setup and faults -----

    /// Starts a member built by `make`; returns its slot.
    pub fn add(&mut self, make: impl FnOnce(Spawn) -> C) -> NodeId {
        let id = self.slots.len();
        self.slots.push(Slot {
            core: None,
            addr: 0,
            generation: 0,
            restarts: 0,
            timer_at: None,
            wake_at: None,
            clock: Clock::default(),
            stall: Stall::Running,
            inbox: VecDeque::new(),
        });
        self.traffic.push(Traffic::default());
        self.start(id, make);
        id
    }

    fn start(&mut self, id: NodeId, make: impl FnOnce(Spawn) -> C) {
        let addr = self.owners.len() as Addr;
        self.owners.push(Some(id));
        let now = self.now;
        let slot = &mut self.slots[id];
        slot.addr = addr;
        slot.generation += 1;
        let spawn = Spawn {
            id,
            addr,
            seed: mix(self.seed ^ mix(id as u64 ^ (u64::from(slot.restarts) << 40))),
            now: slot.clock.local(now),
            restarts: slot.restarts,
        };
        slot.restarts += 1;
        slot.core = Some(make(spawn));
        slot.timer_at = None;
        self.after_run(id, false);
    }

    /// Kills member `id`: its state is lost, messages to it vanish.
    pub fn crash(&mut self, id: NodeId) {
        let slot = &mut self.slots[id];
        if slot.core.take().is_none() {
            return;
        }
        slot.generation += 1;
        slot.timer_at = None;
        slot.wake_at = None;
        slot.inbox.clear();
        let addr = slot.addr as usize;
        self.owners[addr] = None;
    }

    /// Starts crashed (or running: it is crashed first) member `id` again
    /// with a fresh core from `make`, at a new address; returns the address.
    pub fn restart(&mut self, id: NodeId, make: impl FnOnce(Spawn) -> C) -> Addr {
        self.crash(id);
        self.start(id, make);
        self.slots[id].addr
    }

    /// The network, to change links, losses and partitions at any time.
    pub fn net_mut(&mut self) -> &mut Network {
        &mut self.net
    }

    /// The network.
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// Sets whether member `id` gets the CPU.
    pub fn set_stall(&mut self, id: NodeId, stall: Stall) {
        self.slots[id].stall = stall;
        if stall == Stall::Running {
            let now = self.now;
            self.ensure_wake(id, now);
        }
    }

    /// Sets member `id`'s clock (from now on; a jump backwards is the
    /// caller's business).
    pub fn set_clock(&mut self, id: NodeId, clock: Clock) {
        self.slots[id].clock = clock;
        if self.slots[id].core.is_some() {
            self.slots[id].timer_at = None;
            self.after_run(id, false);
        }
    }

    /// Runs `f` on member `id`'s core with its clock's reading, then sends
    /// what it queued. `None` if the member is crashed.
    pub fn act<R>(&mut self, id: NodeId, f: impl FnOnce(&mut C, Duration) -> R) -> Option<R> {
        let local = self.slots[id].clock.local(self.now);
        let r = f(self.slots[id].core.as_mut()?, local);
        self.after_run(id, false);
        Some(r)
    }

    // ----- views -----

    /// Current global time.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Members ever added (running or crashed).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no member was ever added.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Member `id`'s core, unless it is crashed.
    pub fn core(&self, id: NodeId) -> Option<&C> {
        self.slots.get(id)?.core.as_ref()
    }

    /// Whether member `id` is running (not crashed; it may be stalled).
    pub fn is_up(&self, id: NodeId) -> bool {
        self.core(id).is_some()
    }

    /// Running members' slots, in order.
    pub fn up(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.slots.len()).filter(|&i| self.slots[i].core.is_some())
    }

    /// Member `id`'s current address, unless it is crashed.
    pub fn addr(&self, id: NodeId) -> Option<Addr> {
        let s = self.slots.get(id)?;
        s.core.as_ref().map(|_| s.addr)
    }

    /// The member at `addr`, if one is running there.
    pub fn node_at(&self, addr: Addr) -> Option<NodeId> {
        self.owners.get(addr as usize).copied().flatten()
    }

    /// Member `id`'s stall setting.
    pub fn stall(&self, id: NodeId) -> Stall {
        self.slots[id].stall
    }

    /// Member `id`'s clock's reading now.
    pub fn local_now(&self, id: NodeId) -> Duration {
        self.slots[id].clock.local(self.now)
    }

    /// What member `id` (all its incarnations) sent and received so far.
    pub fn traffic(&self, id: NodeId) -> Traffic {
        self.traffic[id]
    }

    /// Every member's traffic so far, by slot.
    pub fn all_traffic(&self) -> &[Traffic] {
        &self.traffic
    }

    /// The simulation's own counters.
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// A hash of everything that happened so far: every delivery (time,
    /// endpoints, bytes) and every timer. Equal seeds and equal scripts give
    /// equal hashes.
    pub fn trace_hash(&self) -> u64 {
        self.trace.digest()
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The observer, mutably.
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// Events waiting in the queue (stale timers included).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    // ----- running -----

    /// Runs the next event, whenever it is; false if nothing is queued.
    pub fn step(&mut self) -> bool {
        self.step_until(Duration::MAX)
    }

    /// Runs the next event if it is due at or before `limit`.
    pub fn step_until(&mut self, limit: Duration) -> bool {
        let due = self.queue.peek().is_some_and(|Reverse(e)| e.at <= limit);
        if !due {
            return false;
        }
        let Some(Reverse(ev)) = self.queue.pop() else {
            return false;
        };
        self.stats.events += 1;
        self.now = self.now.max(ev.at);
        self.run(ev);
        true
    }

    /// Runs for `d` of virtual time.
    pub fn drive(&mut self, d: Duration) {
        let limit = self.now.saturating_add(d);
        while self.step_until(limit) {}
        self.now = limit;
    }

    /// Drives in slices of `every` until `done` holds (checked before each
    /// slice) or `max` has passed; returns whether it held.
    pub fn drive_until(
        &mut self,
        max: Duration,
        every: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> bool {
        let end = self.now.saturating_add(max);
        let every = every.max(Duration::from_nanos(1));
        loop {
            if done(self) {
                return true;
            }
            if self.now >= end {
                return false;
            }
            let slice = every.min(end - self.now);
            self.drive(slice);
        }
    }

    // ----- internals -----

    fn push(&mut self, at: Duration, what: What) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            what,
        }));
    }

    fn runnable(&mut self, id: NodeId) -> bool {
        let now = self.now;
        let slot = &mut self.slots[id];
        match slot.stall {
            Stall::Running => true,
            Stall::Paused { until } if now >= until => {
                slot.stall = Stall::Running;
                true
            }
            Stall::Paused { .. } => false,
            Stall::Starved { period } => {
                period.is_zero() || now.as_nanos().is_multiple_of(period.as_nanos())
            }
        }
    }

    /// The next time a stalled member runs, at or after `now`.
    fn next_turn(&self, id: NodeId) -> Duration {
        let now = self.now;
        match self.slots[id].stall {
            Stall::Running => now,
            Stall::Paused { until } => until.max(now),
            Stall::Starved { period } if period.is_zero() => now,
            Stall::Starved { period } => {
                let p = period.as_nanos();
                let n = now.as_nanos().div_ceil(p) * p;
                Duration::from_nanos(n.min(u128::from(u64::MAX)) as u64)
            }
        }
    }

    fn ensure_wake(&mut self, id: NodeId, at: Duration) {
        let slot = &self.slots[id];
        if slot.core.is_none() || slot.wake_at.is_some_and(|w| w <= at) {
            return;
        }
        let generation = slot.generation;
        self.slots[id].wake_at = Some(at);
        self.push(at, What::Wake { id, generation });
    }

    fn hash_event(&mut self, tag: u8, id: u64, other: u64, bytes: &[u8]) {
        let mut head = [0u8; 25];
        head[0] = tag;
        head[1..9].copy_from_slice(&(self.now.as_nanos() as u64).to_le_bytes());
        head[9..17].copy_from_slice(&id.to_le_bytes());
        head[17..25].copy_from_slice(&other.to_le_bytes());
        self.trace.update(&head);
        self.trace.update(bytes);
    }

    fn run(&mut self, ev: Scheduled) {
        match ev.what {
            What::Timer { id, generation } => {
                let slot = &self.slots[id];
                if slot.generation != generation || slot.timer_at != Some(ev.at) {
                    return;
                }
                if !self.runnable(id) {
                    let at = self.next_turn(id);
                    self.ensure_wake(id, at);
                    return;
                }
                self.fire_timer(id);
                self.after_run(id, true);
            }
            What::Wake { id, generation } => {
                let slot = &self.slots[id];
                if slot.generation != generation || slot.wake_at != Some(ev.at) {
                    return;
                }
                self.slots[id].wake_at = None;
                if !self.runnable(id) {
                    let at = self.next_turn(id);
                    self.ensure_wake(id, at);
                    return;
                }
                // Overdue timers first, then the backlog: a starved process
                // sees its deadlines pass before it reads the replies that
                // would have met them (the case Lifeguard is about).
                let fired = self.slots[id].timer_at.is_some_and(|t| t <= self.now);
                if fired {
                    self.fire_timer(id);
                }
                let inbox = std::mem::take(&mut self.slots[id].inbox);
                for p in inbox {
                    self.deliver_now(id, p);
                }
                self.after_run(id, fired);
            }
            What::Deliver(p) => {
                let Some(id) = self.node_at(p.to) else {
                    if p.kind == Kind::Request {
                        self.fail_stream(p.from, p.to);
                    } else {
                        self.stats.lost += 1;
                    }
                    return;
                };
                if !self.runnable(id) {
                    if self.slots[id].inbox.len() >= INBOX_LIMIT {
                        self.stats.overflowed += 1;
                        if p.kind == Kind::Request {
                            self.fail_stream(p.from, p.to);
                        }
                        return;
                    }
                    self.slots[id].inbox.push_back(p);
                    let at = self.next_turn(id);
                    self.ensure_wake(id, at);
                    return;
                }
                self.deliver_now(id, p);
                self.after_run(id, false);
            }
        }
    }

    fn fire_timer(&mut self, id: NodeId) {
        let local = self.slots[id].clock.local(self.now);
        self.hash_event(b'T', id as u64, 0, &[]);
        self.slots[id].timer_at = None;
        if let Some(core) = self.slots[id].core.as_mut() {
            core.handle_timer(local);
        }
    }

    /// Hands `p` to member `id` (running, the owner of `p.to`).
    fn deliver_now(&mut self, id: NodeId, p: Packet) {
        let local = self.slots[id].clock.local(self.now);
        let tag = match p.kind {
            Kind::Datagram => b'D',
            Kind::Request => b'Q',
            Kind::Answer => b'A',
            Kind::Failed => b'F',
        };
        self.hash_event(tag, p.to, p.from, &p.bytes);
        if p.kind != Kind::Failed {
            self.stats.delivered += 1;
            let t = &mut self.traffic[id];
            t.recv_packets += 1;
            t.recv_bytes += p.bytes.len() as u64;
        }
        let Some(core) = self.slots[id].core.as_mut() else {
            return;
        };
        let input = match p.kind {
            Kind::Datagram => Input::Datagram(&p.bytes),
            Kind::Request | Kind::Answer => Input::Stream(&p.bytes),
            Kind::Failed => Input::StreamFailed,
        };
        let answer = core.handle(local, p.from, input);
        if p.kind == Kind::Request
            && let Some(answer) = answer
        {
            self.send_stream(id, p.from, Kind::Answer, answer);
        }
    }

    /// Tells whoever waits on the stream between `waiting` and `peer` that it broke.
    fn fail_stream(&mut self, waiting: Addr, peer: Addr) {
        self.stats.streams_failed += 1;
        let at = self.now + self.net.default_link.latency * 2;
        self.push(
            at,
            What::Deliver(Packet {
                from: peer,
                to: waiting,
                kind: Kind::Failed,
                bytes: Vec::new(),
            }),
        );
    }

    fn jitter(&mut self, link: &crate::net::Link) -> Duration {
        if link.jitter.is_zero() {
            return link.latency;
        }
        let j = self.rng.random_range(0..=link.jitter.as_nanos() as u64);
        link.latency + Duration::from_nanos(j)
    }

    fn send_datagram(&mut self, id: NodeId, to: Addr, bytes: Vec<u8>) {
        let t = &mut self.traffic[id];
        t.sent_packets += 1;
        t.sent_bytes += bytes.len() as u64;
        let Some(dest) = self.node_at(to) else {
            self.stats.lost += 1;
            return;
        };
        if !self.net.connected(id, dest) {
            self.stats.lost += 1;
            return;
        }
        let loss = self.net.loss(id, dest);
        if loss > 0.0 && self.rng.random::<f64>() < loss {
            self.stats.lost += 1;
            return;
        }
        let link = self.net.link(id, dest);
        let from = self.slots[id].addr;
        if link.duplicate > 0.0 && self.rng.random::<f64>() < link.duplicate {
            self.stats.duplicated += 1;
            let at = self.now + self.jitter(&link);
            let copy = bytes.clone();
            self.push(
                at,
                What::Deliver(Packet {
                    from,
                    to,
                    kind: Kind::Datagram,
                    bytes: copy,
                }),
            );
        }
        let at = self.now + self.jitter(&link);
        self.push(
            at,
            What::Deliver(Packet {
                from,
                to,
                kind: Kind::Datagram,
                bytes,
            }),
        );
    }

    fn send_stream(&mut self, id: NodeId, to: Addr, kind: Kind, bytes: Vec<u8>) {
        let t = &mut self.traffic[id];
        t.sent_packets += 1;
        t.sent_bytes += bytes.len() as u64;
        let from = self.slots[id].addr;
        let (waiting, peer) = match kind {
            Kind::Answer => (to, from),
            _ => (from, to),
        };
        let Some(dest) = self.node_at(to).filter(|&d| self.net.connected(id, d)) else {
            self.fail_stream(waiting, peer);
            return;
        };
        let loss = self.net.loss(id, dest);
        let link = self.net.link(id, dest);
        let mut delay = self.jitter(&link);
        let mut rto = STREAM_RTO;
        let mut through = loss <= 0.0;
        for _ in 0..STREAM_RETRIES {
            if through {
                break;
            }
            if self.rng.random::<f64>() < loss {
                delay += rto;
                rto *= 2;
            } else {
                through = true;
            }
        }
        if !through {
            self.fail_stream(waiting, peer);
            return;
        }
        let at = self.now + delay;
        self.push(
            at,
            What::Deliver(Packet {
                from,
                to,
                kind,
                bytes,
            }),
        );
    }

    /// Sends what member `id` queued, passes its events on, and re-arms its
    /// timer. `fired`: its timer just ran (so a deadline not in the future
    /// is pushed back a little rather than spun on).
    fn after_run(&mut self, id: NodeId, fired: bool) {
        let mut out = std::mem::take(&mut self.scratch);
        let now = self.now;
        let Some(core) = self.slots[id].core.as_mut() else {
            return;
        };
        while let Some(o) = core.poll_transmit() {
            out.push(o);
        }
        while let Some(e) = core.poll_event() {
            self.observer.on_event(now, id, e);
        }
        let deadline = core.poll_timeout();
        for o in out.drain(..) {
            match o.delivery {
                Delivery::Datagram => self.send_datagram(id, o.to, o.bytes),
                Delivery::Stream => self.send_stream(id, o.to, Kind::Request, o.bytes),
            }
        }
        self.scratch = out;
        let slot = &self.slots[id];
        let mut at = deadline.map(|l| slot.clock.global(l, now));
        if fired && at.is_some_and(|t| t <= now) {
            at = Some(now + TIMER_GUARD);
        }
        if at != slot.timer_at {
            let generation = slot.generation;
            self.slots[id].timer_at = at;
            if let Some(at) = at {
                self.push(at, What::Timer { id, generation });
            }
        }
    }
}

impl<C: Core, O> Drop for Sim<C, O> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "murmura-sim: replay with seed {} (failed at virtual time {:?})",
                self.seed, self.now
            );
        }
    }
}

impl<C: Core, O> std::fmt::Debug for Sim<C, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("members", &self.slots.len())
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

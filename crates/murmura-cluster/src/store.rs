//! The sans-IO replicated store: one member's replica and coordinator.
//!
//! Inputs carry `now`; outputs — transmissions to peers, events for the
//! application, the next deadline — are pulled, as with the gossip core.
//! The same core runs under a tokio driver, in the simulator and in tests.

mod antientropy;
mod handoff;

use crate::config::{Config, Consistency};
use crate::message::{MAX_KEY_LEN, Message, Refusal, RequestId, encode_batch};
use crate::persist::{Journal, Recovered};
use crate::value::{OpContext, StoreValue, ValueError};
use crate::{Error, Result};
use murmura_breaker::{CircuitBreaker, Permit, Registry};
use murmura_clock::hlc::Hlc;
use murmura_core::rng::{DefaultRng, Rng};
use murmura_core::time::ManualClock;
use murmura_crdt::Codec;
use murmura_hash::{Placement, key_hash};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

type PeerPermit = Permit<Arc<CircuitBreaker<ManualClock>>, ManualClock>;

/// Bytes for one peer, pulled with [`Store::poll_transmit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The member to send to.
    pub to: String,
    /// One encoded batch; hand it to [`Store::handle_message`] on the peer.
    pub bytes: Vec<u8>,
}

/// What the store tells the application.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<V> {
    /// A write started with [`Store::update`] finished.
    Written {
        /// The id `update` returned.
        id: RequestId,
        /// `Ok` once enough replicas acknowledged it.
        result: Result<()>,
    },
    /// A read started with [`Store::get`] finished.
    Read {
        /// The id `get` returned.
        id: RequestId,
        /// The merged state of the replies (bottom: the key holds nothing).
        result: Result<V>,
    },
}

/// Counters of what this replica did, for dashboards and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Client writes acknowledged by enough replicas.
    pub writes_acked: u64,
    /// Client writes that failed.
    pub writes_failed: u64,
    /// Client reads answered.
    pub reads_done: u64,
    /// Writes sent to a stand-in because a replica was unreachable.
    pub hinted_writes: u64,
    /// Hinted keys handed over to their replica.
    pub hints_delivered: u64,
    /// Keys handed to new owners and dropped here after they confirmed.
    pub keys_handed_off: u64,
    /// Anti-entropy rounds started.
    pub anti_entropy_rounds: u64,
    /// Keys repaired by anti-entropy or read repair (entries merged here).
    pub keys_repaired: u64,
    /// Bytes of anti-entropy messages sent (summaries, digests, repairs).
    pub anti_entropy_bytes: u64,
    /// Bytes sent in all.
    pub bytes_sent: u64,
    /// Journal appends or commits that failed (nothing they covered was
    /// acknowledged).
    pub journal_errors: u64,
    /// Records recovered from the journal that did not decode (skipped).
    pub recovery_skipped: u64,
    /// Batches that could not be decoded.
    pub bad_batches: u64,
}

struct Entry<V> {
    value: V,
    /// Bumped on every change, so a confirmation of an older copy is not
    /// taken for the current one.
    version: u64,
    /// Hash of the encoded state, for anti-entropy summaries.
    hash: Option<u32>,
}

enum Origin {
    Local,
    Forwarded { from: String, req: RequestId },
}

struct PendingWrite<V> {
    key: Vec<u8>,
    delta: V,
    origin: Origin,
    needed: usize,
    acks: usize,
    done: bool,
    /// Peers asked and not yet answered, with their breaker permits.
    waiting: BTreeMap<String, Option<PeerPermit>>,
    /// Every member written to (replicas and stand-ins).
    targeted: BTreeSet<String>,
    retried: bool,
    deadline: Duration,
}

struct PendingRead<V> {
    key: Vec<u8>,
    needed: usize,
    replies: Vec<(Option<String>, V)>,
    waiting: BTreeMap<String, Option<PeerPermit>>,
    deadline: Duration,
}

struct PendingForward {
    to: String,
    permit: Option<PeerPermit>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Deadline {
    Write(RequestId),
    Read(RequestId),
    Forward(RequestId),
    Handoff(RequestId),
}

/// One member's replica of the store: it holds the keys placed on it,
/// coordinates the writes and reads asked of it, stands in for absent
/// replicas, and repairs and rebalances with its peers.
///
/// ```
/// use murmura_cluster::{Config, Consistency, Event, Op, Store, Value};
/// use murmura_hash::{NodeSpec, Ring, RingConfig};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let names = ["a", "b", "c"];
/// let ring = Arc::new(Ring::new(names.map(|n| NodeSpec::new(n.to_string())), RingConfig::default())?);
/// let mut stores: Vec<Store<Value, Ring<String>>> = names
///     .iter()
///     .enumerate()
///     .map(|(i, n)| Store::new(n.to_string(), i as u64 + 1, Config::default(), ring.clone(), i as u64).unwrap())
///     .collect();
/// let now = Duration::ZERO;
/// let id = stores[0].update(now, b"hits".to_vec(), Op::Add(5), Consistency::Default)?;
/// // Deliver every transmission until the cluster is quiet.
/// loop {
///     let mut moved = false;
///     for i in 0..stores.len() {
///         while let Some(t) = stores[i].poll_transmit() {
///             let to = names.iter().position(|n| *n == t.to).unwrap();
///             let from = stores[i].name().to_string();
///             stores[to].handle_message(now, &from, &t.bytes)?;
///             moved = true;
///         }
///     }
///     if !moved { break; }
/// }
/// assert!(matches!(stores[0].poll_event(), Some(Event::Written { id: done, result: Ok(()) }) if done == id));
/// let holders = stores.iter().filter(|s| s.local(b"hits").and_then(|v| v.as_counter()) == Some(5)).count();
/// assert_eq!(holders, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Store<V: StoreValue, P>
where
    V::Digest: Codec,
{
    name: String,
    config: Config,
    placement: Arc<P>,
    data: BTreeMap<Vec<u8>, Entry<V>>,
    /// Writes held for absent replicas: replica → key → (delta, version).
    hints: BTreeMap<String, BTreeMap<Vec<u8>, (V, u64)>>,
    hint_count: usize,
    /// Keys no longer placed here, with the owners that confirmed holding
    /// them (and at which version).
    leaving: BTreeMap<Vec<u8>, BTreeMap<String, u64>>,
    down: BTreeSet<String>,
    breakers: Registry<ManualClock>,
    clock: ManualClock,
    hlc: Hlc<ManualClock>,
    actor: u64,
    rng: DefaultRng,
    next_req: RequestId,
    next_version: u64,
    writes: HashMap<RequestId, PendingWrite<V>>,
    reads: HashMap<RequestId, PendingRead<V>>,
    forwards: HashMap<RequestId, PendingForward>,
    handoffs: HashMap<RequestId, handoff::PendingHandoff>,
    deadlines: BinaryHeap<Reverse<(Duration, Deadline)>>,
    in_flight: HashMap<String, usize>,
    outbox: BTreeMap<String, VecDeque<Message<V>>>,
    events: VecDeque<Event<V>>,
    next_anti_entropy: Duration,
    next_handoff: Duration,
    journal: Option<Box<dyn Journal>>,
    /// Records appended since the last commit.
    uncommitted: bool,
    /// Acknowledgements that wait for the journal's commit.
    acks: Vec<(String, Message<V>)>,
    stats: Stats,
}

impl<V, P> Store<V, P>
where
    V: StoreValue,
    V::Digest: Codec,
    P: Placement<Node = String>,
{
    /// A replica named `name` (its member name in the placement) writing
    /// as `actor`, which must be unique to this replica *and this run of
    /// it*: a replica restarted without its data must take a new actor, or
    /// its new writes could reuse the dots of its old ones. `seed` seeds
    /// the store's randomness (peer choice for anti-entropy).
    ///
    /// # Errors
    /// [`Error::Config`] if `config` does not validate.
    pub fn new(
        name: String,
        actor: u64,
        config: Config,
        placement: Arc<P>,
        seed: u64,
    ) -> Result<Self> {
        config.validate()?;
        let clock = ManualClock::new(Duration::ZERO);
        let breaker_config = murmura_breaker::Config::builder()
            .window(murmura_breaker::WindowKind::Count { size: 20 })
            .minimum_calls(5)
            .failure_rate_threshold(50.0)
            .wait_in_open(config.request_timeout * 4)
            .half_open_calls(1)
            .build()
            .map_err(|_| Error::Config("breaker settings"))?;
        Ok(Self {
            name,
            placement,
            data: BTreeMap::new(),
            hints: BTreeMap::new(),
            hint_count: 0,
            leaving: BTreeMap::new(),
            down: BTreeSet::new(),
            breakers: Registry::with_clock(breaker_config, clock.clone()),
            hlc: Hlc::with_clock(clock.clone()),
            clock,
            actor,
            rng: murmura_core::rng::seeded(seed),
            next_req: 1,
            next_version: 1,
            writes: HashMap::new(),
            reads: HashMap::new(),
            forwards: HashMap::new(),
            handoffs: HashMap::new(),
            deadlines: BinaryHeap::new(),
            in_flight: HashMap::new(),
            outbox: BTreeMap::new(),
            events: VecDeque::new(),
            next_anti_entropy: config.anti_entropy_interval,
            next_handoff: config.handoff_interval,
            journal: None,
            uncommitted: false,
            acks: Vec::new(),
            stats: Stats::default(),
            config,
        })
    }

    /// Records every change in `journal` and commits it before
    /// acknowledging (see [`crate::persist`] for what each fsync policy
    /// risks). Hints held for other replicas are kept in memory only.
    #[must_use]
    pub fn with_journal(mut self, journal: Box<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Merges what a journal recovered (before the replica takes traffic).
    /// Records whose state does not decode are skipped and counted in
    /// [`Stats::recovery_skipped`]. Returns the number applied.
    pub fn recover(&mut self, recovered: &Recovered) -> usize {
        let mut applied = 0;
        let journal = self.journal.take();
        for (key, bytes) in &recovered.entries {
            match V::from_bytes(bytes) {
                Ok(value) if check_key(key).is_ok() => {
                    self.merge_local(key, &value);
                    applied += 1;
                }
                _ => self.stats.recovery_skipped += 1,
            }
        }
        self.journal = journal;
        applied
    }

    /// This replica's member name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What this replica did so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The placement in use.
    pub fn placement(&self) -> &Arc<P> {
        &self.placement
    }

    /// This replica's own copy of `key`, without asking anyone.
    pub fn local(&self, key: &[u8]) -> Option<&V> {
        self.data.get(key).map(|e| &e.value)
    }

    /// Keys this replica holds (placed here, or on their way out).
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.data.keys().map(Vec::as_slice)
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Hinted keys held here for absent replicas.
    pub fn hints_held(&self) -> usize {
        self.hint_count
    }

    /// Keys still waiting for their new owners to confirm them.
    pub fn keys_leaving(&self) -> usize {
        self.leaving.len()
    }

    /// The breaker guarding requests to `peer`.
    pub fn breaker(&self, peer: &str) -> Arc<CircuitBreaker<ManualClock>> {
        self.breakers.get(peer)
    }

    /// The members that hold `key` (its first N in the placement).
    ///
    /// # Errors
    /// [`Error::NoMembers`] if the placement is empty.
    pub fn replicas_of(&self, key: &[u8]) -> Result<Vec<String>> {
        preference(&*self.placement, &self.config, key_hash(key))
    }

    /// Membership says `peer` failed or left: requests skip it at once
    /// (writes go to stand-ins) until [`peer_up`](Self::peer_up).
    pub fn peer_down(&mut self, now: Duration, peer: &str) {
        self.tick(now);
        self.down.insert(peer.to_owned());
    }

    /// Membership says `peer` is alive again: hints held for it are handed
    /// over at once.
    pub fn peer_up(&mut self, now: Duration, peer: &str) {
        self.tick(now);
        if self.down.remove(peer) {
            self.deliver_hints(Some(peer));
        }
    }

    /// Members currently marked down.
    pub fn down_peers(&self) -> impl Iterator<Item = &str> + '_ {
        self.down.iter().map(String::as_str)
    }

    /// Applies `op` to `key` and replicates it; the outcome arrives as
    /// [`Event::Written`] with the returned id, once `consistency` many
    /// replicas acknowledged (or the timeout passed).
    ///
    /// When this member is not one of the key's replicas the write is
    /// forwarded to one that is (it coordinates, so the operation's dots
    /// come from a replica that remembers them).
    ///
    /// # Errors
    /// Refused before anything is applied: [`Error::BadKey`],
    /// [`Error::BadConsistency`], [`Error::NoMembers`], [`Error::Value`]
    /// (wrong type, when this member holds the key), [`Error::Overloaded`].
    pub fn update(
        &mut self,
        now: Duration,
        key: Vec<u8>,
        op: V::Op,
        consistency: Consistency,
    ) -> Result<RequestId> {
        self.tick(now);
        check_key(&key)?;
        let w = consistency.resolve(self.config.replicas, self.config.write_quorum)?;
        if self.pending() >= self.config.max_pending {
            return Err(Error::Overloaded);
        }
        let replicas = self.replicas_of(&key)?;
        let id = self.request_id();
        if replicas.contains(&self.name) {
            self.coordinate(id, key, &op, w, Origin::Local, &replicas)?;
            return Ok(id);
        }
        // Forward to the first replica we can reach.
        for r in &replicas {
            if let Some(permit) = self.admit(r) {
                let w = u8::try_from(w).unwrap_or(u8::MAX);
                self.send(
                    r,
                    Message::Forward {
                        req: id,
                        key,
                        op,
                        w,
                    },
                );
                let deadline = now + self.config.request_timeout * 2;
                self.forwards.insert(
                    id,
                    PendingForward {
                        to: r.clone(),
                        permit,
                    },
                );
                self.deadlines
                    .push(Reverse((deadline, Deadline::Forward(id))));
                return Ok(id);
            }
        }
        Err(self.unreachable_error(&replicas))
    }

    /// Reads `key` from `consistency` many replicas and merges their
    /// states; the result arrives as [`Event::Read`]. Replicas found behind
    /// the merged state are repaired (read repair).
    ///
    /// # Errors
    /// [`Error::BadKey`], [`Error::BadConsistency`], [`Error::NoMembers`],
    /// [`Error::Overloaded`], [`Error::Unavailable`] when too few replicas
    /// can be asked.
    pub fn get(
        &mut self,
        now: Duration,
        key: Vec<u8>,
        consistency: Consistency,
    ) -> Result<RequestId> {
        self.tick(now);
        check_key(&key)?;
        let r = consistency.resolve(self.config.replicas, self.config.read_quorum)?;
        if self.pending() >= self.config.max_pending {
            return Err(Error::Overloaded);
        }
        let replicas = self.replicas_of(&key)?;
        let needed = r.min(replicas.len());
        let id = self.request_id();
        let mut read = PendingRead {
            key: key.clone(),
            needed,
            replies: Vec::new(),
            waiting: BTreeMap::new(),
            deadline: now + self.config.request_timeout,
        };
        if replicas.contains(&self.name) {
            read.replies
                .push((None, self.local(&key).cloned().unwrap_or_default()));
        }
        for peer in &replicas {
            if let Some(permit) = self.admit(peer) {
                read.waiting.insert(peer.clone(), permit);
                self.send(
                    peer,
                    Message::Read {
                        req: id,
                        key: key.clone(),
                    },
                );
            }
        }
        if read.replies.len() + read.waiting.len() < needed {
            for peer in read.waiting.keys() {
                self.release(peer);
            }
            return Err(Error::Unavailable {
                acks: read.replies.len(),
                needed,
            });
        }
        self.deadlines
            .push(Reverse((read.deadline, Deadline::Read(id))));
        self.reads.insert(id, read);
        self.try_finish_read(id);
        Ok(id)
    }

    /// Handles one transmission from `from`.
    ///
    /// # Errors
    /// [`Error::Decode`] or [`Error::Version`] for bytes that do not decode;
    /// nothing from that transmission was applied.
    pub fn handle_message(&mut self, now: Duration, from: &str, bytes: &[u8]) -> Result<()> {
        self.tick(now);
        let batch = match crate::message::decode_batch::<V>(bytes) {
            Ok(batch) => batch,
            Err(e) => {
                self.stats.bad_batches += 1;
                return Err(e);
            }
        };
        for message in batch {
            self.handle(from, message);
        }
        let committed = self.journal_commit();
        for (to, ack) in std::mem::take(&mut self.acks) {
            if committed {
                self.send(&to, ack);
            }
        }
        Ok(())
    }

    /// Moves time to `now`: times out requests, runs anti-entropy and
    /// handoff when due.
    pub fn handle_timer(&mut self, now: Duration) {
        self.tick(now);
        while let Some(Reverse((at, what))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            match what {
                Deadline::Write(id) => self.write_timed_out(id, now),
                Deadline::Read(id) => self.read_timed_out(id),
                Deadline::Forward(id) => self.forward_timed_out(id),
                Deadline::Handoff(id) => self.handoff_timed_out(id),
            }
        }
        if now >= self.next_anti_entropy {
            self.next_anti_entropy = now + self.config.anti_entropy_interval;
            self.start_anti_entropy();
        }
        if now >= self.next_handoff {
            self.next_handoff = now + self.config.handoff_interval;
            self.deliver_hints(None);
            self.hand_off_leaving();
        }
        self.journal_commit();
        if self.journal.as_ref().is_some_and(|j| j.wants_snapshot()) {
            let mut entries = self
                .data
                .iter()
                .map(|(k, e)| (k.clone(), e.value.to_bytes()));
            if let Some(journal) = self.journal.as_mut()
                && journal.snapshot(&mut entries).is_err()
            {
                self.stats.journal_errors += 1;
            }
        }
    }

    /// When [`handle_timer`](Self::handle_timer) next has work.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let next = self.next_anti_entropy.min(self.next_handoff);
        Some(match self.deadlines.peek() {
            Some(Reverse((at, _))) => next.min(*at),
            None => next,
        })
    }

    /// The next batch to send, one peer at a time.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let to = self.outbox.keys().next()?.clone();
        let queue = self.outbox.get_mut(&to)?;
        let n = queue.len().min(self.config.max_batch);
        let batch: Vec<Message<V>> = queue.drain(..n).collect();
        if queue.is_empty() {
            self.outbox.remove(&to);
        }
        let mut bytes = Vec::new();
        encode_batch(&batch, &mut bytes);
        self.stats.bytes_sent += bytes.len() as u64;
        if batch.iter().any(|m| {
            matches!(
                m,
                Message::Summary { .. }
                    | Message::Digests { .. }
                    | Message::Repair { req: None, .. }
            )
        }) {
            self.stats.anti_entropy_bytes += bytes.len() as u64;
        }
        Some(Transmit { to, bytes })
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event<V>> {
        self.events.pop_front()
    }

    /// Swaps in a new placement (membership changed). Keys no longer placed
    /// here are handed to their new owners and dropped only once every one
    /// of them confirmed holding the key; owners new to a key get a copy.
    pub fn set_placement(&mut self, now: Duration, placement: Arc<P>) {
        self.tick(now);
        let old = std::mem::replace(&mut self.placement, placement);
        self.rebalance(&*old);
    }

    // ---- internals ---------------------------------------------------

    fn tick(&mut self, now: Duration) {
        if now > self.clock.now() {
            self.clock.set(now);
        }
    }

    fn now(&self) -> Duration {
        self.clock.now()
    }

    fn pending(&self) -> usize {
        self.writes.len() + self.reads.len() + self.forwards.len()
    }

    fn request_id(&mut self) -> RequestId {
        let id = self.next_req;
        self.next_req += 1;
        id
    }

    fn bump_version(&mut self) -> u64 {
        let v = self.next_version;
        self.next_version += 1;
        v
    }

    /// Whether `peer` can take one more request now, with its breaker
    /// permit (`None` inside: admitted without a permit is never the case;
    /// the option lets pending requests give the permit up).
    fn admit(&mut self, peer: &str) -> Option<Option<PeerPermit>> {
        if peer == self.name || self.down.contains(peer) {
            return None;
        }
        if self.in_flight.get(peer).copied().unwrap_or(0) >= self.config.max_in_flight_per_peer {
            return None;
        }
        let permit = self.breakers.get(peer).try_acquire_owned().ok()?;
        *self.in_flight.entry(peer.to_owned()).or_insert(0) += 1;
        Some(Some(permit))
    }

    fn release(&mut self, peer: &str) {
        if let Some(n) = self.in_flight.get_mut(peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.in_flight.remove(peer);
            }
        }
    }

    fn overloaded(&self, peer: &str) -> bool {
        self.in_flight.get(peer).copied().unwrap_or(0) >= self.config.max_in_flight_per_peer
    }

    fn unreachable_error(&self, replicas: &[String]) -> Error {
        if replicas.iter().any(|r| self.overloaded(r)) {
            Error::Overloaded
        } else {
            Error::Unavailable { acks: 0, needed: 1 }
        }
    }

    fn send(&mut self, to: &str, message: Message<V>) {
        self.outbox
            .entry(to.to_owned())
            .or_default()
            .push_back(message);
    }

    /// Applies `op` here and sends the delta to the other replicas (or
    /// their stand-ins).
    fn coordinate(
        &mut self,
        id: RequestId,
        key: Vec<u8>,
        op: &V::Op,
        w: usize,
        origin: Origin,
        replicas: &[String],
    ) -> Result<()> {
        let needed = w.min(self.placement.len());
        let self_counts = replicas.contains(&self.name);
        // Who can take the write, before anything is applied.
        let mut targets: Vec<(String, Option<String>)> = Vec::new();
        let mut absent: Vec<String> = Vec::new();
        for r in replicas.iter().filter(|r| **r != self.name) {
            if self.reachable(r) {
                targets.push((r.clone(), None));
            } else {
                absent.push(r.clone());
            }
        }
        if self.config.hinted_handoff && !absent.is_empty() {
            let stand_ins = self.stand_ins(&key, replicas, absent.len());
            for (stand_in, for_whom) in stand_ins.into_iter().zip(absent.iter()) {
                targets.push((stand_in, Some(for_whom.clone())));
            }
        }
        if usize::from(self_counts) + targets.len() < needed {
            return Err(self.unreachable_error(replicas));
        }
        let now = self.now();
        let hlc = &self.hlc;
        let ctx = OpContext {
            actor: self.actor,
            hlc,
        };
        let version = self.next_version;
        let entry = self.data.entry(key.clone()).or_insert_with(|| Entry {
            value: V::default(),
            version,
            hash: None,
        });
        let delta = match entry.value.apply(&ctx, op) {
            Ok(delta) => delta,
            Err(e) => {
                if entry.value.is_bottom() {
                    self.data.remove(&key);
                }
                return Err(e.into());
            }
        };
        let version = self.bump_version();
        if let Some(entry) = self.data.get_mut(&key) {
            entry.version = version;
            entry.hash = None;
        }
        if let Some(confirmed) = self.leaving.get_mut(&key) {
            confirmed.clear();
        }
        if !self_counts {
            // Coordinating a key placed elsewhere (the forwarder's placement
            // differed): the copy made here goes on to the owners.
            self.leaving.entry(key.clone()).or_default();
        }
        // The coordinator's own copy counts as an acknowledgement only once
        // it is as durable as the journal promises.
        let durable = self.journal_append(&key, &delta) && self.journal_commit();
        let self_counts = self_counts && durable;
        let mut write = PendingWrite {
            key: key.clone(),
            delta: delta.clone(),
            origin,
            needed,
            acks: usize::from(self_counts),
            done: false,
            waiting: BTreeMap::new(),
            targeted: BTreeSet::new(),
            retried: false,
            deadline: now + self.config.request_timeout,
        };
        for (to, hint_for) in targets {
            let Some(permit) = self.admit(&to) else {
                continue;
            };
            if hint_for.is_some() {
                self.stats.hinted_writes += 1;
            }
            write.waiting.insert(to.clone(), permit);
            write.targeted.insert(to.clone());
            self.send(
                &to,
                Message::Write {
                    req: id,
                    key: key.clone(),
                    delta: delta.clone(),
                    hint_for,
                },
            );
        }
        self.deadlines
            .push(Reverse((write.deadline, Deadline::Write(id))));
        self.writes.insert(id, write);
        self.try_finish_write(id);
        Ok(())
    }

    /// Whether a request to `peer` would be sent now (without taking a permit).
    fn reachable(&self, peer: &str) -> bool {
        peer != self.name
            && !self.down.contains(peer)
            && !self.overloaded(peer)
            && self.breakers.get(peer).state() != murmura_breaker::State::Open
    }

    /// Up to `count` reachable members after the key's replicas in its
    /// probe order: stand-ins for absent replicas.
    fn stand_ins(&self, key: &[u8], replicas: &[String], count: usize) -> Vec<String> {
        let all = self.placement.len();
        let Ok(order) = self.placement.replicas(key_hash(key), all) else {
            return Vec::new();
        };
        order
            .filter(|m| !replicas.contains(m) && self.reachable(m))
            .take(count)
            .cloned()
            .collect()
    }

    fn try_finish_write(&mut self, id: RequestId) {
        let Some(w) = self.writes.get_mut(&id) else {
            return;
        };
        if !w.done && w.acks >= w.needed {
            w.done = true;
            self.stats.writes_acked += 1;
            let origin = std::mem::replace(&mut w.origin, Origin::Local);
            self.complete_write(id, origin, Ok(()));
        }
        let Some(w) = self.writes.get(&id) else {
            return;
        };
        if w.done && w.waiting.is_empty() {
            self.writes.remove(&id);
        }
    }

    fn complete_write(&mut self, id: RequestId, origin: Origin, result: Result<()>) {
        match origin {
            Origin::Local => self.events.push_back(Event::Written { id, result }),
            Origin::Forwarded { from, req } => {
                let refused = result.err().map(|e| refusal(&e));
                self.send(&from, Message::ForwardReply { req, refused });
            }
        }
    }

    fn write_timed_out(&mut self, id: RequestId, now: Duration) {
        let Some(mut w) = self.writes.remove(&id) else {
            return;
        };
        if w.deadline > now {
            self.writes.insert(id, w);
            return;
        }
        let silent: Vec<String> = w.waiting.keys().cloned().collect();
        for (peer, permit) in std::mem::take(&mut w.waiting) {
            if let Some(p) = permit {
                p.failure();
            }
            self.release(&peer);
        }
        if w.done {
            return;
        }
        if self.config.hinted_handoff && !w.retried && !silent.is_empty() {
            // Try stand-ins for the replicas that did not answer.
            w.retried = true;
            let replicas = self.replicas_of(&w.key).unwrap_or_default();
            let mut exclude: Vec<String> = replicas.clone();
            exclude.extend(w.targeted.iter().cloned());
            let stand_ins = self.stand_ins(&w.key, &exclude, silent.len());
            for (stand_in, for_whom) in stand_ins.into_iter().zip(silent) {
                let Some(permit) = self.admit(&stand_in) else {
                    continue;
                };
                self.stats.hinted_writes += 1;
                let hint_for = replicas.contains(&for_whom).then_some(for_whom);
                w.waiting.insert(stand_in.clone(), permit);
                w.targeted.insert(stand_in.clone());
                self.send(
                    &stand_in,
                    Message::Write {
                        req: id,
                        key: w.key.clone(),
                        delta: w.delta.clone(),
                        hint_for,
                    },
                );
            }
            if !w.waiting.is_empty() {
                w.deadline = now + self.config.request_timeout;
                self.deadlines
                    .push(Reverse((w.deadline, Deadline::Write(id))));
                self.writes.insert(id, w);
                return;
            }
        }
        self.stats.writes_failed += 1;
        let err = Error::Unavailable {
            acks: w.acks,
            needed: w.needed,
        };
        self.complete_write(id, w.origin, Err(err));
    }

    fn try_finish_read(&mut self, id: RequestId) {
        let Some(r) = self.reads.get(&id) else { return };
        if r.replies.len() < r.needed {
            return;
        }
        let Some(mut r) = self.reads.remove(&id) else {
            return;
        };
        let mut merged = V::default();
        for (_, v) in &r.replies {
            merged.merge(v);
        }
        // Read repair: replicas that answered with less get the merge.
        for (who, v) in &r.replies {
            if *v != merged {
                match who {
                    Some(peer) => {
                        let peer = peer.clone();
                        self.send(
                            &peer,
                            Message::Repair {
                                req: None,
                                entries: vec![(r.key.clone(), merged.clone())],
                            },
                        );
                    }
                    None => {
                        self.merge_local(&r.key, &merged);
                    }
                }
            }
        }
        for (peer, permit) in std::mem::take(&mut r.waiting) {
            // Still waiting: neither a success nor a failure of that peer.
            if let Some(p) = permit {
                p.ignore();
            }
            self.release(&peer);
        }
        self.stats.reads_done += 1;
        self.events.push_back(Event::Read {
            id,
            result: Ok(merged),
        });
    }

    fn read_timed_out(&mut self, id: RequestId) {
        let Some(mut r) = self.reads.remove(&id) else {
            return;
        };
        for (peer, permit) in std::mem::take(&mut r.waiting) {
            if let Some(p) = permit {
                p.failure();
            }
            self.release(&peer);
        }
        self.events.push_back(Event::Read {
            id,
            result: Err(Error::Unavailable {
                acks: r.replies.len(),
                needed: r.needed,
            }),
        });
    }

    fn forward_timed_out(&mut self, id: RequestId) {
        let Some(f) = self.forwards.remove(&id) else {
            return;
        };
        if let Some(p) = f.permit {
            p.failure();
        }
        self.release(&f.to);
        self.stats.writes_failed += 1;
        self.events.push_back(Event::Written {
            id,
            result: Err(Error::Unavailable { acks: 0, needed: 1 }),
        });
    }

    /// Merges `value` into the local copy of `key`; whether it changed.
    fn merge_local(&mut self, key: &[u8], value: &V) -> bool {
        if value.is_bottom() {
            return false;
        }
        let version = self.next_version;
        let changed = match self.data.get_mut(key) {
            Some(entry) => {
                if value.leq(&entry.value) {
                    false
                } else {
                    entry.value.merge(value);
                    entry.version = version;
                    entry.hash = None;
                    true
                }
            }
            None => {
                self.data.insert(
                    key.to_vec(),
                    Entry {
                        value: value.clone(),
                        version,
                        hash: None,
                    },
                );
                // A key that is not placed here (a sender with an older
                // placement, a stray coordinator copy) goes on to its owners.
                if !self.places_here(key) {
                    self.leaving.entry(key.to_vec()).or_default();
                }
                true
            }
        };
        if changed {
            self.bump_version();
            if let Some(confirmed) = self.leaving.get_mut(key) {
                confirmed.clear();
            }
            self.journal_append(key, value);
        }
        changed
    }

    /// Appends to the journal, if any; false (and counted) on failure.
    fn journal_append(&mut self, key: &[u8], value: &V) -> bool {
        let Some(journal) = self.journal.as_mut() else {
            return true;
        };
        match journal.append(key, &value.to_bytes()) {
            Ok(()) => {
                self.uncommitted = true;
                true
            }
            Err(_) => {
                self.stats.journal_errors += 1;
                false
            }
        }
    }

    /// Commits the journal; false (and counted) on failure.
    fn journal_commit(&mut self) -> bool {
        if !self.uncommitted {
            return true;
        }
        let now = self.now();
        let Some(journal) = self.journal.as_mut() else {
            return true;
        };
        self.uncommitted = false;
        match journal.commit(now) {
            Ok(()) => true,
            Err(_) => {
                self.stats.journal_errors += 1;
                false
            }
        }
    }

    /// Sends `message` once the journal has committed what it acknowledges.
    fn ack_after_commit(&mut self, to: &str, message: Message<V>) {
        if self.journal.is_some() {
            self.acks.push((to.to_owned(), message));
        } else {
            self.send(to, message);
        }
    }

    fn handle(&mut self, from: &str, message: Message<V>) {
        match message {
            Message::Write {
                req,
                key,
                delta,
                hint_for,
            } => {
                let stand_in = hint_for.filter(|h| *h != self.name);
                match stand_in {
                    Some(replica) => {
                        if !self.hold_hint(replica, key, &delta) {
                            // Full: no acknowledgement, the coordinator
                            // times out and counts this write as failed.
                            return;
                        }
                    }
                    None => {
                        let before = self.stats.journal_errors;
                        self.merge_local(&key, &delta);
                        if self.stats.journal_errors != before {
                            return; // not recorded: no acknowledgement
                        }
                    }
                }
                self.ack_after_commit(from, Message::WriteAck { req });
            }
            Message::WriteAck { req } => {
                let mut ack = false;
                if let Some(w) = self.writes.get_mut(&req)
                    && let Some(permit) = w.waiting.remove(from)
                {
                    if let Some(p) = permit {
                        p.success();
                    }
                    w.acks += 1;
                    ack = true;
                }
                if ack {
                    self.release(from);
                    self.try_finish_write(req);
                }
            }
            Message::Forward { req, key, op, w } => {
                let origin = Origin::Forwarded {
                    from: from.to_owned(),
                    req,
                };
                let replicas = self.replicas_of(&key).unwrap_or_default();
                let w = usize::from(w).clamp(1, self.config.replicas);
                let id = self.request_id();
                if let Err(e) = self.coordinate(id, key, &op, w, origin, &replicas) {
                    self.send(
                        from,
                        Message::ForwardReply {
                            req,
                            refused: Some(refusal(&e)),
                        },
                    );
                }
            }
            Message::ForwardReply { req, refused } => {
                let Some(f) = self.forwards.remove(&req) else {
                    return;
                };
                if f.to != from {
                    self.forwards.insert(req, f);
                    return;
                }
                if let Some(p) = f.permit {
                    p.success();
                }
                self.release(from);
                let result = match refused {
                    None => {
                        self.stats.writes_acked += 1;
                        Ok(())
                    }
                    Some(r) => {
                        self.stats.writes_failed += 1;
                        Err(from_refusal(r))
                    }
                };
                self.events.push_back(Event::Written { id: req, result });
            }
            Message::Read { req, key } => {
                let value = self.local(&key).cloned().unwrap_or_default();
                self.send(from, Message::ReadReply { req, value });
            }
            Message::ReadReply { req, value } => {
                let mut got = false;
                if let Some(r) = self.reads.get_mut(&req)
                    && let Some(permit) = r.waiting.remove(from)
                {
                    if let Some(p) = permit {
                        p.success();
                    }
                    r.replies.push((Some(from.to_owned()), value));
                    got = true;
                }
                if got {
                    self.release(from);
                    self.try_finish_read(req);
                }
            }
            Message::Summary { level, nodes } => self.on_summary(from, level, &nodes),
            Message::Digests {
                ranges,
                entries,
                answer,
            } => self.on_digests(from, &ranges, entries, answer),
            Message::Repair { req, entries } => self.on_repair(from, req, entries),
            Message::HandoffAck { req } => self.on_handoff_ack(from, req),
        }
    }

    /// A random member other than this one that is reachable.
    fn random_peer(&mut self) -> Option<String> {
        let roster = self.placement.roster();
        let candidates: Vec<u32> = (0..roster.len() as u32)
            .filter(|i| {
                let n = roster.id(*i);
                *n != self.name && !self.down.contains(n)
            })
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let pick = candidates[self.rng.random_range(0..candidates.len())];
        Some(roster.id(pick).clone())
    }
}

/// The first N members (distinct zones first when asked) for a key.
pub(crate) fn preference<P: Placement<Node = String>>(
    placement: &P,
    config: &Config,
    key_hash: u64,
) -> Result<Vec<String>> {
    let n = config.replicas.min(placement.len());
    if n == 0 {
        return Err(Error::NoMembers);
    }
    let replicas = if config.zone_aware {
        placement.zoned_replicas(key_hash, n)
    } else {
        placement.replicas(key_hash, n)
    }
    .map_err(|_| Error::NoMembers)?;
    Ok(replicas.cloned().collect())
}

fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Error::BadKey {
            len: key.len(),
            max: MAX_KEY_LEN,
        });
    }
    Ok(())
}

fn refusal(e: &Error) -> Refusal {
    match e {
        Error::Value(ValueError::WrongType { .. }) => Refusal::WrongType,
        Error::Overloaded => Refusal::Overloaded,
        Error::Unavailable { .. } | Error::NoMembers => Refusal::Unavailable,
        _ => Refusal::Invalid,
    }
}

fn from_refusal(r: Refusal) -> Error {
    match r {
        Refusal::WrongType => Error::Value(ValueError::WrongType {
            held: "another type",
            wanted: "this operation's type",
        }),
        Refusal::Overloaded => Error::Overloaded,
        Refusal::Unavailable => Error::Unavailable { acks: 0, needed: 1 },
        Refusal::Invalid => Error::Refused,
    }
}

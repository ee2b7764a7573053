//! The sans-IO SWIM + Lifeguard state machine.
//!
//! [`Swim`] never touches a socket, a clock or a global random generator:
//! every input carries `now` (any monotonic [`Duration`]), randomness comes
//! from the generator it was built with, and its outputs are pulled —
//! [`Swim::poll_transmit`], [`Swim::poll_event`], [`Swim::poll_timeout`] —
//! in the manner of quinn-proto. The same core runs under the tokio runtime,
//! in a simulator and in tests.

mod anti_entropy;
mod checks;
mod disseminate;
mod probe;
mod stability;
mod updates;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use murmura_core::rng::{DefaultRng, RngCore};

use crate::address::Address;
use crate::broadcast::{BroadcastHandler, SeenBroadcasts};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::health::{Awareness, Suspicion};
use crate::member::{Member, State};
use crate::queue::TransmitQueue;
use crate::wire::{
    self, Accusation, Alive, Envelope, MAX_KEY_LEN, MAX_NAME_LEN, Message, UserBroadcast,
};

/// Bytes to send, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit<A> {
    /// Destination.
    pub to: A,
    /// Datagram (UDP) or stream (TCP) delivery.
    pub kind: TransmitKind,
    /// The sealed frame.
    pub bytes: Vec<u8>,
}

/// How a [`Transmit`] travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransmitKind {
    /// One unreliable datagram; hand it to [`Swim::handle_datagram`] at `to`.
    Datagram,
    /// A push-pull request over a reliable stream: hand it to
    /// [`Swim::handle_stream`] at `to`, send back what that returns, and hand
    /// the answer to [`Swim::handle_stream`] here (or call
    /// [`Swim::stream_failed`]).
    Stream,
}

/// Something the application may want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<A> {
    /// A member appeared (or came back after leaving).
    Joined(Member<A>),
    /// A live member changed its metadata or address.
    Updated(Member<A>),
    /// A member is suspected of having failed.
    Suspected(Member<A>),
    /// A member was declared failed.
    Failed(Member<A>),
    /// A member left gracefully.
    Left(Member<A>),
    /// A suspected or failed member is alive again.
    Recovered(Member<A>),
    /// An application message sent to this member with
    /// [`Swim::send_reliable`].
    Message {
        /// The sender's name.
        from: String,
        /// Payload.
        payload: Vec<u8>,
    },
    /// A user broadcast new to this member.
    Broadcast {
        /// Invalidation key.
        key: Vec<u8>,
        /// Payload.
        payload: Vec<u8>,
    },
}

/// Counters of what the core did and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Stats {
    /// Messages sent (each message of a compound counts).
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Bytes sent, datagrams and streams.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Direct probes sent.
    pub probes: u64,
    /// Indirect probe requests sent.
    pub ping_reqs: u64,
    /// Probes that failed (no ack in the protocol period).
    pub failed_probes: u64,
    /// Suspicions started.
    pub suspicions: u64,
    /// Times this member refuted an accusation of itself.
    pub refutations: u64,
    /// Push-pull exchanges started.
    pub push_pulls: u64,
    /// Malformed, oversized or wrong-version input dropped.
    pub dropped_malformed: u64,
    /// Input from another cluster (label mismatch) dropped.
    pub dropped_label: u64,
    /// Unencrypted or wrongly keyed input dropped.
    pub dropped_crypto: u64,
    /// Events dropped because nobody polled them.
    pub dropped_events: u64,
    /// Comebacks of flapping members held back by flap damping.
    pub damped_flaps: u64,
    /// Indirect probe requests refused: the target is not a live member
    /// known at the given address.
    pub refused_ping_reqs: u64,
    /// Stale news of recently forgotten members ignored.
    pub dropped_stale: u64,
    /// Input of an unsupported protocol version dropped (also counted in
    /// `dropped_malformed`).
    pub dropped_version: u64,
    /// Checks sent straight to one member: a dead one checked, a suspect or
    /// dead one told it is held so, a push-pull's accusation put to the
    /// accused.
    pub checks: u64,
    /// Answers sent to the sender of stale news (or of an accusation of
    /// this member): messages, at most one datagram per datagram received.
    pub corrections: u64,
    /// Answers left out because they did not fit in that one datagram.
    pub dropped_corrections: u64,
}

/// Lifeguard figures about one suspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuspicionInfo {
    /// Independent confirmations beyond the first accusation.
    pub confirmations: u32,
    /// Confirmations that bring the timeout down to its minimum.
    pub expected: u32,
    /// When it is declared dead unless it refutes.
    pub deadline: Duration,
}

#[derive(Debug)]
pub(crate) struct Entry<A> {
    pub(crate) member: Member<A>,
    pub(crate) suspicion: Option<Suspicion>,
    /// Times it came back from dead or left, for flap damping.
    pub(crate) recoveries: VecDeque<Duration>,
}

#[derive(Debug)]
pub(crate) struct Probe<A> {
    pub(crate) seq: u32,
    pub(crate) target: String,
    pub(crate) addr: A,
    pub(crate) indirect_at: Duration,
    pub(crate) end: Duration,
    pub(crate) indirect_sent: bool,
    pub(crate) nacks_expected: u32,
    pub(crate) nacks: u32,
}

/// A message sent straight to a member to settle what is believed about it:
/// a verdict it should refute if it can, or news another member gave us
/// that it should confirm before we act on it.
#[derive(Debug)]
pub(crate) struct Check {
    /// Until when no second check of the same member is sent.
    pub(crate) deadline: Duration,
    /// Applied at the deadline unless the member refuted it meanwhile.
    pub(crate) accusation: Option<Accusation>,
}

#[derive(Debug)]
pub(crate) struct Relay<A> {
    pub(crate) origin: A,
    pub(crate) origin_seq: u32,
    pub(crate) deadline: Duration,
}

/// Outstanding indirect probes relayed for others, at most.
const MAX_RELAYS: usize = 1024;
/// Largest plain payload a datagram may decompress to (a UDP datagram's limit).
const MAX_DATAGRAM: usize = 65_536;
/// Transmits waiting to be polled, at most (the oldest are dropped).
const MAX_TRANSMITS: usize = 65_536;
/// Outstanding checks of single members, at most.
const MAX_CHECKS: usize = 1024;
/// Answers to one datagram, at most (the rest are left to gossip).
const MAX_REPLIES: usize = 64;

/// A SWIM + Lifeguard member, sans IO.
///
/// ```
/// use std::time::Duration;
/// use murmura_gossip::{Config, Swim, TransmitKind};
///
/// let t0 = Duration::ZERO;
/// let mut a = Swim::new("a", 1u64, Config::local(), murmura_core::rng::seeded(1), t0).unwrap();
/// let mut b = Swim::new("b", 2u64, Config::local(), murmura_core::rng::seeded(2), t0).unwrap();
/// // b joins through a: a push-pull over a stream.
/// b.join(t0, [1u64]);
/// let req = b.poll_transmit().unwrap();
/// assert_eq!((req.to, req.kind), (1, TransmitKind::Stream));
/// let reply = a.handle_stream(t0, 2, &req.bytes).unwrap().unwrap();
/// b.handle_stream(t0, 1, &reply).unwrap();
/// assert_eq!(a.num_live(), 2);
/// assert_eq!(b.num_live(), 2);
/// ```
pub struct Swim<A: Address, B: BroadcastHandler = SeenBroadcasts, R: RngCore = DefaultRng> {
    pub(crate) config: Config,
    pub(crate) envelope: Envelope,
    pub(crate) rng: R,
    pub(crate) handler: B,
    pub(crate) me: String,
    pub(crate) members: HashMap<String, Entry<A>>,
    /// Every member but this one, for O(1) random picks.
    pub(crate) roster: Vec<String>,
    pub(crate) roster_index: HashMap<String, usize>,
    pub(crate) probe_order: Vec<String>,
    pub(crate) probe_index: usize,
    pub(crate) probe: Option<Probe<A>>,
    pub(crate) next_seq: u32,
    pub(crate) relays: BTreeMap<u32, Relay<A>>,
    /// Members sent a check, by name.
    pub(crate) checks: BTreeMap<String, Check>,
    /// While a datagram is handled: its sender, and what to answer it
    /// (acks, corrections of stale news, the sender's own standing).
    pub(crate) replies: Option<(A, Vec<Vec<u8>>)>,
    /// When contact with a member cut off from us last started a push-pull.
    pub(crate) last_resync: Option<Duration>,
    pub(crate) awareness: Awareness,
    pub(crate) suspects: BTreeSet<String>,
    pub(crate) tombstones: VecDeque<(Duration, String)>,
    /// Alive and suspect members, this one included.
    pub(crate) live: usize,
    pub(crate) member_updates: TransmitQueue<String>,
    pub(crate) user_updates: TransmitQueue<Vec<u8>>,
    pub(crate) transmits: VecDeque<Transmit<A>>,
    pub(crate) events: VecDeque<Event<A>>,
    pub(crate) next_probe: Duration,
    pub(crate) next_gossip: Duration,
    pub(crate) next_push_pull: Duration,
    pub(crate) next_reconnect: Duration,
    pub(crate) pending_push_pulls: Vec<(A, Duration)>,
    /// Comebacks held back by flap damping, with their release time.
    pub(crate) held: BTreeMap<String, (Duration, Alive<A>)>,
    /// Recently forgotten members: when, and their last incarnation.
    pub(crate) forgotten: HashMap<String, (Duration, u64)>,
    pub(crate) forgotten_order: VecDeque<(Duration, String)>,
    pub(crate) seeds: Vec<A>,
    pub(crate) leaving: bool,
    pub(crate) stats: Stats,
}

impl<A: Address> Swim<A> {
    /// A member named `name` listening at `addr`, with the default broadcast
    /// handler, alone in its cluster until it joins.
    pub fn new(
        name: impl Into<String>,
        addr: A,
        config: Config,
        rng: DefaultRng,
        now: Duration,
    ) -> Result<Self> {
        Self::with_handler(name, addr, config, rng, SeenBroadcasts::default(), now)
    }
}

impl<A: Address, B: BroadcastHandler, R: RngCore> Swim<A, B, R> {
    /// A member with an application broadcast handler and any generator.
    pub fn with_handler(
        name: impl Into<String>,
        addr: A,
        config: Config,
        rng: R,
        handler: B,
        now: Duration,
    ) -> Result<Self> {
        let name = name.into();
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(Error::NameLength(name.len()));
        }
        let envelope = Envelope::new(&config.label, config.max_stream_bytes.max(config.mtu))
            .with_compression(config.compression);
        #[cfg(feature = "encryption")]
        let envelope = envelope.with_keyring(config.keyring.clone());
        let me = Member {
            name: name.clone(),
            addr,
            incarnation: 0,
            state: State::Alive,
            meta: Vec::new(),
            state_changed: now,
        };
        let mut members = HashMap::new();
        members.insert(
            name.clone(),
            Entry {
                member: me,
                suspicion: None,
                recoveries: VecDeque::new(),
            },
        );
        Ok(Self {
            awareness: Awareness::new(config.awareness_max_multiplier),
            member_updates: TransmitQueue::new(config.max_push_pull_members.max(1024)),
            user_updates: TransmitQueue::new(config.max_queued_broadcasts),
            next_probe: now + config.probe_interval,
            next_gossip: now + config.gossip_interval,
            next_push_pull: now + config.push_pull_interval,
            next_reconnect: now + config.reconnect_interval,
            config,
            envelope,
            rng,
            handler,
            me: name,
            members,
            roster: Vec::new(),
            roster_index: HashMap::new(),
            probe_order: Vec::new(),
            probe_index: 0,
            probe: None,
            next_seq: 0,
            relays: BTreeMap::new(),
            checks: BTreeMap::new(),
            replies: None,
            last_resync: None,
            suspects: BTreeSet::new(),
            tombstones: VecDeque::new(),
            live: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            pending_push_pulls: Vec::new(),
            held: BTreeMap::new(),
            forgotten: HashMap::new(),
            forgotten_order: VecDeque::new(),
            seeds: Vec::new(),
            leaving: false,
            stats: Stats::default(),
        })
    }

    /// Starts at `incarnation` instead of 0 (a restarted member may pass a
    /// wall-clock value so it outranks its former self at once).
    pub fn with_incarnation(mut self, incarnation: u64) -> Self {
        self.me_mut().incarnation = incarnation;
        self
    }

    // ----- commands -----

    /// Joins through `seeds`: a push-pull with each. They are also retried
    /// periodically to heal partitions.
    pub fn join(&mut self, now: Duration, seeds: impl IntoIterator<Item = A>) {
        let me_addr = self.local_member().addr.clone();
        for seed in seeds {
            if seed == me_addr {
                continue;
            }
            if !self.seeds.contains(&seed) && self.seeds.len() < 64 {
                self.seeds.push(seed.clone());
            }
            self.start_push_pull(now, seed, true);
        }
    }

    /// Replaces the seeds retried for partition healing (at most 64), e.g.
    /// after the runtime resolved their host names again.
    pub fn set_seeds(&mut self, seeds: impl IntoIterator<Item = A>) {
        let me = self.local_member().addr.clone();
        let mut fresh: Vec<A> = Vec::new();
        for s in seeds {
            if s != me && !fresh.contains(&s) && fresh.len() < 64 {
                fresh.push(s);
            }
        }
        self.seeds = fresh;
    }

    /// Leaves gracefully: announces it and stops probing. Keep driving the
    /// core for a few gossip intervals so the news spreads, then drop it.
    pub fn leave(&mut self, now: Duration) {
        if self.leaving {
            return;
        }
        self.leaving = true;
        self.probe = None;
        let me = self.me_mut();
        me.state = State::Left;
        me.state_changed = now;
        let msg = Message::<A>::Leave(wire::Leave {
            name: me.name.clone(),
            incarnation: me.incarnation,
        });
        self.live -= 1;
        self.member_updates.push(self.me.clone(), msg.to_bytes());
        self.gossip(now);
    }

    /// Whether [`leave`](Self::leave) was called.
    pub fn has_left(&self) -> bool {
        self.leaving
    }

    /// Replaces this member's metadata and announces it (raising the incarnation).
    pub fn set_metadata(&mut self, now: Duration, meta: impl Into<Vec<u8>>) -> Result<()> {
        let meta = meta.into();
        let max = self.config.max_meta_len.min(wire::MAX_META_LEN);
        if meta.len() > max {
            return Err(Error::MetadataTooLarge {
                len: meta.len(),
                max,
            });
        }
        if self.leaving {
            return Err(Error::Left);
        }
        let me = self.me_mut();
        me.meta = meta;
        me.incarnation += 1;
        me.state_changed = now;
        self.announce_self();
        Ok(())
    }

    /// Spreads an application payload; a later broadcast with the same `key`
    /// replaces this one wherever it is still queued.
    pub fn broadcast(
        &mut self,
        key: impl Into<Vec<u8>>,
        payload: impl Into<Vec<u8>>,
    ) -> Result<()> {
        let key = key.into();
        let payload = payload.into();
        let msg = Message::<A>::User(UserBroadcast {
            key: key.clone(),
            payload,
        });
        let bytes = msg.to_bytes();
        let max = self.datagram_budget().saturating_sub(16);
        if bytes.len() > max || key.len() > MAX_KEY_LEN {
            return Err(Error::BroadcastTooLarge {
                len: bytes.len(),
                max,
            });
        }
        if let Message::User(u) = &msg {
            // Remember our own broadcast so its echoes are not re-delivered.
            self.handler.receive(&u.key, &u.payload);
        }
        self.user_updates.push(key, bytes);
        Ok(())
    }

    /// Sends `payload` to the live member `to` over a stream: delivered
    /// reliably (or reported failed by the runtime) and not limited to one
    /// datagram — only by [`Config::max_stream_bytes`].
    pub fn send_reliable(&mut self, to: &str, payload: impl Into<Vec<u8>>) -> Result<()> {
        let addr = match self.members.get(to) {
            Some(e) if !e.member.state.is_gone() && to != self.me => e.member.addr.clone(),
            _ => return Err(Error::UnknownMember(to.to_owned())),
        };
        let msg = Message::<A>::Direct(wire::Direct {
            from: self.me.clone(),
            payload: payload.into(),
        });
        let bytes = self
            .envelope
            .seal(&wire::encode_compound(&[msg]), &mut self.rng)?;
        self.stats.messages_sent += 1;
        self.push_transmit(Transmit {
            to: addr,
            kind: TransmitKind::Stream,
            bytes,
        });
        Ok(())
    }

    /// The keyring, to rotate keys at run time.
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub fn keyring_mut(&mut self) -> Option<&mut crate::wire::Keyring> {
        self.envelope.keyring_mut()
    }

    // ----- outputs -----

    /// The next datagram or stream message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<A>> {
        self.transmits.pop_front()
    }

    /// The next membership event.
    pub fn poll_event(&mut self) -> Option<Event<A>> {
        self.events.pop_front()
    }

    /// When [`handle_timer`](Self::handle_timer) next has work.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut t = [self.next_gossip, self.next_push_pull, self.next_reconnect]
            .into_iter()
            .min();
        let mut consider = |d: Duration| t = Some(t.map_or(d, |x| x.min(d)));
        if !self.leaving {
            consider(self.next_probe);
        }
        if let Some(p) = &self.probe {
            consider(p.end);
            if !p.indirect_sent {
                consider(p.indirect_at);
            }
        }
        for r in self.relays.values() {
            consider(r.deadline);
        }
        for c in self.checks.values() {
            consider(c.deadline);
        }
        for name in &self.suspects {
            if let Some(s) = self.members.get(name).and_then(|e| e.suspicion.as_ref()) {
                consider(s.deadline());
            }
        }
        if let Some(d) = self.next_tombstone_expiry() {
            consider(d);
        }
        if let Some(d) = self.next_release() {
            consider(d);
        }
        for (_, d) in &self.pending_push_pulls {
            consider(*d);
        }
        t
    }

    // ----- inputs -----

    /// Handles timers due at `now` (calling it early is harmless).
    pub fn handle_timer(&mut self, now: Duration) {
        // Checks first: one that ends now frees its member for the dead
        // check a new probe period may send.
        self.check_timers(now);
        self.probe_timers(now);
        self.relay_timers(now);
        self.suspicion_timers(now);
        self.damping_timers(now);
        if now >= self.next_gossip {
            self.gossip(now);
            self.next_gossip = now + self.config.gossip_interval;
        }
        if now >= self.next_push_pull {
            self.next_push_pull = now + self.push_pull_interval();
            if !self.leaving
                && !self.config.push_pull_interval.is_zero()
                && let Some(name) = self.random_members(1, |m| !m.state.is_gone()).pop()
            {
                let addr = self.members[&name].member.addr.clone();
                self.start_push_pull(now, addr, false);
            }
        }
        if now >= self.next_reconnect {
            self.next_reconnect = now + self.config.reconnect_interval;
            if !self.leaving {
                self.reconnect(now);
            }
        }
        self.reap_tombstones(now);
        self.expire_forgotten(now);
        self.pending_push_pulls.retain(|(_, d)| *d > now);
    }

    /// Handles one datagram from `from`. Errors say why it was dropped
    /// (already counted in [`stats`](Self::stats)); the state is unchanged then.
    pub fn handle_datagram(&mut self, now: Duration, from: A, bytes: &[u8]) -> Result<()> {
        let messages = self.open(bytes, MAX_DATAGRAM)?;
        self.replies = Some((from.clone(), Vec::new()));
        for m in messages {
            self.dispatch(now, &from, m);
        }
        if let Some((to, parts)) = self.replies.take() {
            self.send_replies(to, parts);
        }
        Ok(())
    }

    /// Handles one stream message from `from`: a push-pull request or a
    /// direct message (the returned bytes are the answer to send back), or
    /// the answer to one this member sent (returns `None`).
    pub fn handle_stream(
        &mut self,
        now: Duration,
        from: A,
        bytes: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let messages = self.open(bytes, self.envelope.max_payload())?;
        let mut reply = None;
        for m in messages {
            match m {
                Message::PushPull(pp) => {
                    if pp.members.len() > self.config.max_push_pull_members {
                        // More than we would ever send: refused whole, so a
                        // hostile table cannot flood ours.
                        self.stats.dropped_malformed += 1;
                        continue;
                    }
                    if pp.reply {
                        self.pending_push_pulls.retain(|(a, _)| a != &from);
                    }
                    // It is talking to us: no need to check on it, nor to
                    // start another exchange when its table shows it alive.
                    self.checks.remove(&pp.from);
                    self.merge_remote(now, &pp.from, pp.members);
                    if !pp.app_state.is_empty() {
                        self.handler.merge_remote_state(&pp.app_state, pp.join);
                    }
                    if !pp.reply && reply.is_none() {
                        reply = Some(self.push_pull_message(true, pp.join)?);
                    }
                }
                Message::Direct(d) => {
                    self.push_event(Event::Message {
                        from: d.from,
                        payload: d.payload,
                    });
                    if reply.is_none() {
                        // An empty compound acknowledges delivery.
                        reply = Some(
                            self.envelope
                                .seal(&wire::encode_compound::<A>(&[]), &mut self.rng)?,
                        );
                    }
                }
                other => self.dispatch(now, &from, other),
            }
        }
        Ok(reply)
    }

    /// Reports that a push-pull to `to` could not be completed.
    pub fn stream_failed(&mut self, _now: Duration, to: &A) {
        self.pending_push_pulls.retain(|(a, _)| a != to);
    }

    // ----- views -----

    /// This member's name.
    pub fn name(&self) -> &str {
        &self.me
    }

    /// This member as others see it.
    pub fn local_member(&self) -> &Member<A> {
        &self.members[&self.me].member
    }

    /// Every known member, this one and tombstones included.
    pub fn members(&self) -> impl Iterator<Item = &Member<A>> + '_ {
        self.members.values().map(|e| &e.member)
    }

    /// One member by name.
    pub fn member(&self, name: &str) -> Option<&Member<A>> {
        self.members.get(name).map(|e| &e.member)
    }

    /// Alive and suspect members, this one included.
    pub fn num_live(&self) -> usize {
        self.live
    }

    /// Lifeguard's local health score (0 is healthy).
    pub fn local_health(&self) -> u32 {
        self.awareness.score()
    }

    /// The open suspicion of `name`, if any.
    pub fn suspicion(&self, name: &str) -> Option<SuspicionInfo> {
        let s = self.members.get(name)?.suspicion.as_ref()?;
        Some(SuspicionInfo {
            confirmations: s.confirmations(),
            expected: s.k,
            deadline: s.deadline(),
        })
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Updates waiting to be piggybacked (membership, user).
    pub fn queued_updates(&self) -> (usize, usize) {
        (self.member_updates.len(), self.user_updates.len())
    }

    /// The broadcast handler.
    pub fn handler(&self) -> &B {
        &self.handler
    }

    /// The broadcast handler, mutably.
    pub fn handler_mut(&mut self) -> &mut B {
        &mut self.handler
    }

    // ----- internals shared by the submodules -----

    pub(crate) fn me_mut(&mut self) -> &mut Member<A> {
        let me = self.me.clone();
        &mut self
            .members
            .get_mut(&me)
            .expect("the local member is never removed")
            .member
    }

    pub(crate) fn announce_self(&mut self) {
        let me = self.local_member();
        let msg = Message::Alive(Alive {
            name: me.name.clone(),
            addr: me.addr.clone(),
            incarnation: me.incarnation,
            meta: me.meta.clone(),
        });
        self.member_updates.push(self.me.clone(), msg.to_bytes());
    }

    pub(crate) fn push_event(&mut self, e: Event<A>) {
        if self.events.len() >= self.config.max_queued_events {
            self.events.pop_front();
            self.stats.dropped_events += 1;
        }
        self.events.push_back(e);
    }

    pub(crate) fn push_transmit(&mut self, t: Transmit<A>) {
        if self.transmits.len() >= MAX_TRANSMITS {
            self.transmits.pop_front();
        }
        self.stats.bytes_sent += t.bytes.len() as u64;
        self.transmits.push_back(t);
    }

    fn open(&mut self, bytes: &[u8], max_plain: usize) -> Result<Vec<Message<A>>> {
        self.stats.bytes_received += bytes.len() as u64;
        let result = self
            .envelope
            .open_limited(bytes, max_plain)
            .and_then(|plain| Ok(wire::decode_compound::<A>(&plain)?));
        match &result {
            Ok(m) => self.stats.messages_received += m.len() as u64,
            Err(Error::LabelMismatch) => self.stats.dropped_label += 1,
            Err(Error::Frame(murmura_core::frame::FrameError::UnsupportedVersion { .. })) => {
                self.stats.dropped_version += 1;
                self.stats.dropped_malformed += 1;
            }
            Err(Error::Unencrypted | Error::NoKeyring | Error::NoMatchingKey) => {
                self.stats.dropped_crypto += 1
            }
            Err(_) => self.stats.dropped_malformed += 1,
        }
        result
    }
}

impl<A: Address, B: BroadcastHandler, R: RngCore> std::fmt::Debug for Swim<A, B, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Swim")
            .field("name", &self.me)
            .field("members", &self.members.len())
            .field("live", &self.live)
            .field("health", &self.awareness.score())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests_dissemination;

#[cfg(test)]
mod tests_checks;

#[cfg(test)]
mod tests_probe;

//! The tokio driver: a store member over a gossip member.
//!
//! One task owns the sans-IO [`Store`] and `select!`s over client commands,
//! the gossip member's events (store messages, membership changes) and the
//! store's next deadline. Store batches travel as the gossip member's
//! reliable messages, so they are sealed by its keyring when it has one.
//! The placement is rebuilt from gossip membership: members that join are
//! added, members that leave are removed (a batch of changes within
//! [`NodeOptions::rebalance_delay`] makes one new placement); a failed
//! member stays placed and is marked down, so its writes go to stand-ins
//! as hints until it recovers.

use crate::persist::{FileJournal, FsyncPolicy, TornTail};
use crate::store::{Event as StoreEvent, Stats, Store};
use crate::{Config, Consistency, Error, Op, RequestId, Result, Value};
use murmura_gossip::runtime::Gossip;
use murmura_gossip::{Event, State};
use murmura_hash::{NodeSpec, Ring, RingConfig};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc, oneshot};

/// How to start a store member.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NodeOptions {
    /// The store's settings.
    pub store: Config,
    /// The actor id this run writes as; `None` draws a random one (right
    /// for a member without persistent data: a restarted member must not
    /// reuse its old dots).
    pub actor: Option<u64>,
    /// Seed of the store's randomness; `None` seeds from the OS.
    pub seed: Option<u64>,
    /// How long membership changes are gathered before one new placement.
    pub rebalance_delay: Duration,
    /// Virtual nodes and the like for the placement ring.
    pub ring: RingConfig,
    /// Directory of this member's journal (log and snapshots); `None`
    /// keeps data in memory only. A member restarted with the same
    /// directory recovers what it held.
    pub data_dir: Option<std::path::PathBuf>,
    /// When the journal is forced to disk (see [`crate::persist`]).
    pub fsync: FsyncPolicy,
    /// Log size after which a snapshot replaces it.
    pub snapshot_after_bytes: u64,
}

impl Default for NodeOptions {
    fn default() -> Self {
        Self {
            store: Config::default(),
            actor: None,
            seed: None,
            rebalance_delay: Duration::from_millis(200),
            ring: RingConfig::default(),
            data_dir: None,
            fsync: FsyncPolicy::Batched(Duration::from_millis(10)),
            snapshot_after_bytes: 64 << 20,
        }
    }
}

/// A snapshot of a member's store, for dashboards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The member's name.
    pub name: String,
    /// Keys held.
    pub keys: usize,
    /// Hinted keys held for absent replicas.
    pub hints: usize,
    /// Keys waiting for their new owners to confirm them.
    pub leaving: usize,
    /// Members in the placement.
    pub placed: Vec<String>,
    /// Members marked down.
    pub down: Vec<String>,
    /// Breakers that are not closed, by peer.
    pub breakers: Vec<(String, murmura_breaker::State)>,
    /// The store's counters.
    pub stats: Stats,
    /// Gossip events this driver missed because it lagged.
    pub events_missed: u64,
    /// Store batches the gossip member could not send.
    pub send_failures: u64,
    /// Journal records recovered at start.
    pub recovered: usize,
    /// The journal's bad tail found at start (dropped, never applied).
    pub torn: Option<TornTail>,
}

enum Command {
    Update(Vec<u8>, Op, Consistency, oneshot::Sender<Result<()>>),
    Get(Vec<u8>, Consistency, oneshot::Sender<Result<Value>>),
    Local(Vec<u8>, oneshot::Sender<Option<Value>>),
    Keys(oneshot::Sender<Vec<Vec<u8>>>),
    Replicas(Vec<u8>, oneshot::Sender<Result<Vec<String>>>),
    Status(oneshot::Sender<Status>),
    Stop,
}

/// A running store member: a cheap handle to its driver task.
#[derive(Debug, Clone)]
pub struct Node {
    commands: mpsc::Sender<Command>,
    name: String,
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

fn placement(names: &BTreeSet<String>, ring: &RingConfig) -> Result<Arc<Ring<String>>> {
    Ring::new(names.iter().map(|n| NodeSpec::new(n.clone())), *ring)
        .map(Arc::new)
        .map_err(|_| Error::NoMembers)
}

impl Node {
    /// Starts a store member on `gossip` (already started and, for a
    /// member that is not the first, joined). `name` is the gossip
    /// member's name.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid settings; [`Error::NoMembers`] if the
    /// gossip member cannot be asked for its members; [`Error::Storage`]
    /// if the data directory cannot be opened.
    pub async fn start(name: String, gossip: Gossip, options: NodeOptions) -> Result<Self> {
        let events = gossip.subscribe();
        let members = gossip.members().await.map_err(|_| Error::NoMembers)?;
        let mut placed: BTreeSet<String> = members
            .iter()
            .filter(|m| !matches!(m.state, State::Left))
            .map(|m| m.name.clone())
            .collect();
        placed.insert(name.clone());
        let actor = options.actor.unwrap_or_else(rand_u64);
        let seed = options.seed.unwrap_or_else(rand_u64);
        let mut store = Store::new(
            name.clone(),
            actor,
            options.store.clone(),
            placement(&placed, &options.ring)?,
            seed,
        )?;
        let mut torn = None;
        let mut recovered_keys = 0;
        if let Some(dir) = &options.data_dir {
            let (journal, recovered) =
                FileJournal::open(dir, options.fsync, options.snapshot_after_bytes)
                    .map_err(|e| Error::Storage(e.to_string()))?;
            store = store.with_journal(Box::new(journal));
            recovered_keys = store.recover(&recovered);
            torn = recovered.torn;
        }
        for m in members.iter().filter(|m| m.state == State::Dead) {
            store.peer_down(now(), &m.name);
        }
        let (commands, rx) = mpsc::channel(1024);
        let driver = Driver {
            store,
            gossip,
            events,
            commands: rx,
            placed,
            options,
            rebuild_at: None,
            updates: HashMap::new(),
            reads: HashMap::new(),
            events_missed: 0,
            torn,
            recovered_keys,
            send_failures: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        };
        tokio::spawn(driver.run());
        Ok(Self { commands, name })
    }

    /// This member's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Applies `op` to `key`; returns once `consistency` many replicas hold it.
    ///
    /// # Errors
    /// As [`Store::update`], and the failures [`crate::Event::Written`] reports.
    pub async fn update(
        &self,
        key: impl Into<Vec<u8>>,
        op: Op,
        consistency: Consistency,
    ) -> Result<()> {
        let key = key.into();
        self.ask(|tx| Command::Update(key, op, consistency, tx))
            .await?
    }

    /// Reads `key` from `consistency` many replicas, merged.
    ///
    /// # Errors
    /// As [`Store::get`], and the failures [`crate::Event::Read`] reports.
    pub async fn get(&self, key: impl Into<Vec<u8>>, consistency: Consistency) -> Result<Value> {
        let key = key.into();
        self.ask(|tx| Command::Get(key, consistency, tx)).await?
    }

    /// This member's own copy of `key`, without asking anyone.
    ///
    /// # Errors
    /// [`Error::Stopped`] after [`stop`](Self::stop).
    pub async fn local(&self, key: impl Into<Vec<u8>>) -> Result<Option<Value>> {
        let key = key.into();
        self.ask(|tx| Command::Local(key, tx)).await
    }

    /// The keys this member holds.
    ///
    /// # Errors
    /// [`Error::Stopped`] after [`stop`](Self::stop).
    pub async fn keys(&self) -> Result<Vec<Vec<u8>>> {
        self.ask(Command::Keys).await
    }

    /// The members that hold `key` under this member's placement.
    ///
    /// # Errors
    /// [`Error::NoMembers`], or [`Error::Stopped`] after [`stop`](Self::stop).
    pub async fn replicas_of(&self, key: impl Into<Vec<u8>>) -> Result<Vec<String>> {
        let key = key.into();
        self.ask(|tx| Command::Replicas(key, tx)).await?
    }

    /// A snapshot of the store's state and counters.
    ///
    /// # Errors
    /// [`Error::Stopped`] after [`stop`](Self::stop).
    pub async fn status(&self) -> Result<Status> {
        self.ask(Command::Status).await
    }

    /// Stops the driver (the gossip member is left running).
    pub async fn stop(&self) {
        let _ = self.commands.send(Command::Stop).await;
    }
}

fn rand_u64() -> u64 {
    use murmura_core::rng::RngCore;
    murmura_core::rng::from_entropy().next_u64()
}

struct Driver {
    store: Store<Value, Ring<String>>,
    gossip: Gossip,
    events: broadcast::Receiver<Event<std::net::SocketAddr>>,
    commands: mpsc::Receiver<Command>,
    placed: BTreeSet<String>,
    options: NodeOptions,
    rebuild_at: Option<tokio::time::Instant>,
    updates: HashMap<RequestId, oneshot::Sender<Result<()>>>,
    reads: HashMap<RequestId, oneshot::Sender<Result<Value>>>,
    events_missed: u64,
    torn: Option<TornTail>,
    recovered_keys: usize,
    send_failures: Arc<std::sync::atomic::AtomicU64>,
}

impl Driver {
    async fn run(mut self) {
        loop {
            let deadline = self
                .store
                .poll_timeout()
                .unwrap_or(now() + Duration::from_secs(1));
            let sleep = deadline.saturating_sub(now());
            let rebuild = self.rebuild_at;
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    None | Some(Command::Stop) => return,
                    Some(cmd) => self.command(cmd),
                },
                event = self.events.recv() => match event {
                    Ok(event) => self.gossip_event(event),
                    Err(broadcast::error::RecvError::Lagged(n)) => self.events_missed += n,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = tokio::time::sleep(sleep) => self.store.handle_timer(now()),
                () = async { tokio::time::sleep_until(rebuild.unwrap_or_else(tokio::time::Instant::now)).await }, if rebuild.is_some() => {
                    self.rebuild_at = None;
                    self.rebuild().await;
                }
            }
            self.flush();
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Update(key, op, consistency, tx) => {
                match self.store.update(now(), key, op, consistency) {
                    Ok(id) => {
                        self.updates.insert(id, tx);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            }
            Command::Get(key, consistency, tx) => match self.store.get(now(), key, consistency) {
                Ok(id) => {
                    self.reads.insert(id, tx);
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            },
            Command::Local(key, tx) => {
                let _ = tx.send(self.store.local(&key).cloned());
            }
            Command::Keys(tx) => {
                let _ = tx.send(self.store.keys().map(<[u8]>::to_vec).collect());
            }
            Command::Replicas(key, tx) => {
                let _ = tx.send(self.store.replicas_of(&key));
            }
            Command::Status(tx) => {
                let placed = self.placed.iter().cloned().collect();
                let breakers = self
                    .placed
                    .iter()
                    .filter(|p| **p != self.store.name())
                    .map(|p| (p.clone(), self.store.breaker(p).state()))
                    .filter(|(_, s)| *s != murmura_breaker::State::Closed)
                    .collect();
                let _ = tx.send(Status {
                    name: self.store.name().to_owned(),
                    keys: self.store.len(),
                    hints: self.store.hints_held(),
                    leaving: self.store.keys_leaving(),
                    placed,
                    down: self.store.down_peers().map(str::to_owned).collect(),
                    breakers,
                    stats: self.store.stats().clone(),
                    events_missed: self.events_missed,
                    send_failures: self
                        .send_failures
                        .load(std::sync::atomic::Ordering::Relaxed),
                    recovered: self.recovered_keys,
                    torn: self.torn.clone(),
                });
            }
            Command::Stop => {}
        }
    }

    fn gossip_event(&mut self, event: Event<std::net::SocketAddr>) {
        match event {
            Event::Message { from, payload } => {
                // Bad batches are counted by the store and dropped whole.
                let _ = self.store.handle_message(now(), &from, &payload);
            }
            Event::Joined(m) => {
                self.store.peer_up(now(), &m.name);
                if !self.placed.contains(&m.name) {
                    self.schedule_rebuild();
                }
            }
            Event::Recovered(m) => self.store.peer_up(now(), &m.name),
            Event::Failed(m) => self.store.peer_down(now(), &m.name),
            Event::Left(m) => {
                self.store.peer_down(now(), &m.name);
                self.schedule_rebuild();
            }
            _ => {}
        }
    }

    fn schedule_rebuild(&mut self) {
        if self.rebuild_at.is_none() {
            self.rebuild_at = Some(tokio::time::Instant::now() + self.options.rebalance_delay);
        }
    }

    /// One new placement from the current membership.
    async fn rebuild(&mut self) {
        let Ok(members) = self.gossip.members().await else {
            return;
        };
        let mut placed: BTreeSet<String> = members
            .iter()
            .filter(|m| m.state != State::Left)
            .map(|m| m.name.clone())
            .collect();
        placed.insert(self.store.name().to_owned());
        if placed == self.placed {
            return;
        }
        if let Ok(p) = placement(&placed, &self.options.ring) {
            self.placed = placed;
            self.store.set_placement(now(), p);
        }
    }

    /// Hands store output to the gossip member and replies to clients.
    fn flush(&mut self) {
        while let Some(t) = self.store.poll_transmit() {
            let gossip = self.gossip.clone();
            let failures = self.send_failures.clone();
            tokio::spawn(async move {
                if gossip.send_reliable(&t.to, t.bytes).await.is_err() {
                    failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
        while let Some(event) = self.store.poll_event() {
            match event {
                StoreEvent::Written { id, result } => {
                    if let Some(tx) = self.updates.remove(&id) {
                        let _ = tx.send(result);
                    }
                }
                StoreEvent::Read { id, result } => {
                    if let Some(tx) = self.reads.remove(&id) {
                        let _ = tx.send(result);
                    }
                }
            }
        }
    }
}

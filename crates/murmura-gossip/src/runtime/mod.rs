//! The tokio runtime: a thin driver around [`Swim`](crate::Swim).
//!
//! One task owns the core and `select!`s over the UDP socket (probes and
//! gossip), the TCP listener (push-pull), finished push-pull exchanges, the
//! command channel and the core's next deadline. It holds no protocol logic.
//!
//! ```no_run
//! # async fn demo() -> murmura_gossip::Result<()> {
//! use murmura_gossip::runtime::{Gossip, Options};
//! use murmura_gossip::Config;
//!
//! let node = Gossip::start(Options::new("node-1", "127.0.0.1:7946".parse().unwrap(), Config::lan())).await?;
//! node.join(["seed.example:7946"]).await?;
//! node.set_metadata(b"zone=a".to_vec()).await?;
//! let mut events = node.subscribe();
//! node.broadcast("config", b"v2".to_vec()).await?;
//! for m in node.members().await? {
//!     println!("{} {:?} {:?}", m.name, m.state, m.addr);
//! }
//! # let _ = events.recv().await;
//! node.leave().await?;
//! # Ok(()) }
//! ```

mod driver;
mod stream;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::Config;
use crate::core::{Event, Stats, SuspicionInfo};
use crate::error::{Error, Result};
use crate::member::Member;

/// How to start a member.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Unique member name.
    pub name: String,
    /// UDP and TCP listen address (the same port for both).
    pub bind: SocketAddr,
    /// Address announced to others; defaults to the bound address.
    pub advertise: Option<SocketAddr>,
    /// Protocol configuration.
    pub config: Config,
    /// Seed for the core's generator; `None` seeds from the OS.
    pub rng_seed: Option<u64>,
    /// Initial incarnation (a restarted member may use a clock reading).
    pub incarnation: u64,
    /// How long a push-pull connection may take end to end.
    pub stream_timeout: Duration,
    /// Inbound connections (push-pull and reliable messages; each peer keeps
    /// one open while it talks to us) served at once; more are refused.
    pub max_inbound_streams: usize,
    /// Events buffered per subscriber; a slower subscriber skips events.
    pub event_buffer: usize,
    /// How often seed host names given to [`Gossip::join`] are resolved
    /// again, so healing follows DNS changes.
    pub reresolve_interval: Duration,
}

impl Options {
    /// Defaults for `name` listening on `bind`.
    pub fn new(name: impl Into<String>, bind: SocketAddr, config: Config) -> Self {
        Self {
            name: name.into(),
            bind,
            advertise: None,
            stream_timeout: config.push_pull_timeout,
            config,
            rng_seed: None,
            incarnation: 0,
            max_inbound_streams: 256,
            event_buffer: 1024,
            reresolve_interval: Duration::from_secs(60),
        }
    }
}

/// Counters of the core and of the runtime's own I/O.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeStats {
    /// The core's counters (messages, bytes, probes, suspicions, refutations, drops).
    pub core: Stats,
    /// Datagrams the socket failed to send.
    pub send_errors: u64,
    /// Push-pull exchanges that failed (connect, I/O or timeout).
    pub stream_failures: u64,
    /// Inbound push-pull connections refused for lack of capacity or bad frames.
    pub streams_refused: u64,
}

/// Resolves `host:port` names to addresses of the local address's family.
async fn resolve(names: &[String], local: SocketAddr) -> Result<Vec<SocketAddr>> {
    let mut addrs = Vec::new();
    for name in names {
        let resolved = tokio::net::lookup_host(name.as_str()).await?;
        addrs.extend(resolved.filter(|a| a.is_ipv4() == local.is_ipv4()));
    }
    Ok(addrs)
}

/// A change to a running member's keyring.
#[cfg(feature = "encryption")]
#[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
#[derive(Debug, Clone)]
pub enum KeyringChange {
    /// Accept this key for incoming messages.
    Add([u8; 32]),
    /// Seal outgoing messages with this key (added if needed).
    Use([u8; 32]),
    /// Stop accepting this key (not the primary).
    Remove([u8; 32]),
}

pub(crate) enum Command {
    Join(Vec<SocketAddr>, oneshot::Sender<Result<usize>>),
    SetSeeds(Vec<SocketAddr>),
    Leave(oneshot::Sender<()>),
    SetMetadata(Vec<u8>, oneshot::Sender<Result<()>>),
    Broadcast(Vec<u8>, Vec<u8>, oneshot::Sender<Result<()>>),
    SendReliable(String, Vec<u8>, oneshot::Sender<Result<()>>),
    Members(oneshot::Sender<Vec<Member<SocketAddr>>>),
    Stats(oneshot::Sender<RuntimeStats>),
    Health(oneshot::Sender<u32>),
    Suspicions(oneshot::Sender<Vec<(String, SuspicionInfo)>>),
    #[cfg(feature = "encryption")]
    Keyring(KeyringChange, oneshot::Sender<Result<()>>),
    Stop,
}

/// A handle to a running member. Cheap to clone; the member runs until
/// [`leave`](Self::leave) or [`stop`](Self::stop), or until every handle is dropped.
///
/// Two members on the loopback interface:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> murmura_gossip::Result<()> {
/// use murmura_gossip::runtime::{Gossip, Options};
/// use murmura_gossip::{Config, State};
///
/// let bind = "127.0.0.1:0".parse().unwrap();
/// let a = Gossip::start(Options::new("a", bind, Config::local())).await?;
/// let b = Gossip::start(Options::new("b", bind, Config::local())).await?;
/// // `join` returns once the seeds answered (their push-pull is merged).
/// assert_eq!(b.join([a.local_addr().to_string()]).await?, 1);
/// let seen = b.members().await?;
/// assert!(seen.iter().any(|m| m.name == "a" && m.state == State::Alive));
/// assert!(a.members().await?.iter().any(|m| m.name == "b"));
/// b.leave().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Gossip {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event<SocketAddr>>,
    local: SocketAddr,
    reresolve: Duration,
}

impl Gossip {
    /// Binds the sockets and starts the member's task on the current runtime.
    pub async fn start(options: Options) -> Result<Self> {
        let reresolve = options.reresolve_interval;
        let (commands, events, local) = driver::spawn(options).await?;
        Ok(Self {
            commands,
            events,
            local,
            reresolve,
        })
    }

    /// The address others reach this member at.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| Error::Shutdown)?;
        rx.await.map_err(|_| Error::Shutdown)
    }

    /// Joins through seeds given as `host:port` (host names are resolved
    /// here): a push-pull with each. Returns how many seeds answered, or
    /// [`Error::JoinFailed`] if none did within the stream timeout. Seeds are
    /// also retried later to heal partitions.
    pub async fn join<S: AsRef<str>>(&self, seeds: impl IntoIterator<Item = S>) -> Result<usize> {
        let names: Vec<String> = seeds.into_iter().map(|s| s.as_ref().to_owned()).collect();
        let addrs = resolve(&names, self.local).await?;
        if names.iter().any(|n| n.parse::<SocketAddr>().is_err()) {
            // Host names: resolve them again now and then, while the member runs.
            // A weak sender, so this task never keeps the member alive.
            let commands = self.commands.downgrade();
            let (local, every) = (self.local, self.reresolve.max(Duration::from_secs(1)));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Ok(addrs) = resolve(&names, local).await else {
                        continue;
                    };
                    let Some(commands) = commands.upgrade() else {
                        return;
                    };
                    if commands.send(Command::SetSeeds(addrs)).await.is_err() {
                        return;
                    }
                }
            });
        }
        self.join_addrs(addrs).await
    }

    /// Joins through seeds given as socket addresses (see [`join`](Self::join)).
    pub async fn join_addrs(&self, seeds: impl IntoIterator<Item = SocketAddr>) -> Result<usize> {
        let addrs = seeds.into_iter().collect();
        self.ask(|tx| Command::Join(addrs, tx)).await?
    }

    /// Leaves gracefully: announces it, gossips a little longer, then stops.
    pub async fn leave(&self) -> Result<()> {
        self.ask(Command::Leave).await
    }

    /// Stops at once without telling anyone (others will detect a failure).
    pub async fn stop(&self) {
        let _ = self.commands.send(Command::Stop).await;
    }

    /// Replaces this member's metadata.
    pub async fn set_metadata(&self, meta: Vec<u8>) -> Result<()> {
        self.ask(|tx| Command::SetMetadata(meta, tx)).await?
    }

    /// Spreads an application payload under an invalidation key.
    pub async fn broadcast(&self, key: impl Into<Vec<u8>>, payload: Vec<u8>) -> Result<()> {
        let key = key.into();
        self.ask(|tx| Command::Broadcast(key, payload, tx)).await?
    }

    /// Sends `payload` to the live member named `to` over TCP (it arrives as
    /// [`Event::Message`]); for messages too large for gossip.
    pub async fn send_reliable(&self, to: &str, payload: Vec<u8>) -> Result<()> {
        let to = to.to_owned();
        self.ask(|tx| Command::SendReliable(to, payload, tx))
            .await?
    }

    /// A snapshot of every known member (tombstones included).
    pub async fn members(&self) -> Result<Vec<Member<SocketAddr>>> {
        self.ask(Command::Members).await
    }

    /// Counters.
    pub async fn stats(&self) -> Result<RuntimeStats> {
        self.ask(Command::Stats).await
    }

    /// Lifeguard's local health score (0 is healthy).
    pub async fn local_health(&self) -> Result<u32> {
        self.ask(Command::Health).await
    }

    /// Lifeguard figures of every open suspicion.
    pub async fn suspicions(&self) -> Result<Vec<(String, SuspicionInfo)>> {
        self.ask(Command::Suspicions).await
    }

    /// Changes the keyring at run time (key rotation without downtime: add
    /// the new key everywhere, make it primary everywhere, remove the old).
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub async fn change_keyring(&self, change: KeyringChange) -> Result<()> {
        self.ask(|tx| Command::Keyring(change, tx)).await?
    }

    /// Membership events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event<SocketAddr>> {
        self.events.subscribe()
    }
}

//! Tuning knobs and presets.

use std::time::Duration;

#[cfg(feature = "encryption")]
use crate::wire::Keyring;

/// Rapid-style stable removal and flap damping (both off by default).
///
/// ```
/// use std::time::Duration;
/// use murmura_gossip::{Config, Stability};
///
/// let mut config = Config::lan();
/// assert_eq!(config.stability, Stability::default());
/// // Dead only once two members accused it independently.
/// config.stability.min_accusations = Some(2);
/// // A third comeback within 5 minutes waits a minute.
/// config.stability.flap_threshold = Some(2);
/// config.stability.flap_window = Duration::from_secs(300);
/// config.stability.flap_hold = Duration::from_secs(60);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stability {
    /// Declare a suspect dead only once at least this many distinct members
    /// accused it (`None`: Lifeguard's timeout alone decides).
    pub min_accusations: Option<u32>,
    /// Flap damping: once a member came back (dead or left, then alive
    /// again) this many times within `flap_window`, its next comeback is not
    /// accepted at once. It stays dead or left here — not probed, not counted
    /// live, no event — for `flap_hold`; then the newest news of it is
    /// admitted, unless it was declared gone again meanwhile. `None`: off.
    pub flap_threshold: Option<u32>,
    /// Window over which comebacks are counted.
    pub flap_window: Duration,
    /// How long a damped comeback is held back. Repeated or newer news of
    /// it does not postpone the release (the newest is admitted); a new
    /// failure meanwhile cancels it. If the tombstone is forgotten during
    /// the hold, the member is still released on time (as `Joined`).
    pub flap_hold: Duration,
}

impl Default for Stability {
    fn default() -> Self {
        Self {
            min_accusations: None,
            flap_threshold: None,
            flap_window: Duration::from_secs(60),
            flap_hold: Duration::from_secs(30),
        }
    }
}

/// Configuration of a member. Start from [`Config::lan`], [`Config::wan`] or
/// [`Config::local`] (memberlist's well-known presets) and adjust.
///
/// ```
/// use murmura_gossip::Config;
/// let c = Config::lan().with_label("prod");
/// assert_eq!(c.probe_interval.as_secs(), 1);
/// assert_eq!(c.mtu, 1400);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Time between probes of successive members.
    pub probe_interval: Duration,
    /// How long to wait for a direct ack before asking helpers.
    pub probe_timeout: Duration,
    /// Helpers asked to probe indirectly (`k`).
    pub indirect_checks: usize,
    /// Suspicion timeout multiplier (Lifeguard's `α`, memberlist's SuspicionMult).
    pub suspicion_mult: u32,
    /// Upper bound of the suspicion timeout as a multiple of the lower bound.
    pub suspicion_max_timeout_mult: u32,
    /// Cap of the local health multiplier.
    pub awareness_max_multiplier: u32,
    /// Each update is sent `retransmit_mult · ⌈log10(n+1)⌉` times.
    pub retransmit_mult: u32,
    /// Time between gossip rounds.
    pub gossip_interval: Duration,
    /// Members gossiped to per round.
    pub gossip_nodes: usize,
    /// Dead members keep receiving gossip this long, so a falsely accused
    /// member hears of it and refutes.
    pub gossip_to_the_dead_time: Duration,
    /// Dead members checked per probe period across the whole cluster,
    /// about: each member, once per probe period, sends one dead member it
    /// remembers a ping carrying the verdict with probability
    /// `min(1, dead_checks / live members)`. A live one refutes at once, so
    /// a member that was cut off (deaf, partitioned) is back within a probe
    /// period or two of being reachable, whatever the reconnect tick (a
    /// partition heals without waiting for it). 0: never (healing then
    /// waits for `reconnect_interval`). Not a memberlist setting.
    pub dead_checks: u32,
    /// Time between periodic push-pull exchanges (zero: never).
    pub push_pull_interval: Duration,
    /// A push-pull with no answer after this long is abandoned.
    pub push_pull_timeout: Duration,
    /// Push-pull exchanges this member starts at once, at most.
    pub max_concurrent_push_pull: usize,
    /// Time between attempts to reach a dead member or a seed (partition healing).
    pub reconnect_interval: Duration,
    /// How long a dead member is remembered (and retried for healing).
    pub dead_retention: Duration,
    /// How long a member that left is remembered.
    pub left_retention: Duration,
    /// Most tombstones kept; the oldest go first.
    pub max_tombstones: usize,
    /// Largest datagram sent.
    pub mtu: usize,
    /// Largest stream message sent or accepted.
    pub max_stream_bytes: usize,
    /// Largest metadata accepted from the application.
    pub max_meta_len: usize,
    /// User broadcasts waiting to be sent, at most.
    pub max_queued_broadcasts: usize,
    /// Events waiting to be polled, at most (the oldest are dropped).
    pub max_queued_events: usize,
    /// Members listed in one push-pull, at most, sent or accepted (a larger
    /// one is refused whole and counted as malformed).
    pub max_push_pull_members: usize,
    /// Cluster label; members with another label are ignored.
    pub label: Vec<u8>,
    /// Keys for authenticated encryption; `None` sends plain text.
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub keyring: Option<Keyring>,
    /// Compress payloads when it helps (needs the `compression` feature).
    pub compression: bool,
    /// Optional stable removal and flap damping.
    pub stability: Stability,
}

impl Config {
    /// memberlist's `DefaultLANConfig` (its `TCPTimeout` is
    /// `push_pull_timeout`). `reconnect_interval`, retention times, limits
    /// and `mtu` are this crate's own: memberlist has no direct equivalents
    /// (its `UDPBufferSize` is 1,400 too).
    pub fn lan() -> Self {
        Self {
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(500),
            indirect_checks: 3,
            suspicion_mult: 4,
            suspicion_max_timeout_mult: 6,
            awareness_max_multiplier: 8,
            retransmit_mult: 4,
            gossip_interval: Duration::from_millis(200),
            gossip_nodes: 3,
            gossip_to_the_dead_time: Duration::from_secs(30),
            dead_checks: 32,
            push_pull_interval: Duration::from_secs(30),
            push_pull_timeout: Duration::from_secs(10),
            max_concurrent_push_pull: 4,
            reconnect_interval: Duration::from_secs(30),
            dead_retention: Duration::from_secs(3600),
            left_retention: Duration::from_secs(300),
            max_tombstones: 4096,
            mtu: 1400,
            max_stream_bytes: 16 * 1024 * 1024,
            max_meta_len: 512,
            max_queued_broadcasts: 1024,
            max_queued_events: 65_536,
            max_push_pull_members: 100_000,
            label: Vec::new(),
            #[cfg(feature = "encryption")]
            keyring: None,
            compression: false,
            stability: Stability::default(),
        }
    }

    /// memberlist's `DefaultWANConfig`.
    pub fn wan() -> Self {
        Self {
            probe_interval: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(3),
            suspicion_mult: 6,
            gossip_interval: Duration::from_millis(500),
            gossip_nodes: 4,
            gossip_to_the_dead_time: Duration::from_secs(60),
            push_pull_interval: Duration::from_secs(60),
            push_pull_timeout: Duration::from_secs(30),
            reconnect_interval: Duration::from_secs(60),
            ..Self::lan()
        }
    }

    /// memberlist's `DefaultLocalConfig`: fast timers for one host or tests.
    pub fn local() -> Self {
        Self {
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(200),
            indirect_checks: 1,
            suspicion_mult: 3,
            retransmit_mult: 2,
            gossip_interval: Duration::from_millis(100),
            gossip_to_the_dead_time: Duration::from_secs(15),
            push_pull_interval: Duration::from_secs(15),
            push_pull_timeout: Duration::from_secs(1),
            reconnect_interval: Duration::from_secs(5),
            dead_retention: Duration::from_secs(60),
            left_retention: Duration::from_secs(30),
            ..Self::lan()
        }
    }

    /// Sets the cluster label.
    pub fn with_label(mut self, label: impl AsRef<[u8]>) -> Self {
        self.label = label.as_ref().to_vec();
        self
    }

    /// Sets the keyring (encryption on).
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// Turns compression on or off.
    pub fn with_compression(mut self, on: bool) -> Self {
        self.compression = on;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::lan()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// memberlist's `DefaultLANConfig`, `DefaultWANConfig` and
    /// `DefaultLocalConfig` (config.go), field by field.
    #[test]
    fn presets_match_memberlist() {
        type Row = (
            Duration,
            Duration,
            usize,
            u32,
            u32,
            u32,
            u32,
            Duration,
            usize,
        );
        let row = |c: &Config| -> (Row, Duration, Duration, Duration) {
            (
                (
                    c.probe_interval,
                    c.probe_timeout,
                    c.indirect_checks,
                    c.suspicion_mult,
                    c.suspicion_max_timeout_mult,
                    c.awareness_max_multiplier,
                    c.retransmit_mult,
                    c.gossip_interval,
                    c.gossip_nodes,
                ),
                c.gossip_to_the_dead_time,
                c.push_pull_interval,
                c.push_pull_timeout,
            )
        };
        let s = Duration::from_secs;
        assert_eq!(
            row(&Config::lan()),
            (
                (s(1), ms(500), 3, 4, 6, 8, 4, ms(200), 3),
                s(30),
                s(30),
                s(10)
            )
        );
        assert_eq!(
            row(&Config::wan()),
            ((s(5), s(3), 3, 6, 6, 8, 4, ms(500), 4), s(60), s(60), s(30))
        );
        assert_eq!(
            row(&Config::local()),
            (
                (s(1), ms(200), 1, 3, 6, 8, 2, ms(100), 3),
                s(15),
                s(15),
                s(1)
            )
        );
        assert_eq!(Config::default().mtu, 1400);
    }
}

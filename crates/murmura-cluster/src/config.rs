//! How a store replicates: N, W, R, timeouts and bounds.

use crate::{Error, Result};
use std::time::Duration;

/// Store settings. Start from [`Config::default`] (N = 3, W = 2, R = 1)
/// and check with [`Config::validate`] (the store does on creation).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Replicas per key (N).
    pub replicas: usize,
    /// Acknowledgements a write waits for by default (W), the coordinator
    /// included when it is a replica.
    pub write_quorum: usize,
    /// Replies a read merges by default (R).
    pub read_quorum: usize,
    /// How long a request waits for a replica before it is counted as a
    /// failure of that replica (and, with hinted handoff, retried on a
    /// stand-in).
    pub request_timeout: Duration,
    /// When a replica cannot be reached, write to the next member in the
    /// key's probe order instead, which holds the write as a hint and
    /// hands it over when the replica is back (sloppy quorum, as in
    /// Dynamo). Off: such writes fail with [`Error::Unavailable`].
    pub hinted_handoff: bool,
    /// Place a key's replicas in distinct zones when members carry zones.
    pub zone_aware: bool,
    /// Requests awaiting an answer from one peer at most; a write that
    /// would need more gets [`Error::Overloaded`].
    pub max_in_flight_per_peer: usize,
    /// Hinted keys held for all absent replicas together at most; beyond
    /// it a stand-in refuses (does not acknowledge) more hints.
    pub max_hints: usize,
    /// Pending client requests at most (writes, reads and forwards);
    /// beyond it new requests get [`Error::Overloaded`].
    pub max_pending: usize,
    /// How often this replica runs anti-entropy with one peer it shares
    /// keys with.
    pub anti_entropy_interval: Duration,
    /// How often hints and rebalanced keys are offered again to members
    /// that have not confirmed them.
    pub handoff_interval: Duration,
    /// Messages in one transmission at most.
    pub max_batch: usize,
    /// Keys in one handoff or repair message at most.
    pub max_repair_keys: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            replicas: 3,
            write_quorum: 2,
            read_quorum: 1,
            request_timeout: Duration::from_millis(500),
            hinted_handoff: true,
            zone_aware: true,
            max_in_flight_per_peer: 8_192,
            max_hints: 1_000_000,
            max_pending: 65_536,
            anti_entropy_interval: Duration::from_secs(2),
            handoff_interval: Duration::from_secs(1),
            max_batch: 512,
            max_repair_keys: 256,
        }
    }
}

impl Config {
    /// Checks that the settings can work together.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first setting out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |what| Err(Error::Config(what));
        if self.replicas == 0 || self.replicas > 255 {
            return bad("replicas must be 1 to 255");
        }
        if self.write_quorum == 0 || self.write_quorum > self.replicas {
            return bad("write_quorum must be 1 to replicas");
        }
        if self.read_quorum == 0 || self.read_quorum > self.replicas {
            return bad("read_quorum must be 1 to replicas");
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout must be positive");
        }
        if self.anti_entropy_interval.is_zero() || self.handoff_interval.is_zero() {
            return bad("anti_entropy_interval and handoff_interval must be positive");
        }
        if self.max_in_flight_per_peer == 0
            || self.max_pending == 0
            || self.max_batch == 0
            || self.max_repair_keys == 0
        {
            return bad("queue bounds must be positive");
        }
        Ok(())
    }
}

/// How many replicas one request involves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// The store's default ([`Config::write_quorum`] or [`Config::read_quorum`]).
    #[default]
    Default,
    /// One replica.
    One,
    /// A majority of the N replicas.
    Quorum,
    /// All N replicas.
    All,
    /// Exactly this many replicas (1 to N).
    Exactly(usize),
}

impl Consistency {
    /// The replica count this means, for `replicas` per key and the
    /// store's `default`.
    ///
    /// # Errors
    /// [`Error::BadConsistency`] for zero or more than `replicas`.
    pub fn resolve(self, replicas: usize, default: usize) -> Result<usize> {
        let n = match self {
            Consistency::Default => default,
            Consistency::One => 1,
            Consistency::Quorum => replicas / 2 + 1,
            Consistency::All => replicas,
            Consistency::Exactly(n) => n,
        };
        if n == 0 || n > replicas {
            return Err(Error::BadConsistency { asked: n, replicas });
        }
        Ok(n)
    }
}

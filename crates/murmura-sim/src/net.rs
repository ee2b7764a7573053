//! The network model: per-link latency, jitter, loss and duplication,
//! one-way loss at a member, and partitions of any grouping.

use std::collections::HashMap;
use std::time::Duration;

use crate::core::NodeId;

/// How one direction of a link behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Fixed one-way delay.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per message (so
    /// datagrams reorder when it exceeds their spacing).
    pub jitter: Duration,
    /// Probability a datagram is lost, `0.0..=1.0`.
    pub loss: f64,
    /// Probability a delivered datagram arrives twice.
    pub duplicate: f64,
}

impl Link {
    /// A clean LAN link: 1 ms ± 0.5 ms, nothing lost.
    pub const LAN: Link = Link {
        latency: Duration::from_micros(1_000),
        jitter: Duration::from_micros(500),
        loss: 0.0,
        duplicate: 0.0,
    };

    /// This link with `loss`.
    pub fn with_loss(mut self, loss: f64) -> Self {
        self.loss = loss;
        self
    }
}

impl Default for Link {
    fn default() -> Self {
        Self::LAN
    }
}

/// Links, one-way loss and partitions between the members of a simulation.
///
/// ```
/// use murmura_sim::{Link, Network};
/// let mut net = Network::default();
/// net.partition(&[&[0, 1], &[2]]); // {0,1} | {2} | everyone else
/// assert!(net.connected(0, 1) && !net.connected(1, 2) && !net.connected(2, 3));
/// net.heal();
/// assert!(net.connected(1, 2));
/// net.set_ingress_loss(3, 1.0); // 3 hears nothing, but is heard
/// assert_eq!(net.loss(0, 3), 1.0);
/// assert_eq!(net.loss(3, 0), 0.0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// The link every pair without an override uses.
    pub default_link: Link,
    overrides: HashMap<(NodeId, NodeId), Link>,
    ingress_loss: Vec<f64>,
    egress_loss: Vec<f64>,
    /// Partition group of each member; members beyond the end are in group 0.
    groups: Vec<u32>,
}

impl Network {
    /// A network where every link is `link`.
    pub fn new(link: Link) -> Self {
        Self {
            default_link: link,
            ..Self::default()
        }
    }

    /// Overrides the link from `from` to `to` (one direction).
    pub fn set_link(&mut self, from: NodeId, to: NodeId, link: Link) {
        self.overrides.insert((from, to), link);
    }

    /// Removes every per-link override.
    pub fn clear_links(&mut self) {
        self.overrides.clear();
    }

    /// The link from `from` to `to`.
    pub fn link(&self, from: NodeId, to: NodeId) -> Link {
        if self.overrides.is_empty() {
            return self.default_link;
        }
        self.overrides
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link)
    }

    fn set(v: &mut Vec<f64>, id: NodeId, p: f64) {
        if v.len() <= id {
            v.resize(id + 1, 0.0);
        }
        v[id] = p.clamp(0.0, 1.0);
    }

    /// Loss of everything arriving at `id` (one-way: what it sends is unaffected).
    pub fn set_ingress_loss(&mut self, id: NodeId, p: f64) {
        Self::set(&mut self.ingress_loss, id, p);
    }

    /// Loss of everything `id` sends.
    pub fn set_egress_loss(&mut self, id: NodeId, p: f64) {
        Self::set(&mut self.egress_loss, id, p);
    }

    /// Probability a datagram from `from` to `to` is lost: the link's, the
    /// sender's egress and the receiver's ingress loss, independently.
    pub fn loss(&self, from: NodeId, to: NodeId) -> f64 {
        let keep = (1.0 - self.link(from, to).loss)
            * (1.0 - self.egress_loss.get(from).copied().unwrap_or(0.0))
            * (1.0 - self.ingress_loss.get(to).copied().unwrap_or(0.0));
        1.0 - keep
    }

    /// Splits the members into `groups`; everyone not listed forms one more
    /// group. Only members of the same group can talk. Replaces any earlier
    /// partition.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.groups.clear();
        for (g, members) in groups.iter().enumerate() {
            for &id in *members {
                if self.groups.len() <= id {
                    self.groups.resize(id + 1, 0);
                }
                self.groups[id] = g as u32 + 1;
            }
        }
    }

    /// Ends every partition.
    pub fn heal(&mut self) {
        self.groups.clear();
    }

    /// Whether `a` and `b` are on the same side of every partition.
    pub fn connected(&self, a: NodeId, b: NodeId) -> bool {
        let g = |id: NodeId| self.groups.get(id).copied().unwrap_or(0);
        g(a) == g(b)
    }
}

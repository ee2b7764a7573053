//! Rendezvous (highest-random-weight) hashing, with weights by the
//! logarithmic method.
//!
//! Every node scores every key; the highest score owns it and the next
//! highest hold the replicas. With weights, node `i` scores
//! `w_i / -ln(u_i)` for a uniform `u_i` in (0, 1), which makes its win
//! probability exactly `w_i / sum(w)` (Schindelhauer & Schomaker). Lookups
//! cost one hash per node, so use it for up to a few hundred nodes, or where
//! its perfect minimal disruption matters more than speed.
//!
//! History independence: scores depend only on the key and each member's
//! identifier and weight, so placement depends only on the member set.

use crate::error::Result;
use crate::key::{StableHash, mix2};
use crate::node::{NodeSpec, Roster};
use crate::placement::{Membership, Placement};
use crate::plan::MovePlan;
use murmura_core::NodeId;

/// Rendezvous / highest-random-weight placement.
///
/// ```
/// use murmura_hash::{key_hash, Membership, NodeSpec, Placement, Rendezvous};
///
/// let hrw = Rendezvous::new([
///     NodeSpec::new("small"),
///     NodeSpec::new("big").with_weight(3.0),
/// ])?;
/// let owners: Vec<_> = (0..1000u64).map(|k| *hrw.owner(k.wrapping_mul(0x9e3779b97f4a7c15)).unwrap()).collect();
/// let big = owners.iter().filter(|o| **o == "big").count();
/// assert!(big > 650 && big < 850);
/// let (_smaller, plan) = hrw.remove(&"small")?;
/// assert!(plan.transfers.iter().all(|t| t.from == "small"));
/// # Ok::<(), murmura_hash::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rendezvous<N> {
    roster: Roster<N>,
    hashes: Vec<u64>,
    weights: Vec<f64>,
    /// All weights equal: rank by the raw hash and skip the logarithm.
    uniform: bool,
}

impl<N: NodeId + StableHash> Rendezvous<N> {
    /// Builds a placement over `nodes`.
    ///
    /// # Errors
    /// [`Error::InvalidWeight`](crate::Error::InvalidWeight) or
    /// [`Error::DuplicateNode`](crate::Error::DuplicateNode).
    pub fn new(nodes: impl IntoIterator<Item = NodeSpec<N>>) -> Result<Self> {
        Ok(Self::from_roster(Roster::new(nodes)?))
    }

    /// Builds a placement over an already validated roster.
    pub fn from_roster(roster: Roster<N>) -> Self {
        let hashes = (0..roster.len() as u32)
            .map(|i| roster.node_hash(i))
            .collect();
        let weights: Vec<f64> = roster.weights().collect();
        let uniform = weights.windows(2).all(|w| w[0] == w[1]);
        Self {
            roster,
            hashes,
            weights,
            uniform,
        }
    }

    fn plan(&self, node: &N, joining: bool) -> MovePlan<N> {
        MovePlan::reassigned(self.roster.specs().iter().map(|s| &s.id), node, joining)
    }
}

impl<N> Rendezvous<N> {
    /// A totally ordered score: larger wins, ties go to the lower index.
    #[inline]
    fn rank(&self, key_hash: u64, i: usize) -> u128 {
        let h = mix2(key_hash, self.hashes[i]);
        let score = if self.uniform {
            h
        } else {
            // u in (0, 1); w / -ln(u) is positive and finite, so its bits
            // order like the value.
            let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            (self.weights[i] / -u.ln()).to_bits()
        };
        (u128::from(score) << 32) | u128::from(!(i as u32))
    }

    /// The best-ranked node strictly below `ceiling`.
    #[inline]
    fn best_below(&self, key_hash: u64, ceiling: u128) -> Option<(u32, u128)> {
        let mut best: Option<(u32, u128)> = None;
        for i in 0..self.hashes.len() {
            let r = self.rank(key_hash, i);
            if r < ceiling && best.is_none_or(|(_, b)| r > b) {
                best = Some((i as u32, r));
            }
        }
        best
    }
}

impl<N> Placement for Rendezvous<N> {
    type Node = N;
    type Probe<'a>
        = RendezvousProbe<'a, N>
    where
        N: 'a;

    fn roster(&self) -> &Roster<N> {
        &self.roster
    }

    #[inline]
    fn owner_index(&self, key_hash: u64) -> Option<u32> {
        if self.uniform {
            // The common case: no floating point, one mix per node.
            let mut best: Option<(u64, u32)> = None;
            for (i, &h) in self.hashes.iter().enumerate() {
                let s = mix2(key_hash, h);
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, i as u32));
                }
            }
            return best.map(|(_, i)| i);
        }
        self.best_below(key_hash, u128::MAX).map(|(i, _)| i)
    }

    fn probe(&self, key_hash: u64) -> RendezvousProbe<'_, N> {
        RendezvousProbe {
            hrw: self,
            key_hash,
            ceiling: u128::MAX,
        }
    }
}

/// Nodes in falling score order, found one scan at a time without allocating.
#[derive(Debug, Clone)]
pub struct RendezvousProbe<'a, N> {
    hrw: &'a Rendezvous<N>,
    key_hash: u64,
    ceiling: u128,
}

impl<N> Iterator for RendezvousProbe<'_, N> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (i, rank) = self.hrw.best_below(self.key_hash, self.ceiling)?;
        self.ceiling = rank;
        Some(i)
    }
}

impl<N: NodeId + StableHash> Membership for Rendezvous<N> {
    fn add(&self, node: NodeSpec<N>) -> Result<(Self, MovePlan<N>)> {
        let id = node.id.clone();
        let (roster, _) = self.roster.with(node)?;
        let next = Self::from_roster(roster);
        let plan = next.plan(&id, true);
        Ok((next, plan))
    }

    fn remove(&self, node: &N) -> Result<(Self, MovePlan<N>)> {
        let (roster, _) = self.roster.without(node)?;
        let plan = self.plan(node, false);
        let next = Self::from_roster(roster);
        let plan = if next.roster.is_empty() {
            MovePlan::empty()
        } else {
            plan
        };
        Ok((next, plan))
    }
}

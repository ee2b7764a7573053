//! Maglev lookup tables (Eisenbud et al., NSDI 2016), with weights.
//!
//! Each node walks its own permutation of a prime-sized table and claims the
//! first free slot on its turn; a node of weight `w` gets a turn in
//! proportion to `w`. A lookup is one multiply and one table load. The table
//! is near-perfectly balanced, at the price of some churn: a membership change
//! moves a few keys between surviving nodes as well (the example
//! `hash_balance` measures how many).
//!
//! History independence: the table depends only on the member set (taken in
//! identifier order) and the table size, so the same members and size give
//! the same table. The default size is chosen once, from the node count at
//! the first build, and kept across changes so that they stay incremental.

use crate::error::{Error, Result};
use crate::key::{StableHash, fast_range, mix2};
use crate::node::{NodeSpec, Roster};
use crate::placement::{Membership, Placement};
use crate::plan::{Keys, MovePlan, Transfer};
use murmura_core::NodeId;
use std::collections::BTreeMap;

/// How a [`Maglev`] table is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MaglevConfig {
    /// The table length; a prime larger than the node count. `None` picks
    /// the smallest prime at least `max(100 * nodes, 1021)` at the first build.
    pub table_size: Option<u32>,
}

/// The largest table this crate builds (about 64 MiB of entries).
pub const MAX_TABLE_SIZE: u32 = 1 << 24;

/// A Maglev consistent-hashing table.
///
/// Weights set each node's share of slots. **Every member owns at least one
/// slot**: a weight too small for a slot of its own (say 0.001 beside
/// weights of 1 in a 1,021-slot table) is rounded up to that minimum share,
/// `1 / table_size`, rather than rejected, so lookups and replica walks
/// reach every member. Pick a larger `table_size` when such shares must be
/// closer to the weights.
///
/// ```
/// use murmura_hash::{key_hash, Maglev, MaglevConfig, NodeSpec, Placement};
///
/// let maglev = Maglev::new(["a", "b", "c"].map(NodeSpec::new), MaglevConfig::default())?;
/// assert_eq!(maglev.table_size(), 1021);
/// let owner = maglev.owner(key_hash(b"flow 10.0.0.1:443"))?;
/// assert!(["a", "b", "c"].contains(owner));
/// # Ok::<(), murmura_hash::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Maglev<N> {
    roster: Roster<N>,
    /// Node indices; 16 bits keep a 65,537-slot table in 128 KiB.
    table: Vec<u16>,
}

/// The most nodes a Maglev table holds (its entries are 16-bit).
pub const MAX_MAGLEV_NODES: usize = u16::MAX as usize;

impl<N: NodeId + StableHash> Maglev<N> {
    /// Builds the table for `nodes`.
    ///
    /// # Errors
    /// [`Error::InvalidWeight`], [`Error::DuplicateNode`], or
    /// [`Error::InvalidConfig`] when `table_size` is not a prime larger than
    /// the node count or exceeds [`MAX_TABLE_SIZE`], or for more than
    /// [`MAX_MAGLEV_NODES`] nodes.
    pub fn new(nodes: impl IntoIterator<Item = NodeSpec<N>>, config: MaglevConfig) -> Result<Self> {
        let roster = Roster::new(nodes)?;
        let size = match config.table_size {
            Some(size) => size,
            None => next_prime((roster.len() as u32).saturating_mul(100).max(1021)),
        };
        Self::build(roster, size)
    }

    fn build(roster: Roster<N>, size: u32) -> Result<Self> {
        if roster.len() > MAX_MAGLEV_NODES {
            return Err(Error::InvalidConfig(
                "a Maglev table holds at most 65,535 nodes",
            ));
        }
        if size as usize <= roster.len() || !is_prime(size) || size > MAX_TABLE_SIZE {
            return Err(Error::InvalidConfig(
                "the Maglev table size must be a prime larger than the node count (at most 2^24)",
            ));
        }
        Ok(Self {
            table: fill(&roster, size),
            roster,
        })
    }

    /// The configuration that rebuilds this exact table size.
    pub fn config(&self) -> MaglevConfig {
        MaglevConfig {
            table_size: Some(self.table_size()),
        }
    }

    fn diff(&self, new: &Self) -> MovePlan<N> {
        let mut groups: BTreeMap<(u32, u32), Vec<u32>> = BTreeMap::new();
        for (slot, (&a, &b)) in self.table.iter().zip(&new.table).enumerate() {
            let (a, b) = (u32::from(a), u32::from(b));
            let (from, to) = (self.roster.id(a), new.roster.id(b));
            if from != to {
                // Key by (old index, new index) so groups stay in node order.
                groups.entry((a, b)).or_default().push(slot as u32);
            }
        }
        let table_len = self.table_size();
        let transfers = groups
            .into_iter()
            .map(|((a, b), slots)| Transfer {
                from: self.roster.id(a).clone(),
                to: new.roster.id(b).clone(),
                keys: Keys::Slots { table_len, slots },
            })
            .collect();
        MovePlan { transfers }
    }
}

impl<N> Maglev<N> {
    /// The table length.
    pub fn table_size(&self) -> u32 {
        self.table.len() as u32
    }

    /// How many slots each node owns, by roster index.
    pub fn slot_counts(&self) -> Vec<u32> {
        let mut counts = vec![0; self.roster.len()];
        for &n in &self.table {
            counts[n as usize] += 1;
        }
        counts
    }

    #[inline]
    fn slot(&self, key_hash: u64) -> usize {
        fast_range(key_hash, self.table.len() as u64) as usize
    }
}

/// Fills a table: nodes take turns in proportion to weight, each claiming the
/// next free slot of its own permutation `offset + j * skip (mod size)`.
///
/// Every node claims a slot in the first round whatever its weight (the
/// table is larger than the node count, so there is room): a node whose
/// weighted share rounds below one slot still owns one, so it is a lookup
/// target and replica walks reach it. After that first round, turns follow
/// weight as before; with equal weights the order is the same as without it.
fn fill<N>(roster: &Roster<N>, size: u32) -> Vec<u16> {
    // At most 65,535 nodes, so indices stay below this marker.
    const EMPTY: u16 = u16::MAX;
    let n = roster.len();
    if n == 0 {
        return Vec::new();
    }
    let m = u64::from(size);
    let mut next: Vec<u64> = Vec::with_capacity(n);
    let mut skip: Vec<u64> = Vec::with_capacity(n);
    for i in 0..n as u32 {
        let h = roster.node_hash(i);
        next.push(fast_range(mix2(h, 1), m));
        skip.push(fast_range(mix2(h, 2), m - 1) + 1);
    }
    let max_weight = roster.weights().fold(0.0f64, f64::max);
    let share: Vec<f64> = roster.weights().map(|w| w / max_weight).collect();
    // One turn banked per node: the minimum share of one slot.
    let mut credit = vec![1.0f64; n];
    let mut table = vec![EMPTY; size as usize];
    let mut filled = 0u32;
    'rounds: loop {
        for i in 0..n {
            credit[i] += share[i];
            if credit[i] < 1.0 {
                continue;
            }
            credit[i] -= 1.0;
            let mut c = next[i];
            while table[c as usize] != EMPTY {
                c += skip[i];
                if c >= m {
                    c -= m;
                }
            }
            table[c as usize] = i as u16;
            c += skip[i];
            next[i] = if c >= m { c - m } else { c };
            filled += 1;
            if filled == size {
                break 'rounds;
            }
        }
    }
    table
}

fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2u32;
    while u64::from(d) * u64::from(d) <= u64::from(n) {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

fn next_prime(mut n: u32) -> u32 {
    while !is_prime(n) {
        n += 1;
    }
    n
}

impl<N> Placement for Maglev<N> {
    type Node = N;
    type Probe<'a>
        = MaglevProbe<'a>
    where
        N: 'a;

    fn roster(&self) -> &Roster<N> {
        &self.roster
    }

    #[inline]
    fn owner_index(&self, key_hash: u64) -> Option<u32> {
        self.table.get(self.slot(key_hash)).map(|&i| u32::from(i))
    }

    fn probe(&self, key_hash: u64) -> MaglevProbe<'_> {
        MaglevProbe {
            at: if self.table.is_empty() {
                0
            } else {
                self.slot(key_hash)
            },
            table: &self.table,
            left: self.table.len(),
        }
    }
}

/// The walk behind [`Maglev`]'s replica sets: slots from the key's onwards,
/// one full lap.
#[derive(Debug, Clone)]
pub struct MaglevProbe<'a> {
    table: &'a [u16],
    at: usize,
    left: usize,
}

impl Iterator for MaglevProbe<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let node = u32::from(self.table[self.at]);
        self.at += 1;
        if self.at == self.table.len() {
            self.at = 0;
        }
        Some(node)
    }
}

impl<N: NodeId + StableHash> Membership for Maglev<N> {
    fn add(&self, node: NodeSpec<N>) -> Result<(Self, MovePlan<N>)> {
        let (roster, _) = self.roster.with(node)?;
        let next = Self::build(roster, self.table_size())?;
        let plan = self.diff(&next);
        Ok((next, plan))
    }

    fn remove(&self, node: &N) -> Result<(Self, MovePlan<N>)> {
        let (roster, _) = self.roster.without(node)?;
        let next = Self::build(roster, self.table_size())?;
        let plan = if next.roster.is_empty() {
            MovePlan::empty()
        } else {
            self.diff(&next)
        };
        Ok((next, plan))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_balanced_and_weighted() {
        let m = Maglev::new((0u32..10).map(NodeSpec::new), MaglevConfig::default()).unwrap();
        assert_eq!(m.table_size(), 1021);
        let counts = m.slot_counts();
        assert!(counts.iter().all(|&c| c == 102 || c == 103), "{counts:?}");
        let w = Maglev::new(
            [NodeSpec::new(1u32), NodeSpec::new(2u32).with_weight(3.0)],
            MaglevConfig {
                table_size: Some(4001),
            },
        )
        .unwrap();
        let counts = w.slot_counts();
        assert!((2990..=3010).contains(&counts[1]), "{counts:?}");
        assert!(matches!(
            Maglev::new(
                [NodeSpec::new(1u32)],
                MaglevConfig {
                    table_size: Some(1000)
                }
            ),
            Err(Error::InvalidConfig(_))
        ));
        assert!(matches!(
            Maglev::new(
                (0u32..10).map(NodeSpec::new),
                MaglevConfig {
                    table_size: Some(7)
                }
            ),
            Err(Error::InvalidConfig(_))
        ));
    }
}

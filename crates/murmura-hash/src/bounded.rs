//! Consistent hashing with bounded loads (Mirrokni, Thorup & Zadimoghaddam,
//! SODA 2018).
//!
//! Keys are placed on a [`Ring`]; a key goes to the first node clockwise from
//! its hash whose load is below its capacity `ceil((1 + eps) * m * w / W)`
//! (`m` keys placed, `w` the node's weight, `W` the total weight; with equal
//! weights, `ceil((1 + eps) * m / n)`). When keys leave or nodes change, nodes
//! above their new capacity hand keys onwards the same way, so **no node ever
//! holds more than its capacity**.
//!
//! History independence: **not** given. Where a key lands depends on which
//! keys were placed before it, so the same key and member sets reached in a
//! different order can give a different assignment. Keys do not move back
//! when the pressure that displaced them goes away.

use crate::error::{Error, Result};
use crate::key::StableHash;
use crate::node::{NodeSpec, Roster};
use crate::placement::{Membership, Placement};
use crate::plan::MovePlan;
use crate::ring::{Ring, RingConfig, RingProbe};
use murmura_core::NodeId;
use std::collections::{BTreeSet, HashMap};

/// How a [`BoundedLoad`] is built.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BoundedLoadConfig {
    /// Allowed imbalance: capacities are `(1 + epsilon)` times the fair share.
    /// Finite and greater than zero.
    pub epsilon: f64,
    /// The underlying ring.
    pub ring: RingConfig,
}

impl Default for BoundedLoadConfig {
    fn default() -> Self {
        Self {
            epsilon: 0.25,
            ring: RingConfig::default(),
        }
    }
}

/// One key handed from one node to another.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Relocation<N> {
    /// The key's hash.
    pub key_hash: u64,
    /// The node that held it (or left).
    pub from: N,
    /// The node that holds it now.
    pub to: N,
}

/// A load-aware assignment of keys to nodes whose peak load never exceeds
/// `ceil((1 + eps) * average)` (weighted: each node's capacity).
///
/// Unlike the other placements it is stateful: it remembers which keys it
/// placed, so it takes `&mut self` to place and release keys.
///
/// Membership changes come two ways. [`add_node`](BoundedLoad::add_node) and
/// [`remove_node`](BoundedLoad::remove_node) change it in place and list
/// every key that moved as a [`Relocation`]. It is also a [`Membership`],
/// like the other placements, so generic code and
/// [`SharedPlacement`](crate::SharedPlacement) can drive it; there
/// [`Membership::add`] copies the assignment (`O(keys)`, as the change
/// itself is) and returns a [`MovePlan`] whose transfers list the moved keys
/// exactly ([`Keys::Listed`](crate::Keys::Listed)). Keys can only be placed
/// and released through `&mut self`, so a published snapshot is read-only.
///
/// ```
/// use murmura_hash::{BoundedLoad, BoundedLoadConfig, NodeSpec, Placement};
///
/// let mut b = BoundedLoad::new(["a", "b", "c"].map(NodeSpec::new), BoundedLoadConfig::default())?;
/// for k in 0..300u64 {
///     b.insert(k.wrapping_mul(0x9e3779b97f4a7c15))?;
/// }
/// // ceil(1.25 * 300 / 3) = 125.
/// assert!(b.loads().iter().all(|&l| l <= 125));
/// let owner = *b.owner(0)?;
/// assert!(["a", "b", "c"].contains(&owner));
/// # Ok::<(), murmura_hash::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BoundedLoad<N> {
    ring: Ring<N>,
    epsilon: f64,
    total_weight: f64,
    loads: Vec<u32>,
    keys: Vec<BTreeSet<u64>>,
    assigned: HashMap<u64, u32>,
}

impl<N: NodeId + StableHash> BoundedLoad<N> {
    /// An empty assignment over `nodes`.
    ///
    /// # Errors
    /// As [`Ring::new`], and [`Error::InvalidConfig`] for an epsilon that is
    /// not finite and positive.
    pub fn new(
        nodes: impl IntoIterator<Item = NodeSpec<N>>,
        config: BoundedLoadConfig,
    ) -> Result<Self> {
        if !(config.epsilon.is_finite() && config.epsilon > 0.0) {
            return Err(Error::InvalidConfig(
                "epsilon must be finite and greater than zero",
            ));
        }
        let ring = Ring::new(nodes, config.ring)?;
        let n = ring.len();
        let mut me = Self {
            ring,
            epsilon: config.epsilon,
            total_weight: 0.0,
            loads: vec![0; n],
            keys: vec![BTreeSet::new(); n],
            assigned: HashMap::new(),
        };
        me.total_weight = me.ring.roster().weights().sum();
        Ok(me)
    }

    /// Places `key_hash` (or returns where it already is).
    ///
    /// # Errors
    /// [`Error::EmptyRing`] when there are no nodes; nothing changes.
    pub fn insert(&mut self, key_hash: u64) -> Result<&N> {
        if let Some(&i) = self.assigned.get(&key_hash) {
            return Ok(self.ring.roster().id(i));
        }
        let i = self
            .choose(key_hash, self.assigned.len() + 1)
            .ok_or(Error::EmptyRing)?;
        self.put(key_hash, i);
        Ok(self.ring.roster().id(i))
    }

    /// Releases `key_hash`, and returns the keys that moved because
    /// capacities shrank.
    ///
    /// # Errors
    /// [`Error::UnknownKey`] when it is not placed; nothing changes.
    pub fn release(&mut self, key_hash: u64) -> Result<Vec<Relocation<N>>> {
        let i = self
            .assigned
            .remove(&key_hash)
            .ok_or(Error::UnknownKey(key_hash))?;
        self.loads[i as usize] -= 1;
        self.keys[i as usize].remove(&key_hash);
        Ok(self.shed())
    }

    /// Adds a node and moves its share of keys onto it; returns exactly what
    /// moved.
    ///
    /// As in Mirrokni et al., the joining node takes, up to its capacity,
    /// the keys whose first choice on the new ring it is, then the displaced
    /// keys whose clockwise walk now reaches it before their current holder
    /// (where a fresh insert would put them). Old nodes whose capacity shrank
    /// below their load then hand keys onwards, and only as many as the
    /// bound requires. Each moved key is listed once, from its holder before
    /// the join to its holder after.
    ///
    /// # Errors
    /// As [`Roster::with`]; nothing changes.
    pub fn add_node(&mut self, node: NodeSpec<N>) -> Result<Vec<Relocation<N>>> {
        let (roster, at) = self.ring.roster().with(node)?;
        self.rebuild(roster, Change::Join(at))
    }

    /// Removes a node; its keys and any over capacity are placed again.
    /// Returns exactly what moved, each key once.
    ///
    /// # Errors
    /// [`Error::UnknownNode`]; nothing changes.
    pub fn remove_node(&mut self, node: &N) -> Result<Vec<Relocation<N>>> {
        let (roster, _) = self.ring.roster().without(node)?;
        self.rebuild(roster, Change::Leave(node.clone()))
    }

    fn rebuild(&mut self, roster: Roster<N>, change: Change<N>) -> Result<Vec<Relocation<N>>> {
        let ring = Ring::from_roster(roster, self.ring.config())?;
        let n = ring.len();
        let mut loads = vec![0; n];
        let mut keys = vec![BTreeSet::new(); n];
        let mut orphans = Vec::new();
        for (old, set) in self.keys.iter_mut().enumerate() {
            let id = self.ring.roster().id(old as u32);
            match ring.roster().index_of(id) {
                Some(new) => {
                    loads[new as usize] = set.len() as u32;
                    keys[new as usize] = std::mem::take(set);
                }
                None => orphans.extend(set.iter().copied()),
            }
        }
        self.total_weight = ring.roster().weights().sum();
        self.ring = ring;
        self.loads = loads;
        self.keys = keys;
        self.assigned.clear();
        for (i, set) in self.keys.iter().enumerate() {
            self.assigned.extend(set.iter().map(|&k| (k, i as u32)));
        }
        let mut moves = Vec::new();
        match change {
            Change::Leave(from) => {
                let m = self.assigned.len() + orphans.len();
                for key in orphans {
                    // Capacities for the final count, so the removed node's
                    // keys never push a survivor over its bound.
                    match self.choose(key, m) {
                        Some(to) => {
                            self.put(key, to);
                            moves.push(Relocation {
                                key_hash: key,
                                from: from.clone(),
                                to: self.ring.roster().id(to).clone(),
                            });
                        }
                        None => break, // no nodes left: the keys are dropped
                    }
                }
            }
            Change::Join(at) => moves.extend(self.pull_onto(at)),
        }
        moves.extend(self.shed());
        Ok(merge_moves(moves))
    }

    /// Moves onto the joined node `at` the keys that now prefer it: first
    /// those whose first choice it is, then displaced keys whose walk
    /// reaches it before their holder (nearest first), up to its capacity.
    fn pull_onto(&mut self, at: u32) -> Vec<Relocation<N>> {
        let m = self.assigned.len();
        // (priority, distance along the walk, key, holder)
        let mut wanted: Vec<(u8, u32, u64, u32)> = Vec::new();
        for (&key, &holder) in &self.assigned {
            let first = self.ring.owner_index(key);
            if first == Some(at) {
                wanted.push((0, 0, key, holder));
            } else if first != Some(holder) {
                // Displaced: does its walk now meet `at` before the holder?
                let hit = self
                    .ring
                    .probe(key)
                    .enumerate()
                    .find(|&(_, i)| i == at || i == holder);
                if let Some((steps, i)) = hit
                    && i == at
                {
                    wanted.push((1, steps as u32, key, holder));
                }
            }
        }
        wanted.sort_unstable();
        let room = self.capacity(at as usize, m) as usize;
        let mut moves = Vec::new();
        for &(_, _, key, holder) in wanted.iter().take(room) {
            self.loads[holder as usize] -= 1;
            self.keys[holder as usize].remove(&key);
            self.put(key, at);
            moves.push(Relocation {
                key_hash: key,
                from: self.ring.roster().id(holder).clone(),
                to: self.ring.roster().id(at).clone(),
            });
        }
        moves
    }

    /// Moves keys off nodes above capacity until none is.
    fn shed(&mut self) -> Vec<Relocation<N>> {
        let m = self.assigned.len();
        let mut moves = Vec::new();
        for i in 0..self.loads.len() {
            while self.loads[i] > self.capacity(i, m) {
                let Some(&key) = self.keys[i].last() else {
                    break;
                };
                self.loads[i] -= 1;
                self.keys[i].remove(&key);
                self.assigned.remove(&key);
                let Some(to) = self.choose_excluding(key, m, i as u32) else {
                    break;
                };
                self.put(key, to);
                moves.push(Relocation {
                    key_hash: key,
                    from: self.ring.roster().id(i as u32).clone(),
                    to: self.ring.roster().id(to).clone(),
                });
            }
        }
        moves
    }
}

/// The membership change a rebuild carries out.
enum Change<N> {
    /// The node at this index (in the new roster) joined.
    Join(u32),
    /// This node left.
    Leave(N),
}

/// Folds moves of the same key into one, from its first holder to its last,
/// and drops keys that came back where they started; first-move order kept.
fn merge_moves<N: PartialEq>(moves: Vec<Relocation<N>>) -> Vec<Relocation<N>> {
    let mut at: HashMap<u64, usize> = HashMap::with_capacity(moves.len());
    let mut out: Vec<Relocation<N>> = Vec::with_capacity(moves.len());
    for r in moves {
        match at.get(&r.key_hash) {
            Some(&i) => out[i].to = r.to,
            None => {
                at.insert(r.key_hash, out.len());
                out.push(r);
            }
        }
    }
    out.retain(|r| r.from != r.to);
    out
}

impl<N> BoundedLoad<N> {
    /// The capacity of node `i` when `m` keys are placed.
    fn capacity(&self, i: usize, m: usize) -> u32 {
        let w = self.ring.roster().weight(i as u32);
        ((1.0 + self.epsilon) * m as f64 * w / self.total_weight).ceil() as u32
    }

    fn choose(&self, key_hash: u64, m: usize) -> Option<u32> {
        self.choose_excluding(key_hash, m, u32::MAX)
    }

    /// The first node clockwise from the key that has room for one more.
    fn choose_excluding(&self, key_hash: u64, m: usize, skip: u32) -> Option<u32> {
        self.ring
            .probe(key_hash)
            .find(|&i| i != skip && self.loads[i as usize] < self.capacity(i as usize, m))
    }

    fn put(&mut self, key_hash: u64, i: u32) {
        self.loads[i as usize] += 1;
        self.keys[i as usize].insert(key_hash);
        self.assigned.insert(key_hash, i);
    }

    /// Keys placed on each node, by roster index.
    pub fn loads(&self) -> &[u32] {
        &self.loads
    }

    /// The number of keys placed.
    pub fn key_count(&self) -> usize {
        self.assigned.len()
    }

    /// The largest load any node may carry now: the maximum capacity.
    pub fn peak_capacity(&self) -> u32 {
        (0..self.loads.len())
            .map(|i| self.capacity(i, self.assigned.len()))
            .max()
            .unwrap_or(0)
    }

    /// The node that holds a placed key.
    ///
    /// # Errors
    /// [`Error::UnknownKey`] when it is not placed.
    pub fn holder(&self, key_hash: u64) -> Result<&N> {
        self.assigned
            .get(&key_hash)
            .map(|&i| self.ring.roster().id(i))
            .ok_or(Error::UnknownKey(key_hash))
    }

    /// The node a key is on, or would be placed on now.
    fn lookup(&self, key_hash: u64) -> Option<u32> {
        match self.assigned.get(&key_hash) {
            Some(&i) => Some(i),
            None => self.choose(key_hash, self.assigned.len() + 1),
        }
    }
}

impl<N> Placement for BoundedLoad<N> {
    type Node = N;
    type Probe<'a>
        = std::iter::Chain<std::option::IntoIter<u32>, RingProbe<'a>>
    where
        N: 'a;

    fn roster(&self) -> &Roster<N> {
        self.ring.roster()
    }

    /// Where the key is held, or where [`BoundedLoad::insert`] would put it.
    fn owner_index(&self, key_hash: u64) -> Option<u32> {
        self.lookup(key_hash)
    }

    fn probe(&self, key_hash: u64) -> Self::Probe<'_> {
        self.lookup(key_hash)
            .into_iter()
            .chain(self.ring.probe(key_hash))
    }
}

impl<N: NodeId + StableHash> Membership for BoundedLoad<N> {
    /// A copy with `node` joined, as [`add_node`](BoundedLoad::add_node), and
    /// its relocations as a plan of [`Keys::Listed`](crate::Keys::Listed)
    /// transfers.
    fn add(&self, node: NodeSpec<N>) -> Result<(Self, MovePlan<N>)> {
        let mut next = self.clone();
        let moves = next.add_node(node)?;
        Ok((next, relocation_plan(moves)))
    }

    /// A copy without `node`, as [`remove_node`](BoundedLoad::remove_node).
    fn remove(&self, node: &N) -> Result<(Self, MovePlan<N>)> {
        let mut next = self.clone();
        let moves = next.remove_node(node)?;
        Ok((next, relocation_plan(moves)))
    }
}

fn relocation_plan<N: Clone + Ord>(moves: Vec<Relocation<N>>) -> MovePlan<N> {
    MovePlan::listed(moves.into_iter().map(|r| (r.key_hash, r.from, r.to)))
}

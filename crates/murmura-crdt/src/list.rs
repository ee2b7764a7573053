//! A replicated list: RGA (replicated growable array; Roh et al., 2011).
//!
//! Every insert is a node named by a fresh dot, placed right after an
//! existing node (its origin) or at the head, and stamped with a Lamport
//! time one above every stamp its replica has seen. Siblings under one
//! origin are read newest stamp first (ties by actor), so a run typed by one
//! replica stays contiguous and concurrent inserts at one position interleave
//! deterministically. Deletes keep the node as a tombstone so later inserts
//! can still anchor to it. The state is two grow-only sets, so merge is union.
//!
//! The order is kept, not recomputed: an order-statistic treap over the
//! nodes in list order, with visible counts per subtree ([`seq`]), and an
//! index from id to node. A local edit costs O(log n); merging a delta
//! costs O(log n) per node plus the concurrent siblings it is ordered past
//! (RGA's scan: from the origin, skip every node with a larger stamp).
//! A node whose origin has not arrived is held apart, neither shown nor
//! counted, until the origin arrives; a node whose stamp is not above its
//! origin's (which no replica makes; only hostile bytes can) is never shown,
//! nor is anything anchored below it, so the order is a function of the
//! state alone.

mod codec;
mod seq;

use crate::clock::{CausalContext, Dot};
use crate::context::DotRanges;
use crate::traits::{AntiEntropy, DeltaCrdt, Lattice};
use crate::{Error, Result};
use seq::Seq;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// One inserted element.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Node<V, A> {
    stamp: u64,
    origin: Option<Dot<A>>,
    value: V,
}

/// A node and its id, in the arena.
#[derive(Debug, Clone)]
struct Entry<V, A> {
    id: Dot<A>,
    node: Node<V, A>,
}

/// A sequence CRDT (RGA) of values `V` edited by actors `A`.
///
/// ```
/// use murmura_crdt::{Lattice, List};
///
/// let mut a: List<char, u64> = List::new();
/// a.insert(1, 0, 'h').unwrap();
/// a.insert(1, 1, 'i').unwrap();
/// let mut b = a.clone();
/// a.insert(1, 2, '!').unwrap();
/// b.insert(2, 0, '>').unwrap();
/// a.merge(&b);
/// b.merge(&a);
/// assert_eq!(a.to_vec(), ['>', 'h', 'i', '!']);
/// assert_eq!(a, b);
/// ```
///
/// Size and content always agree: [`len`](Self::len), [`is_empty`](Self::is_empty),
/// [`get`](Self::get), [`to_vec`](Self::to_vec) and the bounds of
/// [`insert`](Self::insert) and [`remove`](Self::remove) all see the same
/// sequence, also while some deltas are still missing.
///
/// # Panics
///
/// A list holds fewer than 2³² − 1 nodes (tombstones included); a merge
/// that would pass that panics. Local edits past it return
/// [`Error::Overflow`], and decoding refuses it.
#[derive(Clone)]
pub struct List<V, A: Ord> {
    /// Every node ever received, in arrival order (slot = index).
    entries: Vec<Entry<V, A>>,
    /// Id to slot.
    ids: BTreeMap<Dot<A>, u32>,
    deleted: BTreeSet<Dot<A>>,
    /// The placed slots in list order.
    seq: Seq,
    /// Slots waiting for their origin (keyed by the origin's id) to be
    /// placed.
    pending: BTreeMap<Dot<A>, Vec<u32>>,
    /// The largest stamp of any node held.
    max_stamp: u64,
}

impl<V, A: Ord> Default for List<V, A> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            ids: BTreeMap::new(),
            deleted: BTreeSet::new(),
            seq: Seq::new(),
            pending: BTreeMap::new(),
            max_stamp: 0,
        }
    }
}

/// Equality is of the replicated state (the nodes and the deletions), not
/// of how they are indexed.
impl<V: PartialEq, A: Ord> PartialEq for List<V, A> {
    fn eq(&self, other: &Self) -> bool {
        self.ids.len() == other.ids.len()
            && self.deleted == other.deleted
            && self.ids.iter().zip(&other.ids).all(|((a, &sa), (b, &sb))| {
                a == b && self.entries[sa as usize].node == other.entries[sb as usize].node
            })
    }
}

impl<V: Eq, A: Ord> Eq for List<V, A> {}

impl<V: Debug, A: Ord + Debug> Debug for List<V, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: Vec<(&Dot<A>, &Node<V, A>)> = self
            .ids
            .iter()
            .map(|(id, &s)| (id, &self.entries[s as usize].node))
            .collect();
        f.debug_struct("List")
            .field("nodes", &nodes)
            .field("deleted", &self.deleted)
            .finish()
    }
}

// serde keeps the form the derived impl had: `nodes` as a list of (id,
// node) pairs, and `deleted`.
#[cfg(feature = "serde")]
impl<V: serde::Serialize + Ord + Clone, A: Ord + Clone + serde::Serialize> serde::Serialize
    for List<V, A>
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Nodes<'a, V, A: Ord>(&'a List<V, A>);
        impl<V: serde::Serialize + Ord + Clone, A: Ord + Clone + serde::Serialize> serde::Serialize
            for Nodes<'_, V, A>
        {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.nodes())
            }
        }
        let mut st = serializer.serialize_struct("List", 2)?;
        st.serialize_field("nodes", &Nodes(self))?;
        st.serialize_field("deleted", &self.deleted)?;
        st.end()
    }
}

#[cfg(feature = "serde")]
impl<'de, V, A> serde::Deserialize<'de> for List<V, A>
where
    V: serde::Deserialize<'de> + Ord + Clone,
    A: serde::Deserialize<'de> + Ord + Clone,
{
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(
            rename = "List",
            bound(deserialize = "A: Ord + serde::Deserialize<'de>, V: serde::Deserialize<'de>")
        )]
        struct Repr<V, A: Ord> {
            #[serde(with = "crate::serde_util")]
            nodes: BTreeMap<Dot<A>, Node<V, A>>,
            deleted: BTreeSet<Dot<A>>,
        }
        let repr = Repr::deserialize(deserializer)?;
        if repr.nodes.len() > MAX_NODES {
            return Err(serde::de::Error::custom("too many list nodes"));
        }
        Ok(Self::from_parts(repr.nodes, repr.deleted))
    }
}

/// Slots fit in `u32` with `u32::MAX` left as the tree's null link.
const MAX_NODES: usize = u32::MAX as usize - 1;

impl<V: Ord + Clone, A: Ord + Clone> List<V, A> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The nodes in id order.
    fn nodes(&self) -> impl Iterator<Item = (&Dot<A>, &Node<V, A>)> {
        self.ids
            .iter()
            .map(|(id, &s)| (id, &self.entries[s as usize].node))
    }

    /// A list of `nodes` and `deleted`, indexed from scratch.
    fn from_parts(nodes: BTreeMap<Dot<A>, Node<V, A>>, deleted: BTreeSet<Dot<A>>) -> Self {
        assert!(
            nodes.len() <= MAX_NODES,
            "a list holds fewer than 2^32 - 1 nodes"
        );
        let mut list = Self {
            deleted,
            ..Self::default()
        };
        for (slot, (id, node)) in nodes.into_iter().enumerate() {
            list.max_stamp = list.max_stamp.max(node.stamp);
            list.ids.insert(id.clone(), slot as u32);
            list.entries.push(Entry { id, node });
            list.seq.push();
        }
        if list.entries.len() <= 16 {
            // A delta: placing one node at a time is cheaper than the
            // rebuild's buffers, and gives the same order.
            for slot in 0..list.entries.len() as u32 {
                list.attach(slot);
            }
        } else {
            list.reindex();
        }
        list
    }

    /// Adds a node not held yet; returns its slot, not yet placed.
    fn push_entry(&mut self, id: Dot<A>, node: Node<V, A>) -> u32 {
        assert!(
            self.entries.len() < MAX_NODES,
            "a list holds fewer than 2^32 - 1 nodes"
        );
        let slot = self.entries.len() as u32;
        self.max_stamp = self.max_stamp.max(node.stamp);
        self.ids.insert(id.clone(), slot);
        self.entries.push(Entry { id, node });
        self.seq.push();
        slot
    }

    fn entry(&self, slot: u32) -> &Entry<V, A> {
        &self.entries[slot as usize]
    }

    /// Whether node `a` comes before its sibling `b` (newest stamp first,
    /// then larger id).
    fn precedes(&self, a: u32, b: u32) -> bool {
        let (a, b) = (self.entry(a), self.entry(b));
        (a.node.stamp, &a.id) > (b.node.stamp, &b.id)
    }

    /// Places `slot` if its origin is placed (and then whatever waited for
    /// it), or holds it apart until the origin is.
    fn attach(&mut self, slot: u32) {
        let entry = &self.entries[slot as usize];
        if let Some(origin) = &entry.node.origin {
            match self.ids.get(origin) {
                Some(&o) if self.seq.placed(o) => {
                    if entry.node.stamp <= self.entry(o).node.stamp {
                        return; // hostile: never shown
                    }
                }
                _ => {
                    self.pending.entry(origin.clone()).or_default().push(slot);
                    return;
                }
            }
        }
        self.place(slot);
        if self.pending.is_empty() {
            return;
        }
        let mut work = self.waiting_on(slot);
        while let Some(s) = work.pop() {
            self.place(s);
            work.extend(self.waiting_on(s));
        }
    }

    /// Takes the held-apart nodes anchored at `slot` (just placed) that may
    /// be shown: those with a larger stamp.
    fn waiting_on(&mut self, slot: u32) -> Vec<u32> {
        let Some(mut kids) = self.pending.remove(&self.entries[slot as usize].id) else {
            return Vec::new();
        };
        let stamp = self.entry(slot).node.stamp;
        kids.retain(|&k| self.entries[k as usize].node.stamp > stamp);
        kids
    }

    /// Puts `slot`, whose origin is placed, into the order: after its
    /// origin, past every sibling that precedes it (their subtrees hold only
    /// larger stamps, so skipping every node that precedes it suffices).
    fn place(&mut self, slot: u32) {
        let mut prev = self.entry(slot).node.origin.as_ref().map(|o| self.ids[o]);
        let mut next = match prev {
            None => self.seq.first(),
            Some(p) => self.seq.next(p),
        };
        while let Some(n) = next
            && self.precedes(n, slot)
        {
            prev = Some(n);
            next = self.seq.next(n);
        }
        let visible = !self.deleted.contains(&self.entry(slot).id);
        self.seq.insert_after(prev, slot, visible);
    }

    /// Rebuilds the order and the held-apart set from the nodes, in
    /// O(n log n): the tree walk that defines the order.
    fn reindex(&mut self) {
        let n = self.entries.len();
        let root = n as u32;
        // (parent slot or `root`, slot), siblings in reading order.
        let mut edges: Vec<(u32, u32)> = Vec::with_capacity(n);
        for (slot, e) in self.entries.iter().enumerate() {
            let parent = match &e.node.origin {
                None => root,
                Some(o) => match self.ids.get(o) {
                    Some(&p) => p,
                    None => continue,
                },
            };
            edges.push((parent, slot as u32));
        }
        edges.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                if self.precedes(a.1, b.1) {
                    std::cmp::Ordering::Less
                } else if a.1 == b.1 {
                    std::cmp::Ordering::Equal
                } else {
                    std::cmp::Ordering::Greater
                }
            })
        });
        let mut start = vec![0usize; n + 2];
        for &(p, _) in &edges {
            start[p as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let kids = |p: u32| &edges[start[p as usize]..start[p as usize + 1]];
        let mut order = Vec::with_capacity(n);
        let mut stack: Vec<u32> = kids(root).iter().rev().map(|e| e.1).collect();
        while let Some(s) = stack.pop() {
            order.push((s, !self.deleted.contains(&self.entry(s).id)));
            let stamp = self.entry(s).node.stamp;
            stack.extend(
                kids(s)
                    .iter()
                    .rev()
                    .map(|e| e.1)
                    .filter(|&k| self.entry(k).node.stamp > stamp),
            );
        }
        self.seq.rebuild(&order);
        self.pending.clear();
        for (slot, e) in self.entries.iter().enumerate() {
            if let Some(o) = &e.node.origin {
                let placed = self.ids.get(o).is_some_and(|&p| self.seq.placed(p));
                if !placed {
                    self.pending.entry(o.clone()).or_default().push(slot as u32);
                }
            }
        }
    }

    /// The visible values in order.
    pub fn to_vec(&self) -> Vec<V> {
        self.seq
            .visible()
            .into_iter()
            .map(|s| self.entry(s).node.value.clone())
            .collect()
    }

    /// The visible value at `index`, in O(log n).
    pub fn get(&self, index: usize) -> Option<&V> {
        let index = u32::try_from(index).ok()?;
        self.seq
            .kth_visible(index)
            .map(|s| &self.entry(s).node.value)
    }

    /// Number of visible values: those in the order and not deleted. An
    /// element whose origin has not arrived is not counted (nor shown)
    /// until it has. O(1).
    pub fn len(&self) -> usize {
        self.seq.visible_len()
    }

    /// Whether no value is visible.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next counter of `actor`: one above any id it made that this
    /// replica has seen, inserted or deleted.
    fn next_counter(&self, actor: &A) -> Result<u64> {
        let hi = Dot::new(actor.clone(), u64::MAX);
        let last = |d: Option<&Dot<A>>| d.filter(|d| d.actor == *actor).map_or(0, |d| d.counter);
        let inserted = last(self.ids.range(..=&hi).next_back().map(|(d, _)| d));
        let deleted = last(self.deleted.range(..=&hi).next_back());
        inserted.max(deleted).checked_add(1).ok_or(Error::Overflow)
    }

    /// Inserts `value` at visible position `index` as `actor`, in
    /// O(log n); returns the delta, or [`Error::IndexOutOfBounds`] leaving
    /// the list unchanged ([`Error::Overflow`] if stamps, the actor's
    /// counter or the node count would overflow).
    pub fn insert(&mut self, actor: A, index: usize, value: V) -> Result<Self> {
        let len = self.len();
        let out_of_bounds = Error::IndexOutOfBounds { index, len };
        if index > len {
            return Err(out_of_bounds);
        }
        let origin = match index.checked_sub(1) {
            None => None,
            Some(i) => {
                let slot = u32::try_from(i)
                    .ok()
                    .and_then(|i| self.seq.kth_visible(i))
                    .ok_or(out_of_bounds)?;
                Some(self.entry(slot).id.clone())
            }
        };
        let stamp = self.max_stamp.checked_add(1).ok_or(Error::Overflow)?;
        let counter = self.next_counter(&actor)?;
        if self.entries.len() >= MAX_NODES {
            return Err(Error::Overflow);
        }
        let id = Dot::new(actor, counter);
        let node = Node {
            stamp,
            origin,
            value,
        };
        let mut delta = Self::new();
        let d = delta.push_entry(id.clone(), node.clone());
        delta.attach(d);
        let slot = self.push_entry(id, node);
        self.attach(slot);
        Ok(delta)
    }

    /// Deletes the value at visible position `index`, in O(log n); returns
    /// the delta, or [`Error::IndexOutOfBounds`] leaving the list unchanged.
    pub fn remove(&mut self, index: usize) -> Result<Self> {
        let out_of_bounds = Error::IndexOutOfBounds {
            index,
            len: self.len(),
        };
        let slot = u32::try_from(index)
            .ok()
            .and_then(|i| self.seq.kth_visible(i))
            .ok_or(out_of_bounds)?;
        let id = self.entry(slot).id.clone();
        self.deleted.insert(id.clone());
        self.seq.set_visible(slot, false);
        Ok(Self {
            deleted: BTreeSet::from([id]),
            ..Self::default()
        })
    }
}

impl<V: Ord + Clone, A: Ord + Clone> Lattice for List<V, A> {
    /// O(log n) per node and deletion of `other` (plus the concurrent
    /// siblings a node is ordered past); when `other` brings more nodes
    /// than a quarter of the result, the order is rebuilt in one
    /// O(n log n) pass instead.
    fn merge(&mut self, other: &Self) {
        if self.ids.is_empty() && self.deleted.is_empty() {
            *self = other.clone();
            return;
        }
        let mut conflict = false;
        let mut added = Vec::new();
        for (id, &os) in &other.ids {
            let node = &other.entry(os).node;
            match self.ids.get(id) {
                // One dot names one insert; if hostile input disagrees, the
                // larger node wins everywhere.
                Some(&s) => {
                    if self.entries[s as usize].node < *node {
                        self.entries[s as usize].node = node.clone();
                        self.max_stamp = self.max_stamp.max(node.stamp);
                        conflict = true;
                    }
                }
                None => added.push(self.push_entry(id.clone(), node.clone())),
            }
        }
        for id in &other.deleted {
            if !self.deleted.contains(id) {
                self.deleted.insert(id.clone());
                if let Some(&s) = self.ids.get(id)
                    && self.seq.placed(s)
                {
                    self.seq.set_visible(s, false);
                }
            }
        }
        if conflict || (added.len() > 64 && added.len() * 4 > self.ids.len()) {
            self.reindex();
        } else {
            for slot in added {
                self.attach(slot);
            }
        }
    }
}

/// One [`List`] edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOp<V> {
    /// Insert at a visible position (clamped to the length by the harness
    /// that generates it; out of range is an error).
    Insert(usize, V),
    /// Delete at a visible position.
    Remove(usize),
}

impl<V: Ord + Clone, A: Ord + Clone> DeltaCrdt for List<V, A> {
    type Actor = A;
    type Op = ListOp<V>;
    type Value = Vec<V>;

    fn apply(&mut self, actor: &A, op: ListOp<V>) -> Result<Self> {
        match op {
            ListOp::Insert(i, v) => self.insert(actor.clone(), i, v),
            ListOp::Remove(i) => self.remove(i),
        }
    }

    fn value(&self) -> Vec<V> {
        self.to_vec()
    }
}

/// What a list replica sends for anti-entropy: the ids of the inserts it
/// has and the ids it has deleted, both as compact dot sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListDigest<A: Ord> {
    /// Insert ids held.
    pub inserts: CausalContext<A>,
    /// Ids deleted.
    pub deleted: DotRanges<A>,
}

impl<V: Ord + Clone, A: Ord + Clone> AntiEntropy for List<V, A> {
    type Digest = ListDigest<A>;

    fn digest(&self) -> ListDigest<A> {
        let mut inserts = CausalContext::new();
        for id in self.ids.keys() {
            inserts.insert(id.clone());
        }
        ListDigest {
            inserts,
            deleted: DotRanges::from_dots(&self.deleted),
        }
    }

    fn missing(&self, peer: &ListDigest<A>) -> Self {
        Self::from_parts(
            self.nodes()
                .filter(|(id, _)| !peer.inserts.contains(id))
                .map(|(id, n)| (id.clone(), n.clone()))
                .collect(),
            self.deleted
                .iter()
                .filter(|id| !peer.deleted.contains(id))
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests;

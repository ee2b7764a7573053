//! A replicated list: RGA (replicated growable array; Roh et al., 2011).
//!
//! Every insert is a node named by a fresh dot, placed right after an
//! existing node (its origin) or at the head, and stamped with a Lamport
//! time one above every stamp its replica has seen. Siblings under one
//! origin are read newest stamp first (ties by actor), so a run typed by one
//! replica stays contiguous and concurrent inserts at one position interleave
//! deterministically. Deletes keep the node as a tombstone so later inserts
//! can still anchor to it. The state is two grow-only sets, so merge is union.

use crate::clock::{CausalContext, Dot};
use crate::codec::{Codec, read_count};
use crate::context::{ActorTable, DotRanges, context_actors, decode_context, encode_context};
use crate::traits::{AntiEntropy, DeltaCrdt, Lattice};
use crate::{Error, Result};
use murmura_core::codec::{DecodeError, Reader, put_varint};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// Children of one origin: (id, stamp).
type Siblings<'a, A> = Vec<(&'a Dot<A>, u64)>;

/// One inserted element.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Node<V, A> {
    stamp: u64,
    origin: Option<Dot<A>>,
    value: V,
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
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct List<V, A: Ord> {
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_util"))]
    #[cfg_attr(
        feature = "serde",
        serde(bound(
            serialize = "A: serde::Serialize, V: serde::Serialize",
            deserialize = "A: Ord + serde::Deserialize<'de>, V: serde::Deserialize<'de>"
        ))
    )]
    nodes: BTreeMap<Dot<A>, Node<V, A>>,
    deleted: BTreeSet<Dot<A>>,
}

impl<V, A: Ord> Default for List<V, A> {
    fn default() -> Self {
        Self {
            nodes: BTreeMap::new(),
            deleted: BTreeSet::new(),
        }
    }
}

impl<V: Ord + Clone, A: Ord + Clone> List<V, A> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Node ids in list order, tombstones included.
    fn order(&self) -> Vec<&Dot<A>> {
        let mut children: BTreeMap<Option<&Dot<A>>, Siblings<'_, A>> = BTreeMap::new();
        for (id, node) in &self.nodes {
            children
                .entry(node.origin.as_ref())
                .or_default()
                .push((id, node.stamp));
        }
        for kids in children.values_mut() {
            // Newest first; ties by actor (then counter), descending.
            kids.sort_by(|a, b| (b.1, b.0).cmp(&(a.1, a.0)));
        }
        let mut out = Vec::with_capacity(self.nodes.len());
        // Each node has one origin, so from the head this is a tree walk;
        // nodes whose origin is unknown (or hostile cycles) are unreachable.
        let mut stack: Vec<&Dot<A>> = children
            .get(&None)
            .map(|k| k.iter().rev().map(|(id, _)| *id).collect())
            .unwrap_or_default();
        while let Some(id) = stack.pop() {
            out.push(id);
            if let Some(kids) = children.get(&Some(id)) {
                stack.extend(kids.iter().rev().map(|(id, _)| *id));
            }
        }
        out
    }

    fn visible(&self) -> Vec<&Dot<A>> {
        self.order()
            .into_iter()
            .filter(|id| !self.deleted.contains(id))
            .collect()
    }

    /// The visible values in order.
    pub fn to_vec(&self) -> Vec<V> {
        self.visible()
            .into_iter()
            .filter_map(|id| self.nodes.get(id).map(|n| n.value.clone()))
            .collect()
    }

    /// Number of visible values.
    pub fn len(&self) -> usize {
        self.nodes
            .keys()
            .filter(|id| !self.deleted.contains(id))
            .count()
    }

    /// Whether no value is visible.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts `value` at visible position `index` as `actor`; returns the
    /// delta, or [`Error::IndexOutOfBounds`] leaving the list unchanged.
    pub fn insert(&mut self, actor: A, index: usize, value: V) -> Result<Self> {
        let visible = self.visible();
        if index > visible.len() {
            return Err(Error::IndexOutOfBounds {
                index,
                len: visible.len(),
            });
        }
        let origin = index.checked_sub(1).map(|i| visible[i].clone());
        let stamp = self.nodes.values().map(|n| n.stamp).max().unwrap_or(0) + 1;
        let counter = self
            .nodes
            .keys()
            .chain(self.deleted.iter())
            .filter(|d| d.actor == actor)
            .map(|d| d.counter)
            .max()
            .unwrap_or(0)
            + 1;
        let id = Dot::new(actor, counter);
        let node = Node {
            stamp,
            origin,
            value,
        };
        self.nodes.insert(id.clone(), node.clone());
        Ok(Self {
            nodes: BTreeMap::from([(id, node)]),
            deleted: BTreeSet::new(),
        })
    }

    /// Deletes the value at visible position `index`; returns the delta, or
    /// [`Error::IndexOutOfBounds`] leaving the list unchanged.
    pub fn remove(&mut self, index: usize) -> Result<Self> {
        let visible = self.visible();
        let Some(id) = visible.get(index).map(|d| (*d).clone()) else {
            return Err(Error::IndexOutOfBounds {
                index,
                len: visible.len(),
            });
        };
        self.deleted.insert(id.clone());
        Ok(Self {
            nodes: BTreeMap::new(),
            deleted: BTreeSet::from([id]),
        })
    }
}

impl<V: Ord + Clone, A: Ord + Clone> Lattice for List<V, A> {
    fn merge(&mut self, other: &Self) {
        for (id, node) in &other.nodes {
            match self.nodes.get_mut(id) {
                // One dot names one insert; if hostile input disagrees, the
                // larger node wins everywhere.
                Some(mine) if *mine < *node => *mine = node.clone(),
                Some(_) => {}
                None => {
                    self.nodes.insert(id.clone(), node.clone());
                }
            }
        }
        self.deleted.extend(other.deleted.iter().cloned());
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
        for id in self.nodes.keys() {
            inserts.insert(id.clone());
        }
        ListDigest {
            inserts,
            deleted: DotRanges::from_dots(&self.deleted),
        }
    }

    fn missing(&self, peer: &ListDigest<A>) -> Self {
        Self {
            nodes: self
                .nodes
                .iter()
                .filter(|(id, _)| !peer.inserts.contains(id))
                .map(|(id, n)| (id.clone(), n.clone()))
                .collect(),
            deleted: self
                .deleted
                .iter()
                .filter(|id| !peer.deleted.contains(id))
                .cloned()
                .collect(),
        }
    }
}

impl<V, A> Codec for List<V, A>
where
    V: Ord + Clone + Codec,
    A: Ord + Clone + Codec + Debug,
{
    fn encode(&self, out: &mut Vec<u8>) {
        let mut actors: Vec<A> = self
            .nodes
            .iter()
            .flat_map(|(id, n)| std::iter::once(&id.actor).chain(n.origin.iter().map(|o| &o.actor)))
            .chain(self.deleted.iter().map(|d| &d.actor))
            .cloned()
            .collect();
        actors.sort();
        actors.dedup();
        let table = ActorTable::from_sorted(actors);
        table.encode(out);
        put_varint(out, self.nodes.len() as u64);
        for (id, node) in &self.nodes {
            table.encode_dot(id, out);
            put_varint(out, node.stamp);
            match &node.origin {
                None => out.push(0),
                Some(o) => {
                    out.push(1);
                    table.encode_dot(o, out);
                }
            }
            node.value.encode(out);
        }
        put_varint(out, self.deleted.len() as u64);
        for id in &self.deleted {
            table.encode_dot(id, out);
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let table = ActorTable::decode(reader)?;
        let n = read_count(reader, 4 + V::MIN_LEN)?;
        let mut nodes = BTreeMap::new();
        let mut last: Option<Dot<A>> = None;
        for _ in 0..n {
            let id = table.decode_dot(reader)?;
            if last.as_ref().is_some_and(|l| *l >= id) {
                return Err(DecodeError::Invalid("unsorted list ids").into());
            }
            let stamp = reader.varint()?;
            let origin = match reader.u8()? {
                0 => None,
                1 => Some(table.decode_dot(reader)?),
                tag => {
                    return Err(DecodeError::UnknownTag {
                        what: "list origin",
                        tag: u64::from(tag),
                    }
                    .into());
                }
            };
            let value = V::decode(reader)?;
            last = Some(id.clone());
            nodes.insert(
                id,
                Node {
                    stamp,
                    origin,
                    value,
                },
            );
        }
        let n = read_count(reader, 2)?;
        let mut deleted = BTreeSet::new();
        let mut last: Option<Dot<A>> = None;
        for _ in 0..n {
            let id = table.decode_dot(reader)?;
            if last.as_ref().is_some_and(|l| *l >= id) {
                return Err(DecodeError::Invalid("unsorted deletions").into());
            }
            last = Some(id.clone());
            deleted.insert(id);
        }
        Ok(Self { nodes, deleted })
    }
}

impl<A: Ord + Clone + Codec> Codec for ListDigest<A> {
    fn encode(&self, out: &mut Vec<u8>) {
        let table = ActorTable::from_sorted(context_actors(&self.inserts));
        table.encode(out);
        encode_context(&self.inserts, &table, out);
        self.deleted.encode(out);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let table = ActorTable::decode(reader)?;
        let inserts = decode_context(&table, reader)?;
        let deleted = DotRanges::decode(reader)?;
        Ok(Self { inserts, deleted })
    }
}

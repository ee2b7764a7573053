//! Grow-only and two-phase sets.

use crate::Result;
use crate::codec::{Codec, decode_sorted};
use crate::traits::{AntiEntropy, DeltaCrdt, Lattice};
use murmura_core::codec::{Reader, put_varint};
use std::collections::BTreeSet;

/// A grow-only set: merge is union.
///
/// ```
/// use murmura_crdt::{GSet, Lattice};
///
/// let mut a = GSet::new();
/// let mut b = GSet::new();
/// a.insert(1u64);
/// b.insert(2u64);
/// a.merge(&b);
/// assert!(a.contains(&1) && a.contains(&2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GSet<E: Ord> {
    elements: BTreeSet<E>,
}

impl<E: Ord> Default for GSet<E> {
    fn default() -> Self {
        Self {
            elements: BTreeSet::new(),
        }
    }
}

impl<E: Ord + Clone> GSet<E> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts `elem`; returns the delta (empty if it was already there).
    pub fn insert(&mut self, elem: E) -> Self {
        if self.elements.insert(elem.clone()) {
            Self {
                elements: BTreeSet::from([elem]),
            }
        } else {
            Self::default()
        }
    }

    /// Whether `elem` is present.
    pub fn contains(&self, elem: &E) -> bool {
        self.elements.contains(elem)
    }

    /// The elements, ascending.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.elements.iter()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }
}

impl<E: Ord + Clone> Lattice for GSet<E> {
    fn merge(&mut self, other: &Self) {
        self.elements.extend(other.elements.iter().cloned());
    }
}

impl<E: Ord + Clone> DeltaCrdt for GSet<E> {
    type Actor = ();
    type Op = E;
    type Value = Vec<E>;

    fn apply(&mut self, _: &(), elem: E) -> Result<Self> {
        Ok(self.insert(elem))
    }

    fn value(&self) -> Vec<E> {
        self.elements.iter().cloned().collect()
    }
}

/// State-driven: the peer sends its set; the answer is the difference.
impl<E: Ord + Clone> AntiEntropy for GSet<E> {
    type Digest = Self;

    fn digest(&self) -> Self {
        self.clone()
    }

    fn missing(&self, peer: &Self) -> Self {
        Self {
            elements: self.elements.difference(&peer.elements).cloned().collect(),
        }
    }
}

impl<E: Ord + Clone + Codec> Codec for GSet<E> {
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.elements.len() as u64);
        for e in &self.elements {
            e.encode(out);
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            elements: decode_sorted(reader)?.into_iter().collect(),
        })
    }
}

/// A two-phase set: an element can be added, then removed for good (the
/// remove set is a grow-only set of tombstones, so remove wins).
///
/// ```
/// use murmura_crdt::{Lattice, TwoPSet};
///
/// let mut a = TwoPSet::new();
/// a.insert(7u64);
/// a.remove(7);
/// a.insert(7); // too late: removal is final
/// assert!(!a.contains(&7));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TwoPSet<E: Ord> {
    added: GSet<E>,
    removed: GSet<E>,
}

impl<E: Ord> Default for TwoPSet<E> {
    fn default() -> Self {
        Self {
            added: GSet::default(),
            removed: GSet::default(),
        }
    }
}

impl<E: Ord + Clone> TwoPSet<E> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `elem`; returns the delta.
    pub fn insert(&mut self, elem: E) -> Self {
        Self {
            added: self.added.insert(elem),
            removed: GSet::default(),
        }
    }

    /// Removes `elem` for good (even if this replica has not seen it
    /// added); returns the delta.
    pub fn remove(&mut self, elem: E) -> Self {
        Self {
            added: GSet::default(),
            removed: self.removed.insert(elem),
        }
    }

    /// Whether `elem` was added and never removed.
    pub fn contains(&self, elem: &E) -> bool {
        self.added.contains(elem) && !self.removed.contains(elem)
    }

    /// The present elements, ascending.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.added.iter().filter(|e| !self.removed.contains(e))
    }
}

impl<E: Ord + Clone> Lattice for TwoPSet<E> {
    fn merge(&mut self, other: &Self) {
        self.added.merge(&other.added);
        self.removed.merge(&other.removed);
    }
}

impl<E: Ord + Clone> DeltaCrdt for TwoPSet<E> {
    type Actor = ();
    type Op = crate::SetOp<E>;
    type Value = Vec<E>;

    fn apply(&mut self, _: &(), op: crate::SetOp<E>) -> Result<Self> {
        Ok(match op {
            crate::SetOp::Add(e) => self.insert(e),
            crate::SetOp::Remove(e) => self.remove(e),
        })
    }

    fn value(&self) -> Vec<E> {
        self.iter().cloned().collect()
    }
}

impl<E: Ord + Clone> AntiEntropy for TwoPSet<E> {
    type Digest = Self;

    fn digest(&self) -> Self {
        self.clone()
    }

    fn missing(&self, peer: &Self) -> Self {
        Self {
            added: self.added.missing(&peer.added),
            removed: self.removed.missing(&peer.removed),
        }
    }
}

impl<E: Ord + Clone + Codec> Codec for TwoPSet<E> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.added.encode(out);
        self.removed.encode(out);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            added: GSet::decode(reader)?,
            removed: GSet::decode(reader)?,
        })
    }
}

//! Grow-only and positive-negative counters.

use crate::Result;
use crate::codec::Codec;
use crate::maxmap::MaxMap;
use crate::traits::{AntiEntropy, DeltaCrdt, Lattice};
use murmura_core::codec::Reader;

/// A grow-only counter: one monotone total per actor; the value is their sum.
///
/// ```
/// use murmura_crdt::{GCounter, Lattice};
///
/// let mut a = GCounter::new();
/// let mut b = GCounter::new();
/// a.inc(1u64, 3);
/// let delta = b.inc(2u64, 4);
/// a.merge(&delta); // a delta merges like a state
/// assert_eq!(a.value(), 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GCounter<A: Ord> {
    totals: MaxMap<A>,
}

impl<A: Ord> Default for GCounter<A> {
    fn default() -> Self {
        Self {
            totals: MaxMap::default(),
        }
    }
}

impl<A: Ord + Clone> GCounter<A> {
    /// A zero counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `by` as `actor` (saturating at `u64::MAX` per actor); returns the delta.
    pub fn inc(&mut self, actor: A, by: u64) -> Self {
        Self {
            totals: self.totals.add(actor, by),
        }
    }

    /// The sum of every actor's total.
    pub fn value(&self) -> u128 {
        self.totals.sum()
    }

    /// One actor's total.
    pub fn get(&self, actor: &A) -> u64 {
        self.totals.get(actor)
    }
}

impl<A: Ord + Clone> Lattice for GCounter<A> {
    fn merge(&mut self, other: &Self) {
        self.totals.merge(&other.totals);
    }
}

impl<A: Ord + Clone> DeltaCrdt for GCounter<A> {
    type Actor = A;
    type Op = u64;
    type Value = u128;

    fn apply(&mut self, actor: &A, by: u64) -> Result<Self> {
        Ok(self.inc(actor.clone(), by))
    }

    fn value(&self) -> u128 {
        GCounter::value(self)
    }
}

/// State-driven: the digest is the (small) state itself.
impl<A: Ord + Clone> AntiEntropy for GCounter<A> {
    type Digest = Self;

    fn digest(&self) -> Self {
        self.clone()
    }

    fn missing(&self, peer: &Self) -> Self {
        Self {
            totals: self.totals.missing(&peer.totals),
        }
    }
}

impl<A: Ord + Clone + Codec> Codec for GCounter<A> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.totals.encode(out);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            totals: MaxMap::decode(reader)?,
        })
    }
}

/// A positive-negative counter: two grow-only counters, value = P − N.
///
/// ```
/// use murmura_crdt::{Lattice, PNCounter};
///
/// let mut a = PNCounter::new();
/// let mut b = PNCounter::new();
/// a.inc(1u64, 5);
/// b.dec(2u64, 7);
/// a.merge(&b);
/// assert_eq!(a.value(), -2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PNCounter<A: Ord> {
    inc: MaxMap<A>,
    dec: MaxMap<A>,
}

impl<A: Ord> Default for PNCounter<A> {
    fn default() -> Self {
        Self {
            inc: MaxMap::default(),
            dec: MaxMap::default(),
        }
    }
}

impl<A: Ord + Clone> PNCounter<A> {
    /// A zero counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `by` as `actor`; returns the delta.
    pub fn inc(&mut self, actor: A, by: u64) -> Self {
        Self {
            inc: self.inc.add(actor, by),
            dec: MaxMap::default(),
        }
    }

    /// Subtracts `by` as `actor`; returns the delta.
    pub fn dec(&mut self, actor: A, by: u64) -> Self {
        Self {
            inc: MaxMap::default(),
            dec: self.dec.add(actor, by),
        }
    }

    /// Increments minus decrements.
    pub fn value(&self) -> i128 {
        self.inc.sum() as i128 - self.dec.sum() as i128
    }
}

impl<A: Ord + Clone> Lattice for PNCounter<A> {
    fn merge(&mut self, other: &Self) {
        self.inc.merge(&other.inc);
        self.dec.merge(&other.dec);
    }
}

impl<A: Ord + Clone> DeltaCrdt for PNCounter<A> {
    type Actor = A;
    /// Positive increments, negative decrements.
    type Op = i64;
    type Value = i128;

    fn apply(&mut self, actor: &A, by: i64) -> Result<Self> {
        Ok(if by >= 0 {
            self.inc(actor.clone(), by.unsigned_abs())
        } else {
            self.dec(actor.clone(), by.unsigned_abs())
        })
    }

    fn value(&self) -> i128 {
        PNCounter::value(self)
    }
}

impl<A: Ord + Clone> AntiEntropy for PNCounter<A> {
    type Digest = Self;

    fn digest(&self) -> Self {
        self.clone()
    }

    fn missing(&self, peer: &Self) -> Self {
        Self {
            inc: self.inc.missing(&peer.inc),
            dec: self.dec.missing(&peer.dec),
        }
    }
}

impl<A: Ord + Clone + Codec> Codec for PNCounter<A> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.inc.encode(out);
        self.dec.encode(out);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            inc: MaxMap::decode(reader)?,
            dec: MaxMap::decode(reader)?,
        })
    }
}

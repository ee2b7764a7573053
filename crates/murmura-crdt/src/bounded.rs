//! A bounded counter that never goes below zero (Balegas et al., 2015).
//!
//! Each replica may only spend *rights* it holds: its own increments, plus
//! rights other replicas transferred to it, minus its decrements and what it
//! transferred away. Since every replica stays within its own rights, the
//! global value can never drop below zero, however replicas interleave —
//! without coordination on the decrement path. A replica short of rights
//! asks a richer one for a [`transfer`](BoundedCounter::transfer).

use crate::codec::Codec;
use crate::maxmap::MaxMap;
use crate::traits::{AntiEntropy, DeltaCrdt, Lattice};
use crate::{Error, Result};
use murmura_core::codec::Reader;

/// A counter that never goes below zero, with rights escrowed per replica.
///
/// ```
/// use murmura_crdt::{BoundedCounter, Error, Lattice};
///
/// let mut a = BoundedCounter::new();
/// let mut b = BoundedCounter::new();
/// a.inc(1u64, 10);
/// b.merge(&a);
/// // b holds no rights of its own yet.
/// assert!(matches!(b.dec(2, 1), Err(Error::InsufficientRights { .. })));
/// let delta = a.transfer(1, 2, 4).unwrap();
/// b.merge(&delta);
/// b.dec(2, 4).unwrap();
/// assert_eq!(b.value(), 6);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BoundedCounter<A: Ord> {
    inc: MaxMap<A>,
    dec: MaxMap<A>,
    /// Rights moved, keyed (from, to); only `from` grows its entries.
    moved: MaxMap<(A, A)>,
}

impl<A: Ord> Default for BoundedCounter<A> {
    fn default() -> Self {
        Self {
            inc: MaxMap::default(),
            dec: MaxMap::default(),
            moved: MaxMap::default(),
        }
    }
}

impl<A: Ord + Clone> BoundedCounter<A> {
    /// A zero counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value: increments minus decrements, never negative.
    pub fn value(&self) -> u64 {
        // Every replica spends only its own rights, so dec ≤ inc; saturate
        // anyway so hostile state cannot underflow.
        let v = self.inc.sum().saturating_sub(self.dec.sum());
        u64::try_from(v).unwrap_or(u64::MAX)
    }

    /// The rights `actor` may still spend.
    pub fn rights(&self, actor: &A) -> u64 {
        let mut got = u128::from(self.inc.get(actor));
        let mut spent = u128::from(self.dec.get(actor));
        for ((from, to), &n) in &self.moved.entries {
            if to == actor {
                got += u128::from(n);
            }
            if from == actor {
                spent += u128::from(n);
            }
        }
        u64::try_from(got.saturating_sub(spent)).unwrap_or(u64::MAX)
    }

    /// Adds `by` as `actor` (who gains as many rights); returns the delta.
    pub fn inc(&mut self, actor: A, by: u64) -> Self {
        Self {
            inc: self.inc.add(actor, by),
            ..Self::default()
        }
    }

    /// Subtracts `by` as `actor`, spending its rights; returns the delta, or
    /// [`Error::InsufficientRights`] leaving the counter unchanged.
    pub fn dec(&mut self, actor: A, by: u64) -> Result<Self> {
        self.check(&actor, by)?;
        Ok(Self {
            dec: self.dec.add(actor, by),
            ..Self::default()
        })
    }

    /// Moves `by` of `from`'s rights to `to`; returns the delta, or
    /// [`Error::InsufficientRights`] leaving the counter unchanged.
    pub fn transfer(&mut self, from: A, to: A, by: u64) -> Result<Self> {
        self.check(&from, by)?;
        if from == to {
            return Ok(Self::default());
        }
        Ok(Self {
            moved: self.moved.add((from, to), by),
            ..Self::default()
        })
    }

    fn check(&self, actor: &A, needed: u64) -> Result<()> {
        let available = self.rights(actor);
        if available < needed {
            return Err(Error::InsufficientRights { needed, available });
        }
        Ok(())
    }
}

/// One [`BoundedCounter`] mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundedOp<A> {
    /// Increment.
    Inc(u64),
    /// Decrement within the actor's rights.
    Dec(u64),
    /// Give rights to another replica.
    Transfer(A, u64),
}

impl<A: Ord + Clone> Lattice for BoundedCounter<A> {
    fn merge(&mut self, other: &Self) {
        self.inc.merge(&other.inc);
        self.dec.merge(&other.dec);
        self.moved.merge(&other.moved);
    }
}

impl<A: Ord + Clone> DeltaCrdt for BoundedCounter<A> {
    type Actor = A;
    type Op = BoundedOp<A>;
    type Value = u64;

    fn apply(&mut self, actor: &A, op: BoundedOp<A>) -> Result<Self> {
        match op {
            BoundedOp::Inc(n) => Ok(self.inc(actor.clone(), n)),
            BoundedOp::Dec(n) => self.dec(actor.clone(), n),
            BoundedOp::Transfer(to, n) => self.transfer(actor.clone(), to, n),
        }
    }

    fn value(&self) -> u64 {
        BoundedCounter::value(self)
    }
}

impl<A: Ord + Clone> AntiEntropy for BoundedCounter<A> {
    type Digest = Self;

    fn digest(&self) -> Self {
        self.clone()
    }

    fn missing(&self, peer: &Self) -> Self {
        Self {
            inc: self.inc.missing(&peer.inc),
            dec: self.dec.missing(&peer.dec),
            moved: self.moved.missing(&peer.moved),
        }
    }
}

impl<A: Ord + Clone + Codec> Codec for BoundedCounter<A> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.inc.encode(out);
        self.dec.encode(out);
        self.moved.encode(out);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            inc: MaxMap::decode(reader)?,
            dec: MaxMap::decode(reader)?,
            moved: MaxMap::decode(reader)?,
        })
    }
}

//! The three traits applications and the replication layer program against.

use crate::Result;

/// A join-semilattice: a state that replicas can merge in any order, any
/// number of times, and still agree.
///
/// `merge` must be commutative, associative and idempotent; `Default` is the
/// bottom element (merging it changes nothing).
pub trait Lattice: Clone + Default + PartialEq {
    /// Joins `other` into `self` (the least upper bound of the two).
    fn merge(&mut self, other: &Self);

    /// The join of `self` and `other`, leaving both untouched.
    fn merged(&self, other: &Self) -> Self {
        let mut out = self.clone();
        out.merge(other);
        out
    }

    /// Whether `self ≤ other` in the lattice order (merging `self` into
    /// `other` would change nothing).
    fn leq(&self, other: &Self) -> bool {
        other.merged(self) == *other
    }

    /// Whether this is the bottom element (an empty delta ships nothing).
    fn is_bottom(&self) -> bool {
        *self == Self::default()
    }
}

/// A delta-state CRDT (Almeida, Shoker & Baquero, 2018): every mutator
/// updates the replica and returns a *delta* — a small state of the same
/// type that, merged into any replica that has seen the mutation's causal
/// past, has the same effect as the mutation itself. Deltas merge like
/// states, so many can be grouped into one before shipping.
///
/// The inherent methods of each type (`inc`, `add`, `write`, …) are the
/// ergonomic interface; this trait gives generic code (replication layers,
/// the test harness) one operation type per CRDT.
pub trait DeltaCrdt: Lattice {
    /// The replica identifier that owns the mutation.
    type Actor;
    /// One mutation.
    type Op;
    /// What a reader sees.
    type Value;

    /// Applies `op` as `actor` and returns the delta to ship. On error the
    /// replica is unchanged.
    fn apply(&mut self, actor: &Self::Actor, op: Self::Op) -> Result<Self>;

    /// The current value.
    fn value(&self) -> Self::Value;
}

/// Anti-entropy by join decomposition (Enes et al., 2019).
///
/// A peer sends its [`digest`](Self::digest); the replica answers with
/// [`missing`](Self::missing): the join of exactly those irreducible parts
/// of its state the peer does not already have. Nothing the peer sent is
/// shipped back, and an up-to-date peer gets the bottom element.
pub trait AntiEntropy: Lattice {
    /// What a peer sends to describe what it has. Causal types send their
    /// causal context and a range summary of their live dots; the others
    /// send their (small) state.
    type Digest;

    /// This replica's digest.
    fn digest(&self) -> Self::Digest;

    /// The irredundant delta a peer with `peer` digest is missing.
    fn missing(&self, peer: &Self::Digest) -> Self;

    /// What to ship: the irredundant delta when the peer's digest is known,
    /// the full state when it is not (a new peer, a lost digest).
    fn missing_or_full(&self, peer: Option<&Self::Digest>) -> Self {
        match peer {
            Some(digest) => self.missing(digest),
            None => self.clone(),
        }
    }
}

//! Registers: last-writer-wins and multi-value.

use crate::Result;
use crate::causal::Causal;
use crate::clock::CausalContext;
use crate::codec::Codec;
use crate::dotstore::DotFun;
use crate::traits::{AntiEntropy, DeltaCrdt, Lattice};
use murmura_core::codec::{DecodeError, Reader};
use std::fmt::Debug;

/// A last-writer-wins register with timestamps of any ordered type `T`
/// (hybrid-logical-clock timestamps, say) written by actors `A`.
///
/// Writes are ordered by `(timestamp, actor, value)`: two writes with the
/// same timestamp are ordered by actor, and even a replayed write with the
/// same timestamp and actor but another value resolves the same way
/// everywhere — so merge is commutative on equal timestamps too.
///
/// ```
/// use murmura_crdt::{LwwRegister, Lattice};
///
/// let mut a = LwwRegister::new();
/// let mut b = LwwRegister::new();
/// a.write(10u64, 1u64, "a".to_string());
/// b.write(10, 2, "b".to_string()); // same timestamp: actor 2 wins
/// let ab = a.merged(&b);
/// assert_eq!(ab, b.merged(&a));
/// assert_eq!(ab.get(), Some(&"b".to_string()));
///
/// // With hybrid-logical-clock timestamps from `murmura-clock`:
/// use murmura_clock::Hlc;
/// use murmura_core::time::ManualClock;
/// use std::time::Duration;
///
/// let time = ManualClock::new(Duration::from_secs(1_700_000_000));
/// let hlc = Hlc::with_clock(time);
/// let mut reg = LwwRegister::new();
/// reg.write(hlc.now(), 1u64, 1u64);
/// reg.write(hlc.now(), 1u64, 2u64); // later stamp, same wall time
/// assert_eq!(reg.get(), Some(&2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LwwRegister<V, T, A> {
    current: Option<(T, A, V)>,
}

impl<V, T, A> Default for LwwRegister<V, T, A> {
    fn default() -> Self {
        Self { current: None }
    }
}

impl<V: Ord + Clone, T: Ord + Clone, A: Ord + Clone> LwwRegister<V, T, A> {
    /// An unwritten register.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` at `timestamp` as `actor`; returns the delta (the
    /// bottom register if an ordered-later write is already held).
    pub fn write(&mut self, timestamp: T, actor: A, value: V) -> Self {
        let candidate = Self {
            current: Some((timestamp, actor, value)),
        };
        if candidate.current > self.current {
            self.current.clone_from(&candidate.current);
            candidate
        } else {
            Self::default()
        }
    }

    /// The current value.
    pub fn get(&self) -> Option<&V> {
        self.current.as_ref().map(|(_, _, v)| v)
    }

    /// The winning write's timestamp and actor.
    pub fn stamp(&self) -> Option<(&T, &A)> {
        self.current.as_ref().map(|(t, a, _)| (t, a))
    }
}

impl<V: Ord + Clone, T: Ord + Clone, A: Ord + Clone> Lattice for LwwRegister<V, T, A> {
    fn merge(&mut self, other: &Self) {
        if other.current > self.current {
            self.current.clone_from(&other.current);
        }
    }
}

impl<V: Ord + Clone, T: Ord + Clone, A: Ord + Clone> DeltaCrdt for LwwRegister<V, T, A> {
    type Actor = A;
    type Op = (T, V);
    type Value = Option<V>;

    fn apply(&mut self, actor: &A, (timestamp, value): (T, V)) -> Result<Self> {
        Ok(self.write(timestamp, actor.clone(), value))
    }

    fn value(&self) -> Option<V> {
        self.get().cloned()
    }
}

impl<V: Ord + Clone, T: Ord + Clone, A: Ord + Clone> AntiEntropy for LwwRegister<V, T, A> {
    type Digest = Self;

    fn digest(&self) -> Self {
        self.clone()
    }

    fn missing(&self, peer: &Self) -> Self {
        if self.current > peer.current {
            self.clone()
        } else {
            Self::default()
        }
    }
}

impl<V: Codec, T: Codec, A: Codec> Codec for LwwRegister<V, T, A> {
    fn encode(&self, out: &mut Vec<u8>) {
        match &self.current {
            None => out.push(0),
            Some((t, a, v)) => {
                out.push(1);
                t.encode(out);
                a.encode(out);
                v.encode(out);
            }
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        match reader.u8()? {
            0 => Ok(Self::default()),
            1 => Ok(Self {
                current: Some((T::decode(reader)?, A::decode(reader)?, V::decode(reader)?)),
            }),
            tag => Err(DecodeError::UnknownTag {
                what: "register",
                tag: u64::from(tag),
            }
            .into()),
        }
    }
}

/// A multi-value register: a write replaces every value it has seen, and
/// concurrent writes are all kept as siblings until a later write
/// supersedes them. A dot map of siblings.
///
/// ```
/// use murmura_crdt::{Lattice, MvRegister};
///
/// let mut a: MvRegister<String, u64> = MvRegister::new();
/// let mut b = a.clone();
/// a.write(1, "left".to_string());
/// b.write(2, "right".to_string());
/// a.merge(&b);
/// assert_eq!(a.values().count(), 2); // concurrent siblings
/// a.write(1, "resolved".to_string());
/// assert_eq!(a.values().collect::<Vec<_>>(), [&"resolved".to_string()]);
/// ```
pub type MvRegister<V, A> = Causal<DotFun<A, V>, A>;

impl<V, A> Causal<DotFun<A, V>, A>
where
    V: Ord + Clone + Codec + Debug,
    A: Ord + Clone + Codec + Debug,
{
    /// An unwritten register.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` as `actor`, superseding every sibling seen; returns
    /// the delta.
    pub fn write(&mut self, actor: A, value: V) -> Self {
        let dot = self.ctx.next_dot(actor);
        let mut delta_ctx = CausalContext::new();
        delta_ctx.insert(dot.clone());
        for old in self.store.entries.keys() {
            delta_ctx.insert(old.clone());
        }
        self.ctx.insert(dot.clone());
        self.store.entries.clear();
        self.store.entries.insert(dot.clone(), value.clone());
        let mut store = DotFun::default();
        store.entries.insert(dot, value);
        Causal::from_parts(store, delta_ctx)
    }

    /// The current siblings, ordered by the dot that wrote them.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.store.entries.values()
    }
}

impl<V, A> DeltaCrdt for Causal<DotFun<A, V>, A>
where
    V: Ord + Clone + Codec + Debug,
    A: Ord + Clone + Codec + Debug,
{
    type Actor = A;
    type Op = V;
    /// The siblings, sorted.
    type Value = Vec<V>;

    fn apply(&mut self, actor: &A, value: V) -> Result<Self> {
        Ok(self.write(actor.clone(), value))
    }

    fn value(&self) -> Vec<V> {
        let mut out: Vec<V> = self.values().cloned().collect();
        out.sort();
        out
    }
}

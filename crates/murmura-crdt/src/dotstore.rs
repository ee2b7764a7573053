//! Dot stores (Almeida, Shoker & Baquero, 2018): the one design every causal
//! type here is built from. A causal state is a dot store paired with a
//! causal context ([`Causal`](crate::Causal)); the store holds the live
//! dots, the context every dot ever seen. A dot the context covers but the
//! store lacks has been removed, which is how removal works without
//! tombstones.
//!
//! - [`DotSet`]: a set of dots (flags).
//! - [`DotFun`]: dots mapped to immutable values (multi-value registers, counters).
//! - [`DotMap`]: keys mapped to nested dot stores (maps, remove-wins sets) — any
//!   store nests, to any depth.

use crate::Result;
use crate::clock::{CausalContext, Dot};
use crate::codec::{Codec, read_count};
use crate::context::ActorTable;
use crate::sorted::SortedMap;
use murmura_core::codec::{DecodeError, Reader, put_varint};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// A store of live dots that joins under two causal contexts.
pub trait DotStore<A: Ord + Clone + Codec>: Clone + Default + PartialEq + Debug {
    /// Whether the store holds no dot (the bottom store).
    fn is_empty(&self) -> bool;

    /// Calls `f` on every live dot.
    fn for_each_dot(&self, f: &mut dyn FnMut(&Dot<A>));

    /// Joins `other` (whose context is `other_ctx`) into `self` (whose
    /// context is `ctx`): a dot survives if both stores hold it, or one
    /// holds it and the other's context has never seen it.
    fn join(&mut self, ctx: &CausalContext<A>, other: &Self, other_ctx: &CausalContext<A>);

    /// The part of the store whose dots `ctx` has not seen (the live part
    /// of a join decomposition a peer with context `ctx` lacks).
    fn unseen_by(&self, ctx: &CausalContext<A>) -> Self;

    /// Writes the store, dots as indices into `table`.
    fn encode_store(&self, table: &ActorTable<A>, out: &mut Vec<u8>);

    /// Reads a store written by [`encode_store`](Self::encode_store).
    fn decode_store(table: &ActorTable<A>, reader: &mut Reader<'_>) -> Result<Self>;
}

/// A set of dots: the store of enable/disable flags.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DotSet<A: Ord> {
    pub(crate) dots: BTreeSet<Dot<A>>,
}

impl<A: Ord> Default for DotSet<A> {
    fn default() -> Self {
        Self {
            dots: BTreeSet::new(),
        }
    }
}

impl<A: Ord> DotSet<A> {
    /// The live dots.
    pub fn iter(&self) -> impl Iterator<Item = &Dot<A>> {
        self.dots.iter()
    }
}

impl<A: Ord + Clone + Codec + Debug> DotStore<A> for DotSet<A> {
    fn is_empty(&self) -> bool {
        self.dots.is_empty()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(&Dot<A>)) {
        self.dots.iter().for_each(f);
    }

    fn join(&mut self, ctx: &CausalContext<A>, other: &Self, other_ctx: &CausalContext<A>) {
        self.dots
            .retain(|d| other.dots.contains(d) || !other_ctx.contains(d));
        for d in &other.dots {
            if !ctx.contains(d) {
                self.dots.insert(d.clone());
            }
        }
    }

    fn unseen_by(&self, ctx: &CausalContext<A>) -> Self {
        Self {
            dots: self
                .dots
                .iter()
                .filter(|d| !ctx.contains(d))
                .cloned()
                .collect(),
        }
    }

    fn encode_store(&self, table: &ActorTable<A>, out: &mut Vec<u8>) {
        put_varint(out, self.dots.len() as u64);
        for d in &self.dots {
            table.encode_dot(d, out);
        }
    }

    fn decode_store(table: &ActorTable<A>, reader: &mut Reader<'_>) -> Result<Self> {
        let n = read_count(reader, 2)?;
        let mut dots = BTreeSet::new();
        let mut last: Option<Dot<A>> = None;
        for _ in 0..n {
            let d = table.decode_dot(reader)?;
            if last.as_ref().is_some_and(|l| *l >= d) {
                return Err(DecodeError::Invalid("unsorted dots").into());
            }
            last = Some(d.clone());
            dots.insert(d);
        }
        Ok(Self { dots })
    }
}

/// Dots mapped to immutable values: the store of multi-value registers and
/// causal counters. The dot identifies the write, so two replicas never hold
/// different values under one dot; if hostile input makes them, the larger
/// value wins so merge stays deterministic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DotFun<A: Ord, V> {
    #[cfg_attr(
        feature = "serde",
        serde(bound(
            serialize = "A: serde::Serialize, V: serde::Serialize",
            deserialize = "A: Ord + serde::Deserialize<'de>, V: serde::Deserialize<'de>"
        ))
    )]
    pub(crate) entries: SortedMap<Dot<A>, V>,
}

impl<A: Ord, V> Default for DotFun<A, V> {
    fn default() -> Self {
        Self {
            entries: SortedMap::default(),
        }
    }
}

impl<A: Ord, V> DotFun<A, V> {
    /// The live (dot, value) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&Dot<A>, &V)> {
        self.entries.iter()
    }
}

impl<A, V> DotStore<A> for DotFun<A, V>
where
    A: Ord + Clone + Codec + Debug,
    V: Ord + Clone + Codec + Debug,
{
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(&Dot<A>)) {
        self.entries.keys().for_each(f);
    }

    /// One linear pass over both sorted runs, so even a huge hostile store
    /// joins in O(n + m), never by repeated inserts into the middle.
    fn join(&mut self, ctx: &CausalContext<A>, other: &Self, other_ctx: &CausalContext<A>) {
        use std::cmp::Ordering;
        let mut ours = std::mem::take(&mut self.entries).into_iter().peekable();
        let mut theirs = other.entries.iter().peekable();
        let mut out = SortedMap::default();
        loop {
            let order = match (ours.peek(), theirs.peek()) {
                (Some((a, _)), Some((b, _))) => a.cmp(b),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => break,
            };
            match order {
                Ordering::Equal => {
                    let (Some((d, mine)), Some((_, t))) = (ours.next(), theirs.next()) else {
                        break;
                    };
                    // Hostile input could put two values under one dot.
                    let v = if mine < *t { t.clone() } else { mine };
                    out.push_last(d, v);
                }
                Ordering::Less => {
                    let Some((d, v)) = ours.next() else { break };
                    if !other_ctx.contains(&d) {
                        out.push_last(d, v);
                    }
                }
                Ordering::Greater => {
                    let Some((d, v)) = theirs.next() else { break };
                    if !ctx.contains(d) {
                        out.push_last(d.clone(), v.clone());
                    }
                }
            }
        }
        self.entries = out;
    }

    fn unseen_by(&self, ctx: &CausalContext<A>) -> Self {
        Self {
            entries: SortedMap::from_sorted_iter(
                self.entries
                    .iter()
                    .filter(|(d, _)| !ctx.contains(d))
                    .map(|(d, v)| (d.clone(), v.clone())),
            ),
        }
    }

    fn encode_store(&self, table: &ActorTable<A>, out: &mut Vec<u8>) {
        put_varint(out, self.entries.len() as u64);
        for (d, v) in &self.entries {
            table.encode_dot(d, out);
            v.encode(out);
        }
    }

    fn decode_store(table: &ActorTable<A>, reader: &mut Reader<'_>) -> Result<Self> {
        let n = read_count(reader, 2 + V::MIN_LEN)?;
        let mut entries = SortedMap::default();
        let mut last: Option<Dot<A>> = None;
        for _ in 0..n {
            let d = table.decode_dot(reader)?;
            if last.as_ref().is_some_and(|l| *l >= d) {
                return Err(DecodeError::Invalid("unsorted dots").into());
            }
            let v = V::decode(reader)?;
            last = Some(d.clone());
            entries.insert(d, v);
        }
        Ok(Self { entries })
    }
}

/// Keys mapped to nested dot stores; a key whose store empties disappears.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DotMap<K: Ord, S> {
    pub(crate) entries: BTreeMap<K, S>,
}

impl<K: Ord, S> Default for DotMap<K, S> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }
}

impl<K: Ord, S> DotMap<K, S> {
    /// The store under `key`.
    pub fn get(&self, key: &K) -> Option<&S> {
        self.entries.get(key)
    }

    /// Keys with their nested stores, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &S)> {
        self.entries.iter()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<A, K, S> DotStore<A> for DotMap<K, S>
where
    A: Ord + Clone + Codec + Debug,
    K: Ord + Clone + Codec + Debug,
    S: DotStore<A>,
{
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(&Dot<A>)) {
        for store in self.entries.values() {
            store.for_each_dot(f);
        }
    }

    fn join(&mut self, ctx: &CausalContext<A>, other: &Self, other_ctx: &CausalContext<A>) {
        let empty = S::default();
        // Keys only here lose the dots the other side has seen and dropped.
        self.entries.retain(|k, store| {
            if !other.entries.contains_key(k) {
                store.join(ctx, &empty, other_ctx);
            }
            !store.is_empty()
        });
        for (k, theirs) in &other.entries {
            match self.entries.get_mut(k) {
                Some(mine) => {
                    mine.join(ctx, theirs, other_ctx);
                    if mine.is_empty() {
                        self.entries.remove(k);
                    }
                }
                None => {
                    let mut mine = S::default();
                    mine.join(ctx, theirs, other_ctx);
                    if !mine.is_empty() {
                        self.entries.insert(k.clone(), mine);
                    }
                }
            }
        }
    }

    fn unseen_by(&self, ctx: &CausalContext<A>) -> Self {
        Self {
            entries: self
                .entries
                .iter()
                .map(|(k, s)| (k.clone(), s.unseen_by(ctx)))
                .filter(|(_, s)| !s.is_empty())
                .collect(),
        }
    }

    fn encode_store(&self, table: &ActorTable<A>, out: &mut Vec<u8>) {
        put_varint(out, self.entries.len() as u64);
        for (k, s) in &self.entries {
            k.encode(out);
            s.encode_store(table, out);
        }
    }

    fn decode_store(table: &ActorTable<A>, reader: &mut Reader<'_>) -> Result<Self> {
        let n = read_count(reader, K::MIN_LEN + 1)?;
        let mut entries = BTreeMap::new();
        let mut last: Option<K> = None;
        for _ in 0..n {
            let k = K::decode(reader)?;
            if last.as_ref().is_some_and(|l| *l >= k) {
                return Err(DecodeError::Invalid("unsorted keys").into());
            }
            let s = S::decode_store(table, reader)?;
            if s.is_empty() {
                return Err(DecodeError::Invalid("key with an empty store").into());
            }
            last = Some(k.clone());
            entries.insert(k, s);
        }
        Ok(Self { entries })
    }
}

/// Implements [`DotStore`] for a newtype by delegating to its one field, so
/// types with the same shape but different semantics (a disable-wins flag
/// and a multi-value register, say) get distinct state types.
macro_rules! delegate_dot_store {
    ($ty:ty, $inner:ty, [$($gen:tt)*], [$($bounds:tt)*]) => {
        impl<$($gen)*> $crate::dotstore::DotStore<A> for $ty
        where
            $($bounds)*
        {
            fn is_empty(&self) -> bool {
                <$inner as $crate::dotstore::DotStore<A>>::is_empty(&self.0)
            }
            fn for_each_dot(&self, f: &mut dyn FnMut(&$crate::Dot<A>)) {
                <$inner as $crate::dotstore::DotStore<A>>::for_each_dot(&self.0, f)
            }
            fn join(
                &mut self,
                ctx: &$crate::CausalContext<A>,
                other: &Self,
                other_ctx: &$crate::CausalContext<A>,
            ) {
                <$inner as $crate::dotstore::DotStore<A>>::join(&mut self.0, ctx, &other.0, other_ctx)
            }
            fn unseen_by(&self, ctx: &$crate::CausalContext<A>) -> Self {
                Self(<$inner as $crate::dotstore::DotStore<A>>::unseen_by(&self.0, ctx))
            }
            fn encode_store(&self, table: &$crate::ActorTable<A>, out: &mut Vec<u8>) {
                <$inner as $crate::dotstore::DotStore<A>>::encode_store(&self.0, table, out)
            }
            fn decode_store(
                table: &$crate::ActorTable<A>,
                reader: &mut murmura_core::codec::Reader<'_>,
            ) -> $crate::Result<Self> {
                Ok(Self(<$inner as $crate::dotstore::DotStore<A>>::decode_store(table, reader)?))
            }
        }
    };
}
pub(crate) use delegate_dot_store;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The join rule stated directly on maps: keep a dot both hold (larger
    /// value), or one holds and the other's context never saw.
    fn model(
        a: &BTreeMap<Dot<u64>, u64>,
        ca: &CausalContext<u64>,
        b: &BTreeMap<Dot<u64>, u64>,
        cb: &CausalContext<u64>,
    ) -> Vec<(Dot<u64>, u64)> {
        let mut out: BTreeMap<Dot<u64>, u64> = BTreeMap::new();
        for (d, v) in a {
            match b.get(d) {
                Some(w) => {
                    out.insert(*d, *v.max(w));
                }
                None if !cb.contains(d) => {
                    out.insert(*d, *v);
                }
                None => {}
            }
        }
        for (d, v) in b {
            if !a.contains_key(d) && !ca.contains(d) {
                out.insert(*d, *v);
            }
        }
        out.into_iter().collect()
    }

    fn side() -> impl Strategy<Value = (BTreeMap<Dot<u64>, u64>, CausalContext<u64>)> {
        (
            prop::collection::btree_map((0u64..3, 1u64..8), 0u64..4, 0..8),
            prop::collection::vec((0u64..3, 1u64..8), 0..8),
        )
            .prop_map(|(live, seen)| {
                let mut ctx = CausalContext::new();
                let live: BTreeMap<Dot<u64>, u64> = live
                    .into_iter()
                    .map(|((a, c), v)| (Dot::new(a, c), v))
                    .collect();
                live.keys().for_each(|d| ctx.insert(*d));
                seen.into_iter()
                    .for_each(|(a, c)| ctx.insert(Dot::new(a, c)));
                (live, ctx)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn dotfun_linear_join_matches_model((a, ca) in side(), (b, cb) in side()) {
            let mut ours = DotFun { entries: SortedMap::from_sorted_iter(a.clone()) };
            let theirs = DotFun { entries: SortedMap::from_sorted_iter(b.clone()) };
            ours.join(&ca, &theirs, &cb);
            let got: Vec<(Dot<u64>, u64)> = ours.iter().map(|(d, v)| (*d, *v)).collect();
            prop_assert_eq!(got, model(&a, &ca, &b, &cb));
        }
    }
}

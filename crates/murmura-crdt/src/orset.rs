//! The add-wins observed-remove set ([`ORSet`]) on a packed dot store.
//!
//! Its store, [`ElemDots`], is one sorted `Vec<(element, dot)>`: no
//! per-element allocation, no tombstones, and merging two replicas is a
//! single linear pass over two sorted arrays — memory-bound, like a merge
//! sort's last step. Removal is by context: a removed element's dots stay in
//! the causal context and leave the store.

use crate::Result;
use crate::causal::Causal;
use crate::clock::{CausalContext, Dot};
use crate::codec::{Codec, read_count};
use crate::context::ActorTable;
use crate::dotstore::DotStore;
use crate::traits::{DeltaCrdt, Lattice};
use murmura_core::codec::{DecodeError, Reader, put_varint};
use std::fmt::Debug;

/// Elements with the dots of the adds that are still live, sorted by
/// `(element, dot)`. Semantically a dot map from elements to dot sets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        from = "Vec<(E, Dot<A>)>",
        into = "Vec<(E, Dot<A>)>",
        bound(
            serialize = "E: Clone + serde::Serialize, A: Clone + serde::Serialize",
            deserialize = "E: Ord + serde::Deserialize<'de>, A: Ord + serde::Deserialize<'de>"
        )
    )
)]
pub struct ElemDots<E, A> {
    entries: Vec<(E, Dot<A>)>,
}

/// Deserialized entries are put back in order; duplicates collapse.
impl<E: Ord, A: Ord> From<Vec<(E, Dot<A>)>> for ElemDots<E, A> {
    fn from(mut entries: Vec<(E, Dot<A>)>) -> Self {
        entries.sort_unstable();
        entries.dedup();
        Self { entries }
    }
}

impl<E, A> From<ElemDots<E, A>> for Vec<(E, Dot<A>)> {
    fn from(store: ElemDots<E, A>) -> Self {
        store.entries
    }
}

impl<E, A> Default for ElemDots<E, A> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<E: Ord, A: Ord> ElemDots<E, A> {
    /// The entries of `elem` (a contiguous run).
    fn range(&self, elem: &E) -> std::ops::Range<usize> {
        let start = self.entries.partition_point(|(e, _)| e < elem);
        let end = start + self.entries[start..].partition_point(|(e, _)| e == elem);
        start..end
    }

    /// Distinct elements, ascending.
    pub fn elements(&self) -> impl Iterator<Item = &E> {
        let mut prev: Option<&E> = None;
        self.entries.iter().filter_map(move |(e, _)| {
            if prev == Some(e) {
                None
            } else {
                prev = Some(e);
                Some(e)
            }
        })
    }

    /// Number of (element, dot) entries.
    pub fn entry_count(&self) -> usize {
        self.entries.len()
    }
}

/// Membership tests against a context with the version vector's entries
/// at hand, so the hot loop of a merge is one binary search over a few
/// actors; the cloud is consulted only when the context has one.
struct Seen<'a, A: Ord> {
    ctx: &'a CausalContext<A>,
    tops: &'a [(A, u64)],
    compact: bool,
}

impl<'a, A: Ord + Clone> Seen<'a, A> {
    fn new(ctx: &'a CausalContext<A>) -> Self {
        Self {
            ctx,
            tops: ctx.version_vector().as_slice(),
            compact: ctx.is_compact(),
        }
    }

    #[inline]
    fn contains(&self, dot: &Dot<A>) -> bool {
        let covered = match self.tops.binary_search_by(|(a, _)| a.cmp(&dot.actor)) {
            Ok(i) => dot.counter <= self.tops[i].1,
            Err(_) => false,
        };
        covered || (!self.compact && self.ctx.contains(dot))
    }
}

impl<E: Ord + Clone, A: Ord + Clone> ElemDots<E, A> {
    /// The join when our buffer would have to grow: growing reallocates and
    /// copies anyway, so merge forward into one buffer sized for the worst
    /// case instead. Ours are moved, not cloned; every output entry is
    /// written once, in order, with no placeholder pass and no final shift;
    /// and the unused tail of the reservation is never touched, so it costs
    /// address space, not page faults.
    fn join_into_fresh(
        &mut self,
        seen_here: &Seen<'_, A>,
        theirs: &[(E, Dot<A>)],
        seen_there: &Seen<'_, A>,
    ) {
        let ours = std::mem::take(&mut self.entries);
        let mut out = Vec::with_capacity(ours.len() + theirs.len());
        let mut ours = ours.into_iter().peekable();
        let mut theirs = theirs.iter().peekable();
        loop {
            let order = match (ours.peek(), theirs.peek()) {
                (Some(a), Some(b)) => a.cmp(b),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => break,
            };
            match order {
                std::cmp::Ordering::Equal => {
                    out.extend(ours.next());
                    theirs.next();
                }
                std::cmp::Ordering::Less => {
                    out.extend(ours.next().filter(|(_, d)| !seen_there.contains(d)));
                }
                std::cmp::Ordering::Greater => {
                    out.extend(
                        theirs
                            .next()
                            .filter(|(_, d)| !seen_here.contains(d))
                            .cloned(),
                    );
                }
            }
        }
        self.entries = out;
    }
}

impl<E, A> DotStore<A> for ElemDots<E, A>
where
    E: Ord + Clone + Codec + Debug,
    A: Ord + Clone + Codec + Debug,
{
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(&Dot<A>)) {
        self.entries.iter().for_each(|(_, d)| f(d));
    }

    fn join(&mut self, ctx: &CausalContext<A>, other: &Self, other_ctx: &CausalContext<A>) {
        if other.entries.is_empty()
            && other_ctx.is_compact()
            && other_ctx.version_vector().is_empty()
        {
            return;
        }
        let seen_here = Seen::new(ctx);
        let seen_there = Seen::new(other_ctx);
        if self.entries.capacity() - self.entries.len() < other.entries.len() {
            self.join_into_fresh(&seen_here, &other.entries, &seen_there);
            return;
        }
        // In place, from the back: their entries are appended as
        // placeholders, the merged run is written downwards into the slack,
        // then the unused front is drained. No second array is allocated, so
        // a replica that merges repeatedly touches no fresh pages.
        let theirs = &other.entries;
        let (m, t) = (self.entries.len(), theirs.len());
        self.entries.extend_from_slice(theirs);
        let v = &mut self.entries;
        let (mut r, mut j, mut w) = (m, t, m + t);
        // Invariant: w - r >= j, so a write at w - 1 never lands on an unread
        // entry of ours; slots in [r, w) hold placeholders or spent entries.
        while r > 0 && j > 0 {
            match v[r - 1].cmp(&theirs[j - 1]) {
                std::cmp::Ordering::Equal => {
                    r -= 1;
                    j -= 1;
                    w -= 1;
                    v.swap(r, w);
                }
                std::cmp::Ordering::Greater => {
                    r -= 1;
                    if !seen_there.contains(&v[r].1) {
                        w -= 1;
                        v.swap(r, w);
                    }
                }
                std::cmp::Ordering::Less => {
                    j -= 1;
                    if !seen_here.contains(&theirs[j].1) {
                        w -= 1;
                        v[w] = theirs[j].clone();
                    }
                }
            }
        }
        while r > 0 {
            r -= 1;
            if !seen_there.contains(&v[r].1) {
                w -= 1;
                v.swap(r, w);
            }
        }
        while j > 0 {
            j -= 1;
            if !seen_here.contains(&theirs[j].1) {
                w -= 1;
                v[w] = theirs[j].clone();
            }
        }
        v.drain(..w);
    }

    fn unseen_by(&self, ctx: &CausalContext<A>) -> Self {
        let seen = Seen::new(ctx);
        Self {
            entries: self
                .entries
                .iter()
                .filter(|(_, d)| !seen.contains(d))
                .cloned()
                .collect(),
        }
    }

    /// Element-grouped: each distinct element once (after the first, as the
    /// successor of the previous one), then its dots. The first dot's actor
    /// index carries a flag for "more dots follow", so the common
    /// single-dot element costs no count byte.
    fn encode_store(&self, table: &ActorTable<A>, out: &mut Vec<u8>) {
        put_varint(out, self.elements().count() as u64);
        let mut rest = &self.entries[..];
        let mut prev: Option<&E> = None;
        while let Some((elem, first)) = rest.first() {
            let run = rest.partition_point(|(e, _)| e == elem);
            match prev {
                Some(p) => elem.encode_after(p, out),
                None => elem.encode(out),
            }
            let more = u64::from(run > 1);
            put_varint(out, (table.index(&first.actor) as u64) << 1 | more);
            put_varint(out, first.counter);
            if run > 1 {
                put_varint(out, (run - 1) as u64);
                for (_, dot) in &rest[1..run] {
                    table.encode_dot(dot, out);
                }
            }
            prev = Some(elem);
            rest = &rest[run..];
        }
    }

    fn decode_store(table: &ActorTable<A>, reader: &mut Reader<'_>) -> Result<Self> {
        // An element takes at least one byte, its first dot at least two.
        let groups = read_count(reader, 3)?;
        let mut entries: Vec<(E, Dot<A>)> = Vec::with_capacity(groups);
        for _ in 0..groups {
            let elem = match entries.last() {
                Some((last, _)) => E::decode_after(last, reader)?,
                None => E::decode(reader)?,
            };
            if entries.last().is_some_and(|(last, _)| *last >= elem) {
                return Err(DecodeError::Invalid("unsorted elements").into());
            }
            let header = reader.varint()?;
            let first = table.decode_dot_parts(header >> 1, reader)?;
            let extra = if header & 1 == 1 {
                let n = read_count(reader, 2)?;
                if n == 0 {
                    return Err(DecodeError::Invalid("empty dot continuation").into());
                }
                n
            } else {
                0
            };
            let mut prev = first.clone();
            entries.push((elem.clone(), first));
            for _ in 0..extra {
                let dot = table.decode_dot(reader)?;
                if prev >= dot {
                    return Err(DecodeError::Invalid("unsorted dots").into());
                }
                prev = dot.clone();
                entries.push((elem.clone(), dot));
            }
        }
        Ok(Self { entries })
    }
}

/// An add-wins observed-remove set: an element is present iff some add of
/// it has not been causally followed by a remove. Concurrent add and remove
/// of the same element leave it present.
///
/// ```
/// use murmura_crdt::{Lattice, ORSet};
///
/// let mut a: ORSet<String, u64> = ORSet::new();
/// let mut b = a.clone();
/// a.add(1, "milk".to_string());
/// b.merge(&a);
/// // Concurrently: b removes milk, a adds it again.
/// b.remove(&"milk".to_string());
/// let delta = a.add(1, "milk".to_string());
/// b.merge(&delta);
/// a.merge(&b);
/// assert!(a.contains(&"milk".to_string())); // the unseen add wins
/// assert_eq!(a, b);
/// ```
pub type ORSet<E, A> = Causal<ElemDots<E, A>, A>;

impl<E, A> Causal<ElemDots<E, A>, A>
where
    E: Ord + Clone + Codec + Debug,
    A: Ord + Clone + Codec + Debug,
{
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `elem` is present.
    pub fn contains(&self, elem: &E) -> bool {
        !self.store.range(elem).is_empty()
    }

    /// The present elements, ascending.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.store.elements()
    }

    /// Number of present elements.
    pub fn len(&self) -> usize {
        self.store.elements().count()
    }

    /// Whether no element is present.
    pub fn is_empty(&self) -> bool {
        self.store.entries.is_empty()
    }

    /// Releases spare capacity of the packed store.
    pub fn shrink_to_fit(&mut self) {
        self.store.entries.shrink_to_fit();
    }

    /// Adds `elem` as `actor`; returns the delta. Costs a shift of the
    /// array tail — use [`add_all`](Self::add_all) for batches.
    pub fn add(&mut self, actor: A, elem: E) -> Self {
        let dot = self.ctx.next_dot(actor);
        self.ctx.insert(dot.clone());
        let range = self.store.range(&elem);
        let mut delta_ctx = CausalContext::new();
        delta_ctx.insert(dot.clone());
        for (_, old) in &self.store.entries[range.clone()] {
            delta_ctx.insert(old.clone());
        }
        let entry = (elem, dot);
        self.store
            .entries
            .splice(range, std::iter::once(entry.clone()));
        Causal::from_parts(
            ElemDots {
                entries: vec![entry],
            },
            delta_ctx,
        )
    }

    /// Adds every element of `elems` as `actor` in one linear pass; returns
    /// the delta.
    pub fn add_all(&mut self, actor: A, elems: impl IntoIterator<Item = E>) -> Self {
        let mut elems: Vec<E> = elems.into_iter().collect();
        elems.sort_unstable();
        elems.dedup();
        let mut delta_ctx = CausalContext::new();
        let mut entries = Vec::with_capacity(elems.len());
        let mut scratch = self.ctx.clone();
        for elem in elems {
            let dot = scratch.next_dot(actor.clone());
            scratch.insert(dot.clone());
            delta_ctx.insert(dot.clone());
            for (_, old) in &self.store.entries[self.store.range(&elem)] {
                delta_ctx.insert(old.clone());
            }
            entries.push((elem, dot));
        }
        let delta = Causal::from_parts(ElemDots { entries }, delta_ctx);
        self.merge(&delta);
        delta
    }

    /// Removes `elem` (the adds this replica has seen); returns the delta.
    pub fn remove(&mut self, elem: &E) -> Self {
        let range = self.store.range(elem);
        let mut delta_ctx = CausalContext::new();
        for (_, old) in self.store.entries.drain(range) {
            delta_ctx.insert(old);
        }
        Causal::from_parts(ElemDots::default(), delta_ctx)
    }

    /// Removes every element this replica has seen; returns the delta.
    pub fn clear(&mut self) -> Self {
        let mut delta_ctx = CausalContext::new();
        for (_, old) in self.store.entries.drain(..) {
            delta_ctx.insert(old);
        }
        Causal::from_parts(ElemDots::default(), delta_ctx)
    }
}

/// One [`ORSet`] mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOp<E> {
    /// Add an element.
    Add(E),
    /// Remove an element.
    Remove(E),
}

impl<E, A> DeltaCrdt for Causal<ElemDots<E, A>, A>
where
    E: Ord + Clone + Codec + Debug,
    A: Ord + Clone + Codec + Debug,
{
    type Actor = A;
    type Op = SetOp<E>;
    type Value = Vec<E>;

    fn apply(&mut self, actor: &A, op: SetOp<E>) -> Result<Self> {
        Ok(match op {
            SetOp::Add(e) => self.add(actor.clone(), e),
            SetOp::Remove(e) => self.remove(&e),
        })
    }

    fn value(&self) -> Vec<E> {
        self.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// The packed join against the textbook dot-store join on sets of
    /// (element, dot) pairs.
    fn model(
        a: &BTreeSet<(u64, Dot<u64>)>,
        ca: &CausalContext<u64>,
        b: &BTreeSet<(u64, Dot<u64>)>,
        cb: &CausalContext<u64>,
    ) -> Vec<(u64, Dot<u64>)> {
        let mut out: BTreeSet<_> = a.intersection(b).cloned().collect();
        out.extend(a.iter().filter(|(_, d)| !cb.contains(d)).cloned());
        out.extend(b.iter().filter(|(_, d)| !ca.contains(d)).cloned());
        out.into_iter().collect()
    }

    fn side() -> impl Strategy<Value = (BTreeSet<(u64, Dot<u64>)>, CausalContext<u64>)> {
        proptest::collection::btree_set((0..8u64, 0..3u64, 1..12u64), 0..20).prop_flat_map(
            |entries| {
                let entries: BTreeSet<(u64, Dot<u64>)> = entries
                    .into_iter()
                    .map(|(e, a, c)| (e, Dot::new(a, c)))
                    .collect();
                let dots: Vec<Dot<u64>> = entries.iter().map(|(_, d)| *d).collect();
                proptest::collection::vec((0..3u64, 1..12u64), 0..10).prop_map(move |extra| {
                    let mut ctx: CausalContext<u64> = dots.iter().copied().collect();
                    for (a, c) in extra {
                        ctx.insert(Dot::new(a, c));
                    }
                    (entries.clone(), ctx)
                })
            },
        )
    }

    proptest! {
        #[test]
        fn packed_join_matches_model((a, ca) in side(), (b, cb) in side()) {
            let mut packed = ElemDots { entries: a.iter().cloned().collect() };
            let theirs = ElemDots { entries: b.iter().cloned().collect() };
            // Both layouts: with room to merge in place, and without (a
            // fresh buffer).
            let mut roomy = packed.clone();
            roomy.entries.reserve(theirs.entries.len());
            packed.join(&ca, &theirs, &cb);
            roomy.join(&ca, &theirs, &cb);
            let expected = model(&a, &ca, &b, &cb);
            prop_assert_eq!(&packed.entries, &expected);
            prop_assert_eq!(&roomy.entries, &expected);
        }
    }
}

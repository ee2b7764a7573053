//! Causal contexts: a version vector plus the dots seen out of order.

use crate::{ActorCodec, ClockError, Dot, Result, VersionVector};
use murmura_core::codec::{DecodeError, Reader, put_varint};
use smallvec::SmallVec;
use std::collections::BTreeMap;

/// Inclusive counter ranges of one actor, sorted, disjoint and never
/// touching (a gap of at least one counter between neighbours).
type Ranges = SmallVec<[(u64, u64); 2]>;

/// A contiguous run of one actor's dots, `first..=last`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DotRange<A> {
    /// Whose dots.
    pub actor: A,
    /// The first counter in the run (at least 1).
    pub first: u64,
    /// The last counter in the run (at least `first`).
    pub last: u64,
}

impl<A: Clone> DotRange<A> {
    /// How many dots the run holds.
    #[inline]
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Always false: a run holds at least one dot.
    #[inline]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `dot` is in the run.
    #[inline]
    pub fn contains(&self, dot: &Dot<A>) -> bool
    where
        A: PartialEq,
    {
        dot.actor == self.actor && (self.first..=self.last).contains(&dot.counter)
    }

    /// The run's dots in counter order.
    pub fn dots(&self) -> impl Iterator<Item = Dot<A>> + '_ {
        (self.first..=self.last).map(|n| Dot::new(self.actor.clone(), n))
    }
}

/// What a replica has seen: a [`VersionVector`] for each actor's contiguous
/// prefix of events, plus a *dot cloud* of events received out of order.
///
/// The cloud stores each actor's extra dots as inclusive ranges and is kept
/// compact: as soon as a dot fills the gap after the vector's entry, the run
/// it joins is folded into the vector. Delta-state CRDTs use this to know
/// exactly which events they have seen even when deltas arrive out of order.
///
/// ```
/// use murmura_clock::{CausalContext, Dot};
///
/// let mut cc = CausalContext::new();
/// cc.insert(Dot::new("a", 1));
/// cc.insert(Dot::new("a", 3)); // out of order: goes to the cloud
/// assert!(!cc.is_compact());
/// assert!(!cc.contains(&Dot::new("a", 2)));
///
/// cc.insert(Dot::new("a", 2)); // fills the gap: 1..=3 folds into the vector
/// assert!(cc.is_compact());
/// assert_eq!(cc.version_vector().get(&"a"), 3);
/// assert_eq!(cc.next_dot("a"), Dot::new("a", 4));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CausalContext<A: Ord> {
    vv: VersionVector<A>,
    cloud: BTreeMap<A, Ranges>,
}

impl<A: Ord> Default for CausalContext<A> {
    fn default() -> Self {
        Self {
            vv: VersionVector::default(),
            cloud: BTreeMap::new(),
        }
    }
}

impl<A: Ord + std::fmt::Debug> std::fmt::Debug for CausalContext<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CausalContext")
            .field("vv", &self.vv)
            .field("cloud", &self.cloud)
            .finish()
    }
}

/// Inserts `lo..=hi` into sorted, disjoint, non-touching `ranges`, merging
/// with every range it overlaps or touches.
fn add_range(ranges: &mut Ranges, lo: u64, hi: u64) {
    // First range that ends at or after lo - 1 (could touch from the left).
    let start = ranges.partition_point(|&(_, h)| h.saturating_add(1) < lo);
    // First range that starts after hi + 1 (cannot touch from the right).
    let end = ranges.partition_point(|&(l, _)| l <= hi.saturating_add(1));
    if start >= end {
        ranges.insert(start, (lo, hi));
        return;
    }
    let merged = (lo.min(ranges[start].0), hi.max(ranges[end - 1].1));
    ranges[start] = merged;
    ranges.drain(start + 1..end);
}

/// Drops the ranges `base` already covers and folds a range that starts
/// right after it into `base`. Returns the new base.
fn absorb(ranges: &mut Ranges, mut base: u64) -> u64 {
    let covered = ranges.partition_point(|&(_, h)| h <= base);
    ranges.drain(..covered);
    if let Some(&(lo, hi)) = ranges.first()
        && lo <= base.saturating_add(1)
    {
        base = base.max(hi);
        ranges.remove(0);
    }
    base
}

impl<A: Ord + Clone> CausalContext<A> {
    /// An empty context: nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context that has seen exactly the events of `vv`.
    pub fn from_version_vector(vv: VersionVector<A>) -> Self {
        Self {
            vv,
            cloud: BTreeMap::new(),
        }
    }

    /// Whether the event `dot` has been seen.
    pub fn contains(&self, dot: &Dot<A>) -> bool {
        if self.vv.contains(dot) {
            return true;
        }
        self.cloud.get(&dot.actor).is_some_and(|ranges| {
            let i = ranges.partition_point(|&(_, hi)| hi < dot.counter);
            ranges.get(i).is_some_and(|&(lo, _)| lo <= dot.counter)
        })
    }

    /// Records `dot` as seen, compacting the cloud. Dot counter 0 names no
    /// event and is ignored.
    pub fn insert(&mut self, dot: Dot<A>) {
        self.insert_range(dot.actor, dot.counter, dot.counter);
    }

    /// Records every dot of `actor` from `first` to `last` inclusive.
    pub fn insert_range(&mut self, actor: A, first: u64, last: u64) {
        let first = first.max(1);
        if last < first {
            return;
        }
        let base = self.vv.get(&actor);
        if last <= base {
            return;
        }
        if first <= base.saturating_add(1) {
            let mut new_base = last;
            if let Some(ranges) = self.cloud.get_mut(&actor) {
                new_base = absorb(ranges, new_base);
                if ranges.is_empty() {
                    self.cloud.remove(&actor);
                }
            }
            self.vv.raise(&actor, new_base);
        } else {
            add_range(self.cloud.entry(actor).or_default(), first, last);
        }
    }

    /// Allocates the next event of `actor` (one past the highest of its
    /// counters seen), records it and returns it.
    pub fn next_dot(&mut self, actor: A) -> Dot<A> {
        let counter = self.max_counter(&actor).saturating_add(1);
        let dot = Dot::new(actor, counter);
        self.insert(dot.clone());
        dot
    }

    /// The highest counter of `actor` seen, contiguous or not.
    pub fn max_counter(&self, actor: &A) -> u64 {
        match self.cloud.get(actor).and_then(|r| r.last()) {
            Some(&(_, hi)) => hi,
            None => self.vv.get(actor),
        }
    }

    /// Adds everything `other` has seen (set union), compacting.
    pub fn merge(&mut self, other: &Self) {
        self.vv.merge(&other.vv);
        for (actor, ranges) in &other.cloud {
            let ours = self.cloud.entry(actor.clone()).or_default();
            for &(lo, hi) in ranges {
                add_range(ours, lo, hi);
            }
        }
        let vv = &mut self.vv;
        self.cloud.retain(|actor, ranges| {
            let base = vv.get(actor);
            let new_base = absorb(ranges, base);
            if new_base != base {
                vv.raise(actor, new_base);
            }
            !ranges.is_empty()
        });
    }

    /// The contiguous part of what has been seen.
    #[inline]
    pub fn version_vector(&self) -> &VersionVector<A> {
        &self.vv
    }

    /// Whether every seen dot is in the version vector (the cloud is empty).
    #[inline]
    pub fn is_compact(&self) -> bool {
        self.cloud.is_empty()
    }

    /// Number of out-of-order runs held in the cloud.
    pub fn cloud_runs(&self) -> usize {
        self.cloud.values().map(SmallVec::len).sum()
    }

    /// Every seen dot as maximal runs, by actor then counter.
    pub fn ranges(&self) -> impl Iterator<Item = DotRange<A>> + '_ {
        self.actors().into_iter().flat_map(move |actor| {
            self.runs_of(actor)
                .into_iter()
                .map(move |(first, last)| DotRange {
                    actor: actor.clone(),
                    first,
                    last,
                })
        })
    }

    /// Every seen dot, by actor then counter. This may be very long.
    pub fn dots(&self) -> impl Iterator<Item = Dot<A>> + '_ {
        self.ranges()
            .flat_map(|r| (r.first..=r.last).map(move |n| Dot::new(r.actor.clone(), n)))
    }

    /// Total number of dots seen.
    pub fn dot_count(&self) -> u64 {
        let cloud: u64 = self
            .cloud
            .values()
            .flat_map(|r| r.iter())
            .map(|&(lo, hi)| hi - lo + 1)
            .sum();
        self.vv
            .iter()
            .map(|(_, c)| c)
            .sum::<u64>()
            .saturating_add(cloud)
    }

    /// The dots `self` has seen and `other` has not, as maximal runs by actor
    /// then counter: what anti-entropy must ship to `other`.
    pub fn missing_from(&self, other: &Self) -> Vec<DotRange<A>> {
        let mut out = Vec::new();
        for actor in self.actors() {
            let theirs = other.runs_of(actor);
            let mut t = 0;
            for (mut lo, hi) in self.runs_of(actor) {
                // Skip their runs that end before ours starts, then carve ours.
                while t < theirs.len() && theirs[t].1 < lo {
                    t += 1;
                }
                let mut k = t;
                while lo <= hi {
                    match theirs.get(k) {
                        Some(&(tlo, thi)) if tlo <= hi => {
                            if tlo > lo {
                                out.push(DotRange {
                                    actor: actor.clone(),
                                    first: lo,
                                    last: tlo - 1,
                                });
                            }
                            if thi >= hi {
                                break;
                            }
                            lo = thi + 1;
                            k += 1;
                        }
                        _ => {
                            out.push(DotRange {
                                actor: actor.clone(),
                                first: lo,
                                last: hi,
                            });
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// Forgets everything about `actor` (for pruning a retired actor whose
    /// events are causally stable).
    pub fn remove_actor(&mut self, actor: &A) {
        self.vv.remove(actor);
        self.cloud.remove(actor);
    }

    /// Actors with any seen dot, sorted, without repeats.
    fn actors(&self) -> Vec<&A> {
        let mut actors: Vec<&A> = self.vv.iter().map(|(a, _)| a).collect();
        let before = actors.len();
        actors.extend(self.cloud.keys());
        if actors.len() != before {
            actors.sort_unstable();
            actors.dedup();
        }
        actors
    }

    /// `actor`'s seen counters as sorted maximal runs.
    fn runs_of(&self, actor: &A) -> SmallVec<[(u64, u64); 4]> {
        let mut runs = SmallVec::new();
        let base = self.vv.get(actor);
        if base > 0 {
            runs.push((1, base));
        }
        if let Some(ranges) = self.cloud.get(actor) {
            runs.extend(ranges.iter().copied());
        }
        runs
    }
}

impl<A: Ord + Clone + ActorCodec> CausalContext<A> {
    /// Appends the binary encoding: the version vector, then the number of
    /// actors with a cloud and, for each, the actor, its number of runs and
    /// each run as (gap after the previous end minus one, length minus one).
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.vv.encode(out);
        put_varint(out, self.cloud.len() as u64);
        let mut prev: Option<&A> = None;
        for (actor, ranges) in &self.cloud {
            match prev {
                None => actor.encode_actor(out),
                Some(p) => actor.encode_after(p, out),
            }
            prev = Some(actor);
            put_varint(out, ranges.len() as u64);
            // Runs never touch the base or each other: every gap is >= 1.
            let mut end = self.vv.get(actor);
            for &(lo, hi) in ranges {
                put_varint(out, lo - end - 2);
                put_varint(out, hi - lo);
                end = hi;
            }
        }
    }

    /// The encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Reads a context from `reader`. Only the compact form is accepted, so
    /// every context has exactly one encoding.
    pub fn decode_from(reader: &mut Reader<'_>) -> Result<Self> {
        let vv = VersionVector::decode_from(reader)?;
        // An actor with a cloud: actor, run count, and at least one run (2 bytes).
        let actors = reader.count(A::MIN_ENCODED_LEN + 3)?;
        let mut cloud = BTreeMap::new();
        let mut prev: Option<A> = None;
        for _ in 0..actors {
            let actor = match &prev {
                None => A::decode_actor(reader)?,
                Some(p) => {
                    let actor = A::decode_after(p, reader)?;
                    if actor <= *p {
                        return Err(DecodeError::Invalid("causal context actors not sorted").into());
                    }
                    actor
                }
            };
            let n = reader.count(2)?;
            if n == 0 {
                return Err(DecodeError::Invalid("causal context actor without runs").into());
            }
            let mut ranges = Ranges::with_capacity(n);
            let mut end = vv.get(&actor);
            for _ in 0..n {
                let gap = reader.varint()?;
                let len = reader.varint()?;
                let lo = end
                    .checked_add(gap)
                    .and_then(|v| v.checked_add(2))
                    .ok_or(DecodeError::Invalid("causal context run overflows"))?;
                let hi = lo
                    .checked_add(len)
                    .ok_or(DecodeError::Invalid("causal context run overflows"))?;
                ranges.push((lo, hi));
                end = hi;
            }
            prev = Some(actor.clone());
            cloud.insert(actor, ranges);
        }
        Ok(Self { vv, cloud })
    }

    /// Decodes a context that fills `bytes` exactly.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let cc = Self::decode_from(&mut reader)?;
        reader.finish().map_err(ClockError::from)?;
        Ok(cc)
    }
}

impl<A: Ord + Clone> From<VersionVector<A>> for CausalContext<A> {
    fn from(vv: VersionVector<A>) -> Self {
        Self::from_version_vector(vv)
    }
}

impl<A: Ord + Clone> Extend<Dot<A>> for CausalContext<A> {
    fn extend<I: IntoIterator<Item = Dot<A>>>(&mut self, iter: I) {
        for dot in iter {
            self.insert(dot);
        }
    }
}

impl<A: Ord + Clone> FromIterator<Dot<A>> for CausalContext<A> {
    fn from_iter<I: IntoIterator<Item = Dot<A>>>(iter: I) -> Self {
        let mut cc = Self::new();
        cc.extend(iter);
        cc
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename = "CausalContext")]
struct CausalContextRepr<A: Ord + Clone> {
    vv: VersionVector<A>,
    cloud: Vec<DotRange<A>>,
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<A: Ord + Clone + serde::Serialize> serde::Serialize for CausalContext<A> {
    /// The version vector and the cloud's runs.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let cloud = self
            .cloud
            .iter()
            .flat_map(|(actor, ranges)| {
                ranges.iter().map(|&(first, last)| DotRange {
                    actor: actor.clone(),
                    first,
                    last,
                })
            })
            .collect();
        serde::Serialize::serialize(
            &CausalContextRepr {
                vv: self.vv.clone(),
                cloud,
            },
            serializer,
        )
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de, A: Ord + Clone + serde::Deserialize<'de>> serde::Deserialize<'de> for CausalContext<A> {
    /// Rebuilds the context run by run, so the result is always compact.
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let repr = CausalContextRepr::<A>::deserialize(deserializer)?;
        let mut cc = Self::from_version_vector(repr.vv);
        for r in repr.cloud {
            cc.insert_range(r.actor, r.first, r.last);
        }
        Ok(cc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(dots: &[(u64, u64)]) -> CausalContext<u64> {
        dots.iter().map(|&(a, c)| Dot::new(a, c)).collect()
    }

    #[test]
    fn out_of_order_dots_compact_when_gaps_fill() {
        let mut c = cc(&[(1, 2), (1, 4), (1, 6), (1, 5)]);
        assert_eq!(c.version_vector().get(&1), 0);
        assert_eq!(c.cloud_runs(), 2);
        assert!(c.contains(&Dot::new(1, 5)) && !c.contains(&Dot::new(1, 3)));
        c.insert(Dot::new(1, 3));
        assert_eq!(c.cloud_runs(), 1);
        c.insert(Dot::new(1, 1));
        assert!(c.is_compact());
        assert_eq!(c.version_vector().get(&1), 6);
        assert_eq!(c.dot_count(), 6);
    }

    #[test]
    fn next_dot_goes_past_the_cloud() {
        let mut c = cc(&[(1, 1), (1, 5)]);
        assert_eq!(c.next_dot(1), Dot::new(1, 6));
        assert_eq!(c.next_dot(2), Dot::new(2, 1));
        assert_eq!(
            c.ranges().collect::<Vec<_>>(),
            [
                DotRange {
                    actor: 1,
                    first: 1,
                    last: 1
                },
                DotRange {
                    actor: 1,
                    first: 5,
                    last: 6
                },
                DotRange {
                    actor: 2,
                    first: 1,
                    last: 1
                },
            ]
        );
    }

    #[test]
    fn merge_unions_and_compacts() {
        let mut a = cc(&[(1, 1), (1, 3), (2, 5)]);
        let b = cc(&[(1, 2), (2, 1), (2, 2), (3, 9)]);
        a.merge(&b);
        assert_eq!(a.version_vector().get(&1), 3);
        assert_eq!(a.version_vector().get(&2), 2);
        assert_eq!(a.cloud_runs(), 2);
        let dots: Vec<_> = a.dots().collect();
        assert_eq!(dots.len(), 3 + 3 + 1);
        assert!(dots.contains(&Dot::new(3, 9)));
    }

    #[test]
    fn missing_from_subtracts_runs() {
        let a = cc(&[(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 9), (2, 1)]);
        let b = cc(&[(1, 1), (1, 3), (1, 4), (1, 10)]);
        assert_eq!(
            a.missing_from(&b),
            [
                DotRange {
                    actor: 1,
                    first: 2,
                    last: 2
                },
                DotRange {
                    actor: 1,
                    first: 5,
                    last: 5
                },
                DotRange {
                    actor: 1,
                    first: 9,
                    last: 9
                },
                DotRange {
                    actor: 2,
                    first: 1,
                    last: 1
                },
            ]
        );
        assert_eq!(
            b.missing_from(&a),
            [DotRange {
                actor: 1,
                first: 10,
                last: 10
            }]
        );
        assert!(a.missing_from(&a).is_empty());
    }

    #[test]
    fn remove_actor_forgets_both_parts() {
        let mut a = cc(&[(1, 1), (1, 3), (2, 1)]);
        a.remove_actor(&1);
        assert!(a.is_compact());
        assert!(!a.contains(&Dot::new(1, 1)));
        assert!(a.contains(&Dot::new(2, 1)));
    }

    #[test]
    fn golden_encoding_and_rejections() {
        let c = cc(&[(1, 1), (1, 3), (1, 4), (1, 7)]);
        let bytes = c.to_bytes();
        // vv {1:1} | 1 cloud actor: 1, 2 runs: (3..=4) gap 0 len 1, (7..=7) gap 1 len 0
        assert_eq!(bytes, [1, 1, 1, 1, 1, 2, 0, 1, 1, 0]);
        assert_eq!(CausalContext::<u64>::decode(&bytes), Ok(c));
        // an actor with no runs
        assert!(CausalContext::<u64>::decode(&[0, 1, 1, 0, 0, 0]).is_err());
        // overflowing run
        let mut out = vec![0, 1, 1, 1];
        put_varint(&mut out, u64::MAX);
        out.push(0);
        assert!(CausalContext::<u64>::decode(&out).is_err());
    }
}

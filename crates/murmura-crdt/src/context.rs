//! Causal-context helpers shared by every dot-based type: the actor table of
//! the wire format, context encoding, context differences, and the live-dot
//! summary peers send in a [`Digest`].

use crate::clock::{CausalContext, Dot};
use crate::codec::{Codec, read_count};
use crate::{Error, Result};
use murmura_clock::VersionVector;
use murmura_core::codec::{DecodeError, Reader, put_varint};
use std::collections::BTreeMap;

/// Sorted, distinct actors named in one encoded state; dots then refer to an
/// actor by its index, which keeps every dot to a few bytes.
#[derive(Debug, Clone, Default)]
pub struct ActorTable<A> {
    actors: Vec<A>,
}

impl<A: Ord + Clone + Codec> ActorTable<A> {
    pub(crate) fn from_sorted(actors: Vec<A>) -> Self {
        Self { actors }
    }

    pub(crate) fn actors(&self) -> &[A] {
        &self.actors
    }

    /// Index of an actor the encoder put in the table.
    pub(crate) fn index(&self, actor: &A) -> usize {
        // Every dot an encoder writes is covered by the context the table was
        // built from, so the actor is always present.
        self.actors.binary_search(actor).unwrap_or(0)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.actors.len() as u64);
        for actor in &self.actors {
            actor.encode(out);
        }
    }

    pub(crate) fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            actors: crate::codec::decode_sorted(reader)?,
        })
    }

    /// Writes `dot` as an actor index and a counter.
    pub fn encode_dot(&self, dot: &Dot<A>, out: &mut Vec<u8>) {
        put_varint(out, self.index(&dot.actor) as u64);
        put_varint(out, dot.counter);
    }

    /// Reads a dot written by [`encode_dot`](Self::encode_dot).
    pub fn decode_dot(&self, reader: &mut Reader<'_>) -> Result<Dot<A>> {
        let index = reader.varint()?;
        self.decode_dot_parts(index, reader)
    }

    /// Reads a dot's counter once its actor index is known.
    pub(crate) fn decode_dot_parts(&self, index: u64, reader: &mut Reader<'_>) -> Result<Dot<A>> {
        let actor = usize::try_from(index)
            .ok()
            .and_then(|i| self.actors.get(i))
            .ok_or(DecodeError::OutOfRange {
                what: "actor index",
                value: index,
            })?;
        let counter = reader.varint()?;
        if counter == 0 {
            return Err(DecodeError::Invalid("dot counter 0").into());
        }
        Ok(Dot::new(actor.clone(), counter))
    }
}

/// Sorted, disjoint, non-adjacent inclusive counter ranges per actor: a
/// compact set of dots (runs of consecutive counters cost one pair).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DotRanges<A: Ord> {
    ranges: BTreeMap<A, Vec<(u64, u64)>>,
}

impl<A: Ord + Clone> DotRanges<A> {
    /// The empty set.
    pub fn new() -> Self {
        Self {
            ranges: BTreeMap::new(),
        }
    }

    /// Builds the set from dots in any order (duplicates are fine).
    pub fn from_dots<'a>(dots: impl IntoIterator<Item = &'a Dot<A>>) -> Self
    where
        A: 'a,
    {
        let mut per_actor: BTreeMap<A, Vec<u64>> = BTreeMap::new();
        for dot in dots {
            per_actor
                .entry(dot.actor.clone())
                .or_default()
                .push(dot.counter);
        }
        let ranges = per_actor
            .into_iter()
            .map(|(actor, mut counters)| {
                counters.sort_unstable();
                counters.dedup();
                (actor, runs(&counters))
            })
            .collect();
        Self { ranges }
    }

    /// Whether `dot` is in the set.
    pub fn contains(&self, dot: &Dot<A>) -> bool {
        self.ranges.get(&dot.actor).is_some_and(|runs| {
            let i = runs.partition_point(|&(_, end)| end < dot.counter);
            runs.get(i).is_some_and(|&(start, _)| start <= dot.counter)
        })
    }

    /// Every dot in the set, actor by actor, counters ascending.
    pub fn iter(&self) -> impl Iterator<Item = Dot<A>> + '_ {
        self.ranges.iter().flat_map(|(actor, runs)| {
            runs.iter()
                .flat_map(move |&(s, e)| (s..=e).map(move |c| Dot::new(actor.clone(), c)))
        })
    }

    /// The runs of `actor`, ascending (empty if it has none).
    pub(crate) fn runs_of(&self, actor: &A) -> &[(u64, u64)] {
        self.ranges.get(actor).map_or(&[], Vec::as_slice)
    }

    /// Each actor with its runs.
    pub(crate) fn by_actor(&self) -> impl Iterator<Item = (&A, &[(u64, u64)])> {
        self.ranges.iter().map(|(a, r)| (a, r.as_slice()))
    }

    /// Number of runs (the encoded size grows with this, not with the dots).
    pub fn run_count(&self) -> usize {
        self.ranges.values().map(Vec::len).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// `a ∩ b` for ascending, disjoint, inclusive runs, in one sweep: the cost
/// is the number of runs, never the number of dots they span.
pub(crate) fn intersect_runs(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let (lo, hi) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if lo <= hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// `a \ b` for ascending, disjoint, inclusive runs, in one sweep. Input
/// that breaks the order (it can come from a peer) gives a wrong answer,
/// never a panic or a long loop.
pub(crate) fn subtract_runs(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(first, hi) in a {
        let mut lo = first;
        while j < b.len() && b[j].1 < lo {
            j += 1;
        }
        let mut k = j;
        let mut covered = false;
        while k < b.len() && b[k].0 <= hi {
            if b[k].0 > lo {
                out.push((lo, b[k].0 - 1));
            }
            if b[k].1 >= hi {
                covered = true;
                break;
            }
            lo = lo.max(b[k].1 + 1);
            k += 1;
        }
        if !covered && lo <= hi {
            out.push((lo, hi));
        }
        j = k;
    }
    out
}

fn runs(sorted: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &c in sorted {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => out.push((c, c)),
        }
    }
    out
}

fn encode_runs(runs: &[(u64, u64)], out: &mut Vec<u8>) {
    put_varint(out, runs.len() as u64);
    let mut prev_end = 0u64;
    for &(start, end) in runs {
        put_varint(out, start - prev_end);
        put_varint(out, end - start);
        prev_end = end;
    }
}

/// Runs starting at 1 or above, with gaps between them (the canonical form).
fn decode_runs(reader: &mut Reader<'_>) -> Result<Vec<(u64, u64)>> {
    let n = read_count(reader, 2)?;
    let mut out = Vec::with_capacity(n);
    let mut prev_end = 0u64;
    for i in 0..n {
        let gap = reader.varint()?;
        let len = reader.varint()?;
        // Counters start at 1; later runs must leave a gap or they would be one run.
        let min_gap = if i == 0 { 1 } else { 2 };
        if gap < min_gap {
            return Err(DecodeError::Invalid("overlapping or adjacent dot runs").into());
        }
        let start = prev_end.checked_add(gap).ok_or(Error::Overflow)?;
        let end = start.checked_add(len).ok_or(Error::Overflow)?;
        out.push((start, end));
        prev_end = end;
    }
    Ok(out)
}

impl<A: Ord + Clone + Codec> Codec for DotRanges<A> {
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.ranges.len() as u64);
        for (actor, runs) in &self.ranges {
            actor.encode(out);
            encode_runs(runs, out);
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let n = read_count(reader, A::MIN_LEN + 1)?;
        let mut ranges = BTreeMap::new();
        let mut last: Option<A> = None;
        for _ in 0..n {
            let actor = A::decode(reader)?;
            if last.as_ref().is_some_and(|l| *l >= actor) {
                return Err(DecodeError::Invalid("unsorted actors").into());
            }
            let runs = decode_runs(reader)?;
            if runs.is_empty() {
                return Err(DecodeError::Invalid("actor without dots").into());
            }
            last = Some(actor.clone());
            ranges.insert(actor, runs);
        }
        Ok(Self { ranges })
    }
}

/// Every actor a context names, sorted.
pub(crate) fn context_actors<A: Ord + Clone>(ctx: &CausalContext<A>) -> Vec<A> {
    let mut actors: Vec<A> = ctx.ranges().map(|r| r.actor).collect();
    actors.dedup();
    actors
}

/// Writes a context against `table` (which names every actor in it): per
/// actor its contiguous base, then the out-of-order runs above it.
pub(crate) fn encode_context<A: Ord + Clone + Codec>(
    ctx: &CausalContext<A>,
    table: &ActorTable<A>,
    out: &mut Vec<u8>,
) {
    let vv = ctx.version_vector();
    let mut ranges = ctx.ranges().peekable();
    for actor in table.actors() {
        let base = vv.get(actor);
        put_varint(out, base);
        let mut runs = Vec::new();
        while let Some(r) = ranges.next_if(|r| r.actor == *actor) {
            if r.first > base {
                runs.push((r.first - base, r.last - base));
            }
        }
        encode_runs(&runs, out);
    }
}

/// Reads a context written by [`encode_context`]. Runs stay runs in memory,
/// so a hostile run length costs nothing.
pub(crate) fn decode_context<A: Ord + Clone + Codec>(
    table: &ActorTable<A>,
    reader: &mut Reader<'_>,
) -> Result<CausalContext<A>> {
    let mut vv = VersionVector::new();
    let mut cloud = Vec::new();
    for actor in table.actors() {
        let base = reader.varint()?;
        let rel = decode_runs(reader)?;
        if base == 0 && rel.is_empty() {
            return Err(DecodeError::Invalid("actor named but absent from context").into());
        }
        if base > 0 {
            vv.raise(actor, base);
        }
        for (first, last) in rel {
            let first = base.checked_add(first).ok_or(Error::Overflow)?;
            let last = base.checked_add(last).ok_or(Error::Overflow)?;
            cloud.push((actor.clone(), first, last));
        }
    }
    let mut ctx = CausalContext::from_version_vector(vv);
    for (actor, first, last) in cloud {
        ctx.insert_range(actor, first, last);
    }
    Ok(ctx)
}

/// What a peer sends so a replica can compute exactly what it is missing:
/// its causal context and the dots still live in its store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest<A: Ord> {
    /// Every dot the peer has seen.
    pub context: CausalContext<A>,
    /// The seen dots that are still live (not yet removed) at the peer.
    pub live: DotRanges<A>,
}

impl<A: Ord + Clone + Codec> Codec for Digest<A> {
    fn encode(&self, out: &mut Vec<u8>) {
        let table = ActorTable::from_sorted(context_actors(&self.context));
        table.encode(out);
        encode_context(&self.context, &table, out);
        self.live.encode(out);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let table = ActorTable::decode(reader)?;
        let context = decode_context(&table, reader)?;
        let live = DotRanges::decode(reader)?;
        Ok(Self { context, live })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set_of(runs: &[(u64, u64)]) -> std::collections::BTreeSet<u64> {
        runs.iter().flat_map(|&(a, b)| a..=b).collect()
    }

    fn canonical() -> impl Strategy<Value = Vec<(u64, u64)>> {
        prop::collection::btree_set(1u64..40, 0..20).prop_map(|s| {
            let v: Vec<u64> = s.into_iter().collect();
            runs(&v)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn run_arithmetic_matches_sets(a in canonical(), b in canonical()) {
            let (sa, sb) = (set_of(&a), set_of(&b));
            let inter = intersect_runs(&a, &b);
            let diff = subtract_runs(&a, &b);
            prop_assert_eq!(set_of(&inter), sa.intersection(&sb).copied().collect());
            prop_assert_eq!(set_of(&diff), sa.difference(&sb).copied().collect());
            // Still canonical: ascending and disjoint.
            prop_assert!(inter.windows(2).all(|w| w[0].1 < w[1].0));
            prop_assert!(diff.windows(2).all(|w| w[0].1 < w[1].0));
        }
    }

    /// A digest is network input: one claiming every counter of an actor
    /// live must be answered from its run count (this used to walk the
    /// dots, which never finishes).
    #[test]
    fn huge_hostile_digest_is_answered_by_runs() {
        use crate::{AntiEntropy, DotStore, Lattice, ORSet};
        let mut a: ORSet<u64, u64> = ORSet::new();
        a.add(1, 10);
        a.add(1, 11);
        a.remove(&10);
        let mut context = a.context().clone();
        context.insert_range(1, 1, u64::MAX);
        let live = DotRanges {
            ranges: BTreeMap::from([(1u64, vec![(1, u64::MAX)])]),
        };
        let answer = a.missing(&Digest { context, live });
        // We removed (1,1) (element 10) and the peer holds it live: say so.
        assert!(answer.context().contains(&Dot::new(1, 1)));
        // (1,2) is live here too, and the rest we never saw.
        assert!(!answer.context().contains(&Dot::new(1, 2)));
        assert!(!answer.context().contains(&Dot::new(1, 3)));
        assert!(answer.store().is_empty());
        let mut peer: ORSet<u64, u64> = ORSet::new();
        peer.merge(&a);
        assert!(a.missing(&peer.digest()).is_bottom());
    }

    #[test]
    fn run_arithmetic_reaches_the_top_counter() {
        assert_eq!(
            subtract_runs(&[(1, u64::MAX)], &[(2, 3), (u64::MAX, u64::MAX)]),
            [(1, 1), (4, u64::MAX - 1)]
        );
        assert_eq!(intersect_runs(&[(1, u64::MAX)], &[(5, 9)]), [(5, 9)]);
        // Unordered input (from a peer) ends, whatever it answers.
        let _ = subtract_runs(&[(9, 3), (1, 2)], &[(7, 1), (0, u64::MAX)]);
    }

    #[test]
    fn context_with_cloud_round_trips_compactly() {
        let mut ctx = CausalContext::new();
        ctx.insert_range(1u64, 1, 100_000);
        ctx.insert_range(1u64, 100_010, 100_500);
        ctx.insert(Dot::new(2u64, 7));
        let table = ActorTable::from_sorted(context_actors(&ctx));
        let mut out = Vec::new();
        table.encode(&mut out);
        encode_context(&ctx, &table, &mut out);
        // Two actors of 8 bytes, then a handful of varints: runs, not dots.
        assert!(out.len() < 40, "{} bytes", out.len());
        let mut r = Reader::new(&out);
        let table = ActorTable::<u64>::decode(&mut r).unwrap();
        assert_eq!(decode_context(&table, &mut r).unwrap(), ctx);
        r.finish().unwrap();
    }

    #[test]
    fn hostile_run_lengths_cost_nothing() {
        // One actor, base 0, one run of 2^62 dots: decodes as one range.
        let mut out = Vec::new();
        put_varint(&mut out, 1);
        5u64.encode(&mut out);
        put_varint(&mut out, 0);
        put_varint(&mut out, 1);
        put_varint(&mut out, 3);
        put_varint(&mut out, 1 << 62);
        let mut r = Reader::new(&out);
        let table = ActorTable::<u64>::decode(&mut r).unwrap();
        let ctx = decode_context(&table, &mut r).unwrap();
        assert!(ctx.contains(&Dot::new(5, 1 << 40)));
        assert_eq!(ctx.cloud_runs(), 1);
    }

    #[test]
    fn adjacent_runs_are_rejected() {
        let mut out = Vec::new();
        put_varint(&mut out, 1);
        9u64.encode(&mut out);
        put_varint(&mut out, 2);
        put_varint(&mut out, 1);
        put_varint(&mut out, 0);
        put_varint(&mut out, 1); // touches the first run: not canonical
        put_varint(&mut out, 0);
        assert!(DotRanges::<u64>::from_bytes(&out).is_err());
    }

    proptest! {
        #[test]
        fn dot_ranges_match_a_set(dots in proptest::collection::vec((0..3u64, 1..40u64), 0..60)) {
            let dots: Vec<Dot<u64>> = dots.into_iter().map(|(a, c)| Dot::new(a, c)).collect();
            let ranges = DotRanges::from_dots(&dots);
            let set: std::collections::BTreeSet<_> = dots.iter().cloned().collect();
            prop_assert_eq!(ranges.iter().collect::<std::collections::BTreeSet<_>>(), set.clone());
            for a in 0..3u64 {
                for c in 1..41u64 {
                    let d = Dot::new(a, c);
                    prop_assert_eq!(ranges.contains(&d), set.contains(&d));
                }
            }
            prop_assert_eq!(DotRanges::from_bytes(&ranges.to_bytes()).unwrap(), ranges);
        }
    }
}

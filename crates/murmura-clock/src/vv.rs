//! Version vectors: one counter per actor, ordered by causality.

use crate::{ActorCodec, ClockError, Dot, Result};
use murmura_core::codec::{DecodeError, Reader, put_varint};
use smallvec::SmallVec;
use std::cmp::Ordering;

/// How two clocks relate in the happened-before order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Causality {
    /// The left clock happened before the right one (left < right).
    Before,
    /// The left clock happened after the right one (left > right).
    After,
    /// Both clocks have seen exactly the same events.
    Equal,
    /// Each clock has seen an event the other has not.
    Concurrent,
}

impl Causality {
    /// The same relation seen from the other side.
    #[inline]
    pub fn reverse(self) -> Self {
        match self {
            Self::Before => Self::After,
            Self::After => Self::Before,
            other => other,
        }
    }

    /// As a partial order (`None` for concurrent clocks).
    #[inline]
    pub fn to_ordering(self) -> Option<Ordering> {
        match self {
            Self::Before => Some(Ordering::Less),
            Self::After => Some(Ordering::Greater),
            Self::Equal => Some(Ordering::Equal),
            Self::Concurrent => None,
        }
    }

    fn from_flags(self_ahead: bool, other_ahead: bool) -> Self {
        match (self_ahead, other_ahead) {
            (false, false) => Self::Equal,
            (true, false) => Self::After,
            (false, true) => Self::Before,
            (true, true) => Self::Concurrent,
        }
    }
}

/// A version vector (vector clock): for each actor, how many of its events
/// have been seen.
///
/// Stored as a vector of `(actor, counter)` pairs sorted by actor, with no
/// zero counters, inline for up to four actors. Comparison and merge are
/// linear walks over two sorted arrays, so they stay fast and cache-friendly
/// at thousands of actors; identical actor sets (the common case) take a
/// lockstep path with no searching at all.
///
/// ```
/// use murmura_clock::{Causality, VersionVector};
///
/// let mut a = VersionVector::new();
/// a.increment("alice");
/// let mut b = a.clone();
/// b.increment("bob");
/// assert_eq!(a.causality(&b), Causality::Before);
/// assert!(a < b);
///
/// a.increment("alice");
/// assert_eq!(a.causality(&b), Causality::Concurrent);
/// assert_eq!(a.partial_cmp(&b), None);
///
/// a.merge(&b);
/// assert!(a.dominates(&b));
/// assert_eq!(a.get(&"alice"), 2);
/// assert_eq!(a.get(&"bob"), 1);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VersionVector<A: Ord> {
    entries: SmallVec<[(A, u64); 4]>,
}

impl<A: Ord> Default for VersionVector<A> {
    fn default() -> Self {
        Self {
            entries: SmallVec::new(),
        }
    }
}

impl<A: Ord + std::fmt::Debug> std::fmt::Debug for VersionVector<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(a, c)| (a, c)))
            .finish()
    }
}

impl<A: Ord + Clone> VersionVector<A> {
    /// An empty vector: no events seen.
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many events of `actor` have been seen (0 if none).
    #[inline]
    pub fn get(&self, actor: &A) -> u64 {
        match self.search(actor) {
            Ok(i) => self.entries[i].1,
            Err(_) => 0,
        }
    }

    /// Records a new event of `actor` and returns its dot. The counter
    /// saturates at `u64::MAX` (unreachable by counting one at a time).
    pub fn increment(&mut self, actor: A) -> Dot<A> {
        match self.search(&actor) {
            Ok(i) => {
                let counter = &mut self.entries[i].1;
                *counter = counter.saturating_add(1);
                Dot::new(actor, *counter)
            }
            Err(i) => {
                self.entries.insert(i, (actor.clone(), 1));
                Dot::new(actor, 1)
            }
        }
    }

    /// Raises `dot.actor`'s entry to at least `dot.counter`. Applying a dot
    /// out of order also counts every earlier event of that actor as seen;
    /// use a [`CausalContext`](crate::CausalContext) to track gaps.
    pub fn apply(&mut self, dot: &Dot<A>) {
        self.raise(&dot.actor, dot.counter);
    }

    /// Sets `actor`'s entry to `max(entry, counter)`.
    pub fn raise(&mut self, actor: &A, counter: u64) {
        if counter == 0 {
            return;
        }
        match self.search(actor) {
            Ok(i) => {
                let entry = &mut self.entries[i].1;
                *entry = (*entry).max(counter);
            }
            Err(i) => self.entries.insert(i, (actor.clone(), counter)),
        }
    }

    /// Whether the event `dot` has been seen.
    #[inline]
    pub fn contains(&self, dot: &Dot<A>) -> bool {
        dot.counter != 0 && self.get(&dot.actor) >= dot.counter
    }

    /// Raises every entry to the maximum of both vectors: the least upper
    /// bound, so afterwards `self` dominates both inputs.
    pub fn merge(&mut self, other: &Self) {
        if other.entries.is_empty() {
            return;
        }
        if self.entries.is_empty() {
            self.entries.clone_from(&other.entries);
            return;
        }
        // In place while every actor of `other` is already here (same actor
        // set, or merging a smaller delta); fall back to a merged tail at the
        // first actor we lack.
        let (mut i, mut j) = (0, 0);
        let a_len = self.entries.len();
        let b = &other.entries[..];
        while j < b.len() {
            if i == a_len {
                self.entries.extend(b[j..].iter().cloned());
                return;
            }
            let (ours, theirs) = (&mut self.entries[i], &b[j]);
            match ours.0.cmp(&theirs.0) {
                Ordering::Equal => {
                    ours.1 = ours.1.max(theirs.1);
                    i += 1;
                    j += 1;
                }
                Ordering::Less => i += 1,
                Ordering::Greater => break,
            }
        }
        if j == b.len() {
            return;
        }
        // `other` has actors we lack: rebuild once, moving our entries
        // rather than cloning them, in a single pass from where we stopped.
        let old = std::mem::take(&mut self.entries);
        let mut out: SmallVec<[(A, u64); 4]> = SmallVec::with_capacity(old.len() + b.len() - j);
        // Every entry before `i` sorts before `b[j]`, so one pass from `j` places all.
        let mut y = j;
        for mut entry in old {
            while y < b.len() && b[y].0 < entry.0 {
                out.push(b[y].clone());
                y += 1;
            }
            if y < b.len() && b[y].0 == entry.0 {
                entry.1 = entry.1.max(b[y].1);
                y += 1;
            }
            out.push(entry);
        }
        out.extend(b[y..].iter().cloned());
        // Many shared actors left the upper bound loose: give the slack back
        // when it is worth a reallocation (more than a quarter, and more
        // than a few entries).
        let slack = out.capacity() - out.len();
        if slack > out.len() / 4 && slack > 4 {
            out.shrink_to_fit();
        }
        self.entries = out;
    }

    /// How `self` relates to `other` in the happened-before order.
    pub fn causality(&self, other: &Self) -> Causality {
        let (a, b) = (&self.entries[..], &other.entries[..]);
        let (mut self_ahead, mut other_ahead) = (false, false);
        // Lockstep over a shared actor prefix, a chunk at a time with no
        // data-dependent branches inside a chunk; a chunk whose actors differ
        // is redone one entry at a time below.
        const CHUNK: usize = 8;
        let n = a.len().min(b.len());
        let mut i = 0;
        for (xs, ys) in a[..n].chunks_exact(CHUNK).zip(b[..n].chunks_exact(CHUNK)) {
            let (mut differ, mut ahead, mut behind) = (false, false, false);
            for (x, y) in xs.iter().zip(ys) {
                differ |= x.0 != y.0;
                ahead |= x.1 > y.1;
                behind |= x.1 < y.1;
            }
            if differ {
                break;
            }
            self_ahead |= ahead;
            other_ahead |= behind;
            if self_ahead && other_ahead {
                return Causality::Concurrent;
            }
            i += CHUNK;
        }
        while i < n {
            let (x, y) = (&a[i], &b[i]);
            if x.0 != y.0 {
                break;
            }
            self_ahead |= x.1 > y.1;
            other_ahead |= x.1 < y.1;
            i += 1;
        }
        let mut j = i;
        while i < a.len() && j < b.len() {
            if self_ahead && other_ahead {
                return Causality::Concurrent;
            }
            match a[i].0.cmp(&b[j].0) {
                Ordering::Less => {
                    self_ahead = true;
                    i += 1;
                }
                Ordering::Greater => {
                    other_ahead = true;
                    j += 1;
                }
                Ordering::Equal => {
                    self_ahead |= a[i].1 > b[j].1;
                    other_ahead |= a[i].1 < b[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        // Leftover actors are ones the other side has never seen.
        self_ahead |= i < a.len();
        other_ahead |= j < b.len();
        Causality::from_flags(self_ahead, other_ahead)
    }

    /// Whether `self` has seen every event `other` has (`self >= other`).
    pub fn dominates(&self, other: &Self) -> bool {
        let (a, b) = (&self.entries[..], &other.entries[..]);
        // No zero entries: an extra actor in `other` is an unseen event.
        if b.len() > a.len() {
            return false;
        }
        if a.len() == b.len() {
            let mut ok = true;
            let mut k = 0;
            while k < a.len() && a[k].0 == b[k].0 {
                ok &= a[k].1 >= b[k].1;
                k += 1;
            }
            if k == a.len() {
                return ok;
            }
            if !ok {
                return false;
            }
        }
        let mut i = 0;
        for (actor, counter) in b {
            loop {
                match a.get(i) {
                    None => return false,
                    Some((ours, c)) => match ours.cmp(actor) {
                        Ordering::Less => i += 1,
                        Ordering::Equal => {
                            if *c < *counter {
                                return false;
                            }
                            i += 1;
                            break;
                        }
                        Ordering::Greater => return false,
                    },
                }
            }
        }
        true
    }

    /// Each actor with its counter, in actor order.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = (&A, u64)> {
        self.entries.iter().map(|(a, c)| (a, *c))
    }

    /// The latest dot of each actor, in actor order (one per entry; every
    /// earlier dot of that actor is implied). For every dot one by one, use
    /// [`all_dots`](Self::all_dots).
    pub fn dots(&self) -> impl Iterator<Item = Dot<A>> {
        self.entries.iter().map(|(a, c)| Dot::new(a.clone(), *c))
    }

    /// Every dot the vector contains, `(actor, 1..=counter)` for each actor.
    /// This can be very long; prefer [`dots`](Self::dots) or [`iter`](Self::iter).
    pub fn all_dots(&self) -> impl Iterator<Item = Dot<A>> + '_ {
        self.entries
            .iter()
            .flat_map(|(a, c)| (1..=*c).map(move |n| Dot::new(a.clone(), n)))
    }

    /// Number of actors with a non-zero counter.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no event has been seen.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets `actor` (for pruning once its events are causally stable) and
    /// returns the counter it had (0 if none).
    pub fn remove(&mut self, actor: &A) -> u64 {
        match self.search(actor) {
            Ok(i) => self.entries.remove(i).1,
            Err(_) => 0,
        }
    }

    /// Lowers every entry to the minimum of both vectors (the greatest lower
    /// bound): the events both have seen.
    pub fn meet(&mut self, other: &Self) {
        let mut j = 0;
        let b = &other.entries;
        self.entries.retain(|(actor, counter)| {
            while j < b.len() && b[j].0 < *actor {
                j += 1;
            }
            match b.get(j) {
                Some((theirs, c)) if theirs == actor => {
                    *counter = (*counter).min(*c);
                    true
                }
                _ => false,
            }
        });
    }

    /// The `(actor, counter)` pairs, sorted by actor, no zero counters.
    #[inline]
    pub fn as_slice(&self) -> &[(A, u64)] {
        &self.entries
    }

    #[inline]
    fn search(&self, actor: &A) -> std::result::Result<usize, usize> {
        self.entries.binary_search_by(|(a, _)| a.cmp(actor))
    }
}

impl<A: Ord + Clone + ActorCodec> VersionVector<A> {
    /// Appends the binary encoding: the number of actors, then each actor
    /// (integer actors as the gap from the previous one) and its counter,
    /// as varints.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.entries.len() as u64);
        let mut prev: Option<&A> = None;
        for (actor, counter) in &self.entries {
            match prev {
                None => actor.encode_actor(out),
                Some(p) => actor.encode_after(p, out),
            }
            put_varint(out, *counter);
            prev = Some(actor);
        }
    }

    /// The encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Reads a vector from `reader` (for use inside larger encodings).
    /// Rejects unsorted or repeated actors and zero counters, so every
    /// vector has exactly one encoding.
    pub fn decode_from(reader: &mut Reader<'_>) -> Result<Self> {
        let n = reader.count(A::MIN_ENCODED_LEN + 1)?;
        let mut entries: SmallVec<[(A, u64); 4]> = SmallVec::with_capacity(n);
        for _ in 0..n {
            let actor = match entries.last() {
                None => A::decode_actor(reader)?,
                Some((prev, _)) => {
                    let actor = A::decode_after(prev, reader)?;
                    if actor <= *prev {
                        return Err(DecodeError::Invalid("version vector actors not sorted").into());
                    }
                    actor
                }
            };
            let counter = reader.varint()?;
            if counter == 0 {
                return Err(DecodeError::Invalid("version vector counter 0").into());
            }
            entries.push((actor, counter));
        }
        Ok(Self { entries })
    }

    /// Decodes a vector that fills `bytes` exactly.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let vv = Self::decode_from(&mut reader)?;
        reader.finish().map_err(ClockError::from)?;
        Ok(vv)
    }
}

impl<A: Ord + Clone> PartialOrd for VersionVector<A> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.causality(other).to_ordering()
    }
}

impl<A: Ord + Clone> FromIterator<(A, u64)> for VersionVector<A> {
    /// Collects pairs in any order; repeated actors keep their maximum.
    fn from_iter<I: IntoIterator<Item = (A, u64)>>(iter: I) -> Self {
        let mut entries: SmallVec<[(A, u64); 4]> =
            iter.into_iter().filter(|(_, c)| *c != 0).collect();
        entries.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(&x.1)));
        entries.dedup_by(|later, first| later.0 == first.0);
        Self { entries }
    }
}

impl<A: Ord + Clone> FromIterator<Dot<A>> for VersionVector<A> {
    fn from_iter<I: IntoIterator<Item = Dot<A>>>(iter: I) -> Self {
        iter.into_iter().map(|d| (d.actor, d.counter)).collect()
    }
}

impl<A: Ord + Clone> Extend<Dot<A>> for VersionVector<A> {
    fn extend<I: IntoIterator<Item = Dot<A>>>(&mut self, iter: I) {
        for dot in iter {
            self.apply(&dot);
        }
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<A: Ord + serde::Serialize> serde::Serialize for VersionVector<A> {
    /// A sequence of `(actor, counter)` pairs in actor order.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_seq(self.entries.iter())
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de, A: Ord + Clone + serde::Deserialize<'de>> serde::Deserialize<'de> for VersionVector<A> {
    /// Any sequence of `(actor, counter)` pairs, normalised as by
    /// [`FromIterator`]: sorted, zero counters dropped, repeats keep the maximum.
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let pairs = Vec::<(A, u64)>::deserialize(deserializer)?;
        Ok(pairs.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vv(pairs: &[(u64, u64)]) -> VersionVector<u64> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn increment_apply_contains() {
        let mut v = VersionVector::new();
        assert_eq!(v.increment(3u64), Dot::new(3, 1));
        assert_eq!(v.increment(1), Dot::new(1, 1));
        assert_eq!(v.increment(3), Dot::new(3, 2));
        assert_eq!(v.as_slice(), &[(1, 1), (3, 2)]);
        v.apply(&Dot::new(2, 5));
        v.apply(&Dot::new(3, 1));
        assert_eq!(v.get(&2), 5);
        assert_eq!(v.get(&3), 2);
        assert!(v.contains(&Dot::new(2, 4)));
        assert!(!v.contains(&Dot::new(2, 6)));
        assert!(!v.contains(&Dot::new(9, 1)));
        assert!(!v.contains(&Dot::new(2, 0)));
        assert_eq!(v.len(), 3);
        assert_eq!(v.remove(&2), 5);
        assert_eq!(v.remove(&2), 0);
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn causality_cases() {
        let a = vv(&[(1, 1), (2, 2)]);
        let b = vv(&[(1, 1), (2, 3)]);
        let c = vv(&[(1, 2), (2, 1)]);
        let d = vv(&[(1, 1), (2, 2), (5, 1)]);
        let e = vv(&[(0, 1), (2, 2)]);
        assert_eq!(a.causality(&a), Causality::Equal);
        assert_eq!(a.causality(&b), Causality::Before);
        assert_eq!(b.causality(&a), Causality::After);
        assert_eq!(a.causality(&c), Causality::Concurrent);
        assert_eq!(a.causality(&d), Causality::Before);
        assert_eq!(d.causality(&a), Causality::After);
        assert_eq!(a.causality(&e), Causality::Concurrent);
        assert_eq!(VersionVector::new().causality(&a), Causality::Before);
        assert!(b.dominates(&a) && !a.dominates(&b));
        assert!(d.dominates(&a) && !a.dominates(&d));
        assert!(!a.dominates(&e) && !e.dominates(&a));
        assert!(a.dominates(&VersionVector::new()));
        assert!(a < b);
        assert!(b > a);
        assert_eq!(a.partial_cmp(&c), None);
    }

    #[test]
    fn merge_takes_maxima_and_unions_actors() {
        let mut a = vv(&[(1, 5), (3, 1), (7, 2)]);
        a.merge(&vv(&[(0, 1), (3, 4), (8, 9)]));
        assert_eq!(a, vv(&[(0, 1), (1, 5), (3, 4), (7, 2), (8, 9)]));
        let mut b = vv(&[(1, 1), (2, 1)]);
        b.merge(&vv(&[(2, 3)]));
        assert_eq!(b, vv(&[(1, 1), (2, 3)]));
        let mut c = vv(&[(1, 1)]);
        c.merge(&vv(&[(2, 3), (4, 4)]));
        assert_eq!(c, vv(&[(1, 1), (2, 3), (4, 4)]));
        let mut m = vv(&[(1, 3), (2, 2), (9, 9)]);
        m.meet(&vv(&[(1, 1), (2, 5), (4, 4)]));
        assert_eq!(m, vv(&[(1, 1), (2, 2)]));
    }

    #[test]
    fn from_iter_normalises() {
        let v = vv(&[(4, 1), (2, 0), (4, 7), (1, 2)]);
        assert_eq!(v.as_slice(), &[(1, 2), (4, 7)]);
        let dots: Vec<_> = v.all_dots().collect();
        assert_eq!(dots.len(), 9);
        assert_eq!(
            v.dots().collect::<Vec<_>>(),
            [Dot::new(1, 2), Dot::new(4, 7)]
        );
    }

    #[test]
    fn golden_encoding() {
        let v = vv(&[(1, 1), (2, 300), (10, 2)]);
        let bytes = v.to_bytes();
        assert_eq!(bytes, [3, 1, 1, 0, 0xac, 0x02, 7, 2]);
        assert_eq!(VersionVector::<u64>::decode(&bytes), Ok(v));
    }

    #[test]
    fn decode_rejects_non_canonical() {
        // zero counter
        assert!(VersionVector::<u64>::decode(&[1, 1, 0]).is_err());
        // repeated string actor
        let mut out = Vec::new();
        put_varint(&mut out, 2);
        for _ in 0..2 {
            "a".to_string().encode_actor(&mut out);
            put_varint(&mut out, 1);
        }
        assert!(VersionVector::<String>::decode(&out).is_err());
        // huge count in a tiny buffer
        assert!(matches!(
            VersionVector::<u64>::decode(&[0xff, 0xff, 0x03]),
            Err(ClockError::Decode(DecodeError::CountTooLarge { .. }))
        ));
    }
}

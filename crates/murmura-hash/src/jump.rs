//! Jump-class hashing with named nodes that may leave in any order.
//!
//! [`jump_bucket`] maps a key to one of `n` numbered buckets in constant
//! expected time. Like Lamping and Veach's jump hash it treats every bucket
//! `i >= 1` as a point the key "jumps to" with probability `1/(i+1)`, and
//! answers the largest jump point below `n`; but it finds that point going
//! *backwards* from the top, as JumpBackHash does, instead of walking forward
//! through `O(log n)` jumps. Buckets `[2^j, 2^(j+1))` hold a jump point with
//! probability exactly 1/2, so one random bit per such interval says which
//! intervals are occupied, and the largest point in an occupied interval is
//! uniform over it. Only the top interval, cut off by `n`, needs a short
//! chain of uniform draws (each one the largest point below the last).
//!
//! [`Jump`] gives buckets names and lets any of them leave, with MementoHash
//! bookkeeping (Coluzzi et al.): a removed bucket remembers how many buckets
//! were working right after its removal, and keys that land on it are rehashed
//! uniformly over those. Only the leaving node's keys move.
//!
//! History independence: **not** given for [`Jump`]. Which bucket a node gets
//! depends on the order of joins and leaves (a joining node reuses the most
//! recently vacated bucket), so two placements with the same members but
//! different histories can place keys differently. A placement *built* from a
//! member list numbers buckets in identifier order, so rebuilding from the
//! same set always gives the same answer.

use crate::error::{Error, Result, name};
use crate::key::{StableHash, fast_range, mix2, mix64};
use crate::node::{NodeSpec, Roster};
use crate::placement::{Membership, Placement};
use crate::plan::MovePlan;
use murmura_core::NodeId;

const NONE: u32 = u32::MAX;
const INTERVAL_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// The bucket in `0..n` that owns `key_hash` (`0` when `n <= 1`).
///
/// Growing `n` by one moves only keys onto the new bucket, about `1/(n+1)`
/// of them; every bucket gets the same share.
///
/// ```
/// use murmura_hash::jump_bucket;
/// let key = 0x1234_5678_9abc_def0;
/// let b = jump_bucket(key, 10);
/// assert!(b < 10);
/// let after = jump_bucket(key, 11);
/// assert!(after == b || after == 10);
/// ```
#[inline]
pub fn jump_bucket(key_hash: u64, n: u32) -> u32 {
    if n <= 1 {
        return 0;
    }
    bucket_in(key_hash, &Top::of(n))
}

/// What [`jump_bucket`] needs to know about `n`, worked out once: a
/// placement keeps it beside its buckets so a lookup starts with the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Top {
    n: u32,
    /// `n - 1` lies in `[2^k, 2^(k+1))`.
    k: u32,
    /// `2^k`.
    low: u32,
    /// The salt of interval `k`.
    salt: u64,
}

impl Top {
    #[inline(always)]
    fn of(n: u32) -> Self {
        let k = 31 - n.saturating_sub(1).max(1).leading_zeros();
        Self {
            n,
            k,
            low: 1u32 << k,
            salt: interval_salt(k),
        }
    }
}

/// The salt of interval `j`'s draw.
#[inline(always)]
const fn interval_salt(j: u32) -> u64 {
    INTERVAL_SALT.wrapping_mul(j as u64 + 1)
}

/// [`jump_bucket`] for `top.n >= 1` (for `n == 1` every select below
/// lands on bucket 0; `n == 0` would never leave the chain).
#[inline(always)]
fn bucket_in(key_hash: u64, top: &Top) -> u32 {
    let Top { n, k, low, salt } = *top;
    // The key hash is already uniform (XXH3), so its bits say directly which
    // intervals hold a jump point; the points themselves are hashed from it.
    let occupied = key_hash;
    // Everything below is computed unconditionally and chosen with selects:
    // with random keys every one of these conditions is a coin toss, and a
    // mispredicted branch costs more than the hashes it would skip.
    //
    // Below the top interval: the largest point of the highest occupied
    // interval, or bucket 0 when none is.
    let lower = occupied & ((1u64 << k) - 1);
    let highest = 63 - (lower | 1).leading_zeros();
    let lower_point = pick(lower != 0, interval_point(key_hash, highest), 0);
    // The top interval, cut off by n: its largest point, then each next
    // point below it (uniform below the last) until one falls below n. The
    // first step draws from the unused high half of the point's own hash,
    // the second from the unused high half of the key hash (any one n
    // reads only its top interval's chain, so sharing these bits between
    // intervals leaves each placement uniform and growth monotone); under
    // 4% of keys, whatever n is, go on to the loop.
    let top_draw = mix64(key_hash ^ salt);
    let first = low | (top_draw as u32 & (low - 1));
    let second = below(top_draw >> 32, first);
    let third = below(occupied >> 32, second);
    let mut point = pick(first < n, first, pick(second < n, second, third));
    // Walk the rest of the chain whenever the unrolled steps stayed at or
    // above n, whether or not the top interval is occupied (the result then
    // ignores it): a branch on "occupied and above n" compiles to a branch
    // on the occupancy bit, a coin toss mispredicted on every other key,
    // while "above n" alone is rare and predicted.
    if point >= n {
        point = chain_tail(key_hash, k, third, n);
    }
    let top_occupied = occupied >> k & 1 == 1;
    pick(top_occupied & (point >= low), point, lower_point)
}

/// A point uniform over `0..point` from 32 random bits (Lemire's
/// multiply-shift; the bias, at most `point / 2^32`, is far below sampling
/// noise).
#[inline(always)]
fn below(bits32: u64, point: u32) -> u32 {
    ((bits32 * u64::from(point)) >> 32) as u32
}

/// `if c { a } else { b }` without a branch. Written as masks alone, LLVM
/// still turns such selects back into branches once the lookup is inlined
/// into a caller's loop (x86's cmov-to-branch conversion), and with random
/// keys those branches mispredict; `select_unpredictable` tells it not to.
#[inline(always)]
fn pick(c: bool, a: u32, b: u32) -> u32 {
    std::hint::select_unpredictable(c, a, b)
}

/// The rest of the top interval's chain after the unrolled steps, walked
/// until a point falls below `n`; each step is uniform below the last.
#[cold]
#[inline(never)]
fn chain_tail(key_hash: u64, k: u32, mut point: u32, n: u32) -> u32 {
    let mut step = 3u64;
    while point >= n {
        let draw = mix2(key_hash, u64::from(k) << 32 | step);
        point = fast_range(draw, u64::from(point)) as u32;
        step += 1;
    }
    point
}

/// The largest jump point in `[2^j, 2^(j+1))`, uniform over it: a fixed
/// function of the key and `j`, whichever `n` asks.
#[inline(always)]
fn interval_point(key_hash: u64, j: u32) -> u32 {
    let low = 1u32 << j;
    low | (interval_draw(key_hash, j) as u32 & (low - 1))
}

/// The hash behind interval `j`'s largest point (its low half) and, when the
/// interval is the top one, the first step of its chain (its high half).
#[inline(always)]
fn interval_draw(key_hash: u64, j: u32) -> u64 {
    mix64(key_hash ^ interval_salt(j))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket {
    /// Working buckets right after this one was removed; `NONE` while working.
    replacer: u32,
    /// The roster index of the node in this bucket; `NONE` when removed.
    node: u32,
}

/// How many rehashed candidates a replica walk tries before falling back to
/// scanning buckets in order.
const REHASH_PROBES: u64 = 16;

/// Jump-class placement over named nodes that can join and leave in any order.
///
/// All members have the same share: jump hashing has no weights, so any
/// weight other than 1 is rejected.
///
/// ```
/// use murmura_hash::{key_hash, Jump, Membership, NodeSpec, Placement};
///
/// let jump = Jump::new(["a", "b", "c", "d"].map(NodeSpec::new))?;
/// let key = key_hash(b"user:42");
/// let before = *jump.owner(key)?;
/// let (after, _plan) = jump.remove(&"b")?;
/// // Only b's keys move.
/// if before != "b" {
///     assert_eq!(*after.owner(key)?, before);
/// }
/// # Ok::<(), murmura_hash::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Jump<N> {
    roster: Roster<N>,
    buckets: Vec<Bucket>,
    /// The identifier in each bucket, for remapping after roster changes.
    names: Vec<Option<N>>,
    /// The identifier of each bucket as it was last occupied: equal to
    /// `names` for every working bucket (the only ones lookups answer), so
    /// a lookup reads a name with one load and no `Option` check.
    ids: Vec<N>,
    /// Removed buckets, most recent last.
    removed: Vec<u32>,
    /// `jump_bucket`'s constants for `buckets.len()`.
    top: Top,
}

impl<N: NodeId + StableHash> Jump<N> {
    /// Builds a placement over `nodes`, numbering buckets in identifier order.
    ///
    /// # Errors
    /// [`Error::InvalidWeight`], [`Error::DuplicateNode`], or
    /// [`Error::WeightsUnsupported`] for any weight other than 1.
    pub fn new(nodes: impl IntoIterator<Item = NodeSpec<N>>) -> Result<Self> {
        let roster = Roster::new(nodes)?;
        check_unweighted(&roster)?;
        let names = roster.specs().iter().map(|s| Some(s.id.clone())).collect();
        let buckets = (0..roster.len() as u32)
            .map(|node| Bucket {
                replacer: NONE,
                node,
            })
            .collect();
        let top = Top::of(roster.len() as u32);
        Ok(Self {
            ids: roster.specs().iter().map(|s| s.id.clone()).collect(),
            roster,
            buckets,
            names,
            removed: Vec::new(),
            top,
        })
    }

    /// The bucket `id` occupies.
    pub fn bucket_of(&self, id: &N) -> Option<u32> {
        self.names
            .iter()
            .position(|n| n.as_ref() == Some(id))
            .map(|b| b as u32)
    }

    /// Recomputes bucket → roster index after the roster changed.
    fn reindex(&mut self) {
        for (bucket, name) in self.buckets.iter_mut().zip(&self.names) {
            bucket.node = match name {
                Some(id) => self.roster.index_of(id).unwrap_or(NONE),
                None => NONE,
            };
        }
    }

    fn spread_plan(&self, moved: &N, joining: bool) -> MovePlan<N> {
        MovePlan::reassigned(self.roster.specs().iter().map(|s| &s.id), moved, joining)
    }
}

impl<N> Jump<N> {
    /// The working bucket for `key_hash` (the buckets must not all be removed).
    #[inline]
    fn bucket(&self, key_hash: u64) -> u32 {
        let b = bucket_in(key_hash, &self.top);
        if self.removed.is_empty() {
            // Nothing removed: every bucket works, jump's answer stands.
            return b;
        }
        self.replace_removed(key_hash, b)
    }

    /// Follows MementoHash replacements from bucket `b` to a working one.
    #[inline(never)]
    fn replace_removed(&self, key_hash: u64, mut b: u32) -> u32 {
        let mut replacer = self.buckets[b as usize].replacer;
        while replacer != NONE {
            // b was removed when `replacer` buckets remained: rehash over them.
            b = fast_range(mix2(key_hash, u64::from(b)), u64::from(replacer)) as u32;
            let mut r = self.buckets[b as usize].replacer;
            // A bucket removed earlier stands for the one that replaced it.
            while r != NONE && r >= replacer {
                b = r;
                r = self.buckets[b as usize].replacer;
            }
            replacer = r;
        }
        b
    }
}

fn check_unweighted<N: std::fmt::Debug>(roster: &Roster<N>) -> Result<()> {
    match roster.specs().iter().find(|s| s.weight != 1.0) {
        Some(s) => Err(Error::WeightsUnsupported {
            algorithm: "jump hashing",
            node: name(&s.id),
            weight: s.weight,
        }),
        None => Ok(()),
    }
}

impl<N> Placement for Jump<N> {
    type Node = N;
    type Probe<'a>
        = JumpProbe<'a, N>
    where
        N: 'a;

    fn roster(&self) -> &Roster<N> {
        &self.roster
    }

    #[inline]
    fn owner_index(&self, key_hash: u64) -> Option<u32> {
        if self.roster.is_empty() {
            return None;
        }
        Some(self.buckets[self.bucket(key_hash) as usize].node)
    }

    /// The bucket's own name, one load after the bucket is found (the
    /// provided method would go bucket -> roster index -> identifier).
    #[inline]
    fn owner(&self, key_hash: u64) -> Result<&N> {
        if self.roster.is_empty() {
            return Err(Error::EmptyRing);
        }
        // `bucket` only answers working buckets, whose `ids` entry is current.
        Ok(&self.ids[self.bucket(key_hash) as usize])
    }

    fn probe(&self, key_hash: u64) -> JumpProbe<'_, N> {
        let first = if self.roster.is_empty() {
            0
        } else {
            self.bucket(key_hash)
        };
        JumpProbe {
            jump: self,
            key_hash,
            step: 0,
            first,
            scanned: 0,
        }
    }
}

/// The candidate walk behind [`Jump`]'s replica sets: the owner, a few
/// rehashed choices, then every bucket in order after the owner's.
#[derive(Debug, Clone)]
pub struct JumpProbe<'a, N> {
    jump: &'a Jump<N>,
    key_hash: u64,
    step: u64,
    first: u32,
    scanned: usize,
}

impl<N> Iterator for JumpProbe<'_, N> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let jump = self.jump;
        if jump.roster.is_empty() {
            return None;
        }
        if self.step <= REHASH_PROBES {
            let b = if self.step == 0 {
                self.first
            } else {
                jump.bucket(mix2(self.key_hash, self.step))
            };
            self.step += 1;
            return Some(jump.buckets[b as usize].node);
        }
        let len = jump.buckets.len();
        while self.scanned < len {
            self.scanned += 1;
            let b = (self.first as usize + self.scanned) % len;
            let node = jump.buckets[b].node;
            if node != NONE {
                return Some(node);
            }
        }
        None
    }
}

impl<N: NodeId + StableHash> Membership for Jump<N> {
    fn add(&self, node: NodeSpec<N>) -> Result<(Self, MovePlan<N>)> {
        let (roster, _) = self.roster.with(node.clone())?;
        check_unweighted(&roster)?;
        let mut next = self.clone();
        next.roster = roster;
        match next.removed.pop() {
            // Restoring the last removed bucket undoes exactly its removal.
            Some(b) => {
                next.buckets[b as usize].replacer = NONE;
                next.names[b as usize] = Some(node.id.clone());
                next.ids[b as usize] = node.id.clone();
            }
            None => {
                next.buckets.push(Bucket {
                    replacer: NONE,
                    node: NONE,
                });
                next.names.push(Some(node.id.clone()));
                next.ids.push(node.id.clone());
            }
        }
        next.reindex();
        next.top = Top::of(next.buckets.len() as u32);
        let plan = next.spread_plan(&node.id, true);
        Ok((next, plan))
    }

    fn remove(&self, node: &N) -> Result<(Self, MovePlan<N>)> {
        let (roster, _) = self.roster.without(node)?;
        let b = self
            .bucket_of(node)
            .ok_or_else(|| Error::UnknownNode { node: name(node) })?;
        let mut next = self.clone();
        next.roster = roster;
        let working_after = self.roster.len() as u32 - 1;
        next.names[b as usize] = None;
        if b as usize == next.buckets.len() - 1 && next.removed.is_empty() {
            // The last bucket with nothing removed: jump shrinks on its own.
            next.buckets.pop();
            next.names.pop();
            next.ids.pop();
        } else {
            next.buckets[b as usize].replacer = working_after;
            next.removed.push(b);
        }
        next.reindex();
        next.top = Top::of(next.buckets.len() as u32);
        let plan = if next.roster.is_empty() {
            MovePlan::empty()
        } else {
            self.spread_plan(node, false)
        };
        Ok((next, plan))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_bucket_is_uniform_and_monotone() {
        for n in [1u32, 2, 3, 7, 9, 10, 64, 65, 100, 513, 1000] {
            let mut counts = vec![0u32; n as usize + 1];
            let keys = 2000 * n.min(100);
            for i in 0..keys {
                let k = mix64(u64::from(i) + 1);
                let b = jump_bucket(k, n);
                assert!(b < n);
                let grown = jump_bucket(k, n + 1);
                assert!(grown == b || grown == n, "key moved between old buckets");
                counts[b as usize] += 1;
            }
            let mean = f64::from(keys) / f64::from(n);
            for &c in &counts[..n as usize] {
                assert!(
                    (f64::from(c) - mean).abs() < 6.0 * mean.sqrt() + 5.0,
                    "n={n} c={c} mean={mean}"
                );
            }
        }
    }

    /// The reference: the formula as first written, with the salt
    /// multiplied per call and `n`'s constants worked out per call.
    fn reference_bucket(key_hash: u64, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        let draw = |j: u32| mix64(key_hash ^ INTERVAL_SALT.wrapping_mul(u64::from(j) + 1));
        let k = 31 - (n - 1).leading_zeros();
        let low = 1u32 << k;
        let lower = key_hash & ((1u64 << k) - 1);
        let lower_point = if lower == 0 {
            0
        } else {
            let h = 63 - lower.leading_zeros();
            (1u32 << h) | (draw(h) as u32 & ((1u32 << h) - 1))
        };
        if key_hash >> k & 1 == 0 {
            return lower_point;
        }
        let top = draw(k);
        let first = low | (top as u32 & (low - 1));
        let mut point = first;
        if point >= n {
            point = below(top >> 32, point);
        }
        if point >= n {
            point = below(key_hash >> 32, point);
        }
        let mut step = 3u64;
        while point >= n {
            point = fast_range(mix2(key_hash, u64::from(k) << 32 | step), u64::from(point)) as u32;
            step += 1;
        }
        if point >= low { point } else { lower_point }
    }

    #[test]
    fn jump_bucket_matches_the_reference_formula() {
        let mut x = 7u64;
        for n in (0u32..300).chain([511, 512, 513, 1000, 1 << 16, (1 << 16) + 1, u32::MAX]) {
            for _ in 0..400 {
                x = mix64(x);
                assert_eq!(
                    jump_bucket(x, n),
                    reference_bucket(x, n),
                    "n={n} key={x:#x}"
                );
            }
        }
    }

    #[test]
    fn memento_removal_moves_only_the_removed_nodes_keys() {
        let jump = Jump::new((0u32..20).map(NodeSpec::new)).unwrap();
        let (j2, _) = jump.remove(&7).unwrap();
        let (j3, _) = j2.remove(&3).unwrap();
        let (j4, _) = j3.remove(&19).unwrap();
        for i in 0..20_000u64 {
            let k = mix64(i);
            let (a, b) = (*j3.owner(k).unwrap(), *j4.owner(k).unwrap());
            assert!(a == b || a == 19);
            assert_ne!(b, 19);
            let (a, b) = (*jump.owner(k).unwrap(), *j2.owner(k).unwrap());
            assert!(a == b || a == 7);
        }
        // The name lookup agrees with the roster lookup through any history.
        let (j5, _) = j4.add(NodeSpec::new(40)).unwrap();
        for j in [&jump, &j2, &j3, &j4, &j5] {
            for i in 0..2_000u64 {
                let k = mix64(i ^ 0xabc);
                let via_roster = j.roster().id(j.owner_index(k).unwrap());
                assert_eq!(j.owner(k).unwrap(), via_roster);
            }
        }
        // Re-adding restores exactly the state before the last removal.
        let (back, _) = j4.add(NodeSpec::new(19)).unwrap();
        for i in 0..5_000u64 {
            let k = mix64(i);
            assert_eq!(back.owner(k).unwrap(), j3.owner(k).unwrap());
        }
    }
}

//! The placement trait applications program against, and its replica
//! iterator.

use crate::error::{Error, Result};
use crate::node::{NodeSpec, Roster};
use crate::plan::MovePlan;

/// Which node owns a key, and which `n` distinct nodes hold its replicas.
///
/// Keys are given as stable 64-bit key hashes (see [`key_hash`](crate::key_hash)).
/// An implementation supplies three things: its [`Roster`], the owner's index
/// and a *probe*: a finite sequence of node indices, starting with the owner,
/// that visits every member at least once (repeats allowed). Replica sets are
/// the first distinct nodes of the probe, so they never allocate for up to
/// eight replicas. (Should a probe break the rule and end early, the
/// replica iterator fills in with the unseen members in roster order, so a
/// replica set is never short; this crate's probes are tested to visit every
/// member, whatever the weights.)
///
/// ```
/// use murmura_hash::{NodeSpec, Placement, Rendezvous, key_hash};
///
/// fn primary<P: Placement<Node = String>>(p: &P, key: &str) -> String {
///     p.owner(key_hash(key.as_bytes())).unwrap().clone()
/// }
/// let hrw = Rendezvous::new(["a", "b", "c"].map(|n| NodeSpec::new(n.to_string()))).unwrap();
/// let owner = primary(&hrw, "user:42");
/// assert!(["a", "b", "c"].contains(&owner.as_str()));
/// ```
pub trait Placement {
    /// The node identifier type.
    type Node;
    /// The candidate sequence behind [`replicas`](Placement::replicas).
    type Probe<'a>: Iterator<Item = u32>
    where
        Self: 'a;

    /// The members, sorted by identifier.
    fn roster(&self) -> &Roster<Self::Node>;

    /// The index (into [`roster`](Placement::roster)) of the key's owner;
    /// `None` only when there are no members.
    fn owner_index(&self, key_hash: u64) -> Option<u32>;

    /// The key's candidate sequence: finite, starting with the owner, and
    /// visiting every member at least once.
    fn probe(&self, key_hash: u64) -> Self::Probe<'_>;

    /// The node that owns `key_hash`.
    ///
    /// # Errors
    /// [`Error::EmptyRing`] when there are no members.
    #[inline]
    fn owner(&self, key_hash: u64) -> Result<&Self::Node> {
        self.owner_index(key_hash)
            .map(|i| self.roster().id(i))
            .ok_or(Error::EmptyRing)
    }

    /// The `n` distinct nodes that hold `key_hash`, owner first, as an
    /// iterator that does not allocate for `n <= 8`.
    ///
    /// # Errors
    /// [`Error::EmptyRing`] when there are no members, [`Error::TooManyReplicas`]
    /// when `n` exceeds the member count.
    fn replicas(&self, key_hash: u64, n: usize) -> Result<Replicas<'_, Self>> {
        Replicas::new(self, key_hash, n, false)
    }

    /// Like [`replicas`](Placement::replicas), but spread over as many failure
    /// zones as possible: the first `min(n, zones)` replicas are in distinct
    /// zones, the rest follow the ordinary preference order.
    ///
    /// # Errors
    /// As [`replicas`](Placement::replicas).
    fn zoned_replicas(&self, key_hash: u64, n: usize) -> Result<Replicas<'_, Self>> {
        Replicas::new(self, key_hash, n, true)
    }

    /// The number of members.
    fn len(&self) -> usize {
        self.roster().len()
    }

    /// Whether there are no members.
    fn is_empty(&self) -> bool {
        self.roster().is_empty()
    }
}

/// Placements whose membership can change at run time.
///
/// Changes never mutate: they return a new placement and the [`MovePlan`]
/// that tells the application which keys to hand over, from whom to whom.
/// Publish the new value with [`SharedPlacement`](crate::SharedPlacement) so
/// readers never block.
pub trait Membership: Placement + Sized {
    /// This placement with `node` added, and what moves.
    ///
    /// # Errors
    /// [`Error::DuplicateNode`], [`Error::InvalidWeight`] or an algorithm's own
    /// limits; `self` is unchanged.
    fn add(&self, node: NodeSpec<Self::Node>) -> Result<(Self, MovePlan<Self::Node>)>;

    /// This placement without `node`, and what moves.
    ///
    /// # Errors
    /// [`Error::UnknownNode`]; `self` is unchanged.
    fn remove(&self, node: &Self::Node) -> Result<(Self, MovePlan<Self::Node>)>;
}

/// The distinct replica nodes of one key, owner first. See
/// [`Placement::replicas`].
pub struct Replicas<'a, P: Placement + ?Sized> {
    placement: &'a P,
    key_hash: u64,
    probe: P::Probe<'a>,
    seen: Seen,
    zones: Seen,
    left: usize,
    spread_zones: bool,
    /// The next roster index of the safety net that runs if a probe ends
    /// before `n` distinct nodes were found.
    fallback: u32,
}

impl<'a, P: Placement + ?Sized> Replicas<'a, P> {
    fn new(placement: &'a P, key_hash: u64, n: usize, spread_zones: bool) -> Result<Self> {
        let nodes = placement.len();
        if nodes == 0 {
            return Err(Error::EmptyRing);
        }
        if n > nodes {
            return Err(Error::TooManyReplicas {
                requested: n,
                nodes,
            });
        }
        Ok(Self {
            placement,
            key_hash,
            probe: placement.probe(key_hash),
            seen: Seen::default(),
            zones: Seen::default(),
            left: n,
            spread_zones,
            fallback: 0,
        })
    }

    /// The next replica's index into the roster.
    #[inline]
    pub fn next_index(&mut self) -> Option<u32> {
        if self.left == 0 {
            return None;
        }
        let roster = self.placement.roster();
        loop {
            let Some(i) = self.probe.next() else {
                if !self.spread_zones {
                    return self.next_unseen();
                }
                // Fewer zones than the probe could fill: relax and start over.
                self.spread_zones = false;
                self.probe = self.placement.probe(self.key_hash);
                continue;
            };
            if self.seen.contains(i) {
                continue;
            }
            if self.spread_zones {
                let zone = roster.zone(i);
                if self.zones.contains(zone) {
                    continue;
                }
                self.zones.push(zone);
                if self.zones.len as u32 == roster.zone_count() {
                    // Every zone is used; later replicas follow plain order.
                    self.spread_zones = false;
                    self.probe = self.placement.probe(self.key_hash);
                }
            }
            self.seen.push(i);
            self.left -= 1;
            return Some(i);
        }
    }
}

impl<P: Placement + ?Sized> Replicas<'_, P> {
    /// The safety net behind the probe rule: should a probe end without
    /// having visited every member (a faulty `Placement` implementation),
    /// the remaining replicas are the unseen members in roster order, so a
    /// replica set is never short. The crate's own probes are tested to
    /// visit every member, so they never get here.
    #[cold]
    fn next_unseen(&mut self) -> Option<u32> {
        let len = self.placement.len() as u32;
        while self.fallback < len {
            let i = self.fallback;
            self.fallback += 1;
            if !self.seen.contains(i) {
                self.seen.push(i);
                self.left -= 1;
                return Some(i);
            }
        }
        None
    }
}

/// A small set of node or zone numbers: inline for the first eight, so
/// replica sets of up to eight never allocate.
#[derive(Debug, Default)]
struct Seen {
    inline: [u32; 8],
    len: usize,
    spill: Vec<u32>,
}

impl Seen {
    #[inline]
    fn contains(&self, x: u32) -> bool {
        self.inline[..self.len.min(8)].contains(&x) || (self.len > 8 && self.spill.contains(&x))
    }

    #[inline]
    fn push(&mut self, x: u32) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = x,
            None => self.spill.push(x),
        }
        self.len += 1;
    }
}

impl<'a, P: Placement + ?Sized> Iterator for Replicas<'a, P> {
    type Item = &'a P::Node;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let placement = self.placement;
        self.next_index().map(|i| placement.roster().id(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<P: Placement + ?Sized> ExactSizeIterator for Replicas<'_, P> {}

impl<P: Placement + ?Sized> std::fmt::Debug for Replicas<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas")
            .field("key_hash", &self.key_hash)
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

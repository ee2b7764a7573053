//! Move plans: what a membership change hands over, from whom to whom.

use crate::key::fast_range;
use crate::placement::Placement;

/// The keys that change owner when membership changes, grouped into
/// transfers. Keys not covered by any transfer keep their owner.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MovePlan<N> {
    /// The transfers, in the algorithm's natural order (ring order, slot
    /// order, or by node).
    pub transfers: Vec<Transfer<N>>,
}

/// One hand-over: the keys in `keys` move from `from` to `to`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Transfer<N> {
    /// The old owner.
    pub from: N,
    /// The new owner.
    pub to: N,
    /// Which key hashes move.
    pub keys: Keys,
}

/// A set of key hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Keys {
    /// Hashes `h` with `start < h <= end`, wrapping past `u64::MAX` when
    /// `start >= end` (ring placements).
    Range {
        /// Exclusive lower end.
        start: u64,
        /// Inclusive upper end.
        end: u64,
    },
    /// Hashes whose lookup-table slot, `(h as u128 * table_len as u128) >> 64`,
    /// is one of `slots` (Maglev).
    Slots {
        /// The table length.
        table_len: u32,
        /// The sorted slots that change owner.
        slots: Vec<u32>,
    },
    /// Exactly these key hashes, sorted (bounded-load placements, which
    /// remember every key they placed).
    Listed(Vec<u64>),
    /// Exactly those keys of `from` that the new placement gives to `to`
    /// (jump-class and rendezvous placements, whose moved keys form no
    /// range and are not known to the placement). Resolve them with
    /// [`MovePlan::destination`] and the placement the change produced:
    /// [`Membership::add`](crate::Membership::add) returns it beside the
    /// plan, and [`SharedPlacement::add_published`](crate::SharedPlacement::add_published)
    /// returns the one it published, so a concurrent change cannot mix
    /// up the two.
    Reassigned,
}

impl Keys {
    /// Whether `key_hash` is in the set; `None` for [`Keys::Reassigned`],
    /// which only the new placement can answer (see [`MovePlan::destination`]).
    pub fn contains(&self, key_hash: u64) -> Option<bool> {
        match self {
            Keys::Range { start, end } => Some(if start < end {
                *start < key_hash && key_hash <= *end
            } else {
                *start < key_hash || key_hash <= *end
            }),
            Keys::Slots { table_len, slots } => {
                let slot = fast_range(key_hash, u64::from(*table_len)) as u32;
                Some(slots.binary_search(&slot).is_ok())
            }
            Keys::Listed(keys) => Some(keys.binary_search(&key_hash).is_ok()),
            Keys::Reassigned => None,
        }
    }
}

impl<N> MovePlan<N> {
    /// A plan that moves nothing.
    pub fn empty() -> Self {
        Self {
            transfers: Vec::new(),
        }
    }

    /// Whether nothing moves.
    pub fn is_empty(&self) -> bool {
        self.transfers.is_empty()
    }
}

impl<N: Clone + Ord> MovePlan<N> {
    /// The plan for individually known moves: one transfer per `(from, to)`
    /// pair, in node order, listing its keys sorted.
    pub(crate) fn listed(moves: impl IntoIterator<Item = (u64, N, N)>) -> Self {
        let mut groups: std::collections::BTreeMap<(N, N), Vec<u64>> = Default::default();
        for (key, from, to) in moves {
            groups.entry((from, to)).or_default().push(key);
        }
        let transfers = groups
            .into_iter()
            .map(|((from, to), mut keys)| {
                keys.sort_unstable();
                Transfer {
                    from,
                    to,
                    keys: Keys::Listed(keys),
                }
            })
            .collect();
        Self { transfers }
    }
}

impl<N: Clone + PartialEq> MovePlan<N> {
    /// The plan for algorithms that cannot name key ranges (jump,
    /// rendezvous): `changed` takes some keys from every other member when it
    /// joins, or gives its keys to them when it leaves.
    pub(crate) fn reassigned<'a>(
        others: impl IntoIterator<Item = &'a N>,
        changed: &N,
        joining: bool,
    ) -> Self
    where
        N: 'a,
    {
        let transfers = others
            .into_iter()
            .filter(|id| *id != changed)
            .map(|id| {
                let (from, to) = if joining {
                    (id.clone(), changed.clone())
                } else {
                    (changed.clone(), id.clone())
                };
                Transfer {
                    from,
                    to,
                    keys: Keys::Reassigned,
                }
            })
            .collect();
        Self { transfers }
    }
}

impl<N: PartialEq> MovePlan<N> {
    /// The transfer that covers `key_hash`, if one certainly does (ranges and
    /// slots only; see [`Keys::contains`]).
    pub fn transfer_of(&self, key_hash: u64) -> Option<&Transfer<N>> {
        self.transfers
            .iter()
            .find(|t| t.keys.contains(key_hash) == Some(true))
    }

    /// Where `key_hash`, held by `holder` before the change, goes: its new
    /// holder when the plan moves it, `None` when it stays. Answers for
    /// every kind of [`Keys`], [`Keys::Reassigned`] included, given `new`,
    /// the placement the change produced (the one returned beside the plan).
    ///
    /// ```
    /// use murmura_hash::{key_hash, Jump, Membership, NodeSpec, Placement};
    ///
    /// let jump = Jump::new(["a", "b", "c"].map(NodeSpec::new))?;
    /// let (next, plan) = jump.add(NodeSpec::new("d"))?;
    /// let key = key_hash(b"user:42");
    /// let holder = *jump.owner(key)?;
    /// match plan.destination(key, &holder, &next) {
    ///     Some(to) => assert_eq!((*to, *next.owner(key)?), ("d", "d")),
    ///     None => assert_eq!(*next.owner(key)?, holder),
    /// }
    /// # Ok::<(), murmura_hash::Error>(())
    /// ```
    pub fn destination<'a, P>(&'a self, key_hash: u64, holder: &N, new: &'a P) -> Option<&'a N>
    where
        P: Placement<Node = N> + ?Sized,
    {
        let mut reassigned = false;
        for t in self.transfers.iter().filter(|t| t.from == *holder) {
            match t.keys.contains(key_hash) {
                Some(true) => return Some(&t.to),
                Some(false) => {}
                None => reassigned = true,
            }
        }
        if !reassigned {
            return None;
        }
        let to = new.owner(key_hash).ok()?;
        self.transfers
            .iter()
            .find(|t| t.from == *holder && t.to == *to && t.keys == Keys::Reassigned)
            .map(|t| &t.to)
    }
}

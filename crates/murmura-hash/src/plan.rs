//! Move plans: what a membership change hands over, from whom to whom.

use crate::key::fast_range;

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
    /// Exactly those keys of `from` that the new placement gives to `to`
    /// (jump-class and rendezvous placements, whose moved keys form no
    /// range): ask the new placement's `owner` for each key `from` holds.
    Reassigned,
}

impl Keys {
    /// Whether `key_hash` is in the set; `None` for [`Keys::Reassigned`],
    /// which only the new placement can answer.
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
}

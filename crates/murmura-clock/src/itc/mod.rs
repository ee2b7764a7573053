//! Interval tree clocks (Almeida, Baquero, Fonte, 2008): causality for a
//! dynamic set of participants without global identifiers.
//!
//! A [`Stamp`] pairs an [`Id`] — the part of the unit interval this
//! participant owns — with an [`EventTree`] — how many events have been
//! seen over each part of the interval. Participants are created by
//! [`fork`](Stamp::fork)ing an existing one (splitting its interval) and
//! retired by [`join`](Stamp::join)ing them back, so the clock grows and
//! shrinks with the system instead of accumulating dead actors the way a
//! version vector does.

mod bits;
mod tree;

pub use bits::MAX_DEPTH;
pub use tree::{EventTree, Id};

use crate::{Causality, ClockError, Result};
use bits::{BitReader, BitWriter};
use std::fmt;

/// An interval tree clock stamp: an identity and a causal history.
///
/// ```
/// use murmura_clock::itc::Stamp;
/// use murmura_clock::Causality;
///
/// let seed = Stamp::seed();
/// let (mut a, mut b) = seed.fork();
/// a.event().unwrap();
/// b.event().unwrap();
/// assert_eq!(a.causality(&b), Causality::Concurrent);
///
/// // b learns of a's event by receiving a message (an anonymous peek).
/// b.receive(&a.peek()).unwrap();
/// assert_eq!(a.causality(&b), Causality::Before);
///
/// // Retire a: its identity returns to b, and the clock shrinks back.
/// let merged = b.join(&a).unwrap();
/// assert_eq!(merged.id().to_string(), "1");
/// assert!(a.leq(&merged));
///
/// // The paper's compact bit encoding.
/// let bytes = merged.to_bytes();
/// assert_eq!(Stamp::decode(&bytes).unwrap(), merged);
/// assert!(bytes.len() <= 2);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Stamp {
    id: Id,
    event: EventTree,
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stamp({self})")
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.id, self.event)
    }
}

impl Default for Stamp {
    fn default() -> Self {
        Self::seed()
    }
}

impl Stamp {
    /// The first stamp of a system: owns the whole interval, no events.
    pub fn seed() -> Self {
        Self {
            id: Id::One,
            event: EventTree::Leaf(0),
        }
    }

    /// The identity (which part of the interval this stamp owns).
    pub fn id(&self) -> &Id {
        &self.id
    }

    /// The causal history.
    pub fn events(&self) -> &EventTree {
        &self.event
    }

    /// Whether the stamp owns nothing and so cannot record events
    /// (a [`peek`](Self::peek), used as a message).
    pub fn is_anonymous(&self) -> bool {
        self.id == Id::Zero
    }

    /// Splits the identity in two: two stamps with the same history and
    /// disjoint identities, for a new participant.
    pub fn fork(&self) -> (Stamp, Stamp) {
        let (a, b) = self.id.split();
        (
            Stamp {
                id: a,
                event: self.event.clone(),
            },
            Stamp {
                id: b,
                event: self.event.clone(),
            },
        )
    }

    /// Keeps one half of the identity and returns a stamp with the other.
    pub fn fork_off(&mut self) -> Stamp {
        let (mine, theirs) = self.fork();
        *self = mine;
        theirs
    }

    /// An anonymous copy of the history (identity 0): what a message carries.
    pub fn peek(&self) -> Stamp {
        Stamp {
            id: Id::Zero,
            event: self.event.clone(),
        }
    }

    /// Records a new event.
    ///
    /// # Errors
    /// [`ClockError::AnonymousEvent`] if the stamp owns no identity; it is
    /// left unchanged.
    pub fn event(&mut self) -> Result<()> {
        let filled = self.event.fill(&self.id);
        if filled != self.event {
            self.event = filled;
        } else {
            let (grown, _) = self
                .event
                .grow(&self.id)
                .ok_or(ClockError::AnonymousEvent)?;
            self.event = grown;
        }
        debug_assert!(self.event.is_normal());
        Ok(())
    }

    /// Merges two stamps: the union of their identities and the pointwise
    /// maximum of their histories.
    ///
    /// # Errors
    /// [`ClockError::OverlappingIds`] if the identities overlap (they must
    /// come from forks of one seed and each be used by one participant).
    pub fn join(&self, other: &Stamp) -> Result<Stamp> {
        let id = self.id.sum(&other.id)?;
        let event = self.event.join(&other.event);
        debug_assert!(id.is_normal() && event.is_normal());
        Ok(Stamp { id, event })
    }

    /// Joins `other` into `self` and records a receive event: what a
    /// participant does on receiving a message stamped `other`.
    ///
    /// # Errors
    /// As [`join`](Self::join) and [`event`](Self::event); on error `self`
    /// is unchanged.
    pub fn receive(&mut self, other: &Stamp) -> Result<()> {
        let mut joined = self.join(other)?;
        joined.event()?;
        *self = joined;
        Ok(())
    }

    /// Records a send event and returns the message stamp to attach.
    ///
    /// # Errors
    /// As [`event`](Self::event).
    pub fn send(&mut self) -> Result<Stamp> {
        self.event()?;
        Ok(self.peek())
    }

    /// Whether every event in `self`'s history is in `other`'s.
    pub fn leq(&self, other: &Stamp) -> bool {
        self.event.leq(&other.event)
    }

    /// How the two histories relate (identities are ignored).
    pub fn causality(&self, other: &Stamp) -> Causality {
        match (self.leq(other), other.leq(self)) {
            (true, true) => Causality::Equal,
            (true, false) => Causality::Before,
            (false, true) => Causality::After,
            (false, false) => Causality::Concurrent,
        }
    }

    /// Whether the identities of `self` and `other` overlap.
    pub fn overlaps(&self, other: &Stamp) -> bool {
        self.id.overlaps(&other.id)
    }

    /// The paper's compact encoding: the identity's bits then the event
    /// tree's, most-significant bit first, zero-padded to a whole byte.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = BitWriter::default();
        bits::encode_id(&self.id, &mut w);
        bits::encode_event(&self.event, &mut w);
        w.finish()
    }

    /// Appends [`to_bytes`](Self::to_bytes) with a varint length prefix, for
    /// use inside larger byte-aligned encodings.
    pub fn encode(&self, out: &mut Vec<u8>) {
        murmura_core::codec::put_bytes(out, &self.to_bytes());
    }

    /// Decodes exactly the bytes [`to_bytes`](Self::to_bytes) writes. Only
    /// normal trees in their shortest encoding are accepted, nesting deeper
    /// than [`MAX_DEPTH`] is refused, and the padding must be zero.
    pub fn decode(bytes: &[u8]) -> Result<Stamp> {
        let mut r = BitReader::new(bytes);
        let id = bits::decode_id(&mut r, 1)?;
        let event = bits::decode_event(&mut r, 1)?;
        r.finish()?;
        Ok(Stamp { id, event })
    }

    /// Reads a stamp written by [`encode`](Self::encode).
    pub fn decode_from(reader: &mut murmura_core::codec::Reader<'_>) -> Result<Stamp> {
        let start = reader.clone();
        let bytes = reader.length_prefixed()?;
        Self::decode(bytes).inspect_err(|_| *reader = start)
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl serde::Serialize for Stamp {
    /// The compact bit encoding, as bytes.
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.to_bytes())
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> serde::Deserialize<'de> for Stamp {
    /// Bytes of the compact bit encoding, checked as by [`Stamp::decode`].
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> serde::de::Visitor<'de> for BytesVisitor {
            type Value = Stamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an interval tree clock in its compact bit encoding")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> std::result::Result<Stamp, E> {
                Stamp::decode(v).map_err(E::custom)
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> std::result::Result<Stamp, S::Error> {
                // Self-describing formats such as JSON write bytes as a list.
                let mut bytes = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    if bytes.len() >= 1 << 20 {
                        return Err(serde::de::Error::custom("interval tree clock too large"));
                    }
                    bytes.push(b);
                }
                Stamp::decode(&bytes).map_err(serde::de::Error::custom)
            }
        }
        deserializer.deserialize_bytes(BytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_walkthrough() {
        // Figure 2 of the paper: seed, fork, events, fork, join.
        let seed = Stamp::seed();
        let (mut a, mut b) = seed.fork();
        a.event().unwrap();
        b.event().unwrap();
        assert_eq!(a.to_string(), "((1, 0), (0, 1, 0))");
        assert_eq!(b.to_string(), "((0, 1), (0, 0, 1))");
        let (mut a1, a2) = a.fork();
        a1.event().unwrap();
        let (b1, mut b2) = b.join(&a2).unwrap().fork();
        b2.event().unwrap();
        let c = a1.join(&b1).unwrap();
        assert!(a1.leq(&c) && !b2.leq(&c));
        let all = c.join(&b2).unwrap();
        assert_eq!(all.id(), &Id::One);
        assert!(c.leq(&all) && b2.leq(&all));
        // Everything owned again by one stamp: one event collapses the tree.
        let mut all = all;
        all.event().unwrap();
        assert!(matches!(all.events(), EventTree::Leaf(_)));
    }

    #[test]
    fn anonymous_stamps_cannot_record_events() {
        let mut p = Stamp::seed().peek();
        assert!(p.is_anonymous());
        assert_eq!(p.event(), Err(ClockError::AnonymousEvent));
        assert_eq!(p, Stamp::seed().peek());
    }

    #[test]
    fn overlapping_join_is_refused() {
        let (a, _) = Stamp::seed().fork();
        assert_eq!(a.join(&a), Err(ClockError::OverlappingIds));
        let mut b = a.clone();
        assert!(b.receive(&a).is_err());
        assert_eq!(b, a);
        assert!(a.overlaps(&a));
    }

    #[test]
    fn golden_bits() {
        // seed (1, 0): id <0:2, 1:1>, event <1:1, 0:1, 0:2> => 001 1 0 00 -> 0b0011_0000
        assert_eq!(Stamp::seed().to_bytes(), [0b0011_0000]);
        let (mut a, _) = Stamp::seed().fork();
        a.event().unwrap();
        // id (1, 0): <2:2, 0:2, 1:1>; event (0, 1, 0): <0:1, 1:2, 1:1, 0:1, 01:2>
        // bits 10 00 1 | 0 01 1 0 01 -> 1000_1001 1001_0000
        assert_eq!(a.to_bytes(), [0b1000_1001, 0b1001_0000]);
        assert_eq!(Stamp::decode(&a.to_bytes()), Ok(a));
    }

    #[test]
    fn hostile_bits_are_typed_errors() {
        // Truncated.
        assert!(matches!(Stamp::decode(&[]), Err(ClockError::Decode(_))));
        // Non-zero padding after the seed.
        assert!(Stamp::decode(&[0b0011_0001]).is_err());
        // Trailing byte.
        assert!(Stamp::decode(&[0b0011_0000, 0]).is_err());
        // Deep nesting: id (0, (0, (0, ...))) => 01 01 01 ...
        let deep = vec![0b0101_0101; 200];
        assert_eq!(
            Stamp::decode(&deep),
            Err(ClockError::TooDeep { limit: MAX_DEPTH })
        );
        // A counter whose prefix never ends.
        let mut long = vec![0b0011_1111];
        long.extend([0xff; 20]);
        assert!(Stamp::decode(&long).is_err());
        // Non-normal id (1, 1): 11 001 001 then event 1000 => 1100_1001 1000_0000
        assert!(Stamp::decode(&[0b1100_1001, 0b1000_0000]).is_err());
    }
}

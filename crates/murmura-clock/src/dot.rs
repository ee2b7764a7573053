//! A single event: an actor and its counter.

use crate::{ActorCodec, ClockError, Result};
use murmura_core::codec::{DecodeError, Reader, put_varint};

/// One event of one actor: the actor's `counter`-th update. Counters start
/// at 1; a dot with counter 0 names no event.
///
/// ```
/// use murmura_clock::Dot;
///
/// let dot = Dot::new("a", 3);
/// assert_eq!(dot.next(), Dot::new("a", 4));
/// assert!(Dot::new("a", 3) < Dot::new("b", 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Dot<A> {
    /// Who made the event.
    pub actor: A,
    /// Which of the actor's events it was (1 for the first).
    pub counter: u64,
}

impl<A> Dot<A> {
    /// The `counter`-th event of `actor`.
    #[inline]
    pub const fn new(actor: A, counter: u64) -> Self {
        Self { actor, counter }
    }

    /// The same actor's following event.
    #[inline]
    pub fn next(&self) -> Self
    where
        A: Clone,
    {
        Self::new(self.actor.clone(), self.counter.saturating_add(1))
    }
}

impl<A: ActorCodec> Dot<A> {
    /// Appends the binary encoding: actor, then counter as a varint.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.actor.encode_actor(out);
        put_varint(out, self.counter);
    }

    /// Reads one dot from `reader` (for use inside larger encodings).
    pub fn decode_from(reader: &mut Reader<'_>) -> Result<Self> {
        let actor = A::decode_actor(reader)?;
        let counter = reader.varint()?;
        if counter == 0 {
            return Err(DecodeError::Invalid("dot counter 0").into());
        }
        Ok(Self { actor, counter })
    }

    /// Decodes a dot that fills `bytes` exactly.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let dot = Self::decode_from(&mut reader)?;
        reader.finish().map_err(ClockError::from)?;
        Ok(dot)
    }
}

impl<A> From<(A, u64)> for Dot<A> {
    fn from((actor, counter): (A, u64)) -> Self {
        Self::new(actor, counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_round_trips_and_rejects_zero() {
        let dot = Dot::new(5u64, 300);
        let mut out = Vec::new();
        dot.encode(&mut out);
        assert_eq!(out, [5, 0xac, 0x02]);
        assert_eq!(Dot::<u64>::decode(&out), Ok(dot));
        assert!(Dot::<u64>::decode(&[5, 0]).is_err());
        assert!(Dot::<u64>::decode(&[5, 1, 9]).is_err());
    }
}

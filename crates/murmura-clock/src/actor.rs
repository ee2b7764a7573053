//! How actor identifiers go on the wire.

use murmura_core::codec::{DecodeError, DecodeResult, Reader, put_bytes, put_varint};

/// Binary encoding of an actor (replica, node) identifier.
///
/// Implemented for `u64`, `u32`, `String`, `Vec<u8>` and `[u8; 16]` (UUIDs);
/// implement it for your own identifier by writing its fields with
/// [`murmura_core::codec`] helpers. Decoding must never panic: the bytes are
/// hostile.
///
/// Structures that store actors in sorted order (version vectors, causal
/// contexts) write each actor after its predecessor through
/// [`encode_after`](ActorCodec::encode_after), which integer actors override
/// to write only the gap — dense node ids then cost one byte each.
///
/// ```
/// use murmura_clock::ActorCodec;
/// use murmura_core::codec::Reader;
///
/// let mut out = Vec::new();
/// "node-7".to_string().encode_actor(&mut out);
/// let mut r = Reader::new(&out);
/// assert_eq!(String::decode_actor(&mut r).unwrap(), "node-7");
/// ```
pub trait ActorCodec: Sized {
    /// The fewest bytes one encoded actor can take; decoders use it to bound
    /// allocations before reading element counts.
    const MIN_ENCODED_LEN: usize = 1;

    /// Appends this actor's encoding.
    fn encode_actor(&self, out: &mut Vec<u8>);

    /// Reads one actor.
    fn decode_actor(reader: &mut Reader<'_>) -> DecodeResult<Self>;

    /// Appends this actor given that the previous actor written was `prev`
    /// and `prev < self`. The default ignores `prev`.
    fn encode_after(&self, prev: &Self, out: &mut Vec<u8>) {
        let _ = prev;
        self.encode_actor(out);
    }

    /// Reads an actor written by [`encode_after`](ActorCodec::encode_after)
    /// with the same `prev`. Callers still check ordering.
    fn decode_after(prev: &Self, reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let _ = prev;
        Self::decode_actor(reader)
    }
}

impl ActorCodec for u64 {
    fn encode_actor(&self, out: &mut Vec<u8>) {
        put_varint(out, *self);
    }

    fn decode_actor(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        reader.varint()
    }

    fn encode_after(&self, prev: &Self, out: &mut Vec<u8>) {
        // Strictly increasing, so the gap is at least one; store gap - 1.
        put_varint(out, self.wrapping_sub(*prev).wrapping_sub(1));
    }

    fn decode_after(prev: &Self, reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let gap = reader.varint()?;
        prev.checked_add(gap)
            .and_then(|v| v.checked_add(1))
            .ok_or(DecodeError::Invalid("actor id overflows after gap"))
    }
}

impl ActorCodec for u32 {
    fn encode_actor(&self, out: &mut Vec<u8>) {
        put_varint(out, u64::from(*self));
    }

    fn decode_actor(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        reader.varint_u32("actor")
    }

    fn encode_after(&self, prev: &Self, out: &mut Vec<u8>) {
        put_varint(out, u64::from(self.wrapping_sub(*prev).wrapping_sub(1)));
    }

    fn decode_after(prev: &Self, reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let gap = reader.varint_u32("actor gap")?;
        prev.checked_add(gap)
            .and_then(|v| v.checked_add(1))
            .ok_or(DecodeError::Invalid("actor id overflows after gap"))
    }
}

impl ActorCodec for String {
    fn encode_actor(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.as_bytes());
    }

    fn decode_actor(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        let bytes = reader.length_prefixed()?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Invalid("actor is not UTF-8"))
    }
}

impl ActorCodec for Vec<u8> {
    fn encode_actor(&self, out: &mut Vec<u8>) {
        put_bytes(out, self);
    }

    fn decode_actor(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        reader.length_prefixed().map(<[u8]>::to_vec)
    }
}

impl ActorCodec for [u8; 16] {
    const MIN_ENCODED_LEN: usize = 16;

    fn encode_actor(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }

    fn decode_actor(reader: &mut Reader<'_>) -> DecodeResult<Self> {
        reader.array()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<A: ActorCodec + PartialEq + std::fmt::Debug>(actor: A) {
        let mut out = Vec::new();
        actor.encode_actor(&mut out);
        let mut r = Reader::new(&out);
        assert_eq!(A::decode_actor(&mut r).unwrap(), actor);
        r.finish().unwrap();
    }

    #[test]
    fn every_actor_type_round_trips() {
        round_trip(0u64);
        round_trip(u64::MAX);
        round_trip(77u32);
        round_trip(String::from("héllo"));
        round_trip(vec![1u8, 2, 3]);
        round_trip([9u8; 16]);
    }

    #[test]
    fn integer_gaps_are_short_and_checked() {
        let mut out = Vec::new();
        1001u64.encode_after(&1000, &mut out);
        assert_eq!(out, [0]);
        assert_eq!(u64::decode_after(&1000, &mut Reader::new(&out)), Ok(1001));
        assert!(u64::decode_after(&u64::MAX, &mut Reader::new(&[0])).is_err());
        assert!(u32::decode_after(&u32::MAX, &mut Reader::new(&[0])).is_err());
    }

    #[test]
    fn hostile_actor_bytes_are_errors() {
        assert!(String::decode_actor(&mut Reader::new(&[2, 0xff, 0xfe])).is_err());
        assert!(<[u8; 16]>::decode_actor(&mut Reader::new(&[1, 2, 3])).is_err());
        assert!(Vec::<u8>::decode_actor(&mut Reader::new(&[5, 1])).is_err());
        assert!(u32::decode_actor(&mut Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x7f])).is_err());
    }
}

//! Compact binary encoding for CRDT states and the values they hold.
//!
//! Every state decodes through [`murmura_core::codec::Reader`]: element
//! counts are checked against the bytes that remain before anything is
//! allocated, and a state that parses but breaks an invariant (unsorted or
//! duplicate entries, a live dot its context does not cover) is rejected
//! with a typed [`Error`](crate::Error) instead of being merged.

use crate::Result;
use murmura_core::codec::{DecodeError, Reader, put_bytes, put_varint};

/// A value that encodes to and decodes from the compact wire format:
/// elements, register values, map keys, actors, and every CRDT state.
pub trait Codec: Sized {
    /// The fewest bytes one encoded value can take (bounds allocations when
    /// a count of them is decoded).
    const MIN_LEN: usize = 1;

    /// Appends the encoding of `self`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Reads one value. On error the value is discarded.
    fn decode(reader: &mut Reader<'_>) -> Result<Self>;

    /// Appends `self` as the successor of `prev` in a strictly increasing
    /// sequence (sorted set elements). The default writes `self` plainly;
    /// integers write the gap, which is much shorter for dense or sorted data.
    fn encode_after(&self, prev: &Self, out: &mut Vec<u8>) {
        let _ = prev;
        self.encode(out);
    }

    /// Reads a value written by [`encode_after`](Self::encode_after) with
    /// the same `prev`. Callers still check the ordering.
    fn decode_after(prev: &Self, reader: &mut Reader<'_>) -> Result<Self> {
        let _ = prev;
        Self::decode(reader)
    }

    /// The encoding as a fresh buffer.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes exactly one value from `bytes` (trailing bytes are an error).
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let value = Self::decode(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
}

/// Fixed eight bytes: random identifiers and hashes would take nine or ten
/// as varints. In sorted sequences only the gap to the previous value is
/// written, as a varint.
impl Codec for u64 {
    const MIN_LEN: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(reader.u64_le()?)
    }

    fn encode_after(&self, prev: &Self, out: &mut Vec<u8>) {
        put_varint(out, self.wrapping_sub(*prev));
    }

    fn decode_after(prev: &Self, reader: &mut Reader<'_>) -> Result<Self> {
        let gap = reader.varint()?;
        if gap == 0 {
            return Err(DecodeError::Invalid("repeated element").into());
        }
        prev.checked_add(gap).ok_or(crate::Error::Overflow)
    }
}

impl Codec for u32 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, u64::from(*self));
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(reader.varint_u32("u32")?)
    }
}

impl Codec for i64 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, murmura_core::codec::zigzag(*self));
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(reader.varint_i64()?)
    }
}

impl Codec for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        match reader.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::UnknownTag {
                what: "bool",
                tag: u64::from(tag),
            }
            .into()),
        }
    }
}

impl Codec for String {
    fn encode(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.as_bytes());
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let bytes = reader.length_prefixed()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Invalid("utf-8 string").into())
    }
}

impl Codec for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        put_bytes(out, self);
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(reader.length_prefixed()?.to_vec())
    }
}

impl Codec for [u8; 16] {
    const MIN_LEN: usize = 16;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(reader.array()?)
    }
}

impl<X: Codec, Y: Codec> Codec for (X, Y) {
    const MIN_LEN: usize = X::MIN_LEN + Y::MIN_LEN;
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok((X::decode(reader)?, Y::decode(reader)?))
    }
}

/// Reads a count of items each at least `min_len` bytes long.
pub(crate) fn read_count(reader: &mut Reader<'_>, min_len: usize) -> Result<usize> {
    Ok(reader.count(min_len)?)
}

/// Decodes a sequence and checks it is strictly increasing.
pub(crate) fn decode_sorted<T: Codec + Ord>(reader: &mut Reader<'_>) -> Result<Vec<T>> {
    let n = read_count(reader, T::MIN_LEN)?;
    let mut items: Vec<T> = Vec::with_capacity(n);
    for _ in 0..n {
        let item = T::decode(reader)?;
        if items.last().is_some_and(|last| *last >= item) {
            return Err(DecodeError::Invalid("unsorted or duplicate entries").into());
        }
        items.push(item);
    }
    Ok(items)
}

impl<T: Codec> Codec for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode(out);
            }
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        match reader.u8()? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(reader)?)),
            tag => Err(DecodeError::UnknownTag {
                what: "option",
                tag: u64::from(tag),
            }
            .into()),
        }
    }
}

/// Hybrid-logical-clock timestamps (for [`LwwRegister`](crate::LwwRegister)
/// and [`LwwMap`](crate::LwwMap)) as their eight raw bytes.
impl Codec for murmura_clock::Timestamp {
    const MIN_LEN: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.as_u64().to_le_bytes());
    }
    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self::from_u64(reader.u64_le()?))
    }
}

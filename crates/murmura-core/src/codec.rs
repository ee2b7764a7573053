//! Bounded binary codec helpers shared by every murmura wire format.
//!
//! Decoding treats its input as hostile. A [`Reader`] never reads past its
//! slice, rejects over-long and non-canonical varints, and checks that every
//! claimed element count could possibly fit in the bytes that remain before
//! the caller allocates for it ([`Reader::count`]) — so a 10-byte message can
//! never make a decoder reserve gigabytes.
//!
//! ```
//! use murmura_core::codec::{put_varint, Reader, DecodeError};
//!
//! let mut out = Vec::new();
//! put_varint(&mut out, 300);
//! put_varint(&mut out, 7);
//! let mut r = Reader::new(&out);
//! assert_eq!(r.varint().unwrap(), 300);
//! assert_eq!(r.varint().unwrap(), 7);
//! r.finish().unwrap();
//!
//! // A count of a billion elements in a 3-byte buffer is refused up front.
//! let mut hostile = Vec::new();
//! put_varint(&mut hostile, 1_000_000_000);
//! assert!(matches!(Reader::new(&hostile).count(1), Err(DecodeError::CountTooLarge { .. })));
//! ```

use bytes::BufMut;

/// Why bytes could not be decoded. Decoding stops at the first error and the
/// value being decoded is discarded; nothing already held is modified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("unexpected end of input: needed {needed} more bytes, {remaining} remain")]
    UnexpectedEof {
        /// Bytes the next field needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A varint ran longer than ten bytes or overflowed 64 bits.
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// A varint used more bytes than necessary (only the shortest form is
    /// accepted, so every value has exactly one encoding).
    #[error("varint is not in its shortest form")]
    NonCanonicalVarint,
    /// A value did not fit the integer type the format requires.
    #[error("{what} value {value} is out of range")]
    OutOfRange {
        /// Which field.
        what: &'static str,
        /// The value read.
        value: u64,
    },
    /// A length or element count claims more than the remaining input could hold.
    #[error("count {count} needs at least {needed} bytes but only {remaining} remain")]
    CountTooLarge {
        /// The claimed count.
        count: u64,
        /// Minimum bytes that many elements need.
        needed: u64,
        /// Bytes that remain.
        remaining: usize,
    },
    /// Bytes were left over after a complete value.
    #[error("{0} trailing bytes after a complete value")]
    TrailingBytes(usize),
    /// An enum tag or kind byte is not one this version knows.
    #[error("unknown {what} tag {tag}")]
    UnknownTag {
        /// Which field.
        what: &'static str,
        /// The tag read.
        tag: u64,
    },
    /// The bytes parse but describe a value that breaks an invariant
    /// (unsorted keys, duplicates, an empty range and the like).
    #[error("invalid {0}")]
    Invalid(&'static str),
}

/// Result alias for decoding.
pub type DecodeResult<T> = Result<T, DecodeError>;

/// Appends `value` as an unsigned LEB128 varint (1–10 bytes).
#[inline]
pub fn put_varint<B: BufMut + ?Sized>(out: &mut B, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

/// Number of bytes [`put_varint`] writes for `value`.
#[inline]
pub fn varint_len(value: u64) -> usize {
    // 1 byte per started group of 7 bits, at least one.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Maps signed to unsigned so small magnitudes stay short as varints.
#[inline]
pub fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Appends `bytes` prefixed with their length as a varint.
#[inline]
pub fn put_bytes<B: BufMut + ?Sized>(out: &mut B, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.put_slice(bytes);
}

/// A cursor over untrusted bytes. Every method either advances past a
/// complete field or returns an error and leaves the cursor where it was.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet read.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether every byte has been read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Bytes consumed so far.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The unread rest of the input, without consuming it.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Takes exactly `len` bytes.
    #[inline]
    pub fn bytes(&mut self, len: usize) -> DecodeResult<&'a [u8]> {
        let remaining = self.remaining();
        if len > remaining {
            return Err(DecodeError::UnexpectedEof {
                needed: len,
                remaining,
            });
        }
        let out = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    /// Takes a fixed-size array.
    #[inline]
    pub fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let bytes = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads one byte.
    #[inline]
    pub fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a little-endian `u16`.
    #[inline]
    pub fn u16_le(&mut self) -> DecodeResult<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u32`.
    #[inline]
    pub fn u32_le(&mut self) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u64`.
    #[inline]
    pub fn u64_le(&mut self) -> DecodeResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads an unsigned LEB128 varint in its shortest form.
    pub fn varint(&mut self) -> DecodeResult<u64> {
        let mut value = 0u64;
        let mut shift = 0u32;
        let start = self.pos;
        loop {
            let Some(&byte) = self.buf.get(self.pos) else {
                self.pos = start;
                return Err(DecodeError::UnexpectedEof {
                    needed: 1,
                    remaining: 0,
                });
            };
            self.pos += 1;
            let low = u64::from(byte & 0x7f);
            if shift == 63 && low > 1 {
                self.pos = start;
                return Err(DecodeError::VarintOverflow);
            }
            value |= low << shift;
            if byte & 0x80 == 0 {
                // A final zero byte after the first one means a longer form than needed.
                if byte == 0 && shift > 0 {
                    self.pos = start;
                    return Err(DecodeError::NonCanonicalVarint);
                }
                return Ok(value);
            }
            shift += 7;
            if shift > 63 {
                self.pos = start;
                return Err(DecodeError::VarintOverflow);
            }
        }
    }

    /// Reads a varint that must fit in `u32`.
    pub fn varint_u32(&mut self, what: &'static str) -> DecodeResult<u32> {
        let value = self.varint()?;
        u32::try_from(value).map_err(|_| DecodeError::OutOfRange { what, value })
    }

    /// Reads a zigzag-encoded signed varint.
    pub fn varint_i64(&mut self) -> DecodeResult<i64> {
        self.varint().map(unzigzag)
    }

    /// Reads an element count and checks that `count` elements of at least
    /// `min_element_bytes` each fit in the remaining input, so the caller may
    /// then allocate `count` slots safely.
    pub fn count(&mut self, min_element_bytes: usize) -> DecodeResult<usize> {
        let start = self.pos;
        let count = self.varint()?;
        let needed = count.saturating_mul(min_element_bytes.max(1) as u64);
        let remaining = self.remaining();
        if needed > remaining as u64 {
            self.pos = start;
            return Err(DecodeError::CountTooLarge {
                count,
                needed,
                remaining,
            });
        }
        // `needed <= remaining` so this fits in usize.
        Ok(count as usize)
    }

    /// Reads a varint length followed by that many bytes.
    pub fn length_prefixed(&mut self) -> DecodeResult<&'a [u8]> {
        let start = self.pos;
        let len = self.count(1)?;
        self.bytes(len).inspect_err(|_| self.pos = start)
    }

    /// Succeeds only if every byte has been consumed.
    pub fn finish(self) -> DecodeResult<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varint_boundaries() {
        for (value, len) in [
            (0u64, 1usize),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::MAX, 10),
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out.len(), len, "{value}");
            assert_eq!(varint_len(value), len, "{value}");
            let mut r = Reader::new(&out);
            assert_eq!(r.varint().unwrap(), value);
            r.finish().unwrap();
        }
    }

    #[test]
    fn varint_rejects_overflow_and_padding() {
        // eleven continuation bytes
        let long = [0xffu8; 11];
        assert_eq!(
            Reader::new(&long).varint(),
            Err(DecodeError::VarintOverflow)
        );
        // tenth byte carrying more than the top bit
        let mut over = [0xffu8; 10];
        over[9] = 0x02;
        assert_eq!(
            Reader::new(&over).varint(),
            Err(DecodeError::VarintOverflow)
        );
        // 0 encoded in two bytes
        assert_eq!(
            Reader::new(&[0x80, 0x00]).varint(),
            Err(DecodeError::NonCanonicalVarint)
        );
        // truncated
        assert!(matches!(
            Reader::new(&[0x80]).varint(),
            Err(DecodeError::UnexpectedEof { .. })
        ));
    }

    #[test]
    fn failed_reads_do_not_advance() {
        let mut out = Vec::new();
        put_varint(&mut out, 5);
        out.extend_from_slice(b"ab");
        let mut r = Reader::new(&out);
        assert!(r.length_prefixed().is_err());
        assert_eq!(r.position(), 0);
        assert!(r.u32_le().is_err());
        assert_eq!(r.position(), 0);
    }

    #[test]
    fn count_guards_allocation() {
        let mut out = Vec::new();
        put_varint(&mut out, 4);
        out.extend_from_slice(&[0u8; 8]);
        assert_eq!(Reader::new(&out).count(2).unwrap(), 4);
        assert!(matches!(
            Reader::new(&out).count(3),
            Err(DecodeError::CountTooLarge { count: 4, .. })
        ));
        let mut huge = Vec::new();
        put_varint(&mut huge, u64::MAX);
        assert!(Reader::new(&huge).count(usize::MAX).is_err());
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes(3)));
    }

    proptest! {
        #[test]
        fn varint_round_trips(values in proptest::collection::vec(any::<u64>(), 0..32)) {
            let mut out = Vec::new();
            for &v in &values { put_varint(&mut out, v); }
            let mut r = Reader::new(&out);
            for &v in &values { prop_assert_eq!(r.varint().unwrap(), v); }
            prop_assert!(r.finish().is_ok());
        }

        #[test]
        fn zigzag_round_trips(v in any::<i64>()) {
            prop_assert_eq!(unzigzag(zigzag(v)), v);
            let mut out = Vec::new();
            put_varint(&mut out, zigzag(v));
            prop_assert_eq!(Reader::new(&out).varint_i64().unwrap(), v);
        }

        #[test]
        fn length_prefixed_round_trips(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..8)) {
            let mut out = Vec::new();
            for c in &chunks { put_bytes(&mut out, c); }
            let mut r = Reader::new(&out);
            for c in &chunks { prop_assert_eq!(r.length_prefixed().unwrap(), &c[..]); }
            prop_assert!(r.finish().is_ok());
        }

        #[test]
        fn reader_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader::new(&bytes);
            while !r.is_empty() {
                let before = r.position();
                let _ = r.length_prefixed();
                let _ = r.count(4);
                if r.varint().is_err() && r.position() == before { break; }
            }
        }
    }
}

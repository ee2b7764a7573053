//! The framed wire format every murmura message travels in.
//!
//! ```text
//! +---------+----------------+-------------------+----------------+
//! | version | payload length | payload           | crc32          |
//! | 1 byte  | u32 LE         | `length` bytes    | u32 LE         |
//! +---------+----------------+-------------------+----------------+
//! ```
//!
//! The checksum (CRC-32/ISO-HDLC, as `crc32fast` computes it) covers the
//! version, the length and the payload. [`decode`] checks the version range
//! and the size limit *before* it looks at the payload, so a hostile length
//! costs nothing, and it reports a short buffer as
//! [`FrameError::Incomplete`] so stream readers know how much more to read.

use bytes::BufMut;

/// Bytes before the payload: version and length.
pub const HEADER_LEN: usize = 5;
/// Bytes after the payload: the checksum.
pub const TRAILER_LEN: usize = 4;
/// Framing bytes added to every payload.
pub const OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;
/// Default hard limit on a payload: 16 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// Which versions are accepted and how large a payload may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FrameLimits {
    /// Lowest accepted version byte.
    pub min_version: u8,
    /// Highest accepted version byte.
    pub max_version: u8,
    /// Largest accepted payload in bytes.
    pub max_payload: usize,
}

impl Default for FrameLimits {
    /// Version 1 only, payloads up to [`DEFAULT_MAX_PAYLOAD`].
    fn default() -> Self {
        Self {
            min_version: 1,
            max_version: 1,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }
}

impl FrameLimits {
    /// Same limits with a different payload cap.
    pub fn with_max_payload(mut self, max_payload: usize) -> Self {
        self.max_payload = max_payload;
        self
    }
}

/// Every way a frame can be bad. A failed decode consumes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The buffer holds only part of a frame; `needed` more bytes complete it
    /// (as far as can be told from what is there).
    #[error("incomplete frame: {needed} more bytes needed")]
    Incomplete {
        /// Additional bytes required.
        needed: usize,
    },
    /// The version byte is outside the accepted range.
    #[error("unsupported frame version {found} (accepted {min}..={max})")]
    UnsupportedVersion {
        /// Version byte on the wire.
        found: u8,
        /// Lowest accepted.
        min: u8,
        /// Highest accepted.
        max: u8,
    },
    /// The payload is larger than the limit.
    #[error("frame payload of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Payload length (claimed on decode, actual on encode).
        len: u64,
        /// The limit in force.
        max: usize,
    },
    /// The checksum does not match the bytes.
    #[error("frame checksum mismatch: carried {carried:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// Checksum on the wire.
        carried: u32,
        /// Checksum of the received bytes.
        computed: u32,
    },
}

/// A decoded frame, borrowing its payload from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The version byte.
    pub version: u8,
    /// The payload bytes.
    pub payload: &'a [u8],
}

/// Appends one frame holding `payload` to `out`.
///
/// Fails only if `payload` is larger than `limits.max_payload` (or `u32::MAX`),
/// in which case nothing is written.
pub fn encode<B: BufMut + ?Sized>(
    version: u8,
    payload: &[u8],
    limits: &FrameLimits,
    out: &mut B,
) -> Result<(), FrameError> {
    let len = payload.len();
    if len > limits.max_payload || u32::try_from(len).is_err() {
        return Err(FrameError::TooLarge {
            len: len as u64,
            max: limits.max_payload,
        });
    }
    let len_bytes = (len as u32).to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[version]);
    crc.update(&len_bytes);
    crc.update(payload);
    out.put_u8(version);
    out.put_slice(&len_bytes);
    out.put_slice(payload);
    out.put_u32_le(crc.finalize());
    Ok(())
}

/// Encodes one frame into a new vector.
pub fn encode_to_vec(
    version: u8,
    payload: &[u8],
    limits: &FrameLimits,
) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(payload.len() + OVERHEAD);
    encode(version, payload, limits, &mut out)?;
    Ok(out)
}

/// Decodes the frame at the start of `buf`, returning it and the number of
/// bytes it occupied. Bytes after the frame are left for the caller.
pub fn decode<'a>(buf: &'a [u8], limits: &FrameLimits) -> Result<(Frame<'a>, usize), FrameError> {
    let Some(&version) = buf.first() else {
        return Err(FrameError::Incomplete { needed: HEADER_LEN });
    };
    if version < limits.min_version || version > limits.max_version {
        return Err(FrameError::UnsupportedVersion {
            found: version,
            min: limits.min_version,
            max: limits.max_version,
        });
    }
    let Some(len_bytes) = buf.get(1..HEADER_LEN) else {
        return Err(FrameError::Incomplete {
            needed: HEADER_LEN - buf.len(),
        });
    };
    let mut raw_len = [0u8; 4];
    raw_len.copy_from_slice(len_bytes);
    let len = u32::from_le_bytes(raw_len) as usize;
    if len > limits.max_payload {
        return Err(FrameError::TooLarge {
            len: len as u64,
            max: limits.max_payload,
        });
    }
    let total = OVERHEAD + len;
    if buf.len() < total {
        return Err(FrameError::Incomplete {
            needed: total - buf.len(),
        });
    }
    let payload = &buf[HEADER_LEN..HEADER_LEN + len];
    let mut raw_crc = [0u8; 4];
    raw_crc.copy_from_slice(&buf[HEADER_LEN + len..total]);
    let carried = u32::from_le_bytes(raw_crc);
    let computed = crc32fast::hash(&buf[..HEADER_LEN + len]);
    if carried != computed {
        return Err(FrameError::ChecksumMismatch { carried, computed });
    }
    Ok((Frame { version, payload }, total))
}

/// Decodes a buffer that must hold exactly one frame (a datagram).
pub fn decode_exact<'a>(buf: &'a [u8], limits: &FrameLimits) -> Result<Frame<'a>, FrameError> {
    let (frame, used) = decode(buf, limits)?;
    if used != buf.len() {
        // Extra bytes after a valid frame: treat as a length that lies.
        return Err(FrameError::ChecksumMismatch {
            carried: 0,
            computed: crc32fast::hash(buf),
        });
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden_vector() {
        // Pinned so a change of layout or checksum is a decision, not an accident.
        let wire = encode_to_vec(1, b"murmura", &FrameLimits::default()).unwrap();
        assert_eq!(
            wire,
            [
                0x01, 0x07, 0x00, 0x00, 0x00, b'm', b'u', b'r', b'm', b'u', b'r', b'a', 0xa4, 0x52,
                0x1d, 0x47
            ]
        );
    }

    #[test]
    fn each_error_is_reported() {
        let limits = FrameLimits::default();
        let wire = encode_to_vec(1, b"abc", &limits).unwrap();
        assert_eq!(
            decode(&[], &limits),
            Err(FrameError::Incomplete { needed: HEADER_LEN })
        );
        assert_eq!(
            decode(&wire[..3], &limits),
            Err(FrameError::Incomplete { needed: 2 })
        );
        assert_eq!(
            decode(&wire[..wire.len() - 1], &limits),
            Err(FrameError::Incomplete { needed: 1 })
        );
        let mut bad_version = wire.clone();
        bad_version[0] = 9;
        assert!(matches!(
            decode(&bad_version, &limits),
            Err(FrameError::UnsupportedVersion { found: 9, .. })
        ));
        let mut huge = wire.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode(&huge, &limits),
            Err(FrameError::TooLarge { .. })
        ));
        let mut flipped = wire.clone();
        flipped[5] ^= 0x40;
        assert!(matches!(
            decode(&flipped, &limits),
            Err(FrameError::ChecksumMismatch { .. })
        ));
        let small = limits.with_max_payload(2);
        assert!(matches!(
            encode_to_vec(1, b"abc", &small),
            Err(FrameError::TooLarge { len: 3, max: 2 })
        ));
        let mut two = wire.clone();
        two.extend_from_slice(&wire);
        assert!(decode_exact(&two, &limits).is_err());
        assert_eq!(decode_exact(&wire, &limits).unwrap().payload, b"abc");
    }

    proptest! {
        #[test]
        fn round_trip_and_stream(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6)) {
            let limits = FrameLimits::default();
            let mut stream = Vec::new();
            for p in &payloads { encode(1, p, &limits, &mut stream).unwrap(); }
            let mut at = 0;
            for p in &payloads {
                let (frame, used) = decode(&stream[at..], &limits).unwrap();
                prop_assert_eq!(frame.payload, &p[..]);
                at += used;
            }
            prop_assert_eq!(at, stream.len());
        }

        #[test]
        fn any_single_bit_flip_is_detected(payload in proptest::collection::vec(any::<u8>(), 0..64), bit in any::<usize>()) {
            let limits = FrameLimits::default();
            let mut wire = encode_to_vec(1, &payload, &limits).unwrap();
            let bit = bit % (wire.len() * 8);
            wire[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(decode_exact(&wire, &limits).is_err());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, &FrameLimits::default());
        }
    }
}
